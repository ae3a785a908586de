"""The times a stage may be entered (``Gate.deployment_window``)."""

from __future__ import annotations

from dataclasses import dataclass

from constructs import IConstruct

from ... import _validation as check
from .base import Gate, RuleSpec
from .cron import cron_problem, is_time_zone


@dataclass(frozen=True)
class DeploymentWindowGate(Gate):
    """The times a stage may be entered; made by ``Gate.deployment_window``."""

    cron: str
    time_zone: str

    def validate(self, scope: IConstruct, prop: str) -> None:
        if not check.is_token(self.cron):
            problem = cron_problem(self.cron)
            if problem:
                check.fail(
                    scope,
                    f"{prop}.cron must be a CodePipeline cron expression (seconds minutes hours "
                    f"day-of-month month day-of-week [year]): {problem}, got {self.cron!r}",
                )
        if not check.is_token(self.time_zone) and not is_time_zone(self.time_zone):
            check.fail(
                scope,
                f"{prop}.time_zone must be a time zone CodePipeline knows: an IANA name like "
                "'Europe/Berlin', 'UTC' or 'UTC+05:30', or an abbreviation like 'EST' or 'PST', "
                f"got {check.shown(self.time_zone)}",
            )

    def rules(self, stage: str) -> list[RuleSpec]:
        return [
            (
                f"{stage}-DeploymentWindow",
                "DeploymentWindow",
                {"Cron": self.cron, "TimeZone": self.time_zone},
                None,
            )
        ]
