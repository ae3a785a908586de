"""The alarms of a service and its health signal: thresholds, checks, and the alarms built.

Every service kind watches the same golden signals with the same thresholds, so the alarms, the
health signal and their descriptions are made here once, from ``ServiceMetrics``.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, Names
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_sns as sns
from constructs import Construct

from .. import _validation as check
from .._alarms import AlarmFactory, AlarmSpec
from .metrics import ServiceMetrics

ALARM_KEYS = ("cpu", "memory", "errors", "latency", "unhealthy_hosts", "running_tasks")
# The signals the health alarm combines; each of them also notifies on its own.
CRITICAL_ALARMS = ("errors", "latency", "unhealthy_hosts", "running_tasks")
MAX_EVALUATION_SECONDS = 86400  # CloudWatch evaluates at most one day of datapoints


@dataclass(frozen=True)
class AlarmThresholds:
    """When a service's alarms fire; see ObservedService for each value's meaning."""

    cpu_percent: float
    memory_percent: float
    error_rate_percent: float
    error_rate_min_requests: int
    latency: Duration
    period: Duration
    datapoints: int
    min_tasks: int

    def check(self, scope: Construct) -> None:
        """Raise ``ValueError`` for a value CloudWatch or the alarm logic cannot take."""
        for prop, value in (
            ("cpu_alarm_percent", self.cpu_percent),
            ("memory_alarm_percent", self.memory_percent),
            ("error_rate_alarm_percent", self.error_rate_percent),
        ):
            check.percent(scope, prop, value)
        check.at_least(scope, "error_rate_min_requests", self.error_rate_min_requests, 1)
        check.duration_in(
            scope,
            "latency_alarm_threshold",
            self.latency,
            Duration.millis(1),
            Duration.seconds(60),
        )
        check.minutes_in(scope, "alarm_period", self.period, Duration.minutes(1), Duration.days(1))
        check.at_least(scope, "alarm_datapoints", self.datapoints, 1)
        if not check.is_token(self.period) and not check.is_token(self.datapoints):
            window = self.period.to_seconds() * self.datapoints
            if window > MAX_EVALUATION_SECONDS:
                check.fail(
                    scope,
                    "alarm_period x alarm_datapoints must be at most 1 day (CloudWatch's "
                    f"evaluation limit), got {window} seconds",
                )


@dataclass(frozen=True)
class ServiceAlarms:
    """The alarms built for one service.

    :param alarms: key (``ALARM_KEYS``) -> metric alarm that notifies on ALARM and on OK.
    :param specs: key -> what each alarm watches, for the dashboard's threshold lines.
    :param health_alarm: the health signal, a metric alarm; its actions are the incident
        route (``incidents``), not the alarm topic.
    :param health_alarm_name: its literal name.
    :param health_spec: what the health signal watches.
    """

    alarms: dict[str, cloudwatch.Alarm]
    specs: dict[str, AlarmSpec]
    health_alarm: cloudwatch.Alarm
    health_alarm_name: str
    health_spec: AlarmSpec

    @property
    def critical(self) -> list[cloudwatch.IAlarm]:
        return [self.alarms[key] for key in CRITICAL_ALARMS]


def resource_prefix(scope: Construct) -> str:
    """A name unique to ``scope`` in its account and region, for the service and its alarms."""
    return Names.unique_resource_name(scope, max_length=180, separator="-")


def alarm_names(prefix: str) -> dict[str, str]:
    """Literal alarm names, known before anything is created: the ECS service refers to its
    health alarm by name, the alarms find the service by name (so they exist, and have been
    evaluated, by the time the service is stable), and a pipeline in another stack names them
    without a cross-stack export that would block their replacement."""
    return {key: f"{prefix}-{key.replace('_', '-')}" for key in (*ALARM_KEYS, "health")}


def build_alarms(
    scope: Construct,
    *,
    service_name: str,
    metrics: ServiceMetrics,
    thresholds: AlarmThresholds,
    topic: sns.ITopic,
    names: dict[str, str],
) -> ServiceAlarms:
    """The alarms (under ``scope``/``Alarms``), each notifying ``topic``, and the health signal,
    which notifies nothing here: ``incidents`` gives it its actions."""
    specs, health = _specs(service_name, metrics, thresholds)
    alarms_scope = Construct(scope, "Alarms")
    factory = AlarmFactory(alarms_scope, topic)
    alarms = {
        key: factory.metric_alarm(_pascal(key), spec, name=names[key])
        for key, spec in specs.items()
    }
    # The health signal: one metric alarm over the critical signals. It does not notify the
    # alarm topic (each critical alarm already does, saying which signal broke): its actions
    # are the incident route.
    health_alarm = AlarmFactory(alarms_scope, None).metric_alarm(
        "Health", health, name=names["health"]
    )
    return ServiceAlarms(alarms, specs, health_alarm, names["health"], health)


def threshold_label(spec: AlarmSpec) -> str:
    """The label of an alarm's threshold line on a graph."""
    below = spec.comparison == cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
    return f"Alarm: {'<' if below else '>'} {spec.threshold:g} for {spec.datapoints} periods"


