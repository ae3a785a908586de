"""How fast a flag change reaches an environment, and how long AppConfig then watches alarms.

A rollout is AppConfig's deployment strategy: a growth type (linear or exponential), a growth
factor (percent of targets per step), a deployment duration and a final bake time. When the
values equal one of AWS's predefined strategies, that strategy is used by its ID instead of
creating a new one (accounts hold a limited number of custom strategies).
https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-creating-deployment-strategy.html
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aws_cdk import Duration
from aws_cdk import aws_appconfig as appconfig
from constructs import Construct, IConstruct

from .. import _validation as check
from .._boundary import or_default

GrowthType = Literal["LINEAR", "EXPONENTIAL"]

# (growth type, growth factor, duration minutes, bake minutes) -> AWS's predefined strategy.
PREDEFINED: dict[tuple[GrowthType, float, int, int], appconfig.DeploymentStrategyId] = {
    ("LINEAR", 100, 0, 10): appconfig.DeploymentStrategyId.ALL_AT_ONCE,
    ("LINEAR", 50, 1, 1): appconfig.DeploymentStrategyId.LINEAR_50_PERCENT_EVERY_30_SECONDS,
    ("EXPONENTIAL", 10, 20, 10): appconfig.DeploymentStrategyId.CANARY_10_PERCENT_20_MINUTES,
    ("LINEAR", 20, 30, 30): appconfig.DeploymentStrategyId.LINEAR_20_PERCENT_EVERY_6_MINUTES,
}
MAX_MINUTES = 1440  # DeploymentDurationInMinutes and FinalBakeTimeInMinutes
# CloudFormation's AWS::AppConfig::Deployment handler waits for the deployment to finish: its
# registry schema gives create a timeout of 1,445 minutes and the appconfig:GetDeployment
# permission, which a handler that returned at once would need for neither. Duration and bake
# together stay within 24 hours, 5 minutes short of it.
MAX_DEPLOYMENT_MINUTES = 1440


@dataclass(frozen=True)
class Rollout:
    """A deployment strategy for flag changes. Make one with a preset: ``Rollout.canary()``,
    ``Rollout.linear()``, ``Rollout.exponential()`` or ``Rollout.all_at_once()``."""

    growth_type: GrowthType
    growth_factor: float
    duration: Duration
    bake_time: Duration

    @staticmethod
    def canary(
        *,
        percent: float = 10,
        duration: Duration | None = None,
        bake_time: Duration | None = None,
    ) -> Rollout:
        """A few targets first, then doubling: ``percent``, 2 x ``percent``, 4 x ... over
        ``duration`` (AppConfig's exponential growth).

        The defaults are AWS's ``AppConfig.Canary10Percent20Minutes``, which AWS recommends for
        production: 20 minutes of rollout, then 10 minutes of bake.

        :param percent: share of targets in the first step, in [1, 100]. Default: 10.
        :param duration: time to reach every target, whole minutes up to 24 hours.
            Default: 20 minutes.
        :param bake_time: time alarms are watched after the last step, whole minutes up to
            24 hours. Default: 10 minutes.
        """
        return Rollout(
            "EXPONENTIAL",
            percent,
            or_default(duration, Duration.minutes(20)),
            or_default(bake_time, Duration.minutes(10)),
        )

    @staticmethod
    def exponential(
        *, growth_factor: float, duration: Duration, bake_time: Duration | None = None
    ) -> Rollout:
        """``growth_factor`` percent of targets, then 2x, 4x... over ``duration``.

        :param growth_factor: share of targets in the first step, in [1, 100].
        :param duration: time to reach every target, whole minutes up to 24 hours.
        :param bake_time: time alarms are watched after the last step. Default: 10 minutes.
        """
        return Rollout(
            "EXPONENTIAL", growth_factor, duration, or_default(bake_time, Duration.minutes(10))
        )

    @staticmethod
    def linear(
        *,
        step_percent: float = 20,
        duration: Duration | None = None,
        bake_time: Duration | None = None,
    ) -> Rollout:
        """``step_percent`` more targets at each step, steps evenly spread over ``duration``.

        The defaults are AWS's ``AppConfig.Linear20PercentEvery6Minutes``: 20% every 6 minutes
        for 30 minutes, then 30 minutes of bake. ``step_percent=50``,
        ``duration=Duration.minutes(1)``, ``bake_time=Duration.minutes(1)`` is AWS's
        ``AppConfig.Linear50PercentEvery30Seconds``, meant for tests and demonstrations.

        :param step_percent: share of targets added at each step, in [1, 100]. Default: 20.
        :param duration: time to reach every target, whole minutes up to 24 hours.
            Default: 30 minutes.
        :param bake_time: time alarms are watched after the last step. Default: 30 minutes.
        """
        return Rollout(
            "LINEAR",
            step_percent,
            or_default(duration, Duration.minutes(30)),
            or_default(bake_time, Duration.minutes(30)),
        )

    @staticmethod
    def all_at_once(*, bake_time: Duration | None = None) -> Rollout:
        """Every target at once, then alarms are watched for ``bake_time``.

        The default is AWS's ``AppConfig.AllAtOnce``.

        :param bake_time: time alarms are watched, whole minutes up to 24 hours.
            Default: 10 minutes.
        """
        return Rollout(
            "LINEAR", 100, Duration.minutes(0), or_default(bake_time, Duration.minutes(10))
        )

    # ------------------------------------------------------------------------------------------

    @property
    def predefined(self) -> appconfig.DeploymentStrategyId | None:
        """AWS's predefined strategy with exactly these values, if there is one."""
        if check.is_token(self.duration) or check.is_token(self.bake_time):
            return None
        key = (
            self.growth_type,
            self.growth_factor,
            int(self.duration.to_minutes()),
            int(self.bake_time.to_minutes()),
        )
        return PREDEFINED.get(key)

    @property
    def total_time(self) -> Duration:
        """How long one environment's deployment takes when no alarm fires."""
        return Duration.minutes(self.duration.to_minutes() + self.bake_time.to_minutes())

    def validate(self, scope: IConstruct) -> None:
        """Raise ``ValueError`` unless AppConfig accepts these values."""
        check.in_range(scope, "rollout.growth_factor", self.growth_factor, 1, 100, unit="percent")
        for prop, value in (
            ("rollout.duration", self.duration),
            ("rollout.bake_time", self.bake_time),
        ):
            check.minutes_in(scope, prop, value, Duration.minutes(0), Duration.minutes(MAX_MINUTES))
        if check.is_token(self.duration) or check.is_token(self.bake_time):
            return
        total = int(self.duration.to_minutes() + self.bake_time.to_minutes())
        if total > MAX_DEPLOYMENT_MINUTES:
            check.fail(
                scope,
                f"rollout.duration + rollout.bake_time must be at most {MAX_DEPLOYMENT_MINUTES} "
                "minutes (24 hours): CloudFormation waits for each environment's deployment, "
                "bake included, and gives up after 1,445 minutes (the create timeout of "
                f"AWS::AppConfig::Deployment), got {total} minutes",
            )

    def deployment_strategy(self, scope: Construct, id: str) -> appconfig.IDeploymentStrategy:
        """AWS's predefined strategy when one matches, else a new strategy in ``scope``."""
        predefined = self.predefined
        if predefined is not None:
            return appconfig.DeploymentStrategy.from_deployment_strategy_id(scope, id, predefined)
        rollout = (
            appconfig.RolloutStrategy.linear
            if self.growth_type == "LINEAR"
            else appconfig.RolloutStrategy.exponential
        )
        return appconfig.DeploymentStrategy(
            scope,
            id,
            rollout_strategy=rollout(
                growth_factor=self.growth_factor,
                deployment_duration=self.duration,
                final_bake_time=self.bake_time,
            ),
            description=self.describe(),
        )

    def describe(self) -> str:
        """E.g. ``linear, 25% per step over 20 minutes, then 10 minutes of bake``."""
        kind = "linear" if self.growth_type == "LINEAR" else "exponential"
        step = "per step" if self.growth_type == "LINEAR" else "first step, doubling"
        return (
            f"{kind}, {self.growth_factor:g}% {step} over {self.duration.to_human_string()}, "
            f"then {self.bake_time.to_human_string()} of bake"
        )
