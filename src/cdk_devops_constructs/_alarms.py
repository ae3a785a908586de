"""One alarm factory: every alarm of the library gets its actions and missing-data policy here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from . import _validation as check

# AlarmDescription: "Length Constraints: Minimum length of 0. Maximum length of 1024."
# (PutMetricAlarm and PutCompositeAlarm API references). CDK does not check it.
MAX_DESCRIPTION = 1024
# The longest a value known only at deployment can be, by pseudo parameter; any other token
# counts as 255 characters (the longest name most resources take).
_TOKEN_LENGTHS = {"AWS::AccountId": 12, "AWS::Region": 20, "AWS::Partition": 14}
_UNKNOWN_TOKEN_LENGTH = 255


@dataclass(frozen=True)
class AlarmSpec:
    """What one alarm watches and when it fires."""

    metric: cloudwatch.IMetric
    threshold: float
    comparison: cloudwatch.ComparisonOperator
    description: str
    missing_data: cloudwatch.TreatMissingData
    datapoints: int
    first_check: str = ""
    """What a person looks at first when the alarm fires (part of its full description)."""


class AlarmFactory:
    """Creates alarms that notify ``topic`` on ALARM and on OK."""

    def __init__(self, scope: Construct, topic: sns.ITopic | None) -> None:
        self._scope = scope
        self._action = actions.SnsAction(topic) if topic is not None else None

    def metric_alarm(
        self, id: str, spec: AlarmSpec, *, name: str | None = None
    ) -> cloudwatch.Alarm:
        check_description(self._scope, f"the description of alarm {id}", spec.description)
        # M out of M datapoints: the alarm fires after `datapoints` consecutive breaching
        # periods, so the time to fire is period x datapoints.
        alarm = cloudwatch.Alarm(
            self._scope,
            id,
            metric=spec.metric,
            threshold=spec.threshold,
            comparison_operator=spec.comparison,
            evaluation_periods=spec.datapoints,
            datapoints_to_alarm=spec.datapoints,
            treat_missing_data=spec.missing_data,
            alarm_description=spec.description,
            alarm_name=name,
        )
        if self._action is not None:
            alarm.add_alarm_action(self._action)
            alarm.add_ok_action(self._action)
        return alarm

    def any_of(
        self,
        id: str,
        alarms: Sequence[cloudwatch.IAlarm],
        *,
        description: str,
        name: str | None = None,
    ) -> cloudwatch.CompositeAlarm:
        """A composite alarm in ALARM when any of ``alarms`` is.

        It carries no actions: each member already notifies, and a second email for the same
        incident would only add noise. It exists to be watched by deployments, pipelines and
        feature-flag rollouts.
        """
        check_description(self._scope, f"the description of alarm {id}", description)
        return cloudwatch.CompositeAlarm(
            self._scope,
            id,
            alarm_rule=cloudwatch.AlarmRule.any_of(*alarms),
            alarm_description=description,
            composite_alarm_name=name,
        )


def check_description(scope: IConstruct, what: str, text: str, *, fix: str = "") -> None:
    """Raise ``ValueError`` when ``text`` may be longer than an AlarmDescription can be; a
    value known only at deployment counts at its longest."""
    length = description_length(scope, text)
    if length > MAX_DESCRIPTION:
        hint = f": {fix}" if fix else ""
        check.fail(
            scope,
            f"{what} must be at most {MAX_DESCRIPTION} characters (CloudWatch's limit), got "
            f"{length}{hint}",
        )


def description_length(scope: IConstruct, text: str) -> int:
    """The length of ``text`` once deployed, tokens counted at their longest."""
    if not check.is_token(text):
        return len(text)
    return _length(Stack.of(scope).resolve(text))


def _length(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict) and list(value) == ["Fn::Join"]:
        separator, parts = value["Fn::Join"]
        return len(separator) * max(len(parts) - 1, 0) + sum(_length(p) for p in parts)
    if isinstance(value, dict) and list(value) == ["Ref"]:
        return _TOKEN_LENGTHS.get(value["Ref"], _UNKNOWN_TOKEN_LENGTH)
    return _UNKNOWN_TOKEN_LENGTH
