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


# --- The boundary (_boundary): each rule of the type walk, proved to fail --------------------

import dataclasses  # noqa: E402
import datetime  # noqa: E402
from collections.abc import Mapping, Sequence  # noqa: E402
from typing import Any, Literal  # noqa: E402

from aws_cdk import aws_ecs as ecs  # noqa: E402
from aws_cdk import aws_logs as logs  # noqa: E402
from aws_cdk import aws_sns as sns  # noqa: E402

from cdk_devops_constructs import Deployment, Gate, ObservedService, Rollout  # noqa: E402
from cdk_devops_constructs import _boundary as boundary  # noqa: E402
from cdk_devops_constructs._boundary import Known, Text  # noqa: E402
from cdk_devops_constructs.service_contract import IObservedService  # noqa: E402


def problem(value: Any, hint: Any) -> str | None:
    found = boundary.problem_with(value, hint, "p")
    return None if found is None else str(found)


@pytest.mark.parametrize(
    ("value", "hint", "message"),
    [
        ("no", bool, "p must be True or False, got 'no'"),
        (1, bool, "p must be True or False, got 1"),
        (True, int, "p must be an integer, got True"),
        (1.5, int, "p must be an integer, got 1.5"),
        ("2", int, "p must be an integer, got '2'"),
        (2**53, int, "p must be an integer within +-9007199254740991 (a JavaScript safe integer)"),
        (
            10**400,
            float,
            "p must be an integer within +-9007199254740991 (a JavaScript safe integer), got an integer of about 401 digits",
        ),
        (False, float, "p must be a number, got False"),
        (float("nan"), float, "p must be a finite number, got nan"),
        (float("-inf"), float, "p must be a finite number, got -inf"),
        (5, str, "p must be a string, got 5"),
        (
            "main\n",
            str,
            "p must be a string without control characters (line breaks, tabs, NUL...), got 'main\\n'",
        ),
        ("a\tb", str, "p must be a string without control characters"),
        (
            "a\x00",
            Text,
            "p must be text without control characters other than tabs and line breaks",
        ),
        ("a\u2028b", str, "p must be a string without control characters"),
        ("\x85", str, "p must be a string without control characters"),
        ("\ud800", Text, "p must be text without control characters"),
        ("x" * 4097, str, "p must be a string of at most 4096 characters, got 'xxx"),
        ("x" * 65537, Text, "p must be text of at most 65536 characters"),
        ("main", Sequence[str], "p must be a list of strings, got the string 'main'"),
        (b"ab", Sequence[str], "p must be a list of strings, got b'ab'"),
        ({"a"}, Sequence[str], "p must be a list of strings, got {'a'}"),
        (["a", 5], Sequence[str], "p[1] must be a string, got 5"),
        (("a", 5), tuple[str, ...], "p[1] must be a string, got 5"),
        (["a"], Mapping[str, str], "p must be a mapping of strings to strings, got ['a']"),
        ({5: "a"}, Mapping[str, str], "each key of p must be a string, got 5"),
        ({"a\n": "a"}, Mapping[str, str], "each key of p must be a string without control"),
        ({"k": 5}, Mapping[str, str], "p['k'] must be a string, got 5"),
        (
            "STEP",
            Literal["LINEAR", "EXPONENTIAL"],
            "p must be one of 'LINEAR', 'EXPONENTIAL', got 'STEP'",
        ),
        (1, Literal[True], "p must be one of True, got 1"),
        (
            "ONE_DAY",
            logs.RetentionDays,
            "p must be an aws_logs.RetentionDays member (e.g. RetentionDays.ONE_DAY), got 'ONE_DAY'",
        ),
        ("2026-01-01", datetime.date, "p must be a datetime.date, got '2026-01-01'"),
        (5, cdk.Duration, "p must be an aws_cdk.Duration, got 5"),
        (5, ecs.ICluster | None, "p must be an aws_ecs.ICluster or None, got 5"),
        (
            cdk.Duration.minutes(1),
            sns.ITopic,
            "p must be an aws_sns.ITopic, got Duration of 1 minute",
        ),
        (
            "svc",
            IObservedService,
            "p must be a service (ObservedService, ExpressService or another IObservedService), got 'svc'",
        ),
        (5, Known[str] | None, "p must be a string or None, got 5"),
        (float("inf"), str | float | Sequence[str], "p must be a finite number, got inf"),
        (
            ["x", 1],
            Sequence[str] | Sequence[float],
            "p must be a list of strings or a list of numbers, got ['x', 1]",
        ),
    ],
)
def test_each_rule_of_the_boundary_refuses(value: Any, hint: Any, message: str) -> None:
    found = problem(value, hint)
    assert found is not None
    assert found.startswith(message), found


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        (True, bool),
        (0, int),
        (2**53 - 1, int),
        (1, float),
        (-0.5, float),
        ("line\nbreak\ttab", Text),
        (["a"], Sequence[str]),
        (("a",), tuple[str, ...]),
        ({"k": "v"}, Mapping[str, str]),
        (None, str | None),
        ("LINEAR", Literal["LINEAR", "EXPONENTIAL"]),
        (logs.RetentionDays.ONE_DAY, logs.RetentionDays),
        (datetime.datetime(2026, 1, 1), datetime.date),
        (cdk.Duration.minutes(1), Known[cdk.Duration]),
        (object(), Any),
    ],
)
def test_what_the_annotation_allows_passes(value: Any, hint: Any) -> None:
    assert problem(value, hint) is None


