"""Bad inputs derived from the public signatures, for every prop of the three constructs, of the
value objects they take and of the factories that make those.

Nothing here lists props: the targets are the constructs' ``__init__`` parameters, the fields of
every value class their annotations reach, and those classes' public factories; the bad values
come from each annotation (``bad_values``). What is written by hand is how to make a valid
construct around a value object (``PLACEMENTS``) and a valid call of each factory
(``FACTORY_ARGUMENTS``): validity cannot be read from a type.

A case is *certain* when the annotation alone makes the value wrong (a wrong type, None where
it is not allowed, a string for a list, a control character, a token where the value must be
known at synthesis, NaN, an integer JavaScript cannot hold...): it must be refused. Other cases
(empty, zero, negative, many items) may be valid: each must be refused clearly, or give a
template the linters and the delivery checks accept.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import itertools
import types
import typing
from collections import abc
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union

import aws_cdk as cdk
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct
from hypothesis import strategies as st

from cdk_devops_constructs import (
    CloudFormationTarget,
    CodeDeployTarget,
    DeployStage,
    ExpressService,
    FeatureFlaggedDeploy,
    Flag,
    GatedPipeline,
    Incidents,
    ObservedService,
    OpsItem,
    PagingEndpoint,
    PipelineSource,
    PipelineTest,
    ServicePlatform,
    SlackChannel,
    TeamsChannel,
    Variant,
)
from cdk_devops_constructs import _boundary as boundary
from cdk_devops_constructs._boundary import KNOWN, TEXT

from . import scenarios

CONSTRUCTS: tuple[type[Construct], ...] = (
    ObservedService,
    ExpressService,
    ServicePlatform,
    GatedPipeline,
    FeatureFlaggedDeploy,
)
IMAGE = "public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine"
NAMESPACE = "/acme/platform/test"
UUID = "0b1f7c2a-5d9e-4c3b-9a7e-1c2d3e4f5a6b"
CONNECTION_ARN = (
    "arn:aws:codeconnections:us-east-1:123456789012:connection/0b1f7c2a-5d9e-4c3b-9a7e-1c2d3e4f5a6b"
)
# Characters the boundary refuses in any string; free text (Text) takes tabs and line breaks.
REFUSED_IN_TEXT = "\x00\x01\x08\x1b\x7f\x85\x9f\ud800"
REFUSED = REFUSED_IN_TEXT + "\n\r\t\x0b\x0c\u2028\u2029"
_ids = itertools.count(1)


# --- Contexts: a stack and what valid props need in it ---------------------------------------------


@dataclass
class Context:
    """A stack, and the service a pipeline deploys (made on first use)."""

    stack: cdk.Stack
    _service: ObservedService | None = None

    @property
    def service(self) -> ObservedService:
        if self._service is None:
            self._service = ObservedService(
                self.stack,
                "Svc",
                image=ecs.ContainerImage.from_registry(IMAGE),
                tracing=False,
                min_capacity=1,
                max_capacity=2,
            )
        return self._service

    def uid(self, prefix: str = "X") -> str:
        return f"{prefix}{next(_ids)}"

    def text_token(self) -> str:
        return cdk.CfnParameter(self.stack, self.uid("Text")).value_as_string

    def number_token(self) -> float:
        return cdk.CfnParameter(self.stack, self.uid("Number"), type="Number").value_as_number


def new_context() -> Context:
    return Context(scenarios.new_stack(nag=False))


@dataclass(frozen=True)
class Lazy:
    """A value made in the case's context (a token, a jsii object, a baseline item)."""

    make: Callable[[Context], Any]
    label: str

    def __repr__(self) -> str:
        return f"<{self.label}>"


def realize(value: Any, context: Context) -> Any:
    if isinstance(value, Lazy):
        return realize(value.make(context), context)
    if isinstance(value, list):
        return [realize(v, context) for v in value]
    if isinstance(value, tuple):
        return tuple(realize(v, context) for v in value)
    if isinstance(value, dict):
        return {realize(k, context): realize(v, context) for k, v in value.items()}
    return value


