"""Every validation rule of FeatureFlaggedDeploy and its flags, each matched by its message."""

from __future__ import annotations

import datetime
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs

from cdk_devops_constructs import (
    Attribute,
    FeatureFlaggedDeploy,
    Flag,
    ObservedService,
    Rollout,
    Variant,
)
from cdk_devops_constructs.feature_flagged_deploy import flags as flag_rules

from harness.compliance import ENV

PATH = "TestStack/Flags: "
NUMBER = {"n": Attribute.number(minimum=1, maximum=10)}
TEXT = {"t": Attribute.string(required=True)}


def build(stack: cdk.Stack, **props: Any) -> FeatureFlaggedDeploy:
    props.setdefault("flags", [Flag("a")])
    return FeatureFlaggedDeploy(stack, "Flags", **props)


def flag_error(flags: Any, message: str) -> pytest.ParameterSet:
    return pytest.param({"flags": flags}, message, id=message[:48])


FLAG_RULES = [
    flag_error(Flag("a"), "flags must be a list of Flag, got Flag("),
    flag_error([], "flags must hold at least one Flag, got an empty list"),
    flag_error(["a"], "flags[0] must be a Flag, got 'a'"),
    flag_error(
        [Flag("Dark-mode")],
        "flags[0].key must be a lowercase letter followed by up to 63 letters, digits, '_' or "
        "'-', got 'Dark-mode'",
    ),
    flag_error([Flag("a" * 65)], "flags[0].key must be a lowercase letter"),
    flag_error([Flag("a"), Flag("a")], "flags must not repeat a key, got 'a' twice"),
    flag_error(
        [Flag("a", name="two\nlines")],
        "flags[0].name must be a string without control characters (line breaks, tabs, "
        "NUL...), got 'two\\nlines'",
    ),
    flag_error(
        [Flag("a", description="x" * 1025)],
        "flags['a'].description must be a string of at most 1024 characters",
    ),
    flag_error(
        [Flag("a", deprecation_date="2026-01-01")],  # type: ignore[arg-type]
        "flags[0].deprecation_date must be a datetime.date or None, got '2026-01-01'",
    ),
    flag_error(
        [Flag("a", attributes={f"k{i}": Attribute.boolean() for i in range(26)})],
        "flags['a'].attributes must hold at most 25 attributes, got 26",
    ),
    flag_error(
        [Flag("a", attributes={"Size": Attribute.number()})],
        "flags['a'].attributes key must be a lowercase letter",
    ),
    flag_error(
        [Flag("a", attributes={"enabled": Attribute.boolean()})],
        "flags['a'].attributes key must not be 'enabled': the agent returns the flag's status",
    ),
    flag_error(
        [Flag("a", attributes={"n": 3})],  # type: ignore[dict-item]
        "flags[0].attributes['n'] must be an Attribute (Attribute.number(...), "
        "Attribute.string(...), Attribute.boolean(...) or Attribute.array(...)), got 3",
    ),
    flag_error(
        [Flag("a", attributes={"n": Attribute.number(description="x" * 1025)})],
        "flags['a'].attributes['n'].description must be a string of at most 1024 characters",
    ),
    flag_error(
        [Flag("a", attributes={"n": Attribute.number(required="yes")})],  # type: ignore[arg-type]
        "flags[0].attributes['n'].required must be True or False, got 'yes'",
    ),
    flag_error(
        [Flag("a", attributes={"n": Attribute("date")})],  # type: ignore[arg-type]
        "flags[0].attributes['n'].type must be one of 'number', 'string', 'boolean', 'array', "
        "got 'date'",
    ),
    flag_error(
        [Flag("a", attributes={"n": Attribute("boolean", minimum=1)})],
        "flags['a'].attributes['n'].minimum does not apply to a boolean attribute",
    ),
    flag_error(
        [Flag("a", attributes={"n": Attribute.number(minimum=1.5)})],  # type: ignore[arg-type]
        "flags[0].attributes['n'].minimum must be an integer or None, got 1.5",
    ),
    flag_error(
        [Flag("a", attributes={"n": Attribute.number(minimum=5, maximum=1)})],
        "flags['a'].attributes['n'].maximum must be at least minimum (5), got 1",
    ),
    flag_error(
        [Flag("a", attributes={"s": Attribute.string(pattern="^a$", enum=["a"])})],
        "flags['a'].attributes['s'] may set pattern or enum, not both (AppConfig's rule)",
    ),
    flag_error(
        [Flag("a", attributes={"s": Attribute.string(pattern="(")})],
        "flags['a'].attributes['s'].pattern must be a valid regular expression",
    ),
    flag_error(
        [Flag("a", attributes={"s": Attribute.string(pattern="")})],
        "flags['a'].attributes['s'].pattern must be a regular expression of 1-1024 characters",
    ),
    flag_error(
        [Flag("a", attributes={"s": Attribute.string(enum=[])})],
        "flags['a'].attributes['s'].enum must hold 1-100 strings, got 0",
    ),
    flag_error(
        [Flag("a", attributes={"s": Attribute.string(enum=[str(i) for i in range(101)])})],
        "flags['a'].attributes['s'].enum must hold 1-100 strings, got 101",
    ),
    flag_error(
        [Flag("a", attributes={"s": Attribute.string(enum=["x", 1])})],  # type: ignore[list-item]
        "flags[0].attributes['s'].enum[1] must be a string, got 1",
    ),
    flag_error(
        [Flag("a", attributes={"s": Attribute.string(enum=["x", "x"])})],
        "flags['a'].attributes['s'].enum must not repeat a member, got ['x', 'x']",
    ),
    flag_error(
        [Flag("a", attributes={"l": Attribute.array(elements=Attribute.boolean())})],
        "flags['a'].attributes['l'].elements must be Attribute.number(...) or "
        "Attribute.string(...)",
    ),
    flag_error(
        [Flag("a", enabled="on")],  # type: ignore[arg-type]
        "flags[0].enabled must be True or False, got 'on'",
    ),
    flag_error(
        [Flag("a", enabled=True, variants=[Variant("default")])],
        "flags['a'] sets variants, so enabled and values must be left unset",
    ),
    flag_error(
        [Flag("a", values={"n": 1})],
        "flags['a'].values key must be a declared attribute (none), got 'n'",
    ),
    flag_error(
        [Flag("a", attributes=TEXT)],
        "flags['a'].values must set the required attribute 't'",
    ),
    flag_error(
        [Flag("a", attributes={"b": Attribute.boolean()}, values={"b": 1})],
        "flags['a'].values['b'] must be True or False, got 1",
    ),
    flag_error(
        [Flag("a", attributes=NUMBER, values={"n": True})],
        "flags['a'].values['n'] must be a finite number, got True",
    ),
    flag_error(
        [Flag("a", attributes=NUMBER, values={"n": float("nan")})],
        "flags[0].values['n'] must be a finite number, got nan",
    ),
    flag_error(
        [Flag("a", attributes=NUMBER, values={"n": 11})],
        "flags['a'].values['n'] must be in [1, 10], got 11",
    ),
    flag_error(
        [Flag("a", attributes=TEXT, values={"t": "x" * 1025})],
        "flags['a'].values['t'] must be a string of at most 1024 characters",
    ),
    flag_error(
        [Flag("a", attributes={"s": Attribute.string(enum=["x", "y"])}, values={"s": "z"})],
        "flags['a'].values['s'] must be one of 'x', 'y', got 'z'",
    ),
    flag_error(
        [Flag("a", attributes={"s": Attribute.string(pattern="^v[0-9]$")}, values={"s": "x"})],
        "flags['a'].values['s'] must match the pattern '^v[0-9]$', got 'x'",
    ),
    flag_error(
        [Flag("a", attributes={"l": Attribute.array()}, values={"l": "abc"})],
        "flags['a'].values['l'] must be a list of strings or of numbers, got 'abc'",
    ),
    flag_error(
        [Flag("a", attributes={"l": Attribute.array()}, values={"l": []})],
        "flags['a'].values['l'] must hold at least one element, got an empty list",
    ),
    flag_error(
        [Flag("a", attributes={"l": Attribute.array()}, values={"l": ["x", 1]})],
        "flags[0].values['l'] must be a list of strings or a list of numbers, got ['x', 1]",
    ),
    flag_error(
        [
            Flag(
                "a",
                attributes={"l": Attribute.array(elements=Attribute.number())},
                values={"l": ["x"]},
            )
        ],
        "flags['a'].values['l'] elements must be numbers, got ['x']",
    ),
    flag_error(
        [
            Flag(
                "a",
                attributes={"l": Attribute.array(elements=Attribute.number(maximum=3))},
                values={"l": [1, 4]},
            )
        ],
        "flags['a'].values['l'][1] must be in [-inf, 3], got 4",
    ),
    flag_error(
        [Flag("a", variants=Variant("default"))],  # type: ignore[arg-type]
        "flags[0].variants must be a list of Variant or None, got Variant(name='default'",
    ),
    flag_error([Flag("a", variants=[])], "flags['a'].variants must hold 1-32 variants, got 0"),
    flag_error(
        [Flag("a", variants=[Variant(f"v{i}", rule="(eq $a 1)") for i in range(33)])],
        "flags['a'].variants must hold 1-32 variants, got 33",
    ),
    flag_error(
        [Flag("a", variants=["default"])],  # type: ignore[list-item]
        "flags[0].variants[0] must be a Variant, got 'default'",
    ),
    flag_error(
        [Flag("a", variants=[Variant("")])],
        "flags['a'].variants[0].name must be 1-64 characters without a line break, got ''",
    ),
    flag_error(
        [Flag("a", variants=[Variant("x", rule="(eq $a 1)"), Variant("x")])],
        "flags['a'].variants must not repeat a name, got 'x' twice",
    ),
    flag_error(
        [Flag("a", variants=[Variant("x", enabled=1)])],  # type: ignore[arg-type]
        "flags[0].variants[0].enabled must be True or False, got 1",
    ),
    flag_error(
        [Flag("a", variants=[Variant("default", rule="(eq $a 1)")])],
        "flags['a'].variants[0].rule must be unset: the last variant is the default",
    ),
    flag_error(
        [Flag("a", variants=[Variant("x"), Variant("default")])],
        "flags['a'].variants[0].rule must be a rule expression of 1-16384 characters",
    ),
    flag_error(
        [Flag("a", variants=[Variant("x", rule="r" * 16385), Variant("default")])],
        "flags['a'].variants[0].rule must be a rule expression of 1-16384 characters",
    ),
    flag_error(
        [Flag("a", attributes=TEXT, variants=[Variant("default")])],
        "flags['a'].variants[0].values must set the required attribute 't'",
    ),
    flag_error(
        [Flag("a", attributes={"m": Attribute.number()}, values=[1])],  # type: ignore[arg-type]
        "flags[0].values must be a mapping of strings to (strings, numbers, booleans, lists of "
        "strings or lists of numbers) or None, got [1]",
    ),
]


