"""How an ObservedService replaces its running tasks: ECS's native deployment strategies."""

from __future__ import annotations

import math
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_ecs as ecs
from constructs import IConstruct

from .. import _validation as check
from .._boundary import or_default

MAX_BAKE = Duration.minutes(1440)


@dataclass(frozen=True)
class Deployment:
    """A deployment strategy: rolling, canary, linear or blue/green.

    Create one with the static methods; the constructor is not part of the public API. Every
    strategy rolls back automatically when the service's health signal goes into ALARM (while
    the new tasks start and, for the traffic-shifting strategies, during every bake time).
    Rolling and blue/green deployments also roll back on the deployment circuit breaker (tasks
    that fail to start), which ECS documents for those two strategies only.
    """

    strategy: ecs.DeploymentStrategy
    bake_time: Duration | None = None
    percent: float | None = None
    step_bake_time: Duration | None = None

    @staticmethod
    def rolling() -> Deployment:
        """Replace tasks in place, keeping 100% of the desired count healthy throughout.

        No second target group and no bake time: the cheapest and fastest strategy.
        """
        return Deployment(ecs.DeploymentStrategy.ROLLING)

    @staticmethod
    def blue_green(*, bake_time: Duration | None = None) -> Deployment:
        """Start a full new set of tasks, shift all traffic at once, keep the old set for
        ``bake_time`` so a rollback is instant.

        :param bake_time: how long both sets run after the shift. Default: 10 minutes.
        """
        return Deployment(
            ecs.DeploymentStrategy.BLUE_GREEN, or_default(bake_time, Duration.minutes(10))
        )

    @staticmethod
    def canary(
        *,
        percent: float = 10.0,
        canary_bake_time: Duration | None = None,
        bake_time: Duration | None = None,
    ) -> Deployment:
        """Shift ``percent`` of traffic to the new tasks, wait, then shift the rest.

        :param percent: share of traffic sent to the new tasks first, 0.1 to 100 in steps of
            0.1. Default: 10.
        :param canary_bake_time: how long the canary share runs before the rest shifts.
            Default: 5 minutes.
        :param bake_time: how long the old tasks are kept after all traffic shifted.
            Default: 10 minutes.
        """
        return Deployment(
            ecs.DeploymentStrategy.CANARY,
            or_default(bake_time, Duration.minutes(10)),
            percent,
            or_default(canary_bake_time, Duration.minutes(5)),
        )

    @staticmethod
    def linear(
        *,
        step_percent: float = 20.0,
        step_bake_time: Duration | None = None,
        bake_time: Duration | None = None,
    ) -> Deployment:
        """Shift traffic in equal steps, waiting after each one.

        :param step_percent: share of traffic shifted per step, 3 to 100 in steps of 0.1.
            Default: 20 (five steps).
        :param step_bake_time: wait after each step. Default: 3 minutes.
        :param bake_time: how long the old tasks are kept after all traffic shifted.
            Default: 10 minutes.
        """
        return Deployment(
            ecs.DeploymentStrategy.LINEAR,
            or_default(bake_time, Duration.minutes(10)),
            step_percent,
            or_default(step_bake_time, Duration.minutes(3)),
        )

    @property
    def shifts_traffic(self) -> bool:
        """True for blue/green, canary and linear, which need a second target group."""
        return self.strategy != ecs.DeploymentStrategy.ROLLING

    def _field_label(self, name: str) -> str:
        """The name the factory gave a field: a canary's ``step_bake_time`` is its
        ``canary_bake_time``, a linear deployment's ``percent`` its ``step_percent``."""
        if name == "step_bake_time" and self.strategy == ecs.DeploymentStrategy.CANARY:
            return "canary_bake_time"
        if name == "percent" and self.strategy == ecs.DeploymentStrategy.LINEAR:
            return "step_percent"
        return name

    def validate(self, scope: IConstruct, prop: str = "deployment") -> None:
        """Raise ``ValueError`` when a value is outside what ECS accepts."""
        for name, value in (("bake_time", self.bake_time), ("step_bake_time", self.step_bake_time)):
            if value is not None:
                label = f"{prop}.{self._field_label(name)}"
                check.minutes_in(scope, label, value, Duration.minutes(0), MAX_BAKE)
        shifts = (ecs.DeploymentStrategy.CANARY, ecs.DeploymentStrategy.LINEAR)
        if self.percent is None and self.strategy in shifts:
            check.fail(scope, f"{prop}.{self._field_label('percent')} must be a number, got None")
        if self.percent is None or check.is_token(self.percent):
            return
        low = 0.1 if self.strategy == ecs.DeploymentStrategy.CANARY else 3.0
        _tenths(scope, f"{prop}.{self._field_label('percent')}", self.percent, low)

    def bake_minutes(self) -> int | None:
        """Minutes a deployment spends waiting in its bake times (canary or linear steps, then
        the final bake), on top of starting the new tasks; ``None`` when a value is a token.
        A deployment run by GatedPipeline must finish within its 60-minute action timeout."""
        waits = [self.bake_time, self.step_bake_time]
        if any(w is not None and check.is_token(w) for w in waits) or check.is_token(self.percent):
            return None
        bake = int(self.bake_time.to_minutes()) if self.bake_time else 0
        step = int(self.step_bake_time.to_minutes()) if self.step_bake_time else 0
        if self.strategy == ecs.DeploymentStrategy.CANARY:
            return step + bake
        if self.strategy == ecs.DeploymentStrategy.LINEAR and self.percent:
            # No wait after the step that reaches 100%.
            return (math.ceil(100 / self.percent) - 1) * step + bake
        return bake

    def _percent_misread_by_cfn_lint(self) -> bool:
        """The percent is a multiple of 0.1 that cfn-lint's floating-point multipleOf check
        rejects (24.9 / 0.1 = 248.99999999999997): its finding is acknowledged."""
        if self.percent is None or check.is_token(self.percent):
            return False
        quotient = self.percent / 0.1
        return int(quotient) != quotient

    def traffic_shift(self) -> ecs.TrafficShiftConfig | None:
        if self.percent is None:
            return None
        return ecs.TrafficShiftConfig(step_percent=self.percent, step_bake_time=self.step_bake_time)


def _tenths(scope: IConstruct, prop: str, value: float, low: float) -> None:
    check.in_range(scope, prop, value, low, 100.0)
    if not math.isclose(round(value * 10), value * 10, abs_tol=1e-9):
        check.fail(scope, f"{prop} must be a multiple of 0.1, got {value!r}")
