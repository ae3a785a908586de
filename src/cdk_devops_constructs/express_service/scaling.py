"""How an Express service scales: Express Mode's own target tracking on one metric."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ecs as ecs
from constructs import Construct

from .. import _validation as check

# The metrics ExpressGatewayScalingTarget.AutoScalingMetric takes (ECS API reference).
SCALING_METRICS = ("AVERAGE_CPU", "AVERAGE_MEMORY", "REQUEST_COUNT_PER_TARGET")
# "Request Count per Target ... can be set up to 65536" (ECS developer guide, "Resources created
# by Amazon ECS Express Mode services"); CPU and memory targets are percentages.
MAX_REQUESTS_PER_TARGET = 65536


@dataclass(frozen=True)
class ExpressScaling:
    """The scaling props of an ExpressService; see it for each value."""

    min_capacity: int
    max_capacity: int
    metric: str
    target_value: int

    def check(self, scope: Construct) -> None:
        """Raise ``ValueError`` for bounds Express Mode would refuse."""
        check.capacity(scope, self.min_capacity, self.max_capacity)
        check.one_of(scope, "scaling_metric", self.metric, SCALING_METRICS)
        high = 100 if self.metric != "REQUEST_COUNT_PER_TARGET" else MAX_REQUESTS_PER_TARGET
        check.in_range(scope, "scaling_target_value", self.target_value, 1, high)

    def target(self) -> ecs.CfnExpressGatewayService.ExpressGatewayScalingTargetProperty:
        """Every field stated: the documented defaults disagree (max tasks 1 or 20)."""
        return ecs.CfnExpressGatewayService.ExpressGatewayScalingTargetProperty(
            min_task_count=self.min_capacity,
            max_task_count=self.max_capacity,
            auto_scaling_metric=self.metric,
            auto_scaling_target_value=self.target_value,
        )
