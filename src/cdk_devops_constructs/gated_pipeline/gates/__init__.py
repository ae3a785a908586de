"""The gates a deploy stage can have: one module per kind, each building its own rules or
actions. See ``base`` for how gates become stage conditions and actions."""

# ruff: noqa: I001 (base first: it imports the gate modules, which import it)
from .base import (
    MAX_BAKE,
    MAX_RULES_PER_CONDITION,
    Gate,
    RuleSpec,
    WatchedAlarm,
    watched_alarms,
)
from .approval import ManualApprovalGate
from .bake import BakeGate
from .cron import cron_problem, is_time_zone
from .healthy import AlarmGate
from .window import DeploymentWindowGate

__all__ = [
    "MAX_BAKE",
    "MAX_RULES_PER_CONDITION",
    "AlarmGate",
    "BakeGate",
    "DeploymentWindowGate",
    "Gate",
    "ManualApprovalGate",
    "RuleSpec",
    "WatchedAlarm",
    "cron_problem",
    "is_time_zone",
    "watched_alarms",
]
