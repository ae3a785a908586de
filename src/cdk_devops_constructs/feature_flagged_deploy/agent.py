"""The AWS AppConfig Agent sidecar: it polls AppConfig for the flags and serves them on
localhost, so the application reads them with a plain HTTP GET.

https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-integration-containers-agent.html
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from .. import _task_memory

# Pinned: a new agent release is a deliberate upgrade of this library. AWS documents the
# floating tag 2.x; 2.0.16331, a 2.x build in public use since January 2025, is what public
# integration tests run with a curl health check, and is newer than 2.0.4416, the first build
# that serves multi-variant flags. https://gallery.ecr.aws/aws-appconfig/aws-appconfig-agent
AGENT_IMAGE = "public.ecr.aws/aws-appconfig/aws-appconfig-agent:2.0.16331"
AGENT_PORT = 2772
AGENT_CONTAINER_NAME = "appconfig-agent"
AGENT_LOG_LEVEL = "info"
DEFAULT_POLL_INTERVAL = Duration.seconds(45)  # the agent's own default
TMP_VOLUME = "appconfig-agent-tmp"
AGENT_RESERVATION_MIB = 64
AGENT_LIMIT_MIB = 128


def default_health_check(port: int = AGENT_PORT) -> list[str]:
    """Passes once the agent's HTTP server answers at all.

    ``curl`` without ``-f`` exits 0 on any HTTP response (even a 404) and non-zero when
    nothing listens, so the check does not depend on the ``/ping`` path (reported in public
    code, not in AWS's documentation) nor on flags having been deployed yet. It does depend on
    ``curl`` being in the image: public integration tests of this image tag run a curl health
    check, but AWS does not document the image's contents.
    """
    return ["CMD", "curl", "-s", "-o", "/dev/null", f"http://localhost:{port}/ping"]


@dataclass(frozen=True)
class FlagsLocation:
    """Where one service reads its flags: AppConfig names, as the agent's URL uses them."""

    application: str
    environment: str
    configuration: str

    @property
    def prefetch(self) -> str:
        return f"{self.application}:{self.environment}:{self.configuration}"

    def url(self, port: int = AGENT_PORT) -> str:
        return (
            f"http://localhost:{port}/applications/{self.application}"
            f"/environments/{self.environment}/configurations/{self.configuration}"
        )


def application_environment(location: FlagsLocation) -> dict[str, str]:
    """Variables that tell the application where its flags are."""
    return {
        "APPCONFIG_AGENT_URL": f"http://localhost:{AGENT_PORT}",
        "APPCONFIG_APPLICATION": location.application,
        "APPCONFIG_ENVIRONMENT": location.environment,
        "APPCONFIG_CONFIGURATION": location.configuration,
        "FEATURE_FLAGS_URL": location.url(),
    }


def add_agent(
    scope: Construct,
    id: str,
    *,
    task_definition: ecs.TaskDefinition,
    log_group: logs.ILogGroup,
    location: FlagsLocation,
    region: str,
    image: ecs.ContainerImage,
    poll_interval: Duration,
    health_check: Sequence[str],
) -> ecs.ContainerDefinition:
    """Add the agent to ``task_definition``, prefetching ``location``.

    The agent is not essential and restarts in place when it exits: if it stops, the
    application keeps serving (its flag requests fail and it uses its defaults) until the agent
    is back. It runs with a read-only root filesystem and a scratch volume on ``/tmp``; it needs
    no port mapping, since the application reaches it on localhost inside the task. It
    reserves 64 MiB of the task's memory and may use up to 128 MiB. It runs as its image's
    user: AWS documents none, and a wrong one would keep it from starting.
    """
    task_definition.add_volume(name=TMP_VOLUME)
    agent = ecs.ContainerDefinition(
        scope,
        id,
        task_definition=task_definition,
        container_name=AGENT_CONTAINER_NAME,
        image=image,
        essential=False,
        enable_restart_policy=True,
        cpu=64,
        memory_reservation_mib=AGENT_RESERVATION_MIB,
        memory_limit_mib=AGENT_LIMIT_MIB,
        readonly_root_filesystem=True,
        environment={
            "SERVICE_REGION": region,
            "PREFETCH_LIST": location.prefetch,
            "POLL_INTERVAL": str(int(poll_interval.to_seconds())),
            "HTTP_PORT": str(AGENT_PORT),
            "LOG_LEVEL": AGENT_LOG_LEVEL,
        },
        logging=ecs.LogDrivers.aws_logs(
            stream_prefix="appconfig-agent",
            log_group=log_group,
            mode=ecs.AwsLogDriverMode.NON_BLOCKING,
        ),
        health_check=ecs.HealthCheck(
            command=list(health_check),
            interval=Duration.seconds(10),
            timeout=Duration.seconds(5),
            retries=3,
            start_period=Duration.seconds(10),
        )
        if health_check
        else None,
    )
    _task_memory.reserve(task_definition, AGENT_RESERVATION_MIB)
    agent.add_mount_points(
        ecs.MountPoint(container_path="/tmp", source_volume=TMP_VOLUME, read_only=False)
    )
    return agent