@pytest.mark.parametrize(("props", "message"), FLAG_RULES)
def test_flag_rules(stack: cdk.Stack, props: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(PATH + message)):
        build(stack, **props)


def test_the_document_must_fit_appconfigs_size_limit(
    stack: cdk.Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(flag_rules, "MAX_DOCUMENT_BYTES", 100)
    message = (
        "the rendered flags document must be at most 100 bytes (AppConfig's 1 MB limit for "
        "hosted configurations), got "
    )
    with pytest.raises(ValueError, match=re.escape(PATH + message)):
        build(stack, flags=[Flag("a", description="x" * 100)])


# --- Construct properties ----------------------------------------------------------------------

PROP_RULES = [
    (
        {"environments": "staging"},
        "environments must be a list of strings, got the string 'staging'",
    ),
    ({"environments": []}, "environments must name at least one environment, got none"),
    (
        {"environments": ["staging", "prod/eu"]},
        "environments[1] must be 1-64 letters, digits, '.', '_' or '-', starting with a letter "
        "or digit, got 'prod/eu'",
    ),
    ({"environments": ["x" * 65]}, "environments[0] must be 1-64 letters"),
    (
        {"environments": ["staging", "staging"]},
        "environments must not repeat a name, got 'staging' twice",
    ),
    (
        {"services": {"qa": []}},
        "services keys must be environments ('staging', 'production'), got 'qa'",
    ),
    ({"services": {"staging": "svc"}}, "services['staging'] must be a list of services"),
    (
        {"services": {"staging": ["svc"]}},
        "services['staging'][0] must be a service (ObservedService, ExpressService or another "
        "IObservedService), got 'svc'",
    ),
    (
        {"rollback_alarms": {"qa": []}},
        "rollback_alarms keys must be environments ('staging', 'production'), got 'qa'",
    ),
    ({"rollback_alarms": {"staging": "alarm"}}, "rollback_alarms['staging'] must be a list"),
    (
        {"rollout": "canary"},
        "rollout must be a Rollout (Rollout.canary(...), Rollout.exponential(...), "
        "Rollout.linear(...) or Rollout.all_at_once(...)) or None, got 'canary'",
    ),
    (
        {"rollout": Rollout("LINEAR", 20, Duration.minutes(1), Duration.minutes(1))},
        "",  # valid: control case
    ),
    (
        {"rollout": Rollout("STEP", 20, Duration.minutes(1), Duration.minutes(1))},  # type: ignore[arg-type]
        "rollout.growth_type must be one of 'LINEAR', 'EXPONENTIAL', got 'STEP'",
    ),
    (
        {"rollout": Rollout.canary(percent=0.5)},
        "rollout.growth_factor must be in [1, 100] percent, got 0.5",
    ),
    (
        {"rollout": Rollout.canary(percent="10")},  # type: ignore[arg-type]
        "rollout.growth_factor must be a number, got '10'",
    ),
    (
        {"rollout": Rollout.linear(duration=Duration.hours(25))},
        "rollout.duration must be between 0 minutes and 1440 minutes, got 1500 minutes",
    ),
    (
        {"rollout": Rollout.linear(duration=Duration.seconds(90))},
        "rollout.duration must be a whole number of minutes, got 90 seconds",
    ),
    (
        # R7 of the deploy review: CloudFormation waits for each environment's deployment,
        # bake included, up to the resource's 1,445-minute create timeout.
        {"rollout": Rollout.linear(duration=Duration.hours(20), bake_time=Duration.hours(4))},
        "",  # valid: exactly 24 hours
    ),
    (
        {"rollout": Rollout.linear(duration=Duration.hours(20), bake_time=Duration.minutes(241))},
        "rollout.duration + rollout.bake_time must be at most 1440 minutes (24 hours): "
        "CloudFormation waits for each environment's deployment, bake included, and gives up "
        "after 1,445 minutes (the create timeout of AWS::AppConfig::Deployment), got 1441 minutes",
    ),
    (
        {"rollout": Rollout.all_at_once(bake_time=Duration.days(2))},
        "rollout.bake_time must be between 0 minutes and 1440 minutes, got 2880 minutes",
    ),
    (
        {"application_name": "my app"},
        "application_name must be 1-64 letters, digits, '.', '_' or '-', starting with a letter "
        "or digit, got 'my app'",
    ),
    ({"application_name": cdk.Aws.STACK_NAME}, "application_name must be known at synthesis"),
    ({"configuration_name": "-flags"}, "configuration_name must be 1-128 letters"),
    ({"description": "x" * 1025}, "description must be at most 1024 characters, got 'xxx"),
    (
        {"agent_poll_interval": Duration.millis(500)},
        "agent_poll_interval must be between 1 second and 1440 minutes, got 500 milliseconds",
    ),
    (
        {"agent_poll_interval": Duration.millis(1500)},
        "agent_poll_interval must be a whole number of seconds, got 1500 milliseconds",
    ),
    (
        {"agent_health_check": "curl localhost"},
        "agent_health_check must be a list of strings or None, got the string 'curl localhost'",
    ),
    (
        {"agent_health_check": ["curl", "localhost"]},
        "agent_health_check must start with 'CMD' or 'CMD-SHELL' followed by the command, got "
        "['curl', 'localhost']",
    ),
]


@pytest.mark.parametrize(
    ("props", "message"), PROP_RULES, ids=[m[:48] or "valid" for _, m in PROP_RULES]
)
def test_property_rules(stack: cdk.Stack, props: dict[str, Any], message: str) -> None:
    if not message:
        build(stack, **props)
        return
    with pytest.raises(ValueError, match="^" + re.escape(PATH + message)):
        build(stack, **props)


# --- Rules about attached services -------------------------------------------------------------


def service(scope: cdk.Stack, id: str) -> ObservedService:
    image = ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine")
    return ObservedService(scope, id, image=image, tracing=False)


def test_a_service_reads_one_environment(stack: cdk.Stack) -> None:
    shared = service(stack, "Api")
    message = (
        "services: TestStack/Api is attached to 'staging' and 'production'; a service reads one "
        "environment"
    )
    with pytest.raises(ValueError, match=re.escape(PATH + message)):
        build(stack, services={"staging": [shared], "production": [shared]})


def test_a_service_must_be_in_the_same_stack(stack: cdk.Stack) -> None:
    elsewhere = service(cdk.Stack(stack.node.root, "Elsewhere", env=ENV), "Api")
    message = (
        "services['staging']: Elsewhere/Api must be in this construct's stack (TestStack): its "
        "task definition gains a sidecar here and its alarms roll back this environment"
    )
    with pytest.raises(ValueError, match=re.escape(PATH + message)):
        build(stack, services={"staging": [elsewhere]})


def test_at_most_five_rollback_alarms(stack: cdk.Stack) -> None:
    alarms = [
        cloudwatch.Alarm.from_alarm_arn(
            stack, f"Alarm{i}", f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:a{i}"
        )
        for i in range(6)
    ]
    message = "rollback_alarms['staging'] must be at most 5 alarms"
    with pytest.raises(ValueError, match=re.escape(PATH + message)):
        build(stack, rollback_alarms={"staging": alarms})


def test_a_deprecation_date_may_be_a_datetime(stack: cdk.Stack) -> None:
    """A datetime is a date; only the day is kept."""
    flags = build(stack, flags=[Flag("a", deprecation_date=datetime.datetime(2026, 1, 2, 3, 4))])
    assert '"date":"2026-01-02"' in flags.flags_document


def test_a_service_reads_the_flags_of_one_construct(stack: cdk.Stack) -> None:
    api = service(stack, "Api")
    FeatureFlaggedDeploy(
        stack,
        "FirstFlags",
        flags=[Flag("a")],
        environments=["staging"],
        services={"staging": [api]},
    )
    message = (
        "services['staging']: TestStack/Api already runs an AppConfig agent (another "
        "FeatureFlaggedDeploy attached it)"
    )
    with pytest.raises(ValueError, match=re.escape(PATH + message)):
        build(stack, environments=["staging"], services={"staging": [api]})


def test_the_application_cannot_listen_on_the_agents_port(stack: cdk.Stack) -> None:
    image = ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine")
    api = ObservedService(stack, "Api", image=image, container_port=2772, tracing=False)
    message = "services['staging']: TestStack/Api listens on 2772, the AppConfig agent's port"
    with pytest.raises(ValueError, match=re.escape(PATH + message)):
        build(stack, environments=["staging"], services={"staging": [api]})


# --- Issue 13: values that used to slip through; patterns as AppConfig evaluates them ------------

ISSUE_13 = [
    flag_error(
        [Flag("a", name="")], "flags['a'].name must be 1-64 characters without a line break, got ''"
    ),
    flag_error(
        [Flag("a", attributes={"s": Attribute.string(pattern="^(a+)+$")})],
        "flags['a'].attributes['s'].pattern must be a regular expression that evaluates quickly: "
        "it backtracks catastrophically on an input like",
    ),
    flag_error(
        [
            Flag(
                "a", attributes={"s": Attribute.string(pattern="^[A-Z]{3}$")}, values={"s": "ABC\n"}
            )
        ],
        "flags['a'].values['s'] must match the pattern '^[A-Z]{3}$', got 'ABC\\n'",
    ),
    flag_error(
        [Flag("a", attributes={"s": Attribute.string(pattern="^\\d+$")}, values={"s": "\u0661"})],
        "flags['a'].values['s'] must match the pattern '^\\\\d+$', got '\u0661'",
    ),
    flag_error(
        [Flag("a", attributes={"s": Attribute.string(pattern="\\Aabc\\Z")})],
        "flags['a'].attributes['s'].pattern must be a valid regular expression in ECMAScript "
        "syntax, as AppConfig reads it",
    ),
    flag_error(
        [Flag("a", attributes={"s": Attribute.string(pattern="(?i)abc")})],
        "flags['a'].attributes['s'].pattern must be a valid regular expression in ECMAScript",
    ),
    flag_error(
        [Flag("a", attributes={"s": Attribute.string(pattern="^.$")}, values={"s": "\U0001f600"})],
        "flags['a'].values['s'] must match the pattern '^.$' (it matches with ECMAScript's u "
        "flag and not without",
    ),
    flag_error(
        [Flag("a", attributes={"n": Attribute.number(maximum=10**20)})],
        "flags[0].attributes['n'].maximum must be an integer within +-9007199254740991",
    ),
    flag_error(
        [Flag("a", attributes={"n": Attribute.number()}, values={"n": 2**60})],
        "flags[0].values['n'] must be an integer within +-9007199254740991",
    ),
    flag_error(
        [Flag("a", attributes={"s": Attribute.string(enum="abc")})],
        "flags[0].attributes['s'].enum must be a list of strings or None, got the string 'abc'",
    ),
    flag_error([Flag("a", enabled="no")], "flags[0].enabled must be True or False, got 'no'"),
    flag_error([Flag("a\n")], "flags[0].key must be a string without control characters"),
]


@pytest.mark.parametrize(("props", "message"), ISSUE_13)
def test_values_that_used_to_slip_through(
    stack: cdk.Stack, props: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(PATH + message)):
        build(stack, **props)


def test_ecmascript_only_syntax_is_accepted(stack: cdk.Stack) -> None:
    """A named group is ``(?<name>...)`` in ECMAScript, which Python's re refused."""
    flags = [
        Flag(
            "a",
            attributes={"s": Attribute.string(pattern="^(?<year>\\d{4})-\\d{2}$")},
            values={"s": "2026-01"},
        )
    ]
    assert '"pattern":"^(?<year>\\\\d{4})-\\\\d{2}$"' in build(stack, flags=flags).flags_document
