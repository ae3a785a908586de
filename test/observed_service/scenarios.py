"""ObservedService configurations, each synthesized once per session (see harness.scenarios)."""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_aiops as aiops
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_secretsmanager as secretsmanager

from cdk_devops_constructs import (
    Deployment,
    Incidents,
    ObservedService,
    OpsItem,
    PagingEndpoint,
    SlackChannel,
    TeamsChannel,
)

from harness.compliance import ACCOUNT, REGION
from harness.scenarios import imported_platform, scenario, team_key

IMAGE = "public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine"
CERTIFICATE_ARN = (
    "arn:aws:acm:us-east-1:123456789012:certificate/0b1f7c2a-5d9e-4c3b-9a7e-1c2d3e4f5a6b"
)
WEB_ACL_ARN = (
    "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/platform/"
    "a1b2c3d4-5678-90ab-cdef-0123456789ab"
)
SLACK = SlackChannel(workspace_id="T0123ABCDEF", channel_id="C0123ABCDEF")
TEAMS = TeamsChannel(
    tenant_id="0b1f7c2a-5d9e-4c3b-9a7e-1c2d3e4f5a6b",
    team_id="9a7e1c2d-3e4f-4a6b-8b1f-7c2a5d9e4c3b",
    channel_id="19%3ab6ef35dc342d56ba5654e6fc6d25a071%40thread.tacv2",
)
RUNBOOK = "https://wiki.example.com/runbooks/checkout"


def image() -> ecs.ContainerImage:
    return ecs.ContainerImage.from_registry(IMAGE)


@scenario("observed_service/defaults")
def defaults(stack: cdk.Stack) -> ObservedService:
    """What the README quickstart writes: an image, a port, an on-call address."""
    return ObservedService(stack, "Checkout", image=image(), alarm_emails=["oncall@example.com"])


@scenario("observed_service/all_options")
def all_options(stack: cdk.Stack) -> ObservedService:
    """Every option away from its default: HTTPS on an internal load balancer, own KMS key,
    secrets, ARM64, canary deployments, WAF, tuned alarms."""
    key = team_key(stack, "TeamKey")
    secret = secretsmanager.Secret.from_secret_name_v2(stack, "DbPassword", "checkout/db")
    return ObservedService(
        stack,
        "Payments",
        image=image(),
        container_port=8443,
        cpu=1024,
        memory_limit_mib=3072,
        cpu_architecture=ecs.CpuArchitecture.ARM64,
        environment={"LOG_LEVEL": "info"},
        secrets={"DB_PASSWORD": ecs.Secret.from_secrets_manager(secret)},
        command=["serve", "--port", "8443"],
        user="1000:1000",
        writable_paths=["/tmp", "/var/cache/payments"],
        health_check_path="/healthz",
        service_name="payments",
        min_capacity=3,
        max_capacity=12,
        cpu_scaling_target_percent=50,
        requests_per_target=500,
        internet_facing=False,
        certificate=acm.Certificate.from_certificate_arn(stack, "Cert", CERTIFICATE_ARN),
        web_acl_arn=WEB_ACL_ARN,
        log_retention=cdk.aws_logs.RetentionDays.TWO_YEARS,
        encryption_key=key,
        trace_sample_rate=0.2,
        alarm_emails=["payments-oncall@example.com", "sre@example.com"],
        cpu_alarm_percent=70,
        memory_alarm_percent=75,
        error_rate_alarm_percent=1,
        error_rate_min_requests=50,
        latency_alarm_threshold=cdk.Duration.millis(800),
        alarm_period=cdk.Duration.minutes(1),
        alarm_datapoints=2,
        deployment=Deployment.canary(percent=10, canary_bake_time=cdk.Duration.minutes(5)),
    )


