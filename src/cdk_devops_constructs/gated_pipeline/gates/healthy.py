"""The stage is not entered while an alarm is in ALARM (``Gate.healthy_before_entry``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import IConstruct

from ... import _validation as check
from ..._boundary import Known
from ...service_contract import IObservedService
from ..environments import Env
from .base import MAX_BAKE, MIN_BAKE, Gate, RuleSpec, WatchedAlarm


@dataclass(frozen=True)
class AlarmGate(Gate):
    """Alarms that must not be in ALARM when the stage is entered; ``Gate.healthy_before_entry``."""

    services: tuple[IObservedService, ...] | None
    alarms: tuple[cloudwatch.IAlarm, ...]
    wait: Known[Duration] | None

    def validate(self, scope: IConstruct, prop: str) -> None:
        if self.wait is not None:
            check.minutes_in(scope, f"{prop}.wait", self.wait, MIN_BAKE, MAX_BAKE)

    def rules(self, stage: str, watched: Sequence[WatchedAlarm], pipeline: Env) -> list[RuleSpec]:
        """One ``CloudWatchAlarm`` rule per alarm: the stage is not entered while it is in
        ALARM (after ``wait``, if given, for it to recover). A rule reads an alarm of another
        account or region there (its ``region``, and a role of that account)."""
        wait = {"WaitTime": str(int(self.wait.to_minutes()))} if self.wait else {}
        return [
            (
                f"{stage}-Healthy-{n}",
                "CloudWatchAlarm",
                {"AlarmName": alarm.name, "AlarmStates": "ALARM", **wait},
                None if alarm.env.same(pipeline) else alarm.env,
            )
            for n, alarm in enumerate(watched, start=1)
        ]