def test_tokens_pass_where_allowed_and_are_refused_where_known(scope: Construct) -> None:
    stack = cdk.Stack.of(scope)
    text = cdk.CfnParameter(stack, "Text").value_as_string
    number = cdk.CfnParameter(stack, "Number", type="Number").value_as_number
    for value, hint in ((text, str), (number, int), (number, float), ([text], Sequence[str])):
        assert problem(value, hint) is None
    duration = cdk.Duration.minutes(number)
    for value, hint in ((text, Known[str]), (number, Known[int]), (duration, Known[cdk.Duration])):
        found = problem(value, hint)
        assert found is not None
        assert "must be known at synthesis" in found, found
    # Known reaches everything inside the value it marks.
    found = problem(["a", text], Known[Sequence[str]])
    assert found is not None
    assert found.startswith("p[1] must be known at synthesis"), found


def test_jsii_interfaces_are_recognised_on_owned_and_imported_objects(scope: Construct) -> None:
    stack = cdk.Stack.of(scope)
    owned = sns.Topic(stack, "Owned")
    imported = sns.Topic.from_topic_arn(stack, "Imported", "arn:aws:sns:us-east-1:123456789012:t")
    cluster = ecs.Cluster.from_cluster_attributes(
        stack,
        "Cluster",
        cluster_name="c",
        vpc=cdk.aws_ec2.Vpc.from_vpc_attributes(
            stack, "Vpc", vpc_id="vpc-1", availability_zones=["us-east-1a"]
        ),
    )
    assert boundary.implements(owned, sns.ITopic)
    assert boundary.implements(imported, sns.ITopic)
    assert boundary.implements(cluster, ecs.ICluster)  # a proxy jsii made (InterfaceDynamicProxy)
    assert not boundary.implements(cluster, sns.ITopic)
    assert not boundary.implements(owned, ecs.ICluster)