# --- Valid baselines -------------------------------------------------------------------------------


def construct_props(construct: type[Construct], context: Context) -> dict[str, Any]:
    """Valid props of a construct, with every required prop."""
    if construct in (ObservedService, ExpressService):
        return {"image": ecs.ContainerImage.from_registry(IMAGE)}
    if construct is ServicePlatform:
        return {"namespace": NAMESPACE}
    if construct is GatedPipeline:
        return {
            "source": PipelineSource.connection(
                connection_arn=CONNECTION_ARN, owner="acme", repo="app"
            ),
            "stages": [DeployStage(name="Staging", services=[context.service])],
        }
    return {"flags": [Flag("baseline")]}


@dataclass(frozen=True)
class Placement:
    """Where a value object goes in a valid construct, and the prop path it has there."""

    construct: type[Construct]
    root: str  # the construct's prop that holds it
    path: str
    place: Callable[[Any, Context], dict[str, Any]]
    also: str = ""  # the same place as FeatureFlaggedDeploy's flag rules name it (by key)


def _stage(gate: Any, context: Context) -> dict[str, Any]:
    return {"stages": [DeployStage(name="Prod", services=[context.service], gates=[gate])]}


PLACEMENTS: dict[str, Placement] = {
    "Deployment": Placement(
        ObservedService, "deployment", "deployment", lambda v, c: {"deployment": v}
    ),
    "PipelineSource": Placement(GatedPipeline, "source", "source", lambda v, c: {"source": v}),
    "DeployStage": Placement(GatedPipeline, "stages", "stages[0]", lambda v, c: {"stages": [v]}),
    "PipelineTest": Placement(GatedPipeline, "tests", "tests[0]", lambda v, c: {"tests": [v]}),
    "CloudFormationTarget": Placement(
        GatedPipeline,
        "stages",
        "stages[0].cloudformation",
        lambda v, c: {"stages": [DeployStage(name="Infra", cloudformation=v)]},
    ),
    "CodeDeployTarget": Placement(
        GatedPipeline,
        "stages",
        "stages[0].codedeploy[0]",
        lambda v, c: {"stages": [DeployStage(name="Legacy", codedeploy=[v])]},
    ),
    "Gate": Placement(GatedPipeline, "stages", "stages[0].gates[0]", _stage),
    "Flag": Placement(
        FeatureFlaggedDeploy, "flags", "flags[0]", lambda v, c: {"flags": [v]}, "flags['f']"
    ),
    "Variant": Placement(
        FeatureFlaggedDeploy,
        "flags",
        "flags[0].variants[0]",
        lambda v, c: {"flags": [Flag("f", variants=[v])]},
        "flags['f'].variants[0]",
    ),
    "Attribute": Placement(
        FeatureFlaggedDeploy,
        "flags",
        "flags[0].attributes['a']",
        lambda v, c: {"flags": [Flag("f", attributes={"a": v})]},
        "flags['f'].attributes['a']",
    ),
    "Rollout": Placement(FeatureFlaggedDeploy, "rollout", "rollout", lambda v, c: {"rollout": v}),
    "PlatformReference": Placement(
        ExpressService, "platform", "platform", lambda v, c: {"platform": v}
    ),
    "Incidents": Placement(
        ObservedService, "incidents", "incidents", lambda v, c: {"incidents": v}
    ),
    "OpsItem": Placement(
        ObservedService,
        "incidents",
        "incidents.ops_item",
        lambda v, c: {"incidents": Incidents(ops_item=v)},
    ),
    "SlackChannel": Placement(
        ObservedService,
        "incidents",
        "incidents.chat[0]",
        lambda v, c: {"incidents": Incidents(chat=[v])},
    ),
    "TeamsChannel": Placement(
        ObservedService,
        "incidents",
        "incidents.chat[0]",
        lambda v, c: {"incidents": Incidents(chat=[v])},
    ),
    "PagingEndpoint": Placement(
        ObservedService,
        "incidents",
        "incidents.paging[0]",
        lambda v, c: {"incidents": Incidents(paging=[v])},
    ),
}


