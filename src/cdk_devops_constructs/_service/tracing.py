"""Distributed tracing: an AWS Distro for OpenTelemetry collector sidecar exporting to X-Ray."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs

from .. import _task_memory

# Pinned: a new collector release is a deliberate upgrade of this library, never a surprise.
# https://gallery.ecr.aws/aws-observability/aws-otel-collector
ADOT_COLLECTOR_IMAGE = "public.ecr.aws/aws-observability/aws-otel-collector:v0.49.0"

# Shipped in the image: OTLP in on 4317 (gRPC) and 4318 (HTTP), traces out to X-Ray, no metrics.
ADOT_CONFIG = "/etc/ecs/ecs-xray.yaml"
OTLP_GRPC_PORT = 4317
# Ports the collector listens on inside the task (OTLP gRPC and HTTP, its health check): the
# task's containers share one network namespace, so the application cannot use them.
COLLECTOR_PORTS = frozenset({4317, 4318, 13133})

COLLECTOR_CONTAINER_NAME = "otel-collector"
COLLECTOR_USER = "10001:10001"
COLLECTOR_RESERVATION_MIB = 64
COLLECTOR_LIMIT_MIB = 256

# Write and sampling actions the collector calls. None of them has a resource type in the
# Service Authorization Reference, so they can only be granted on Resource "*".
X_RAY_ACTIONS = (
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
)


def add_collector(
    task_definition: ecs.FargateTaskDefinition, log_group: logs.ILogGroup
) -> ecs.ContainerDefinition:
    """Add the collector to ``task_definition`` and let its task role write to X-Ray.

    The application starts only once the collector is healthy, so a collector that cannot
    start (an image pull that fails, say) keeps new tasks from starting and the deployment
    rolls back. Once running, the collector is not essential: if it dies the service keeps
    serving, traces stop, and ECS restarts the collector in place. It reserves 64 MiB of the
    task's memory and may use up to 256 MiB. Its health check uses the ``/healthcheck`` binary
    shipped in the image (the image has no shell, so ``CMD-SHELL`` probes cannot work).
    """
    collector = task_definition.add_container(
        "OtelCollector",
        container_name=COLLECTOR_CONTAINER_NAME,
        image=ecs.ContainerImage.from_registry(ADOT_COLLECTOR_IMAGE),
        command=[f"--config={ADOT_CONFIG}"],
        essential=False,
        enable_restart_policy=True,
        # The image is one static binary on an empty base image, listening on ports above
        # 1024, writing nothing: it needs no root, and no user in the image.
        user=COLLECTOR_USER,
        cpu=64,
        memory_reservation_mib=COLLECTOR_RESERVATION_MIB,
        memory_limit_mib=COLLECTOR_LIMIT_MIB,
        readonly_root_filesystem=True,
        logging=ecs.LogDrivers.aws_logs(
            stream_prefix="otel",
            log_group=log_group,
            mode=ecs.AwsLogDriverMode.NON_BLOCKING,
        ),
        health_check=ecs.HealthCheck(
            command=["CMD", "/healthcheck"],
            interval=Duration.seconds(10),
            timeout=Duration.seconds(5),
            retries=3,
            start_period=Duration.seconds(10),
        ),
    )
    _task_memory.reserve(task_definition, COLLECTOR_RESERVATION_MIB)
    task_definition.add_to_task_role_policy(
        iam.PolicyStatement(
            sid="WriteTracesToXRay",
            actions=list(X_RAY_ACTIONS),
            # No narrower resource exists for these actions (see X_RAY_ACTIONS).
            resources=["*"],
        )
    )
    return collector


def otel_environment(service_name: str, sample_rate: float) -> dict[str, str]:
    """Standard OpenTelemetry SDK settings that send the app's spans to the collector."""
    return {
        "OTEL_SERVICE_NAME": service_name,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://localhost:{OTLP_GRPC_PORT}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_PROPAGATORS": "xray,tracecontext,baggage",
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": f"{sample_rate:g}",
        # The collector configuration handles traces only.
        "OTEL_METRICS_EXPORTER": "none",
        "OTEL_LOGS_EXPORTER": "none",
    }
