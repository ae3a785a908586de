"""CodePipeline's DeploymentWindow rule: its cron expressions and time zones."""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass

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