def _versioned_bucket(context: Context) -> s3.IBucket:
    return s3.Bucket(
        context.stack, context.uid("Bucket"), versioned=True, event_bridge_enabled=True
    )


FACTORY_ARGUMENTS: dict[str, Callable[[Context], dict[str, Any]]] = {
    "Deployment.rolling": lambda c: {},
    "Deployment.blue_green": lambda c: {},
    "Deployment.canary": lambda c: {},
    "Deployment.linear": lambda c: {},
    "PipelineSource.connection": lambda c: {
        "connection_arn": CONNECTION_ARN,
        "owner": "acme",
        "repo": "app",
    },
    "PipelineSource.code_commit": lambda c: {
        "repository": codecommit.Repository.from_repository_name(c.stack, c.uid("Repo"), "app")
    },
    "PipelineSource.s3": lambda c: {"bucket": _versioned_bucket(c), "key": "app.zip"},
    "Gate.manual_approval": lambda c: {},
    "Gate.healthy_before_entry": lambda c: {"services": [c.service]},
    "Gate.bake": lambda c: {"duration": cdk.Duration.minutes(5)},
    "Gate.deployment_window": lambda c: {"cron": "* * 9-16 ? * MON-FRI *"},
    "Attribute.number": lambda c: {},
    "Attribute.string": lambda c: {},
    "Attribute.boolean": lambda c: {},
    "Attribute.array": lambda c: {},
    "Rollout.canary": lambda c: {},
    "Rollout.exponential": lambda c: {
        "growth_factor": 10,
        "duration": cdk.Duration.minutes(10),
    },
    "Rollout.linear": lambda c: {},
    "Rollout.all_at_once": lambda c: {},
}

# Valid instances of the classes without factories (their constructors are their API).
INSTANCES: dict[str, Callable[[Context], Any]] = {
    "DeployStage": lambda c: DeployStage(name="Staging", services=[c.service]),
    "PipelineTest": lambda c: PipelineTest(name="Unit", commands=["make test"]),
    "CloudFormationTarget": lambda c: CloudFormationTarget(
        stack_name="infra",
        template_path="infra.json",
        deployment_role=iam.Role.from_role_arn(
            c.stack, c.uid("Role"), "arn:aws:iam::123456789012:role/deploy", mutable=False
        ),
    ),
    "CodeDeployTarget": lambda c: CodeDeployTarget(
        deployment_group=codedeploy.EcsDeploymentGroup.from_ecs_deployment_group_attributes(
            c.stack,
            c.uid("Group"),
            application=codedeploy.EcsApplication.from_ecs_application_name(
                c.stack, c.uid("Application"), "app"
            ),
            deployment_group_name="app-production",
        )
    ),
    "Flag": lambda c: Flag("f"),
    "Variant": lambda c: Variant("default"),
    "PlatformReference": lambda c: ServicePlatform.from_namespace(NAMESPACE),
    "Incidents": lambda c: Incidents(),
    "OpsItem": lambda c: OpsItem(),
    "SlackChannel": lambda c: SlackChannel(workspace_id="T0123ABCDEF", channel_id="C0123ABCDEF"),
    "TeamsChannel": lambda c: TeamsChannel(
        tenant_id=UUID, team_id=UUID, channel_id="19%3ab6ef35dc342d56ba%40thread.tacv2"
    ),
    "PagingEndpoint": lambda c: PagingEndpoint(
        "PagerDuty", "https://events.pagerduty.com/integration/0123abcd/enqueue"
    ),
}


# --- Targets ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A public callable (or a value class's fields) whose arguments are generated."""

    owner: str
    construct: type[Construct]
    hints: Mapping[str, Any]
    baseline: Callable[[Context], dict[str, Any]]  # valid arguments
    build: Callable[[dict[str, Any], Context], dict[str, Any]]  # arguments -> construct props
    expected: Callable[[str], set[str]]  # a param -> the prop paths an error may name
    known: bool  # the whole value must be known at synthesis


