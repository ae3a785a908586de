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
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import IConstruct

from .. import _validation as check
from .._boundary import Known, Text, as_tuple
from ..service_contract import IObservedService

# (rule name, provider, configuration) of one stage-condition rule.
RuleSpec = tuple[str, str, dict[str, str]]

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
class ManualApprovalGate(Gate):
    """A manual approval at the start of a stage; made by ``Gate.manual_approval``."""

    emails: tuple[str, ...]
    review_url: str | None
    comment: Text | None
    timeout: Duration | None

    def validate(self, scope: IConstruct, prop: str) -> None:
        check.emails(scope, f"{prop}.emails", self.emails)
        if (
            self.review_url is not None
            and not check.is_token(self.review_url)
            and (not URL.fullmatch(self.review_url) or len(self.review_url) > 2048)
        ):
            check.fail(
                scope,
                f"{prop}.review_url must be an http(s) URL of at most 2048 characters, "
                f"got {self.review_url!r}",
            )
        # The approval's comment is shown with the request; CodePipeline keeps 512 characters.
        if (
            self.comment is not None
            and not check.is_token(self.comment)
            and not 1 <= len(self.comment) <= 500
        ):
            check.fail(scope, f"{prop}.comment must be 1-500 characters, got {len(self.comment)}")
        if self.timeout is not None:
            check.minutes_in(
                scope, f"{prop}.timeout", self.timeout, MIN_APPROVAL_TIMEOUT, MAX_APPROVAL_TIMEOUT
            )


@dataclass(frozen=True)
class AlarmGate(Gate):
    """Alarms that must not be in ALARM when the stage is entered; ``Gate.healthy_before_entry``."""

    services: tuple[IObservedService, ...] | None
    alarms: tuple[cloudwatch.IAlarm, ...]
    wait: Known[Duration] | None

    def validate(self, scope: IConstruct, prop: str) -> None:
        if self.wait is not None:
            check.minutes_in(scope, f"{prop}.wait", self.wait, MIN_BAKE, MAX_BAKE)

    def rules(self, stage: str, alarm_names: Sequence[str]) -> list[RuleSpec]:
        """One ``CloudWatchAlarm`` rule per alarm: the stage is not entered while it is in
        ALARM (after ``wait``, if given, for it to recover)."""
        wait = {"WaitTime": str(int(self.wait.to_minutes()))} if self.wait else {}
        return [
            (
                f"{stage}-Healthy-{n}",
                "CloudWatchAlarm",
                {"AlarmName": name, "AlarmStates": "ALARM", **wait},
            )
            for n, name in enumerate(alarm_names, start=1)
        ]


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
            )
        ]


# --- Cron ----------------------------------------------------------------------------------------

# The DeploymentWindow rule's TimeZone: a Region/City name, UTC with an optional +HH:MM or
# -HH:MM offset, or a 3-5 letter abbreviation from the table of time zone IDs it links to (Java's
# time zone IDs: the IANA names, and these short IDs that are not IANA names).
UTC_OFFSET = re.compile(r"UTC[+-](?:0\d|1[0-4]):[0-5]\d", re.ASCII)
REGION_CITY = re.compile(r"[A-Z][A-Za-z_]+(?:/[A-Za-z0-9_+-]+){1,2}", re.ASCII)
SHORT_TIME_ZONE_IDS = frozenset(
    {
        *("ACT", "AET", "AGT", "ART", "AST", "BET", "BST", "CAT", "CNT", "CST", "CTT", "EAT"),
        *("ECT", "IET", "IST", "JST", "MIT", "NET", "NST", "PLT", "PNT", "PRT", "PST", "SST"),
        "VST",
    }
)


def is_time_zone(name: str) -> bool:
    """A name CodePipeline's DeploymentWindow rule accepts and a time zone database knows: an
    IANA name (``zoneinfo``, 3-5 letter ones such as ``EST`` included), ``UTC+05:30``, or a short
    ID. Without a time zone database (``zoneinfo`` knows no zone) any Region/City is trusted."""
    known = zoneinfo.available_timezones()
    if name in known or name in SHORT_TIME_ZONE_IDS or UTC_OFFSET.fullmatch(name):
        return True
    return not known and REGION_CITY.fullmatch(name) is not None


MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    question_mark: bool = False


_FIELDS = (
    # The rule reference lists the seconds field as "N/A", its only special character "*".
    _Field("seconds", 0, 0),
    _Field("minutes", 0, 59),
    _Field("hours", 0, 23),
    _Field("day-of-month", 1, 31, question_mark=True),
    _Field("month", 1, 12, MONTHS),
    _Field("day-of-week", 1, 7, DAYS, question_mark=True),
    _Field("year", 1970, 2199),
)
_DAY_OF_MONTH_SPECIAL = re.compile(
    r"L(?:-(?:[1-9]|[12]\d|30))?|LW|(?:[1-9]|[12]\d|3[01])W", re.ASCII
)
_DAY_OF_WEEK_SPECIAL = re.compile(r"(?:[1-7]|SUN|MON|TUE|WED|THU|FRI|SAT)(?:L|#[1-5])|L")


def cron_problem(expression: str) -> str | None:
    """What is wrong with a DeploymentWindow cron expression, or None when it is valid.

    Fields, values and special characters as in the CodePipeline rule reference (a Quartz-style
    expression): the seconds field takes only ``*`` ("N/A", special character ``*``); ``* , -
    /`` in the others, ``?`` in day-of-month and day-of-week (exactly one of the two must be
    ``?``), ``L W`` in day-of-month, ``L #`` in day-of-week, names for months and days. Values
    are ASCII digits only.
    """
    if not expression.isascii():
        return "it must hold ASCII characters only (digits 0-9, names, * , - / ? L W #)"
    parts = expression.split()
    if len(parts) not in (6, 7):
        return f"it needs 6 or 7 space-separated fields, not {len(parts)}"
    if parts[0] != "*":
        return f"seconds field {parts[0]!r}: CodePipeline accepts only '*' there"
    for field, value in zip(_FIELDS[1:], parts[1:], strict=False):
        problem = _field_problem(field, value.upper())
        if problem:
            return f"{field.name} field {value!r}: {problem}"
    day_of_month, day_of_week = parts[3], parts[5]
    if (day_of_month == "?") == (day_of_week == "?"):
        return "exactly one of day-of-month and day-of-week must be '?'"
    return None


def _field_problem(field: _Field, value: str) -> str | None:
    if value == "?":
        return None if field.question_mark else "'?' is only allowed in day-of-month/day-of-week"
    if field.name == "day-of-month" and _DAY_OF_MONTH_SPECIAL.fullmatch(value):
        return None
    if field.name == "day-of-week" and _DAY_OF_WEEK_SPECIAL.fullmatch(value):
        return None
    for item in value.split(","):
        problem = _item_problem(field, item)
        if problem:
            return problem
    return None


def _item_problem(field: _Field, item: str) -> str | None:
    base, _, step = item.partition("/")
    if step and not (step.isascii() and step.isdigit() and 1 <= int(step) <= field.high):
        return f"step {step!r} must be a number in 1-{field.high}"
    if base == "*":
        return None
    low_text, dash, high_text = base.partition("-")
    low = _value(field, low_text)
    if low is None:
        return f"{low_text!r} is not a value in {_allowed(field)}"
    if dash:
        high = _value(field, high_text)
        if high is None:
            return f"{high_text!r} is not a value in {_allowed(field)}"
        if high < low:
            return f"range {base!r} ends before it starts"
    return None


def _value(field: _Field, text: str) -> int | None:
    if text in field.names:
        return field.names.index(text) + 1
    if text.isascii() and text.isdigit() and field.low <= int(text) <= field.high:
        return int(text)
    return None


def _allowed(field: _Field) -> str:
    names = f" or {field.names[0]}-{field.names[-1]}" if field.names else ""
    return f"{field.low}-{field.high}{names}"
