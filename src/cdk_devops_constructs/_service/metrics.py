"""The metrics of one service, and the metric math over them.

Kept apart from alarms and dashboards: both read the same definitions from here. Every metric has
explicit dimensions, so a load balancer shared between services (or imported) works the same.

Blue/green, canary and linear deployments move the service between two target groups, and which
one serves production changes with every deployment. Load balancer metrics are then combined
over both target groups (sums for counts, the worse of the two for latency), so alarms never go
quiet because they watch the target group that happens to be idle.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

ALB = "AWS/ApplicationELB"
ECS = "AWS/ECS"
CONTAINER_INSIGHTS = "ECS/ContainerInsights"


class ServiceMetrics:
    """Golden signals of a service behind an Application Load Balancer target group."""

    def __init__(
        self,
        *,
        load_balancer_full_name: str,
        target_group_full_names: Sequence[str],
        cluster_name: str,
        service_name: str,
        period: Duration,
        target_groups_may_repeat: bool = False,
    ) -> None:
        """
        :param target_groups_may_repeat: the two target groups may be one and the same (their
            names are only known at deployment): sums then count every request twice, so the
            error rate's minimum-request floor reads the busier target group instead of the sum.
        """
        self._load_balancer = load_balancer_full_name
        self._target_groups = list(target_group_full_names)
        self._may_repeat = target_groups_may_repeat and len(self._target_groups) > 1
        self._service = {"ClusterName": cluster_name, "ServiceName": service_name}
        self.period = period
        # Alarms and dashboard share metric objects: each one created is a jsii round trip.
        self._made: dict[tuple[object, ...], cloudwatch.IMetric] = {}

    def _once(
        self, key: tuple[object, ...], make: Callable[[], cloudwatch.IMetric]
    ) -> cloudwatch.IMetric:
        if key not in self._made:
            self._made[key] = make()
        return self._made[key]

    def _per_target_group(
        self, name: str, statistic: str, label: str | None = None, period: Duration | None = None
    ) -> dict[str, cloudwatch.IMetric]:
        """``{"<metric><n>": metric of target group n}``; ids unique across expressions."""
        prefix = re.sub(r"[^a-z0-9]", "", f"{name}{statistic}".lower())
        return {
            f"{prefix}{index}": cloudwatch.Metric(
                namespace=ALB,
                metric_name=name,
                dimensions_map={"LoadBalancer": self._load_balancer, "TargetGroup": target_group},
                statistic=statistic,
                period=period or self.period,
                label=label,
            )
            for index, target_group in enumerate(self._target_groups)
        }

    def _alb(self, name: str, statistic: str, label: str, combine: str) -> cloudwatch.IMetric:
        """One target group's metric, or ``combine`` (``"sum"`` or ``"max"``) over both."""
        return self._once(
            (name, statistic, combine), lambda: self._combined(name, statistic, label, combine)
        )

    def _combined(self, name: str, statistic: str, label: str, combine: str) -> cloudwatch.IMetric:
        if len(self._target_groups) == 1:
            (metric,) = self._per_target_group(name, statistic, label).values()
            return metric
        metrics = self._per_target_group(name, statistic)
        ids = list(metrics)
        first, second = (f"FILL({i}, 0)" for i in ids)
        # The larger of the two without MAX([...]), which CloudWatch advises against in alarms.
        expression = (
            f"{first} + {second}"
            if combine == "sum"
            else f"IF({first} > {second}, {first}, {second})"
        )
        return cloudwatch.MathExpression(
            expression=expression, using_metrics=metrics, label=label, period=self.period
        )

    def requests(self) -> cloudwatch.IMetric:
        return self._alb("RequestCount", "Sum", "Requests", "sum")

    def target_5xx(self) -> cloudwatch.IMetric:
        return self._alb("HTTPCode_Target_5XX_Count", "Sum", "5xx from the service", "sum")

    def latency(self, percentile: str) -> cloudwatch.IMetric:
        """Target response time at ``percentile`` (``"p50"``, ``"p99"``...), in seconds."""
        return self._alb("TargetResponseTime", percentile, f"Latency {percentile}", "max")

    def unhealthy_hosts(self) -> cloudwatch.IMetric:
        return self._alb("UnHealthyHostCount", "Maximum", "Unhealthy targets", "sum")

    def healthy_hosts(self) -> cloudwatch.IMetric:
        return self._alb("HealthyHostCount", "Minimum", "Healthy targets", "sum")

    def requests_per_target(self) -> dict[str, cloudwatch.IMetric]:
        """Per target group, for request-based autoscaling (one value per minute)."""
        return self._per_target_group("RequestCountPerTarget", "Sum", period=Duration.minutes(1))

    def error_rate(self, min_requests: int) -> cloudwatch.IMetric:
        """Percentage of requests answered 5xx by the service.

        Minutes with fewer than ``min_requests`` requests count as 0%, so one failed request on
        an idle service does not page anyone. When the two target groups may be one
        (``target_groups_may_repeat``), the floor reads the busier target group: the sum would
        count each request twice when they are the same, and the busier one holds at least
        half the requests (all of them outside a deployment's traffic shift) when they are not.
        The rate itself is right either way: errors and requests are counted alike.
        """
        if not self._may_repeat:
            return self._once(
                ("error_rate", min_requests),
                lambda: cloudwatch.MathExpression(
                    expression=f"IF(requests >= {min_requests}, "
                    "100 * FILL(errors, 0) / requests, 0)",
                    using_metrics={"errors": self.target_5xx(), "requests": self.requests()},
                    label="5xx error rate (%)",
                    period=self.period,
                ),
            )
        busiest = self._alb("RequestCount", "Sum", "Requests (busier target group)", "max")
        return self._once(
            ("error_rate", min_requests),
            lambda: cloudwatch.MathExpression(
                expression=f"IF(busiest >= {min_requests}, 100 * FILL(errors, 0) / requests, 0)",
                using_metrics={
                    "errors": self.target_5xx(),
                    "requests": self.requests(),
                    "busiest": busiest,
                },
                label="5xx error rate (%)",
                period=self.period,
            ),
        )

    def _ecs(self, namespace: str, name: str, statistic: str, label: str) -> cloudwatch.IMetric:
        return self._once(
            (namespace, name, statistic),
            lambda: cloudwatch.Metric(
                namespace=namespace,
                metric_name=name,
                dimensions_map=self._service,
                statistic=statistic,
                period=self.period,
                label=label,
            ),
        )

    def cpu(self) -> cloudwatch.IMetric:
        return self._ecs(ECS, "CPUUtilization", "Average", "CPU utilization (%)")

    def memory(self) -> cloudwatch.IMetric:
        return self._ecs(ECS, "MemoryUtilization", "Average", "Memory utilization (%)")

    def running_tasks(self) -> cloudwatch.IMetric:
        """Published by Container Insights, which must be on for the cluster."""
        return self._ecs(CONTAINER_INSIGHTS, "RunningTaskCount", "Minimum", "Running tasks")

    def pending_tasks(self) -> cloudwatch.IMetric:
        """Tasks starting (pulling images, waiting for their dependencies); Container Insights."""
        return self._ecs(CONTAINER_INSIGHTS, "PendingTaskCount", "Minimum", "Pending tasks")

    def tasks_up(self, min_tasks: int) -> cloudwatch.IMetric:
        """Tasks running or starting.

        A task still starting is not an outage (a new service, or a large image, can take
        minutes to reach RUNNING); tasks that keep failing leave the count below the minimum.
        A missing running count (Container Insights off, or no datapoint yet) counts as
        ``min_tasks``: no information is not an outage either.
        """
        return self._once(
            ("tasks_up", min_tasks),
            lambda: cloudwatch.MathExpression(
                expression=f"FILL(running, {min_tasks}) + FILL(pending, 0)",
                using_metrics={"running": self.running_tasks(), "pending": self.pending_tasks()},
                label="Tasks running or starting",
                period=self.period,
            ),
        )

    def unhealthy(
        self,
        *,
        error_rate_percent: float,
        min_requests: int,
        latency_seconds: float,
        min_running_tasks: int,
    ) -> cloudwatch.IMetric:
        """How many critical signals are out of bounds in a period (0 when healthy).

        The signals: the 5xx rate above ``error_rate_percent`` (periods under ``min_requests``
        requests count as 0%), p99 latency above ``latency_seconds``, a target failing health
        checks, and fewer tasks running or starting than ``min_running_tasks``.

        One metric-math series, so that the health signal is a *metric* alarm, the kind every
        consumer documents reading (ECS deployment alarms, CodePipeline's CloudWatchAlarm rule,
        AppConfig monitors). A missing series counts as healthy (FILL): no requests is no error,
        and no Container Insights datapoint is no information. It reads at most 10 metrics
        (with two target groups), CloudWatch's limit for one alarm.
        """
        # One IF per signal, added up: the alarm fires at 1 or more. IF and FILL only (no
        # MAX([...]), which CloudWatch advises against in alarms); FILL's caveat (an alarm stuck
        # in one state) concerns a breaching fill value, and these fill with healthy values.
        return cloudwatch.MathExpression(
            expression=(
                f"IF(FILL(errorRate, 0) > {error_rate_percent:g}, 1, 0)"
                f" + IF(FILL(p99, 0) > {latency_seconds:g}, 1, 0)"
                " + IF(FILL(unhealthyTargets, 0) > 0, 1, 0)"
                f" + IF(tasksUp < {min_running_tasks}, 1, 0)"
            ),
            using_metrics={
                "errorRate": self.error_rate(min_requests),
                "p99": self.latency("p99"),
                "unhealthyTargets": self.unhealthy_hosts(),
                "tasksUp": self.tasks_up(min_running_tasks),
            },
            label="Critical signals out of bounds",
            period=self.period,
        )