def _hints(target: Any) -> dict[str, Any]:
    return typing.get_type_hints(inspect.unwrap(target), include_extras=True)


def _is_known(hint: Any) -> bool:
    for member in typing.get_args(hint) if typing.get_origin(hint) in (Union,) else (hint,):
        if typing.get_origin(member) is Annotated and KNOWN in typing.get_args(member)[1:]:
            return True
    return typing.get_origin(hint) is Annotated and KNOWN in typing.get_args(hint)[1:]


def value_classes() -> dict[str, type]:
    """Every value class of this library the constructs' annotations reach, by name."""
    return boundary.value_classes(*CONSTRUCTS)


def _factories(cls: type) -> dict[str, Callable[..., Any]]:
    return boundary.factories(cls)


def targets() -> Iterator[Target]:
    for construct in CONSTRUCTS:
        hints = {
            n: h
            for n, h in _hints(construct.__init__).items()
            if n not in ("return", "scope", "id")
        }

        def build(
            arguments: dict[str, Any], context: Context, c: Any = construct
        ) -> dict[str, Any]:
            return {**construct_props(c, context), **arguments}

        yield Target(
            owner=construct.__name__,
            construct=construct,
            hints=hints,
            baseline=lambda context, c=construct: construct_props(c, context),
            build=build,
            expected=lambda param: {param},
            known=False,
        )
    for name, cls in value_classes().items():
        placement = PLACEMENTS.get(_placement_name(cls))
        if placement is None:
            continue  # a class not placed is reported by test_every_value_class_is_placed
        known = _is_known(_hints(placement.construct.__init__)[placement.root])
        for factory_name, factory in _factories(cls).items():
            owner = f"{name}.{factory_name}"
            yield _factory_target(owner, factory, placement, known)
        if dataclasses.is_dataclass(cls):
            yield _fields_target(name, cls, placement, known)


def _placement_name(cls: type) -> str:
    for base in cls.__mro__:
        if base.__name__ in PLACEMENTS:
            return base.__name__
    return cls.__name__


def _label(instance: Any, name: str) -> str:
    label = getattr(instance, "_field_label", None)
    return label(name) if label else name


def _factory_target(
    owner: str, factory: Callable[..., Any], placement: Placement, known: bool
) -> Target:
    hints = {n: h for n, h in _hints(factory).items() if n != "return"}
    baseline = FACTORY_ARGUMENTS[owner]

    def build(arguments: dict[str, Any], context: Context) -> dict[str, Any]:
        value = factory(**{**baseline(context), **arguments})
        return {**construct_props(placement.construct, context), **placement.place(value, context)}

    def expected(param: str) -> set[str]:
        """The param, and the field the factory put it in (found with a sentinel)."""
        sentinel = object()
        context = _SENTINEL_CONTEXT
        made = factory(**{**baseline(context), param: sentinel})
        names = {param}
        for f in dataclasses.fields(made):
            value = getattr(made, f.name)
            if value is sentinel or (isinstance(value, tuple) and sentinel in value):
                names |= {f.name, _label(made, f.name)}
        return _at(placement, names)

    return Target(owner, placement.construct, hints, baseline, build, expected, known)


def _at(placement: Placement, names: set[str]) -> set[str]:
    paths = [placement.path, placement.also] if placement.also else [placement.path]
    return {f"{path}.{name}" for path in paths for name in names}


