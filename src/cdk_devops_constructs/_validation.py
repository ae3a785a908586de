"""Small validators shared by every construct.

Each raises ``ValueError`` at construction time with one message shape:
``"<construct path>: <prop> must be <what is allowed>, got <value>"``. Values that are CDK tokens
are unknown until deployment and are never validated.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
from collections.abc import Collection, Iterable
from typing import Any, NoReturn

from aws_cdk import Annotations, Duration, Token
from constructs import IConstruct

EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)

# Fargate task sizes: CPU units -> allowed memory (MiB).
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html#fargate-tasks-size
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}


MAX_SHOWN = 200  # characters of a value shown in an error message
_ADDRESS = re.compile(r"<([\w.]+ object) at 0x[0-9a-f]+>")  # a default repr's memory address


@dataclasses.dataclass(frozen=True)
class Hidden:
    """A value an error message must not print: a field declared ``field(repr=False)`` (a
    paging URL holds its integration key)."""

    value: Any

    def __str__(self) -> str:
        if self.value is None or isinstance(self.value, (bool, int, float)):
            return repr(self.value)  # nothing of a secret fits in these
        if isinstance(self.value, str):
            return f"a string of {len(self.value)} characters (not shown: it may hold a secret)"
        return f"a value of type {type(self.value).__name__} (not shown: it may hold a secret)"


def shown(value: Any) -> str:  # noqa: PLR0911 (one answer per kind of value)
    """``repr(value)`` for an error message, never raising and never longer than a few lines:
    a long value is cut, a token and a huge integer are named, a construct shows its path, and
    a field declared ``repr=False`` is not shown."""
    if isinstance(value, Hidden):
        return str(value)
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 100:
        digits = int(value.bit_length() * math.log10(2)) + 1
        return f"an integer of about {digits} digits"
    if isinstance(value, (str, float)) and is_token(value):
        return f"the CDK token {value!r}"
    if isinstance(value, Duration):
        return "a token Duration" if is_token(value) else f"Duration of {human(value)}"
    if isinstance(value, enum.Enum):
        return f"{type(value).__name__}.{value.name}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = ", ".join(
            f"{f.name}={shown(getattr(value, f.name)) if f.repr else '<not shown>'}"
            for f in dataclasses.fields(value)
        )
        text = f"{type(value).__name__}({fields})"
        return (
            text if len(text) <= MAX_SHOWN else f"{text[: MAX_SHOWN - 50]}... ({len(text)} in all)"
        )
    if _is_jsii(value):
        node = getattr(value, "node", None)
        kind = type(value).__name__ if hasattr(type(value), "__jsii_type__") else "construct"
        return f"{kind} {node.path}" if node is not None else f"<{kind} object>"
    if isinstance(value, (list, tuple)) and len(value) <= 10:
        items = ", ".join(shown(v) for v in value)
        text = (
            f"[{items}]"
            if isinstance(value, list)
            else f"({items}{',' if len(value) == 1 else ''})"
        )
        return (
            text if len(text) <= MAX_SHOWN else f"{text[: MAX_SHOWN - 50]}... ({len(text)} in all)"
        )
    try:
        text = _ADDRESS.sub(r"<\1>", repr(value))
    except Exception:  # a repr that fails must not hide the real problem
        text = f"<{type(value).__name__}>"
    if len(text) > MAX_SHOWN:
        size = f"{len(value)} characters" if isinstance(value, str) else f"{len(text)} in all"
        text = f"{text[: MAX_SHOWN - 50]}... ({size})"
    return text


def _is_jsii(value: Any) -> bool:
    """An object of jsii's, whose repr would show only a memory address."""
    return hasattr(type(value), "__jsii_type__") or type(value).__name__ == "InterfaceDynamicProxy"


def fail(scope: IConstruct, message: str) -> NoReturn:
    """Raise the library's one error shape for ``scope``."""
    raise ValueError(f"{scope.node.path}: {message}")


