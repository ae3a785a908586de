"""How an ObservedService scales: target tracking on CPU and on requests per task."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from .. import _validation as check
from .._service.metrics import ServiceMetrics

SCALE_IN_COOLDOWN = Duration.seconds(300)
SCALE_OUT_COOLDOWN = Duration.seconds(60)


@dataclass(frozen=True)
class Scaling:
    """The scaling props of a service; see ObservedService for each value."""

    min_capacity: int
    max_capacity: int
    cpu_target_percent: float
    requests_per_target: int | None

    def check(self, scope: Construct) -> None:
        """Raise ``ValueError`` for bounds Application Auto Scaling would refuse."""
        check.at_least(scope, "min_capacity", self.min_capacity, 1)
        tokens = check.is_token(self.min_capacity) or check.is_token(self.max_capacity)
        if not tokens and self.max_capacity < self.min_capacity:
            check.fail(
                scope,
                f"max_capacity must be at least min_capacity ({self.min_capacity}), "
                f"got {self.max_capacity!r}",
            )
        check.percent(scope, "cpu_scaling_target_percent", self.cpu_target_percent)
        if self.requests_per_target is not None:
            check.at_least(scope, "requests_per_target", self.requests_per_target, 1)

    def build(self, service: ecs.FargateService, metrics: ServiceMetrics) -> None:
        """Scale out fast (60 s) and in slowly (300 s)."""
        scaling = service.auto_scale_task_count(
            min_capacity=self.min_capacity, max_capacity=self.max_capacity
        )
        scaling.scale_on_cpu_utilization(
            "CpuScaling",
            target_utilization_percent=self.cpu_target_percent,
            scale_in_cooldown=SCALE_IN_COOLDOWN,
            scale_out_cooldown=SCALE_OUT_COOLDOWN,
        )
        if self.requests_per_target is not None:
            _scale_on_requests(scaling, metrics.requests_per_target(), self.requests_per_target)


def _scale_on_requests(
    scaling: ecs.ScalableTaskCount,
    per_target_group: Mapping[str, cloudwatch.IMetric],
    requests_per_target: int,
) -> None:
    """Target tracking on requests per task per minute.

    With two target groups (traffic-shifting deployments) the policy tracks their sum with metric
    math, which Application Auto Scaling supports but the CDK L2 does not: the L1 is completed by
    hand.
    """
    metrics = list(per_target_group.values())
    scaling.scale_to_track_custom_metric(
        "RequestScaling",
        metric=metrics[0],
        target_value=requests_per_target,
        scale_in_cooldown=SCALE_IN_COOLDOWN,
        scale_out_cooldown=SCALE_OUT_COOLDOWN,
    )
    if len(metrics) == 1:
        return
    cfn = next(
        c
        for c in scaling.node.find_all()
        if isinstance(c, appscaling.CfnScalingPolicy)
        and c.node.path.endswith("/RequestScaling/Resource")
    )
    spec = "TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification"
    for key in ("MetricName", "Namespace", "Statistic", "Dimensions", "Unit"):
        cfn.add_deletion_override(f"Properties.{spec}.{key}")
    queries: list[dict[str, object]] = []
    for key, metric in per_target_group.items():
        config = metric.to_metric_config().metric_stat
        assert config is not None
        queries.append(
            {
                "Id": key,
                "ReturnData": False,
                "MetricStat": {
                    "Metric": {
                        "Namespace": config.namespace,
                        "MetricName": config.metric_name,
                        "Dimensions": [
                            {"Name": d.name, "Value": d.value} for d in config.dimensions or []
                        ],
                    },
                    "Stat": config.statistic,
                },
            }
        )
    queries.append(
        {
            "Id": "requests_per_target",
            "Expression": " + ".join(f"FILL({key}, 0)" for key in per_target_group),
            "Label": "Requests per task (both target groups)",
            "ReturnData": True,
        }
    )
    cfn.add_property_override(f"{spec}.Metrics", queries)