def _fields_target(name: str, cls: type, placement: Placement, known: bool) -> Target:
    hints = {f.name: _hints(cls)[f.name] for f in dataclasses.fields(cls)}

    def instance(context: Context) -> Any:
        if name in INSTANCES:
            return INSTANCES[name](context)
        base = next(b for b in cls.__mro__ if b.__name__ == _placement_name(cls))
        for factory_name, factory in _factories(base).items():
            if _hints(factory).get("return") is cls:
                arguments = FACTORY_ARGUMENTS[f"{base.__name__}.{factory_name}"](context)
                return factory(**arguments)
        raise AssertionError(f"no factory makes {name}: add it to INSTANCES")

    def build(arguments: dict[str, Any], context: Context) -> dict[str, Any]:
        value = dataclasses.replace(instance(context), **arguments)
        return {**construct_props(placement.construct, context), **placement.place(value, context)}

    def baseline(context: Context) -> dict[str, Any]:
        made = instance(context)
        return {f.name: getattr(made, f.name) for f in dataclasses.fields(made)}

    def expected(param: str) -> set[str]:
        made = instance(_SENTINEL_CONTEXT)
        return _at(placement, {param, _label(made, param)})

    return Target(name, placement.construct, hints, baseline, build, expected, known)


class _LazyContext(Context):
    """A context for finding where a factory puts a param (jsii objects made once)."""

    def __init__(self) -> None:
        self._stack: cdk.Stack | None = None
        self._service = None

    @property  # type: ignore[override]
    def stack(self) -> cdk.Stack:
        if self._stack is None:
            self._stack = scenarios.new_stack(nag=False)
        return self._stack


_SENTINEL_CONTEXT = _LazyContext()


# --- Bad values from an annotation -----------------------------------------------------------------


@dataclass(frozen=True)
class Bad:
    """One kind of bad value for a prop."""

    kind: str
    certain: bool
    values: st.SearchStrategy[Any]


@dataclass
class _Shape:
    members: list[Any] = field(default_factory=list)
    optional: bool = False
    known: bool = False
    text: bool = False


def _shape(hint: Any, known: bool) -> _Shape:
    shape = _Shape(known=known)

    def add(part: Any) -> None:
        origin = typing.get_origin(part)
        if origin is Annotated:
            base, *markers = typing.get_args(part)
            shape.known |= KNOWN in markers
            shape.text |= TEXT in markers
            add(base)
        elif origin in (Union, types.UnionType):
            for member in typing.get_args(part):
                add(member)
        elif part is type(None):
            shape.optional = True
        else:
            shape.members.append(part)

    add(hint)
    return shape


_FOREIGN: tuple[Any, ...] = (
    "text",
    7,
    2.5,
    True,
    object(),
    b"bytes",
    {"k": "v"},
    ["x"],
    Lazy(lambda c: cdk.Duration.minutes(1), "Duration.minutes(1)"),
    Lazy(lambda c: c.stack, "a Stack"),
    logs.RetentionDays.ONE_DAY,
)


def _kind(value: Any) -> str:
    if isinstance(value, Lazy):
        return "duration" if value.label.startswith("Duration") else "construct"
    if isinstance(value, enum.Enum):
        return "enum"
    if isinstance(value, dict):
        return "mapping"
    return type(value).__name__


def _accepts(member: Any, kind: str) -> bool:  # noqa: PLR0911
    """Whether a value of ``kind`` could be valid for ``member`` (such a value is then not
    generated as certainly bad)."""
    origin = typing.get_origin(member)
    if member is Any or member is object:
        return True
    if origin is Literal:
        return any(type(v).__name__ == kind for v in typing.get_args(member))
    if origin in (abc.Sequence, list, tuple):
        return kind == "list"
    if origin in (abc.Mapping, dict):
        return kind == "mapping"
    if member is float:
        return kind in ("int", "float")
    if member in (str, int, bool):
        return kind == member.__name__
    if member is cdk.Duration:
        return kind == "duration"
    if isinstance(member, type) and issubclass(member, enum.Enum):
        return kind == "enum" and member is logs.RetentionDays
    return member is Construct and kind == "construct"


def _stand_ins(shape: _Shape, values: list[Any]) -> list[Any]:
    """The values no member of the annotation takes by kind."""
    return [v for v in values if not any(_accepts(m, _kind(v)) for m in shape.members)]


Baseline = Callable[[Context], Any]