def is_token(value: Any) -> bool:  # noqa: PLR0911 (each early answer saves a jsii call)
    """True when ``value`` (or a Duration's amount) is only known at deploy time."""
    # Decide locally where the answer is certain: each jsii call costs synthesis time.
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False  # infinity and NaN are never tokens (and cannot cross into jsii)
    if isinstance(value, str) and "Token[" not in value:
        return False  # CDK encodes string and list tokens as "${Token[...]}" / "#{Token[...]}"
    if isinstance(value, (int, float)) and abs(value) < 1e288:
        return False  # CDK encodes number tokens as doubles near -1.89e+289
    if isinstance(value, Duration):
        try:
            millis = value.to_milliseconds()
        except RuntimeError:  # CDK cannot convert a token given in another unit
            return True
        return Token.is_unresolved(millis)
    return isinstance(value, (str, int, float)) and Token.is_unresolved(value)


def in_range(
    scope: IConstruct,
    prop: str,
    value: float,
    low: float,
    high: float,
    *,
    exclusive_low: bool = False,
    unit: str = "",
) -> None:
    """``low <= value <= high`` (``low < value`` when ``exclusive_low``)."""
    if is_token(value):
        return
    too_low = value <= low if exclusive_low else value < low
    if math.isnan(value) or too_low or value > high:
        opening = "(" if exclusive_low else "["
        suffix = f" {unit}" if unit else ""
        fail(
            scope,
            f"{prop} must be in {opening}{_num(low)}, {_num(high)}]{suffix}, got {shown(value)}",
        )


def at_least(scope: IConstruct, prop: str, value: float, minimum: float) -> None:
    if not is_token(value) and not value >= minimum:  # `not >=` also refuses NaN
        fail(scope, f"{prop} must be at least {_num(minimum)}, got {shown(value)}")


def percent(scope: IConstruct, prop: str, value: float) -> None:
    """A percentage in (0, 100]."""
    in_range(scope, prop, value, 0, 100, exclusive_low=True)


def port(scope: IConstruct, prop: str, value: int) -> None:
    if is_token(value):
        return
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
        fail(scope, f"{prop} must be an integer port in [1, 65535], got {shown(value)}")


def email(scope: IConstruct, prop: str, value: str) -> None:
    if is_token(value):
        return
    if not isinstance(value, str) or len(value) > 254 or not EMAIL.match(value):
        fail(scope, f"{prop} must be an email address like oncall@example.com, got {shown(value)}")


def emails(scope: IConstruct, prop: str, values: Iterable[str]) -> list[str]:
    """Validate every address; return them in order without duplicates."""
    if isinstance(values, str):
        fail(scope, f"{prop} must be a list of email addresses, got the string {values!r}")
    unique: list[str] = []
    for index, value in enumerate(values):
        email(scope, f"{prop}[{index}]", value)
        if value not in unique:
            unique.append(value)
    return unique


def matches(
    scope: IConstruct, prop: str, value: str, pattern: re.Pattern[str], allowed: str
) -> None:
    """``value`` fully matches ``pattern``; ``allowed`` says in words what that means."""
    if is_token(value):
        return
    if not isinstance(value, str) or not pattern.fullmatch(value):
        fail(scope, f"{prop} must be {allowed}, got {shown(value)}")


def one_of(scope: IConstruct, prop: str, value: Any, allowed: Collection[Any]) -> None:
    if not is_token(value) and value not in allowed:
        choices = ", ".join(shown(a) for a in allowed)
        fail(scope, f"{prop} must be one of {choices}, got {shown(value)}")


