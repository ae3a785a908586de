"""The metrics of one ObservedService, and the metric math over them.

Kept apart from alarms and dashboards: both read the same definitions from here. Every metric has
explicit dimensions, so a load balancer shared between services (or imported) works the same.
"""

from __future__ import annotations

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
        target_group_full_name: str,
        cluster_name: str,
        service_name: str,
        period: Duration,
    ) -> None:
        self._target = {
            "LoadBalancer": load_balancer_full_name,
            "TargetGroup": target_group_full_name,
        }
        self._service = {"ClusterName": cluster_name, "ServiceName": service_name}
        self.period = period

    def _alb(self, name: str, statistic: str, label: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=ALB,
            metric_name=name,
            dimensions_map=self._target,
            statistic=statistic,
            period=self.period,
            label=label,
        )

    def requests(self) -> cloudwatch.Metric:
        return self._alb("RequestCount", "Sum", "Requests")

    def target_5xx(self) -> cloudwatch.Metric:
        return self._alb("HTTPCode_Target_5XX_Count", "Sum", "5xx from the service")

    def target_4xx(self) -> cloudwatch.Metric:
        return self._alb("HTTPCode_Target_4XX_Count", "Sum", "4xx from the service")

    def latency(self, percentile: str) -> cloudwatch.Metric:
        """Target response time at ``percentile`` (``"p50"``, ``"p99"``...), in seconds."""
        return self._alb("TargetResponseTime", percentile, f"Latency {percentile}")

    def unhealthy_hosts(self) -> cloudwatch.Metric:
        return self._alb("UnHealthyHostCount", "Maximum", "Unhealthy targets")

    def healthy_hosts(self) -> cloudwatch.Metric:
        return self._alb("HealthyHostCount", "Minimum", "Healthy targets")

    def error_rate(self, min_requests: int) -> cloudwatch.MathExpression:
        """Percentage of requests answered 5xx by the service.

        Minutes with fewer than ``min_requests`` requests count as 0%, so one failed request on
        an idle service does not page anyone.
        """
        return cloudwatch.MathExpression(
            expression=f"IF(requests >= {min_requests}, 100 * FILL(errors, 0) / requests, 0)",
            using_metrics={"errors": self.target_5xx(), "requests": self.requests()},
            label="5xx error rate (%)",
            period=self.period,
        )

    def cpu(self) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=ECS,
            metric_name="CPUUtilization",
            dimensions_map=self._service,
            statistic="Average",
            period=self.period,
            label="CPU utilization (%)",
        )

    def memory(self) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=ECS,
            metric_name="MemoryUtilization",
            dimensions_map=self._service,
            statistic="Average",
            period=self.period,
            label="Memory utilization (%)",
        )

    def running_tasks(self) -> cloudwatch.Metric:
        """Published by Container Insights, which must be on for the cluster."""
        return cloudwatch.Metric(
            namespace=CONTAINER_INSIGHTS,
            metric_name="RunningTaskCount",
            dimensions_map=self._service,
            statistic="Minimum",
            period=self.period,
            label="Running tasks",
        )
