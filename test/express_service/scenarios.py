"""ExpressService configurations, each synthesized once per session (see harness.scenarios)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_secretsmanager as secretsmanager

from cdk_devops_constructs import (
    DeployStage,
    ExpressService,
    FeatureFlaggedDeploy,
    Flag,
    Gate,
    GatedPipeline,
    ObservedService,
    PipelineSource,
    Rollout,
)

from gated_pipeline.scenarios import CONNECTION_ARN
from harness.scenarios import imported_platform, scenario, team_key
from observed_service.scenarios import image


@scenario("express_service/defaults")
def defaults(stack: cdk.Stack) -> ExpressService:
    """What the README writes: an image, an on-call address."""
    return ExpressService(stack, "Orders", image=image(), alarm_emails=["oncall@example.com"])


@scenario("express_service/all_options")
def all_options(stack: cdk.Stack) -> ExpressService:
    """Every option away from its default: internal, ARM64, larger tasks, own key, secrets,
    scaling on requests, tuned alarms."""
    key = team_key(stack, "TeamKey")
    secret = secretsmanager.Secret.from_secret_name_v2(stack, "DbPassword", "orders/db")
    return ExpressService(
        stack,
        "Ledger",
        image=image(),
        internet_facing=False,
        container_port=8443,
        cpu=1024,
        memory_limit_mib=3072,
        cpu_architecture=ecs.CpuArchitecture.ARM64,
        environment={"LOG_LEVEL": "info"},
        secrets={"DB_PASSWORD": ecs.Secret.from_secrets_manager(secret)},
        command=["serve", "--port", "8443"],
        user="1000:1000",
        writable_paths=["/tmp", "/var/cache/ledger"],
        health_check_path="/healthz?deep=1",
        service_name="ledger",
        min_capacity=3,
        max_capacity=12,
        scaling_metric="REQUEST_COUNT_PER_TARGET",
        scaling_target_value=500,
        log_retention=cdk.aws_logs.RetentionDays.TWO_YEARS,
        encryption_key=key,
        trace_sample_rate=0.2,
        alarm_emails=["ledger-oncall@example.com", "sre@example.com"],
        cpu_alarm_percent=70,
        memory_alarm_percent=75,
        error_rate_alarm_percent=1,
        error_rate_min_requests=50,
        latency_alarm_threshold=cdk.Duration.millis(800),
        alarm_period=cdk.Duration.minutes(2),
        alarm_datapoints=2,
    )


@scenario("express_service/bring_your_own")
def bring_your_own(stack: cdk.Stack) -> ExpressService:
    """A platform team's VPC, cluster (imported: its Fargate capacity provider is theirs to
    associate) and alarm topic."""
    platform = imported_platform(stack)
    return ExpressService(
        stack,
        "Inventory",
        image=image(),
        vpc=platform.vpc,
        cluster=platform.cluster,
        alarm_topic=platform.alarm_topic,
        alarm_emails=["inventory@example.com"],
        tracing=False,
    )


@scenario("express_service/pipeline_and_flags")
def pipeline_and_flags(stack: cdk.Stack) -> GatedPipeline:
    """Express services in staging and production, an ObservedService beside the staging one,
    shipped by one pipeline (Express deploys and an ECS deploy in one stage) and reading flags."""
    staging = ExpressService(stack, "Staging", image=image(), min_capacity=1, max_capacity=2)
    legacy = ObservedService(
        stack, "Legacy", image=image(), tracing=False, min_capacity=1, max_capacity=2
    )
    production = ExpressService(stack, "Production", image=image(), internet_facing=False)
    FeatureFlaggedDeploy(
        stack,
        "Flags",
        flags=[Flag("new-checkout", enabled=True)],
        services={"staging": [staging, legacy], "production": [production]},
        rollout=Rollout.all_at_once(),
    )
    return GatedPipeline(
        stack,
        "Delivery",
        source=PipelineSource.connection(
            connection_arn=CONNECTION_ARN, owner="acme", repo="orders"
        ),
        stages=[
            DeployStage(
                name="Staging",
                services=[staging, legacy],
                gates=[Gate.bake(cdk.Duration.minutes(10))],
            ),
            DeployStage(
                name="Production",
                services=[production],
                gates=[Gate.healthy_before_entry(), Gate.bake(cdk.Duration.minutes(30))],
            ),
        ],
        notification_emails=["team@example.com"],
    )
