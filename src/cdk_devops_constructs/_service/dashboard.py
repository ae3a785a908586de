"""The golden-signals dashboard of one ObservedService."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Aws, Duration, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs
from constructs import Construct

from .alarms import resource_prefix
from .metrics import ServiceMetrics

WIDTH = 24
RECENT_ERRORS_QUERY = "\n".join(
    [
        "fields @timestamp, @logStream, @message",
        "| filter @message like /(?i)(error|exception|fatal|panic|traceback)/",
        "| sort @timestamp desc",
        "| limit 100",
    ]
)


def dashboard_name(scope: Construct) -> str:
    """A literal name for the dashboard of the service ``scope``, unique in the account
    (dashboards are global: their ARN has no region): the service's resource prefix and the
    region. Alarm descriptions link it by name. In a stack without an explicit region the name
    ends in the region's token."""
    region = Stack.of(scope).region
    suffix = f"-{region}" if not Token.is_unresolved(region) else f"-{Aws.REGION}"
    return f"{resource_prefix(scope)}{suffix}"


def build_dashboard(
    scope: Construct,
    id: str,
    *,
    name: str,
    title: str,
    metrics: ServiceMetrics,
    alarms: Mapping[str, cloudwatch.Alarm],
    thresholds: Mapping[str, tuple[float, str]],
    health_alarm: cloudwatch.IAlarm,
    log_group: logs.ILogGroup,
) -> cloudwatch.Dashboard:
    """Latency, traffic, errors and saturation, the alarm states and the latest error logs."""
    dashboard = cloudwatch.Dashboard(
        scope,
        id,
        dashboard_name=name,
        default_interval=Duration.hours(3),
        period_override=cloudwatch.PeriodOverride.AUTO,
    )
    dashboard.add_widgets(
        cloudwatch.TextWidget(markdown=f"# {title}", width=WIDTH, height=1),
    )
    dashboard.add_widgets(
        cloudwatch.AlarmStatusWidget(
            title="Alarms",
            alarms=[health_alarm, *alarms.values()],
            width=WIDTH,
            height=3,
            sort_by=cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
        )
    )
    dashboard.add_widgets(
        _graph(
            "Latency (seconds)",
            [metrics.latency("p50"), metrics.latency("p90"), metrics.latency("p99")],
            thresholds.get("latency"),
        ),
        _graph("Requests", [metrics.requests()], None, right=[metrics.target_5xx()]),
        _graph(
            "5xx error rate (%)", [metrics.error_rate(min_requests=1)], thresholds.get("errors")
        ),
    )
    dashboard.add_widgets(
        _graph("CPU utilization (%)", [metrics.cpu()], thresholds.get("cpu")),
        _graph("Memory utilization (%)", [metrics.memory()], thresholds.get("memory")),
        _graph(
            "Tasks",
            [metrics.running_tasks(), metrics.healthy_hosts(), metrics.unhealthy_hosts()],
            thresholds.get("running_tasks"),
        ),
    )
    dashboard.add_widgets(
        cloudwatch.LogQueryWidget(
            title="Recent errors",
            log_group_names=[log_group.log_group_name],
            query_string=RECENT_ERRORS_QUERY,
            view=cloudwatch.LogQueryVisualizationType.TABLE,
            width=WIDTH,
            height=8,
        )
    )
    return dashboard


def dashboard_url(dashboard: cloudwatch.Dashboard) -> str:
    """The console link of ``dashboard``, for a stack output."""
    return (
        f"https://{Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}"
        f"#dashboards:name={dashboard.dashboard_name}"
    )


def _graph(
    title: str,
    left: list[cloudwatch.IMetric],
    threshold: tuple[float, str] | None,
    *,
    right: list[cloudwatch.IMetric] | None = None,
) -> cloudwatch.GraphWidget:
    annotations = []
    if threshold is not None:
        # Built here rather than with Alarm.to_annotation(): same line, no jsii round trips.
        value, label = threshold
        annotations.append(cloudwatch.HorizontalAnnotation(value=value, label=label))
    return cloudwatch.GraphWidget(
        title=title,
        left=left,
        right=right or [],
        left_annotations=annotations,
        width=WIDTH // 3,
        height=6,
    )
