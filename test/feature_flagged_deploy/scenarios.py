"""FeatureFlaggedDeploy configurations, each synthesized once per session (harness.scenarios)."""

from __future__ import annotations

import datetime

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_sns as sns

from cdk_devops_constructs import (
    Attribute,
    FeatureFlaggedDeploy,
    Flag,
    ObservedService,
    Rollout,
    Variant,
)

from harness.scenarios import imported_platform, scenario, team_key

IMAGE = "public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine"


def image() -> ecs.ContainerImage:
    return ecs.ContainerImage.from_registry(IMAGE)


def quickstart_flags() -> list[Flag]:
    """The two flags of the README quickstart."""
    return [
        Flag("new-checkout", enabled=True, description="The one-page checkout."),
        Flag(
            "search-results",
            enabled=True,
            attributes={"page-size": Attribute.number(minimum=10, maximum=100, required=True)},
            values={"page-size": 20},
        ),
    ]


def all_flags() -> list[Flag]:
    """Every attribute type and constraint, a multi-variant flag and a deprecated flag."""
    return [
        *quickstart_flags(),
        Flag(
            "pricing-banner",
            name="Pricing banner",
            description="Which banner the pricing page shows, by plan.",
            attributes={
                "headline": Attribute.string(pattern="^[A-Z].{0,79}$", required=True),
                "theme": Attribute.string(enum=["light", "dark"]),
                "show-countdown": Attribute.boolean(),
                "regions": Attribute.array(elements=Attribute.string(pattern="^[a-z]{2}$")),
                "discounts": Attribute.array(elements=Attribute.number(minimum=0, maximum=90)),
            },
            variants=[
                Variant(
                    "enterprise",
                    enabled=True,
                    rule='(eq $plan "enterprise")',
                    values={"headline": "Talk to sales", "theme": "dark", "discounts": [10, 20]},
                ),
                Variant(
                    "beta-testers",
                    enabled=True,
                    rule="(split by::$userId pct::10)",
                    values={"headline": "Try the new plans", "regions": ["us", "ca"]},
                ),
                Variant("default", enabled=False, values={"headline": "Plans and pricing"}),
            ],
        ),
        Flag(
            "legacy-export",
            enabled=True,
            description="CSV export of the old reporting page.",
            deprecation_date=datetime.date(2026, 6, 30),
        ),
    ]


@scenario("feature_flagged_deploy/defaults")
def defaults(stack: cdk.Stack) -> FeatureFlaggedDeploy:
    """Flags alone: an application, staging and production, no service attached."""
    return FeatureFlaggedDeploy(stack, "Flags", flags=quickstart_flags())


@scenario("feature_flagged_deploy/staging_and_production")
def staging_and_production(stack: cdk.Stack) -> FeatureFlaggedDeploy:
    """The README quickstart: a staging and a production service reading their own
    environment, rolled back by their own alarms."""
    staging = ObservedService(stack, "CheckoutStaging", image=image(), min_capacity=1)
    production = ObservedService(
        stack,
        "CheckoutProduction",
        image=image(),
        alarm_emails=["oncall@example.com"],
    )
    return FeatureFlaggedDeploy(
        stack,
        "Flags",
        flags=quickstart_flags(),
        services={"staging": [staging], "production": [production]},
    )


@scenario("feature_flagged_deploy/all_options")
def all_options(stack: cdk.Stack) -> FeatureFlaggedDeploy:
    """Every option away from its default: three environments, a custom linear rollout,
    explicit rollback alarms (the health signal and a composite of the team's), one notification topic for all environments,
    named application and profile, a faster agent poll and a shell health check."""
    dev = ObservedService(stack, "PaymentsDev", image=image(), tracing=False, min_capacity=1)
    production = ObservedService(stack, "Payments", image=image())
    key = team_key(stack, "NotificationsKey")
    topic = sns.Topic(stack, "FlagDeployments", master_key=key, enforce_ssl=True)
    saturation = cloudwatch.CompositeAlarm(
        stack,
        "PaymentsSaturation",
        alarm_rule=cloudwatch.AlarmRule.any_of(
            production.alarms["cpu"], production.alarms["memory"]
        ),
    )
    saturation.add_alarm_action(cloudwatch_actions.SnsAction(production.alarm_topic))
    return FeatureFlaggedDeploy(
        stack,
        "Flags",
        flags=all_flags(),
        environments=["dev", "staging", "production"],
        services={"dev": [dev], "production": [production]},
        rollout=Rollout.linear(
            step_percent=25, duration=cdk.Duration.minutes(20), bake_time=cdk.Duration.minutes(15)
        ),
        rollback_alarms={
            "dev": [dev.alarms["errors"], dev.alarms["latency"]],
            "production": [production.health_alarm, saturation],
        },
        notification_topic=topic,
        application_name="payments",
        configuration_name="payments-flags",
        description="Feature flags of the payments service",
        agent_poll_interval=cdk.Duration.seconds(30),
        agent_health_check=["CMD-SHELL", "curl -s -o /dev/null http://localhost:2772/ping"],
    )


@scenario("feature_flagged_deploy/bring_your_own")
def bring_your_own(stack: cdk.Stack) -> FeatureFlaggedDeploy:
    """A platform team's imported VPC, cluster and alarm topic, no tracing (so the task
    definition had no variables before the agent's), all-at-once rollout, and no agent health
    check (the application starts when the agent starts)."""
    platform = imported_platform(stack)
    inventory = ObservedService(
        stack,
        "Inventory",
        image=image(),
        vpc=platform.vpc,
        cluster=platform.cluster,
        alarm_topic=platform.alarm_topic,
        tracing=False,
    )
    return FeatureFlaggedDeploy(
        stack,
        "Flags",
        flags=quickstart_flags(),
        environments=["production"],
        services={"production": [inventory]},
        rollout=Rollout.all_at_once(),
        agent_health_check=[],
    )
