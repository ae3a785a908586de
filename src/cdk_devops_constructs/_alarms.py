"""One alarm factory: every alarm of the library gets its actions and missing-data policy here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from constructs import Construct


@dataclass(frozen=True)
class AlarmSpec:
    """What one alarm watches and when it fires."""

    metric: cloudwatch.IMetric
    threshold: float
    comparison: cloudwatch.ComparisonOperator
    description: str
    missing_data: cloudwatch.TreatMissingData
    datapoints: int


class AlarmFactory:
    """Creates alarms that notify ``topic`` on ALARM and on OK."""

    def __init__(self, scope: Construct, topic: sns.ITopic | None) -> None:
        self._scope = scope
        self._action = actions.SnsAction(topic) if topic is not None else None

    def metric_alarm(
        self, id: str, spec: AlarmSpec, *, name: str | None = None
    ) -> cloudwatch.Alarm:
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
        return cloudwatch.CompositeAlarm(
            self._scope,
            id,
            alarm_rule=cloudwatch.AlarmRule.any_of(*alarms),
            alarm_description=description,
            composite_alarm_name=name,
        )