def bad_values(hint: Any, *, known: bool, sample: Any, baseline: Baseline) -> list[Bad]:
    """Every kind of bad value the annotation ``hint`` implies. ``sample`` is a valid value
    (to see its shape), ``baseline`` makes one in a case's own context."""
    shape = _shape(hint, known)
    cases: list[Bad] = []
    if not shape.optional and not any(m in (Any, object) for m in shape.members):
        cases.append(Bad("None", True, st.just(None)))
    foreign = _stand_ins(shape, list(_FOREIGN))
    if foreign:
        cases.append(Bad("a value of another type", True, st.sampled_from(foreign)))
    for member in shape.members:
        cases.extend(_member_bad_values(member, shape, sample, baseline))
    return cases


def _member_bad_values(  # noqa: PLR0911
    member: Any, shape: _Shape, sample: Any, baseline: Baseline
) -> list[Bad]:
    origin = typing.get_origin(member)
    if member is str:
        return _string_bad_values(shape, sample)
    if member in (int, float):
        return _number_bad_values(member, shape)
    if member is bool:
        stand_ins = _stand_ins(shape, ["no", "yes", "false", 0, 1])
        return (
            [Bad("a stand-in for a boolean", True, st.sampled_from(stand_ins))] if stand_ins else []
        )
    if origin is Literal:
        allowed = typing.get_args(member)
        others = [f"{allowed[0]} ", str(allowed[0]).swapcase(), "other"]
        others = [
            v
            for v in _stand_ins(_Shape([m for m in shape.members if m is not member]), others)
            if v not in allowed
        ]
        return [Bad("not a member", True, st.sampled_from(others))] if others else []
    if isinstance(member, type) and issubclass(member, enum.Enum):
        other = (
            codepipeline.ExecutionMode.QUEUED
            if member is not codepipeline.ExecutionMode
            else logs.RetentionDays.ONE_DAY
        )
        return [
            Bad("a member's name", True, st.just(next(iter(member)).name)),
            Bad("another enum's member", True, st.just(other)),
        ]
    if member is cdk.Duration and shape.known:
        token = Lazy(lambda c: cdk.Duration.minutes(c.number_token()), "Duration token")
        return [Bad("a token", True, st.just(token))]
    if origin in (abc.Sequence, list, tuple):
        return _sequence_bad_values(member, shape, sample, baseline)
    if origin in (abc.Mapping, dict):
        return _mapping_bad_values(member, shape, sample, baseline)
    return []


def _string_bad_values(shape: _Shape, sample: Any) -> list[Bad]:
    base = sample if isinstance(sample, str) and sample else "value"
    refused = REFUSED_IN_TEXT if shape.text else REFUSED
    longest = 65536 if shape.text else 4096
    cases = [
        Bad(
            "a control character",
            True,
            st.builds(
                lambda c, i: base[:i] + c + base[i:],
                st.sampled_from(refused),
                st.integers(0, len(base)),
            ),
        ),
        Bad("too long", True, st.integers(longest + 1, longest + 50).map(lambda n: "x" * n)),
        Bad("empty", False, st.just("")),
    ]
    if not shape.text:
        cases.append(Bad("a trailing newline", True, st.just(base + "\n")))
    if shape.known:
        cases.append(Bad("a token", True, st.just(Lazy(lambda c: c.text_token(), "string token"))))
    return cases