def _specs(
    name: str, m: ServiceMetrics, t: AlarmThresholds
) -> tuple[dict[str, AlarmSpec], AlarmSpec]:
    """The alarms that notify, by key, and the health signal."""
    greater = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
    quiet = cloudwatch.TreatMissingData.NOT_BREACHING
    window = f"for {t.datapoints} consecutive periods of {m.period.to_human_string()}"
    ignored = f"(minutes under {t.error_rate_min_requests} requests are ignored)"
    latency = t.latency.to_human_string()

    def spec(
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
        first_check: str,
        comparison: cloudwatch.ComparisonOperator = greater,
    ) -> AlarmSpec:
        return AlarmSpec(
            metric, threshold, comparison, description, quiet, t.datapoints, first_check
        )

    specs = {
        "cpu": spec(
            m.cpu(),
            t.cpu_percent,
            f"{name}: CPU above {t.cpu_percent}% {window}.",
            "the dashboard's CPU and Requests graphs: more traffic than the tasks can serve, "
            "and whether autoscaling reached its maximum.",
        ),
        "memory": spec(
            m.memory(),
            t.memory_percent,
            f"{name}: memory above {t.memory_percent}% {window}.",
            "the dashboard's Memory graph and Recent errors: a task that reaches its memory "
            "limit is stopped (OutOfMemory in the ECS service's events).",
        ),
        "errors": spec(
            m.error_rate(t.error_rate_min_requests),
            t.error_rate_percent,
            f"{name}: more than {t.error_rate_percent}% of requests answered 5xx {window} "
            f"{ignored}.",
            "the dashboard's Recent errors (the application's logs), then whether a deployment "
            "or a flag change started just before.",
        ),
        "latency": spec(
            m.latency("p99"),
            t.latency.to_seconds(integral=False),
            f"{name}: p99 latency above {latency} {window}.",
            "the dashboard's Latency and CPU graphs, then the slowest traces in X-Ray: a slow "
            "dependency shows as one long span.",
        ),
        "unhealthy_hosts": spec(
            m.unhealthy_hosts(),
            0,
            f"{name}: at least one target failing load balancer health checks {window}.",
            "the target group's health-check reasons (EC2 console, Target groups) and the ECS "
            "service's events: tasks that do not answer the health-check path in time.",
        ),
        "running_tasks": spec(
            m.tasks_up(t.min_tasks),
            t.min_tasks,
            f"{name}: fewer than {t.min_tasks} tasks running or starting {window}.",
            "the ECS service's events and its stopped tasks' stop reasons: a container that "
            "exits at start, an image that cannot be pulled.",
            cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        ),
    }
    health = spec(
        m.unhealthy(
            error_rate_percent=t.error_rate_percent,
            min_requests=t.error_rate_min_requests,
            latency_seconds=t.latency.to_seconds(integral=False),
            min_running_tasks=t.min_tasks,
        ),
        1,
        f"{name} is unhealthy {window}: 5xx above {t.error_rate_percent}% {ignored}, p99 "
        f"latency above {latency}, a target failing health checks, or fewer than "
        f"{t.min_tasks} tasks running or starting. Deployments, pipeline stages and flag "
        "rollouts roll back on it.",
        "the dashboard's Alarms row (which signals are in ALARM), then Recent errors.",
        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    )
    return specs, health


def _pascal(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))
