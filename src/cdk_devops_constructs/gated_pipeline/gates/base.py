"""The gates a deploy stage can have, and the CodePipeline stage-condition rules they become.

A gate is a typed value made by one of the ``Gate`` factories; ``GatedPipeline`` turns the gates of
a stage into:

- a manual approval action at the start of the stage;
- one *entry* condition (result FAIL) holding the deployment-window rule and one
  ``CloudWatchAlarm`` rule per watched alarm (``entry_rules``);
- for a bake, a *release* action after the deploy actions that watches the alarms for the bake
  time and fails, rolling the stage back, when one goes into ALARM (``build.py``).

Why the bake is an action and not an on-success ``CloudWatchAlarm`` rule: the rule reference
says of ``WaitTime`` "If the alarm is in OK state when the rule is first checked, the rule will
immediately succeed" and that OK and INSUFFICIENT_DATA satisfy an on-success condition
(CodePipeline user guide, "CloudWatchAlarm" rule reference and "How do stage conditions
work?"), so a rule would pass at once after a healthy deployment and watch nothing. The action
watches for the whole bake time whatever the rule does.

CodePipeline allows exactly one condition per kind and at most 5 rules per condition
(``Condition.rules``: 1-5 items in the CodePipeline API reference); ``GatedPipeline`` checks this
at construction.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import IConstruct

from ... import _validation as check
from ..._boundary import Known, Text, as_tuple
from ...service_contract import IObservedService
from ..environments import Env

# (rule name, provider, configuration, where it reads: None for the pipeline's environment)
# of one stage-condition rule.
RuleSpec = tuple[str, str, dict[str, str], "Env | None"]

# CloudWatchAlarm rule: WaitTime is a whole number of MINUTES (rule reference, "WaitTime: The
# wait time in minutes"; the aws-cdk README example passing "300" for 5 minutes is wrong). The
# documentation publishes no maximum; the rule runs inside the stage like an action, and actions
# default to a one-hour timeout, so the library accepts 1-60 minutes. A bake (an action) is
# held to the same range.
MIN_BAKE = Duration.minutes(1)
MAX_BAKE = Duration.minutes(60)
# Manual approval: the API accepts an action timeout of 5 to 86400 minutes (60 days).
MIN_APPROVAL_TIMEOUT = Duration.minutes(5)
MAX_APPROVAL_TIMEOUT = Duration.days(60)
MAX_RULES_PER_CONDITION = 5
URL = re.compile(r"https?://\S+")


class Gate:
    """Factories for the gates of a ``DeployStage``; see each one for what it protects against."""

    def validate(self, scope: IConstruct, prop: str) -> None:
        """Raise ``ValueError`` for a value CodePipeline would refuse (each kind checks its own)."""
        raise NotImplementedError

    @staticmethod
    def manual_approval(
        *,
        emails: Sequence[str] = (),
        review_url: str | None = None,
        comment: Text | None = None,
        timeout: Duration | None = None,
    ) -> ManualApprovalGate:
        """A person approves the change before the stage deploys it.

        :param emails: approvers; each gets an email (SNS, encrypted with the pipeline's key)
            with a link to approve or reject. Default: none (approve from the console).
        :param review_url: a link shown to approvers, e.g. the staging URL or a change ticket.
            Default: none.
        :param comment: instructions shown to approvers. Default: none.
        :param timeout: how long the approval waits before failing the execution, 5 minutes
            to 60 days. Default: 7 days (CodePipeline's default).
        """
        return ManualApprovalGate(
            emails=as_tuple(emails), review_url=review_url, comment=comment, timeout=timeout
        )

    @staticmethod
    def healthy_before_entry(
        *,
        services: Sequence[IObservedService] | None = None,
        alarms: Sequence[cloudwatch.IAlarm] = (),
        wait: Known[Duration] | None = None,
    ) -> AlarmGate:
        """The stage is not entered while an alarm is in ALARM (entry condition, result FAIL).

        :param services: services whose ``health_alarm`` must not be in ALARM. Default: the
            services of the previous deploy stage (production is not entered while staging
            is unhealthy).
        :param alarms: more alarms that must not be in ALARM. Default: none.
        :param wait: how long CodePipeline waits for an alarm found in ALARM to recover before
            failing, in whole minutes (1-60). Default: no wait, fail at once.
        """
        return AlarmGate(
            services=None if services is None else as_tuple(services),
            alarms=as_tuple(alarms),
            wait=wait,
        )

    @staticmethod
    def bake(
        duration: Known[Duration],
        *,
        services: Sequence[IObservedService] | None = None,
        alarms: Sequence[cloudwatch.IAlarm] = (),
    ) -> BakeGate:
        """After the stage deploys, watch alarms for ``duration``; roll the stage back if one
        goes into ALARM at any time during it (a release action that fails, and the stage's
        on-failure rollback). A stage's first successful execution has nothing to roll back
        to: then the stage just fails (and notifies).

        :param duration: the bake time, a whole number of minutes in 1-60.
        :param services: services whose ``health_alarm`` is watched. Default: the services this
            stage deploys.
        :param alarms: more alarms to watch. Default: none.
        """
        return BakeGate(
            duration=duration,
            services=None if services is None else as_tuple(services),
            alarms=as_tuple(alarms),
        )

    @staticmethod
    def deployment_window(cron: str, *, time_zone: str = "UTC") -> DeploymentWindowGate:
        """The stage is entered only at times matching ``cron`` (rule ``DeploymentWindow``); an
        execution arriving outside the window waits at the stage entrance until it opens.

        :param cron: CodePipeline's cron format, 6 or 7 fields: seconds minutes hours
            day-of-month month day-of-week [year]; the seconds field is ``*``, and one of
            day-of-month and day-of-week must be ``?``. Example: ``"* * 9-16 ? * MON-FRI *"``
            (every minute 09:00-16:59, Monday to Friday).
        :param time_zone: ``Region/City`` (``Europe/Berlin``), ``UTC`` or ``UTC+05:30``, or a
            3-5 letter abbreviation. Default: UTC.
        """
        return DeploymentWindowGate(cron=cron, time_zone=time_zone)


@dataclass(frozen=True)
class WatchedAlarm:
    """An alarm a gate watches: its name, its ARN and where it is."""

    name: str
    arn: str
    env: Env


def watched_alarms(
    pipeline: IConstruct,
    prop: str,
    services: Sequence[IObservedService],
    alarms: Sequence[cloudwatch.IAlarm],
    *,
    default: str | None,
) -> list[WatchedAlarm]:
    """The alarms a gate watches: each service's health alarm, by its literal name, in the
    service's account and region, then ``alarms``. Composite alarms are refused: neither the
    CloudWatchAlarm rule nor the release action's DescribeAlarms call documents reading them
    (DescribeAlarms returns composite alarms only when asked for them)."""
    watched: list[WatchedAlarm] = []
    for service in services:
        env = Env.of_target(service.deploy_target, pipeline)
        name = service.health_alarm_name
        arn = env.arn(pipeline, "cloudwatch", "alarm", name, ArnFormat.COLON_RESOURCE_NAME)
        watched.append(WatchedAlarm(name, arn, env))
    for index, alarm in enumerate(alarms):
        if isinstance(alarm, cloudwatch.CompositeAlarm):
            check.fail(
                pipeline,
                f"{prop}: alarms[{index}] ({alarm.node.path}) is a composite alarm, which "
                "CodePipeline's CloudWatchAlarm rule does not document reading; pass a "
                "metric alarm (one alarm over a metric-math expression can combine signals)",
            )
        env = Env(alarm.env.account, alarm.env.region)
        if not env.same(Env.of(pipeline)) and Token.is_unresolved(alarm.alarm_name):
            check.fail(
                pipeline,
                f"{prop}: alarms[{index}] ({alarm.node.path}) is in {env.describe()}, another "
                "account or region than the pipeline's, and has no name known at synthesis; "
                "give it an alarm_name (or pass it with cloudwatch.Alarm.from_alarm_arn)",
            )
        watched.append(WatchedAlarm(alarm.alarm_name, alarm.alarm_arn, env))
    if not watched:
        where = f" ({default} are none)" if default else " (it is the first deploy stage)"
        check.fail(
            pipeline,
            f"{prop} watches no alarm{where}; pass services=[...] or alarms=[...]",
        )
    return watched


# The factories' return types, defined in modules that import this one.
from .approval import ManualApprovalGate  # noqa: E402
from .bake import BakeGate  # noqa: E402
from .healthy import AlarmGate  # noqa: E402
from .window import DeploymentWindowGate  # noqa: E402