def _number_bad_values(member: Any, shape: _Shape) -> list[Bad]:
    cases = [
        Bad(
            "an unsafe integer",
            True,
            st.one_of(st.integers(2**53, 2**64), st.integers(-(2**64), -(2**53)), st.just(10**400)),
        ),
        Bad("zero or negative", False, st.sampled_from([0, -1])),
    ]
    booleans = _stand_ins(shape, [True, False])
    if booleans:
        cases.append(Bad("a boolean", True, st.sampled_from(booleans)))
    fractions = _stand_ins(shape, [1.5, 0.1]) if member is int else []
    if fractions:
        cases.append(Bad("a fraction", True, st.sampled_from(fractions)))
    if member is float:
        infinite = [float("nan"), float("inf"), float("-inf")]
        cases.append(Bad("not finite", True, st.sampled_from(infinite)))
    if shape.known:
        cases.append(
            Bad("a token", True, st.just(Lazy(lambda c: c.number_token(), "number token")))
        )
    return cases


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _plain(value: Any) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def _sequence_bad_values(member: Any, shape: _Shape, sample: Any, baseline: Baseline) -> list[Bad]:
    arguments = typing.get_args(member)
    item = arguments[0] if arguments else Any
    sample_items = _items(sample)

    def items(context: Context) -> list[Any]:
        return _items(baseline(context))

    def first(context: Context) -> Any:
        return items(context)[0]

    cases = [
        Bad("a string for a list", True, st.sampled_from(["main", "a,b", "x"])),
        Bad("a set", True, st.just({"x"})),
        Bad("a generator", True, st.just(Lazy(lambda c: (v for v in items(c)), "generator"))),
        Bad("empty", False, st.just([])),
    ]
    if sample_items:
        example = sample_items[0] if _plain(sample_items[0]) else Lazy(first, "an item")
        if not isinstance(sample_items[0], str):
            cases.append(Bad("a single item for a list", True, st.just(example)))
        cases.append(Bad("many items", False, st.just(Lazy(lambda c: [first(c)] * 40, "items"))))
    item_sample = sample_items[0] if sample_items else None
    item_cases = [
        c
        for c in bad_values(item, known=shape.known, sample=item_sample, baseline=first)
        if c.certain
    ]
    if item_cases:
        bad_items = st.sampled_from(item_cases).flatmap(lambda c: c.values)
        cases.append(
            Bad(
                "a bad item",
                True,
                bad_items.map(lambda bad: Lazy(lambda c: [*items(c), bad], "items and a bad one")),
            )
        )
    return cases


def _mapping_bad_values(member: Any, shape: _Shape, sample: Any, baseline: Baseline) -> list[Bad]:
    _, value_hint = typing.get_args(member) or (str, Any)
    entries = dict(sample) if isinstance(sample, Mapping) and sample else {}
    key = next(iter(entries), "k")

    def valid(context: Context) -> Any:
        made = baseline(context)
        return made[key] if isinstance(made, Mapping) and key in made else None

    value = Lazy(valid, "a valid value")
    cases = [
        Bad("pairs for a mapping", True, st.just([("k", "v")])),
        Bad(
            "a key of another type",
            True,
            st.sampled_from([5, None, b"k"]).map(lambda k: {k: value}),
        ),
        Bad(
            "a key with a control character",
            True,
            st.sampled_from(REFUSED).map(lambda c: {f"k{c}": value}),
        ),
        Bad("a token key", True, st.just(Lazy(lambda c: {c.text_token(): valid(c)}, "token key"))),
        Bad("empty", False, st.just({})),
    ]
    value_cases = [
        c
        for c in bad_values(value_hint, known=shape.known, sample=entries.get(key), baseline=valid)
        if c.certain
    ]
    if value_cases:
        bad_entries = st.sampled_from(value_cases).flatmap(lambda c: c.values)
        cases.append(Bad("a bad value", True, bad_entries.map(lambda bad: {key: bad})))
    return cases


# --- Cases -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    target: Target
    param: str
    bad: Bad

    @property
    def id(self) -> str:
        return f"{self.target.owner}:{self.param}:{self.bad.kind}"


def cases() -> list[Case]:
    """Every (target, param, kind of bad value), in a stable order."""
    found = []
    for target in targets():
        sample = target.baseline(_SENTINEL_CONTEXT)
        for param, hint in target.hints.items():

            def baseline(context: Context, t: Target = target, p: str = param) -> Any:
                return t.baseline(context).get(p)

            bads = bad_values(hint, known=target.known, sample=sample.get(param), baseline=baseline)
            found.extend(Case(target, param, bad) for bad in bads)
    return found