def duration_in(
    scope: IConstruct,
    prop: str,
    value: Duration,
    low: Duration,
    high: Duration,
) -> None:
    """``low <= value <= high``, compared in seconds and reported in the units given."""
    if is_token(value):
        return
    if not isinstance(value, Duration):
        fail(scope, f"{prop} must be an aws_cdk.Duration, got {value!r}")
    millis = value.to_milliseconds()
    if not low.to_milliseconds() <= millis <= high.to_milliseconds():
        fail(
            scope,
            f"{prop} must be between {human(low)} and {human(high)}, got {human(value)}",
        )


UNITS_MS = {"second": 1000, "minute": 60_000, "day": 86_400_000}


def whole(scope: IConstruct, prop: str, value: Duration, unit: str, *, why: str = "") -> None:
    """``value`` is a whole number of ``unit`` (``"second"``, ``"minute"`` or ``"day"``)."""
    if not is_token(value) and value.to_milliseconds() % UNITS_MS[unit]:
        reason = f" ({why})" if why else ""
        fail(scope, f"{prop} must be a whole number of {unit}s{reason}, got {human(value)}")


def minutes_in(
    scope: IConstruct, prop: str, value: Duration, low: Duration, high: Duration
) -> None:
    """A whole number of minutes, ``low <= value <= high`` (AWS counts these in minutes)."""
    duration_in(scope, prop, value, low, high)
    whole(scope, prop, value, "minute")


def fargate_size(scope: IConstruct, cpu: int, memory_limit_mib: int) -> None:
    """``cpu``/``memory_limit_mib`` form a task size Fargate accepts."""
    if is_token(cpu) or is_token(memory_limit_mib):
        return
    if cpu not in FARGATE_SIZES:
        choices = ", ".join(str(c) for c in FARGATE_SIZES)
        fail(scope, f"cpu must be one of {choices} (Fargate CPU units), got {cpu!r}")
    allowed = FARGATE_SIZES[cpu]
    if memory_limit_mib not in allowed:
        fail(
            scope,
            f"memory_limit_mib must be one of {_ranges(allowed)} MiB when cpu is {cpu}, "
            f"got {memory_limit_mib!r}",
        )


def capacity(scope: IConstruct, min_capacity: int, max_capacity: int) -> None:
    """``min_capacity`` and ``max_capacity`` are whole task counts, 1 <= min <= max."""
    at_least(scope, "min_capacity", min_capacity, 1)
    if not is_token(min_capacity) and not is_token(max_capacity) and max_capacity < min_capacity:
        fail(
            scope,
            f"max_capacity must be at least min_capacity ({min_capacity}), got {max_capacity!r}",
        )


def http_path(scope: IConstruct, prop: str, value: str) -> None:
    """A path a load balancer requests: starts with ``/``, at most 1024 characters."""
    if not is_token(value) and (
        not isinstance(value, str) or not value.startswith("/") or len(value) > 1024
    ):
        fail(scope, f"{prop} must start with '/' and be at most 1024 characters, got {value!r}")


def warn_weakened(scope: IConstruct, messages: Iterable[str]) -> None:
    """One synth-time warning per security or safety default the user turned off."""
    for message in messages:
        Annotations.of(scope).add_warning_v2("cdk-devops-constructs:weakened-default", message)


def unique(scope: IConstruct, prop: str, values: Iterable[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            fail(scope, f"{prop} must not repeat a name, got {shown(value)} twice")
        seen.add(value)


def human(value: Duration) -> str:
    """``value`` in the largest of minutes, seconds, milliseconds that states it exactly."""
    millis = int(value.to_milliseconds())
    for unit, size in (("minute", 60_000), ("second", 1000), ("millisecond", 1)):
        if millis % size == 0:
            count = millis // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    raise AssertionError("unreachable: every duration is a whole number of milliseconds")


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _ranges(values: tuple[int, ...]) -> str:
    """Render (1024, 2048, 3072) as '1024-3072 in steps of 1024' and short tuples as a list."""
    if len(values) <= 3:
        return ", ".join(str(v) for v in values)
    step = values[1] - values[0]
    return f"{values[0]}-{values[-1]} in steps of {step}"
