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
from .._compliance import acknowledge
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
    :param health_alarm: the health signal, a metric alarm without actions of its own.
    :param health_alarm_name: its literal name.
    """

    alarms: dict[str, cloudwatch.Alarm]
    specs: dict[str, AlarmSpec]
    health_alarm: cloudwatch.Alarm
    health_alarm_name: str

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
    """The alarms (under ``scope``/``Alarms``), each notifying ``topic``, and the health signal."""
    specs, health = _specs(service_name, metrics, thresholds)
    alarms_scope = Construct(scope, "Alarms")
    factory = AlarmFactory(alarms_scope, topic)
    alarms = {
        key: factory.metric_alarm(_pascal(key), spec, name=names[key])
        for key, spec in specs.items()
    }
    # The health signal: one metric alarm over the critical signals, without actions of its
    # own (each critical alarm already notifies, saying which signal broke).
    health_alarm = AlarmFactory(alarms_scope, None).metric_alarm(
        "Health", health, name=names["health"]
    )
    acknowledge(health_alarm, "health-signal-alarm")
    return ServiceAlarms(alarms, specs, health_alarm, names["health"])


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
        comparison: cloudwatch.ComparisonOperator = greater,
    ) -> AlarmSpec:
        return AlarmSpec(metric, threshold, comparison, description, quiet, t.datapoints)

    specs = {
        "cpu": spec(m.cpu(), t.cpu_percent, f"{name}: CPU above {t.cpu_percent}% {window}."),
        "memory": spec(
            m.memory(), t.memory_percent, f"{name}: memory above {t.memory_percent}% {window}."
        ),
        "errors": spec(
            m.error_rate(t.error_rate_min_requests),
            t.error_rate_percent,
            f"{name}: more than {t.error_rate_percent}% of requests answered 5xx {window} "
            f"{ignored}.",
        ),
        "latency": spec(
            m.latency("p99"),
            t.latency.to_seconds(integral=False),
            f"{name}: p99 latency above {latency} {window}.",
        ),
        "unhealthy_hosts": spec(
            m.unhealthy_hosts(),
            0,
            f"{name}: at least one target failing load balancer health checks {window}.",
        ),
        "running_tasks": spec(
            m.tasks_up(t.min_tasks),
            t.min_tasks,
            f"{name}: fewer than {t.min_tasks} tasks running or starting {window}.",
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
        f"{name} is unhealthy {window}: more than {t.error_rate_percent}% of requests answered "
        f"5xx {ignored}, p99 latency above {latency}, a target failing health checks, or fewer "
        f"than {t.min_tasks} tasks running or starting. ECS deployments, pipeline stages and "
        "feature-flag rollouts roll back on this alarm.",
        cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    )
    return specs, health


def _pascal(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))
