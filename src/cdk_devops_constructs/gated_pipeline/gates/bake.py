"""After the stage deploys, watch alarms for a while; roll back if one fires (``Gate.bake``)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import IConstruct

from ... import _validation as check
from ..._boundary import Known
from ...service_contract import IObservedService
from .base import MAX_BAKE, MIN_BAKE, Gate


@dataclass(frozen=True)
class BakeGate(Gate):
    """Alarms watched after the stage deploys; made by ``Gate.bake``."""

    duration: Known[Duration]
    services: tuple[IObservedService, ...] | None
    alarms: tuple[cloudwatch.IAlarm, ...]

    def validate(self, scope: IConstruct, prop: str) -> None:
        check.minutes_in(scope, f"{prop}.duration", self.duration, MIN_BAKE, MAX_BAKE)

    @property
    def minutes(self) -> int:
        return int(self.duration.to_minutes())