def test_value_objects_are_walked_field_by_field() -> None:
    gate = Gate.bake(cdk.Duration.minutes(5), alarms="alarm")  # type: ignore[arg-type]
    assert (
        problem([gate], Sequence[Gate])
        == "p[0].alarms must be a list of aws_cloudwatch.IAlarm, got the string 'alarm'"
    )
    # A class with factories takes only what they make.
    found = problem(Gate(), Gate)
    assert found is not None
    assert found.startswith("p must be a Gate (Gate.manual_approval(...), "), found
    # A field keeps the name its factory gave it.
    canary = Deployment.canary(canary_bake_time=5)  # type: ignore[arg-type]
    assert (
        problem(canary, Deployment)
        == "p.canary_bake_time must be an aws_cdk.Duration or None, got 5"
    )
    rollout = dataclasses.replace(Rollout.canary(), growth_type="STEP")  # type: ignore[arg-type]
    assert (
        problem(rollout, Rollout)
        == "p.growth_type must be one of 'LINEAR', 'EXPONENTIAL', got 'STEP'"
    )


def test_factories_keep_what_they_are_given() -> None:
    assert boundary.as_tuple(["a", "b"]) == ("a", "b")
    assert boundary.as_tuple("main") == "main"  # type: ignore[arg-type]
    assert boundary.as_tuple(5) == 5  # type: ignore[arg-type]


def test_a_protocol_without_a_registered_check_is_a_programming_error() -> None:
    from typing import Protocol  # noqa: PLC0415

    class Unchecked(Protocol):
        name: str

    with pytest.raises(TypeError, match="register a runtime check for the protocol"):
        boundary.problem_with(object(), Unchecked, "p")


def test_shown_values_are_short_and_never_raise() -> None:
    class Broken:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    assert check.shown(10**5000) == "an integer of about 5001 digits"
    assert check.shown(Broken()) == "<Broken>"
    assert check.shown("x" * 10_000).endswith("... (10000 characters)")
    assert check.shown(cdk.Duration.seconds(90)) == "Duration of 90 seconds"


# --- The decorator on a construct ---------------------------------------------------------------


def image() -> ecs.ContainerImage:
    return ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine")


@pytest.fixture
def stack() -> cdk.Stack:
    return cdk.Stack(
        cdk.App(), "Shop", env=cdk.Environment(account="123456789012", region="us-east-1")
    )


def test_a_bad_argument_is_refused_before_anything_is_built(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match=r"^Shop/Api: min_capacity must be an integer, got '2'$"):
        ObservedService(stack, "Api", image=image(), min_capacity="2")  # type: ignore[arg-type]
    assert stack.node.try_find_child("Api") is None
    assert stack.node.try_find_child("DevOpsShared") is None


def test_a_call_that_does_not_fit_is_a_type_error_of_the_same_form(stack: cdk.Stack) -> None:
    with pytest.raises(TypeError, match=r"^Shop/Api: image is required, got nothing$"):
        ObservedService(stack, "Api")  # type: ignore[call-arg]
    with pytest.raises(
        TypeError,
        match=r"^Shop/Api: contaner_port is not a prop of ObservedService \(did you mean 'container_port'",
    ):
        ObservedService(stack, "Api", image=image(), contaner_port=80)  # type: ignore[call-arg]


def test_scope_and_id_are_checked(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match=r"^ObservedService: scope must be a Construct"):
        ObservedService("Shop", "Api", image=image())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"^Shop/<id>: id must be a string, got 5$"):
        ObservedService(stack, 5, image=image())  # type: ignore[arg-type]
    with pytest.raises(
        ValueError, match=r"^Shop/a/b: id must be a non-empty construct id without '/'"
    ):
        ObservedService(stack, "a/b", image=image())
    ObservedService(stack, "Api", image=image())
    with pytest.raises(
        ValueError, match=r"^Shop/Api: id must be unique among the children of Shop"
    ):
        ObservedService(stack, "Api", image=image())


def test_the_catalogue_rules_say_what_each_prop_may_be() -> None:
    rules = {r.prop: r for r in boundary.rules("ObservedService", ObservedService.__init__)}
    assert rules["service_name"].allowed == "a string"
    assert rules["service_name"].known
    assert rules["service_name"].optional
    assert rules["container_port"].allowed == "an integer"
    assert not rules["container_port"].known
    assert rules["alarm_emails"].allowed == "a list of strings"
