"""The shared validators, unit-tested directly (every construct relies on them)."""

from __future__ import annotations

import re

import aws_cdk as cdk
import pytest
from constructs import Construct
from hypothesis import given
from hypothesis import strategies as st

from cdk_devops_constructs import _validation as check


@pytest.fixture
def scope() -> Construct:
    return Construct(cdk.Stack(cdk.App(), "S"), "Thing")


def fails(message: str) -> pytest.RaisesContext[ValueError]:
    return pytest.raises(ValueError, match=f"^{re.escape('S/Thing: ' + message)}$")


def test_in_range_inclusive_and_exclusive(scope: Construct) -> None:
    check.in_range(scope, "x", 0, 0, 1)
    check.in_range(scope, "x", 1, 0, 1)
    with fails("x must be in (0, 1], got 0"):
        check.in_range(scope, "x", 0, 0, 1, exclusive_low=True)
    with fails("x must be in [0, 1] seconds, got 2"):
        check.in_range(scope, "x", 2, 0, 1, unit="seconds")


@given(st.floats(min_value=1e-9, max_value=100))
def test_every_percent_in_range_is_accepted(value: float) -> None:
    check.percent(Construct(cdk.App(), "S"), "p", value)


@pytest.mark.parametrize("value", [0, -0.5, 100.01, 1e9])
def test_percent_outside_zero_to_hundred_is_refused(scope: Construct, value: float) -> None:
    with fails(f"p must be in (0, 100], got {value!r}"):
        check.percent(scope, "p", value)


@pytest.mark.parametrize("value", [1, 80, 65535])
def test_ports(scope: Construct, value: int) -> None:
    check.port(scope, "port", value)


@pytest.mark.parametrize("value", [0, 65536, 80.5, True])
def test_bad_ports(scope: Construct, value: object) -> None:
    with fails(f"port must be an integer port in [1, 65535], got {value!r}"):
        check.port(scope, "port", value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "address", ["oncall@example.com", "first.last+tag@sub.example.co.uk", "o'brien@example.org"]
)
def test_valid_emails(scope: Construct, address: str) -> None:
    check.email(scope, "email", address)


@pytest.mark.parametrize(
    "address", ["", "oncall", "oncall@", "@example.com", "a@b", "a b@example.com", "a@-x.com"]
)
def test_malformed_emails(scope: Construct, address: str) -> None:
    with fails(f"email must be an email address like oncall@example.com, got {address!r}"):
        check.email(scope, "email", address)


def test_emails_are_deduplicated_in_order(scope: Construct) -> None:
    assert check.emails(scope, "e", ["b@x.io", "a@x.io", "b@x.io"]) == ["b@x.io", "a@x.io"]


@pytest.mark.parametrize(
    ("cpu", "memory"), [(c, m) for c, ms in check.FARGATE_SIZES.items() for m in ms]
)
def test_every_fargate_size_is_accepted(scope: Construct, cpu: int, memory: int) -> None:
    check.fargate_size(scope, cpu, memory)


def test_fargate_sizes_match_the_ecs_table() -> None:
    """https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-tasks-services.html"""
    sizes = check.FARGATE_SIZES
    assert sizes[256] == (512, 1024, 2048)
    assert (sizes[512][0], sizes[512][-1], len(sizes[512])) == (1024, 4096, 4)
    assert (sizes[4096][0], sizes[4096][-1], len(sizes[4096])) == (8192, 30720, 23)
    assert (sizes[16384][0], sizes[16384][-1], len(sizes[16384])) == (32768, 122880, 12)


def test_durations_are_reported_in_exact_units(scope: Construct) -> None:
    assert check.human(cdk.Duration.minutes(2000)) == "2000 minutes"
    assert check.human(cdk.Duration.seconds(90)) == "90 seconds"
    assert check.human(cdk.Duration.millis(1)) == "1 millisecond"
    assert check.human(cdk.Duration.hours(1)) == "60 minutes"
    with fails("t must be between 1 minute and 60 minutes, got 61 minutes"):
        check.duration_in(
            scope, "t", cdk.Duration.minutes(61), cdk.Duration.minutes(1), cdk.Duration.hours(1)
        )


def test_tokens_are_never_validated(scope: Construct) -> None:
    stack = cdk.Stack.of(scope)
    number = cdk.Token.as_number(cdk.CfnParameter(stack, "N", type="Number"))
    text = cdk.CfnParameter(stack, "T").value_as_string
    check.port(scope, "p", number)
    check.percent(scope, "p", number)
    check.email(scope, "e", text)
    check.fargate_size(scope, number, 3)
    check.duration_in(
        scope, "d", cdk.Duration.minutes(number), cdk.Duration.minutes(1), cdk.Duration.minutes(2)
    )


def test_unique_names(scope: Construct) -> None:
    check.unique(scope, "stages", ["a", "b"])
    with fails("stages must not repeat a name, got 'a' twice"):
        check.unique(scope, "stages", ["a", "b", "a"])