@scenario("observed_service/incidents")
def incidents(stack: cdk.Stack) -> tuple[ObservedService, ObservedService]:
    """Two services of one team: critical OpsItems, the team's Slack and Teams channels (one
    configuration each for the stack, subscribed to both incident topics), PagerDuty from
    Secrets Manager, the account's investigation group (defined here, so that its policy is
    checked), a runbook."""
    group = investigation_group(stack)
    checkout = ObservedService(
        stack,
        "Checkout",
        image=image(),
        alarm_emails=["checkout-oncall@example.com"],
        incidents=Incidents(
            ops_item=OpsItem(severity=cloudwatch_actions.OpsItemSeverity.CRITICAL),
            chat=[SLACK, TEAMS],
            paging=[
                PagingEndpoint(
                    "PagerDuty",
                    cdk.SecretValue.secrets_manager("checkout/pagerduty", json_field="url"),
                )
            ],
            investigation_group_arn=group.attr_arn,
            runbook_url=RUNBOOK,
        ),
    )
    cart = ObservedService(
        stack,
        "Cart",
        image=image(),
        tracing=False,
        alarm_emails=["checkout-oncall@example.com"],
        incidents=Incidents(
            ops_item=OpsItem(
                severity=cloudwatch_actions.OpsItemSeverity.MEDIUM,
                category=cloudwatch_actions.OpsItemCategory.PERFORMANCE,
            ),
            chat=[SLACK],
        ),
    )
    return checkout, cart


def investigation_group(stack: cdk.Stack) -> aiops.CfnInvestigationGroup:
    """The account's investigation group as a platform team creates it once per region, with
    the resource policy CloudWatch alarms need (CfnInvestigationGroup's documented example)."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "aiops.alarms.cloudwatch.amazonaws.com"},
                "Action": ["aiops:CreateInvestigation", "aiops:CreateInvestigationEvent"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": ACCOUNT},
                    "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:*"},
                },
            }
        ],
    }
    return aiops.CfnInvestigationGroup(
        stack,
        "InvestigationGroup",
        name="platform",
        role_arn=f"arn:aws:iam::{ACCOUNT}:role/platform-investigations",
        investigation_group_policy=json.dumps(policy),
    )


@scenario("observed_service/bring_your_own")
def bring_your_own(stack: cdk.Stack) -> ObservedService:
    """A platform team's shared VPC, cluster and alarm topic, imported by ARN/ID."""
    platform = imported_platform(stack)
    return ObservedService(
        stack,
        "Inventory",
        image=image(),
        vpc=platform.vpc,
        cluster=platform.cluster,
        alarm_topic=platform.alarm_topic,
        alarm_emails=["inventory@example.com"],
        tracing=False,
        # The platform routes incidents from its own alarm topic: the service starts none.
        incidents=Incidents(ops_item=None),
    )


@scenario("observed_service/shared_load_balancer")
def shared_load_balancer(stack: cdk.Stack) -> tuple[ObservedService, ObservedService]:
    """Two services behind one load balancer, routed by path."""
    web = ObservedService(stack, "Web", image=image())
    api = ObservedService(
        stack,
        "Api",
        image=image(),
        load_balancer=web.load_balancer,
        listener=web.listener,
        listener_priority=10,
        path_patterns=["/api/*"],
    )
    return web, api


@scenario("observed_service/blue_green")
def blue_green(stack: cdk.Stack) -> ObservedService:
    return ObservedService(
        stack,
        "Search",
        image=image(),
        deployment=Deployment.blue_green(bake_time=cdk.Duration.minutes(15)),
    )


@scenario("observed_service/linear")
def linear(stack: cdk.Stack) -> ObservedService:
    return ObservedService(
        stack,
        "Catalog",
        image=image(),
        # 24.9: a multiple of 0.1 that cfn-lint misreads ("ecs-service-traffic-percent")
        deployment=Deployment.linear(step_percent=24.9, step_bake_time=cdk.Duration.minutes(2)),
    )


@scenario("observed_service/public_https")
def public_https(stack: cdk.Stack) -> ObservedService:
    """The production shape most teams want: public, HTTPS, HTTP redirected."""
    return ObservedService(
        stack,
        "Storefront",
        image=image(),
        certificate=acm.Certificate.from_certificate_arn(stack, "Cert", CERTIFICATE_ARN),
        alarm_emails=["storefront@example.com"],
    )


@scenario("observed_service/internal_http")
def internal_http(stack: cdk.Stack) -> ObservedService:
    """An internal HTTP-only service: no certificate, reachable from inside the VPC."""
    return ObservedService(stack, "Ledger", image=image(), internet_facing=False)
