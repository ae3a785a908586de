"""The public boundary: every argument of a public constructor is checked against its type
annotation, recursively, before the constructor does anything else.

A new prop is checked by declaring its type. ``@boundary`` on a construct's ``__init__`` binds
the call, resolves the annotations once (cached per function) and walks every argument passed:

- ``bool`` is ``True`` or ``False`` only; ``int`` is an ``int`` but not a ``bool``; ``float``
  is an ``int`` or a ``float`` but not a ``bool``, and finite; integers stay within JavaScript's
  safe integers (every number crosses into jsii and CloudFormation as a double).
- ``str`` holds no control character, line separator or lone surrogate, and at most 4096
  characters; ``Text`` (free text) allows tabs and line breaks, and 65536 characters.
- ``Sequence[T]`` and ``tuple[T, ...]`` are lists or tuples, never a ``str`` (which would be
  split into characters) nor a single item; ``Mapping[K, V]`` is a mapping whose keys are
  literal strings; ``Literal[...]`` and enums by membership.
- jsii classes by ``isinstance``; jsii interfaces (``ecs.ICluster``...) by the interfaces the
  object's jsii classes declare, or by the proxy jsii made for an object that came back from
  JavaScript; Python protocols by the predicate registered with ``register_protocol``.
- Value objects (frozen dataclasses: ``DeployStage``, ``Flag``, the ``Gate`` kinds...) field by
  field, with paths like ``stages[0].gates[1].duration``. A class with factories
  (``Gate.bake(...)``...) accepts only what its factories make.
- CDK tokens (values known only at deployment) pass where the annotation allows them;
  ``Known[...]`` marks a value, and everything inside it, that must be known at synthesis
  because it ends up in names, descriptions, URLs or arithmetic.

The first problem found raises ``ValueError("<construct path>: <prop> must be <what is
allowed>, got <value>")``; a call with a missing or unknown argument raises ``TypeError`` in the
same form. Value-level rules (ranges, formats, uniqueness, combinations) stay in the checkers
of each concern (``_validation``, ``check``/``validate`` methods), which can rely on the types.

Factories keep what they are given (``as_tuple`` makes a tuple of a sequence and leaves anything
else alone), so that a bad argument reaches the boundary unchanged and is reported there with
the construct's path.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import functools
import inspect
import math
import re
import types
import typing
from collections import abc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NoReturn, ParamSpec, TypeAlias, TypeVar, Union

from aws_cdk import Duration
from constructs import Construct

from . import _validation as check

try:  # an object jsii made for a value that came back from JavaScript with interfaces
    from jsii._reference_map import InterfaceDynamicProxy
except ImportError:  # pragma: no cover - every supported jsii runtime has it
    InterfaceDynamicProxy = ()  # type: ignore[assignment,misc]

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class _Marker:
    name: str

    def __repr__(self) -> str:
        return self.name


KNOWN = _Marker("Known")
TEXT = _Marker("Text")

Known: TypeAlias = Annotated[T, KNOWN]
"""A value that must be known at synthesis: neither it nor anything inside it is a CDK token."""
Text: TypeAlias = Annotated[str, TEXT]
"""Free text: tabs and line breaks are allowed, other control characters are not."""

# C0 and C1 controls, DEL, lone surrogates, and the Unicode line and paragraph separators
# (which JavaScript, YAML and CloudFormation treat as line breaks).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_CONTROL_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
MAX_SAFE_INTEGER = 2**53 - 1
# Every name, path, ARN or expression AWS takes is far shorter than MAX_STRING (ARNs: 2048,
# paths: 1024); free text (commands, descriptions, values) stays within what one container
# definition or buildspec holds (an ECS task definition: 64 KiB).
MAX_STRING = 4096
MAX_TEXT = 65536
_KNOWN_AT_SYNTHESIS = "known at synthesis, not a CDK token (it becomes part of a name, a "
_KNOWN_AT_SYNTHESIS += "description, a URL or a computed value)"


class BoundaryError(ValueError):
    """A value refused at the public boundary; its message has the library's one shape."""


# --- Problems -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """What is wrong with one value.

    :param prop: where the value is, e.g. ``stages[0].gates[1].duration``.
    :param allowed: what the value may be, e.g. ``an aws_cdk.Duration``.
    :param value: the value received.
    :param matched: the value has the expected kind (a string, a list, a Gate...) but something
        about it or inside it is wrong; a union reports the member that matched.
    """

    prop: str
    allowed: str
    value: Any
    matched: bool = False

    def __str__(self) -> str:
        got = check.shown(self.value)
        if isinstance(self.value, str) and self.allowed.startswith("a list"):
            got = f"the string {got}"
        return f"{self.prop} must be {self.allowed}, got {got}"


# --- Checkers, one per kind of annotation ------------------------------------------------------


class _Node:
    """Checks values against one annotation; compiled once per annotation (``_compile``)."""

    def check(self, value: Any, prop: str, known: bool) -> Problem | None:
        raise NotImplementedError

    def describe(self) -> str:
        """What a value may be, with its article: ``an integer``, ``a list of strings``."""
        raise NotImplementedError

    def noun(self) -> str:
        """The plural noun of such values inside a container: ``integers``."""
        return self.describe()

    def parts(self) -> tuple[_Node, ...]:
        """The annotation's members, for a union that lists what it accepts."""
        return (self,)


class _Anything(_Node):
    def check(self, value: Any, prop: str, known: bool) -> Problem | None:
        return None

    def describe(self) -> str:
        return "any value"


class _NoneNode(_Node):
    def check(self, value: Any, prop: str, known: bool) -> Problem | None:
        return None if value is None else Problem(prop, "None", value)

    def describe(self) -> str:
        return "None"


class _Bool(_Node):
    def check(self, value: Any, prop: str, known: bool) -> Problem | None:
        return None if isinstance(value, bool) else Problem(prop, "True or False", value)

    def describe(self) -> str:
        return "True or False"

    def noun(self) -> str:
        return "booleans"


def _token_problem(value: Any, prop: str, known: bool) -> Problem | None:
    """A token is refused where the value must be known at synthesis."""
    if known and check.is_token(value):
        return Problem(prop, _KNOWN_AT_SYNTHESIS, value, matched=True)
    return None


def _safe_integer(value: int, prop: str) -> Problem | None:
    if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
        return None
    allowed = f"an integer within +-{MAX_SAFE_INTEGER} (a JavaScript safe integer)"
    return Problem(prop, allowed, value, matched=True)


class _Int(_Node):
    def check(self, value: Any, prop: str, known: bool) -> Problem | None:
        if isinstance(value, float) and not isinstance(value, bool) and check.is_token(value):
            return _token_problem(value, prop, known)  # number tokens are floats
        if not isinstance(value, int) or isinstance(value, bool):
            return Problem(prop, "an integer", value)
        return _safe_integer(value, prop)

    def describe(self) -> str:
        return "an integer"

    def noun(self) -> str:
        return "integers"


class _Float(_Node):
    def check(self, value: Any, prop: str, known: bool) -> Problem | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return Problem(prop, "a number", value)
        if isinstance(value, int):
            return _safe_integer(value, prop)
        if check.is_token(value):
            return _token_problem(value, prop, known)
        if not math.isfinite(value):
            return Problem(prop, "a finite number", value, matched=True)
        return None

    def describe(self) -> str:
        return "a number"

    def noun(self) -> str:
        return "numbers"


class _Str(_Node):
    def __init__(self, text: bool) -> None:
        self.text = text

    def check(self, value: Any, prop: str, known: bool) -> Problem | None:
        if not isinstance(value, str):
            return Problem(prop, "a string", value)
        longest = MAX_TEXT if self.text else MAX_STRING
        if len(value) > longest:
            kind = "text" if self.text else "a string"
            return Problem(prop, f"{kind} of at most {longest} characters", value, matched=True)
        control = _CONTROL_IN_TEXT if self.text else _CONTROL
        if control.search(value):
            allowed = (
                "text without control characters other than tabs and line breaks"
                if self.text
                else "a string without control characters (line breaks, tabs, NUL...)"
            )
            return Problem(prop, allowed, value, matched=True)
        return _token_problem(value, prop, known)

    def describe(self) -> str:
        return "a string"

    def noun(self) -> str:
        return "strings"


class _LiteralNode(_Node):
    def __init__(self, values: tuple[Any, ...]) -> None:
        self.values = values

    def check(self, value: Any, prop: str, known: bool) -> Problem | None:
        for allowed in self.values:
            if type(value) is type(allowed) and value == allowed:
                return None
        return Problem(prop, self.describe(), value)

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)

    def noun(self) -> str:
        return "values among " + ", ".join(repr(v) for v in self.values)


def type_name(cls: type) -> str:
    """``aws_ecs.ICluster``, ``aws_cdk.Duration``, ``datetime.date``, ``DeployStage``."""
    module = cls.__module__
    if module.startswith("cdk_devops_constructs"):
        return cls.__qualname__
    if module.startswith("aws_cdk."):
        module = module.removeprefix("aws_cdk.")
    return f"{module}.{cls.__qualname__}"


def _article(text: str) -> str:
    return f"an {text}" if text[:1].lower() in "aeiou" else f"a {text}"


class _EnumNode(_Node):
    def __init__(self, cls: type[enum.Enum]) -> None:
        self.cls = cls

    def check(self, value: Any, prop: str, known: bool) -> Problem | None:
        return None if isinstance(value, self.cls) else Problem(prop, self.describe(), value)

    def describe(self) -> str:
        members = [f"{self.cls.__name__}.{m.name}" for m in self.cls]
        if len(members) <= 8:
            return "one of " + ", ".join(members)
        return f"{_article(type_name(self.cls))} member (e.g. {members[0]})"

    def noun(self) -> str:
        return f"{type_name(self.cls)} members"


class _Instance(_Node):
    """A class checked with ``isinstance`` (jsii classes and structs, ``datetime.date``...)."""

    def __init__(self, cls: type) -> None:
        self.cls = cls

    def check(self, value: Any, prop: str, known: bool) -> Problem | None:
        if not isinstance(value, self.cls):
            return Problem(prop, self.describe(), value)
        if self.cls is Duration:
            return _token_problem(value, prop, known)
        return None

    def describe(self) -> str:
        return _article(type_name(self.cls))

    def noun(self) -> str:
        return type_name(self.cls)


def implements(value: object, interface: type) -> bool:
    """True when ``value`` implements the jsii interface ``interface``: a Python class that
    declares it (``@jsii.implements``, or a jsii class), or a proxy jsii made for an object that
    came back from JavaScript (each delegate carries the jsii type of one interface)."""
    target = interface.__dict__.get("__jsii_type__")
    delegates = value._delegates if isinstance(value, InterfaceDynamicProxy) else (value,)
    for delegate in delegates:
        for klass in type(delegate).__mro__:
            if klass is interface or (target and klass.__dict__.get("__jsii_type__") == target):
                return True
            if any(interface in declared.__mro__ for declared in _declared(klass)):
                return True
    return False


def _declared(klass: type) -> Sequence[type]:
    declared = klass.__dict__.get("__jsii_ifaces__", ())
    return declared if isinstance(declared, (list, tuple)) else ()


class _Interface(_Instance):
    def check(self, value: Any, prop: str, known: bool) -> Problem | None:
        return None if implements(value, self.cls) else Problem(prop, self.describe(), value)


@dataclass(frozen=True)
class _Protocol:
    predicate: Callable[[object], bool]
    description: str
    noun: str


_PROTOCOLS: dict[type, _Protocol] = {}


def register_protocol(
    protocol: type, predicate: Callable[[object], bool], description: str, noun: str
) -> None:
    """Check values annotated with the Python protocol ``protocol`` with ``predicate``.

    :param description: what such a value is, with its article (``a service (...)``).
    :param noun: the plural, for lists of them (``services``).
    """
    _PROTOCOLS[protocol] = _Protocol(predicate, description, noun)


class _ProtocolNode(_Node):
    def __init__(self, protocol: _Protocol) -> None:
        self.protocol = protocol

    def check(self, value: Any, prop: str, known: bool) -> Problem | None:
        if self.protocol.predicate(value):
            return None
        return Problem(prop, self.protocol.description, value)

    def describe(self) -> str:
        return self.protocol.description

    def noun(self) -> str:
        return self.protocol.noun


def factories(cls: type) -> dict[str, Callable[..., Any]]:
    """The public static methods of ``cls`` that make its values, by name."""
    made = {}
    for name, attribute in vars(cls).items():
        if name.startswith("_") or not isinstance(attribute, staticmethod):
            continue
        if _made_by(attribute.__func__, cls) is not None:
            made[name] = attribute.__func__
    return made


def _made_by(factory: Callable[..., Any], cls: type) -> type | None:
    returned = _hints(factory).get("return")
    return returned if isinstance(returned, type) and issubclass(returned, cls) else None


class _ValueObject(_Node):
    """A frozen dataclass of this library (or a class whose factories make them)."""

    def __init__(self, cls: type) -> None:
        self.cls = cls
        made = factories(cls)
        kinds = (_made_by(f, cls) for f in made.values())
        self.kinds: tuple[type, ...] = tuple(dict.fromkeys(k for k in kinds if k)) or (cls,)
        self.factory_names = list(made)

    def check(self, value: Any, prop: str, known: bool) -> Problem | None:
        if not isinstance(value, self.kinds) or not dataclasses.is_dataclass(value):
            # What stands in for a value object with a secret field is often the secret itself
            # (a paging URL where a PagingEndpoint belongs).
            secret_inside = dataclasses.is_dataclass(self.cls) and any(
                not f.repr for f in dataclasses.fields(self.cls)
            )
            return Problem(prop, self.describe(), check.Hidden(value) if secret_inside else value)
        label = getattr(value, "_field_label", None)
        hints = _hints(typing.cast(type, type(value)))
        return _first(
            _hidden_unless_shown(
                f,
                _compile(hints[f.name]).check(
                    getattr(value, f.name), f"{prop}.{label(f.name) if label else f.name}", known
                ),
            )
            for f in dataclasses.fields(value)
        )

    def describe(self) -> str:
        name = self.cls.__name__
        maker = getattr(self.cls, "_made_by", None)  # a factory on another class
        if maker:
            return f"{_article(name)} ({maker})"
        if not self.factory_names:
            return _article(name)
        made = [f"{name}.{f}(...)" for f in self.factory_names]
        listed = ", ".join(made[:-1]) + f" or {made[-1]}" if len(made) > 1 else made[0]
        return f"{_article(name)} ({listed})"

    def noun(self) -> str:
        return self.cls.__name__


def _hidden_unless_shown(
    declared: dataclasses.Field[Any], problem: Problem | None
) -> Problem | None:
    """A field declared ``repr=False`` is reported without its value."""
    if problem is None or declared.repr:
        return problem
    return dataclasses.replace(problem, value=check.Hidden(problem.value))


class _SequenceNode(_Node):
    def __init__(self, item: _Node) -> None:
        self.item = item

    def check(self, value: Any, prop: str, known: bool) -> Problem | None:
        if isinstance(value, (str, bytes, bytearray)) or not isinstance(value, abc.Sequence):
            return Problem(prop, self.describe(), value)
        return _first(
            self.item.check(item, f"{prop}[{index}]", known) for index, item in enumerate(value)
        )

    def describe(self) -> str:
        return f"a list of {_grouped(self.item.noun())}"

    def noun(self) -> str:
        return f"lists of {_grouped(self.item.noun())}"


class _TupleNode(_Node):
    def __init__(self, items: tuple[_Node, ...]) -> None:
        self.items = items

    def check(self, value: Any, prop: str, known: bool) -> Problem | None:
        if not isinstance(value, tuple) or len(value) != len(self.items):
            return Problem(prop, self.describe(), value)
        return _first(
            node.check(item, f"{prop}[{index}]", known)
            for index, (node, item) in enumerate(zip(self.items, value, strict=True))
        )

    def describe(self) -> str:
        return "a tuple of (" + ", ".join(n.describe() for n in self.items) + ")"


class _MappingNode(_Node):
    def __init__(self, key: _Node, value: _Node) -> None:
        self.key = key
        self.value = value

    def check(self, value: Any, prop: str, known: bool) -> Problem | None:
        if not isinstance(value, abc.Mapping):
            return Problem(prop, self.describe(), value)
        # Keys name things (variables, environments, attributes): always literal.
        return _first(
            self.key.check(key, f"each key of {prop}", True)
            or self.value.check(item, f"{prop}[{check.shown(key)}]", known)
            for key, item in value.items()
        )

    def describe(self) -> str:
        return f"a mapping of {_grouped(self.key.noun())} to {_grouped(self.value.noun())}"

    def noun(self) -> str:
        return f"mappings of {_grouped(self.key.noun())} to {_grouped(self.value.noun())}"


def _first(problems: Iterable[Problem | None]) -> Problem | None:
    """The first problem inside a value (its parts are checked lazily, in order): the value
    had the expected kind, something in it is wrong."""
    found = next((p for p in problems if p is not None), None)
    return None if found is None else dataclasses.replace(found, matched=True)


def _grouped(noun: str) -> str:
    """A noun inside a longer phrase, in parentheses when it is itself a choice."""
    return f"({noun})" if " or " in noun else noun


class _KnownNode(_Node):
    def __init__(self, inner: _Node) -> None:
        self.inner = inner

    def check(self, value: Any, prop: str, known: bool) -> Problem | None:
        return self.inner.check(value, prop, True)

    def describe(self) -> str:
        return self.inner.describe()

    def noun(self) -> str:
        return self.inner.noun()

    def parts(self) -> tuple[_Node, ...]:
        return tuple(_KnownNode(p) for p in self.inner.parts())


class _UnionNode(_Node):
    def __init__(self, members: tuple[_Node, ...]) -> None:
        self.members = members

    def check(self, value: Any, prop: str, known: bool) -> Problem | None:
        problems = []
        for member in self.members:
            problem = member.check(value, prop, known)
            if problem is None:
                return None
            problems.append((member, problem))
        # Report the member whose kind the value has (a list with a bad item, a string with a
        # line break); when none or several have it, say what the union accepts.
        matched = [(m, p) for m, p in problems if p.matched]
        if len({(p.prop, p.allowed) for _, p in matched}) == 1:  # one member, or alike ones
            return matched[0][1]
        members = [m for m, _ in matched] or list(self.members)
        return Problem(prop, _join(members, "describe"), value, matched=bool(matched))

    def describe(self) -> str:
        return _join(list(self.members), "describe")

    def noun(self) -> str:
        return _join(list(self.members), "noun")

    def parts(self) -> tuple[_Node, ...]:
        return self.members


def _join(members: list[_Node], how: Literal["describe", "noun"]) -> str:
    kinds = {type(m) for m in members}
    if _Int in kinds and _Float in kinds:  # an int is a number
        members = [m for m in members if not isinstance(m, _Int)]
    words = list(dict.fromkeys(str(getattr(m, how)()) for m in members))
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


# --- Compiling annotations -----------------------------------------------------------------


@functools.cache
def _compile(hint: Any) -> _Node:  # noqa: PLR0911 (one answer per kind of annotation)
    origin = typing.get_origin(hint)
    arguments = typing.get_args(hint)
    if origin is Annotated:
        inner = _compile_annotated(arguments[0], arguments[1:])
        return _KnownNode(inner) if KNOWN in arguments[1:] else inner
    if hint is Any or hint is object:
        return _Anything()
    if hint is None or hint is type(None):
        return _NoneNode()
    if origin in (Union, types.UnionType):
        return _UnionNode(tuple(_compile(a) for a in arguments))
    if origin is Literal:
        return _LiteralNode(arguments)
    if origin is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return _SequenceNode(_compile(arguments[0]))
        return _TupleNode(tuple(_compile(a) for a in arguments))
    if origin in (abc.Sequence, list):
        return _SequenceNode(_compile(arguments[0]) if arguments else _Anything())
    if origin in (abc.Mapping, dict):
        key, value = arguments or (Any, Any)
        return _MappingNode(_compile(key), _compile(value))
    if isinstance(hint, type):
        return _compile_class(hint)
    raise TypeError(f"_boundary cannot check values annotated {hint!r}; teach _compile it")


def _compile_annotated(base: Any, markers: tuple[Any, ...]) -> _Node:
    if base is str:
        return _Str(text=TEXT in markers)
    return _compile(base)


def _compile_class(cls: type) -> _Node:  # noqa: PLR0911
    if cls is bool:
        return _Bool()
    if cls is int:
        return _Int()
    if cls is float:
        return _Float()
    if cls is str:
        return _Str(text=False)
    if issubclass(cls, enum.Enum):
        return _EnumNode(cls)
    if cls in _PROTOCOLS:
        return _ProtocolNode(_PROTOCOLS[cls])
    if getattr(cls, "_is_protocol", False):
        if "__jsii_type__" in cls.__dict__:
            return _Interface(cls)
        raise TypeError(f"register a runtime check for the protocol {cls!r} (register_protocol)")
    if cls.__module__.startswith("cdk_devops_constructs") and (
        dataclasses.is_dataclass(cls) or factories(cls)
    ):
        return _ValueObject(cls)
    return _Instance(cls)


@functools.cache
def _hints(target: Callable[..., Any] | type) -> dict[str, Any]:
    """The resolved annotations of a function or class, markers included (cached)."""
    return typing.get_type_hints(inspect.unwrap(target), include_extras=True)


# --- Checking ----------------------------------------------------------------------------


def problem_with(value: Any, hint: Any, prop: str) -> Problem | None:
    """The first problem of ``value`` against the annotation ``hint``, or None."""
    return _compile(hint).check(value, prop, False)


def require(value: Any, hint: Any, prop: str) -> None:
    """Raise ``BoundaryError`` (a ValueError) without a construct path: for checks that run
    outside a construct, whose caller adds the path."""
    problem = problem_with(value, hint, prop)
    if problem is not None:
        raise BoundaryError(str(problem))


def as_tuple(values: Sequence[T]) -> tuple[T, ...]:
    """A tuple of ``values`` when it is a list or tuple; anything else unchanged, for the
    boundary to report (``tuple("main")`` would make a branch of each character)."""
    if isinstance(values, abc.Sequence) and not isinstance(values, (str, bytes, bytearray)):
        return tuple(values)
    return values  # type: ignore[return-value]


def or_default(value: T | None, default: T) -> T:
    """``value``, or ``default`` when it is None; never ``value or default``, which would trade
    a wrong falsy value (0, "", False) for the default instead of reporting it."""
    return default if value is None else value


def _fail(path: str, message: str, kind: type[Exception] = BoundaryError) -> NoReturn:
    raise kind(f"{path}: {message}")


def _construct_path(owner: str, arguments: Mapping[str, Any]) -> str:
    scope, id = arguments.get("scope"), arguments.get("id")
    if not isinstance(scope, Construct):
        allowed = "a Construct (a Stack or a construct in one)"
        _fail(owner, f"scope must be {allowed}, got {check.shown(scope)}")
    parent = scope.node.path
    problem = problem_with(id, Known[str], "id")
    if problem is not None or not isinstance(id, str):
        _fail(f"{parent}/<id>" if parent else "<id>", str(problem))
    path = f"{parent}/{id}" if parent else id
    if not id or "/" in id:
        _fail(path, f"id must be a non-empty construct id without '/', got {id!r}")
    if scope.node.try_find_child(id) is not None:
        _fail(path, f"id must be unique among the children of {parent or 'the app'}, got {id!r}")
    return path


def _arity(owner: str, signature: inspect.Signature, error: TypeError, given: set[str]) -> str:
    """Python's message for a call that does not fit, in the library's form."""
    known = [n for n in signature.parameters if n != "self"]
    for name in sorted(given - set(signature.parameters)):
        close = [f"'{c}'" for c in difflib.get_close_matches(name, known, n=2)]
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        return f"{name} is not a prop of {owner}{hint}"
    missing = [n for n, p in signature.parameters.items() if n not in given and n != "self"]
    required = [n for n in missing if signature.parameters[n].default is inspect.Parameter.empty]
    if required:
        return f"{required[0]} is required, got nothing"
    return str(error)


def boundary(init: Callable[P, None]) -> Callable[P, None]:
    """Check every argument of a construct's ``__init__(self, scope, id, *, ...)`` against its
    annotation before it runs (see the module docstring). Apply it to each public construct."""
    signature = inspect.signature(init)
    owner = init.__qualname__.split(".")[0]

    @functools.wraps(init)
    def checked(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as error:
            given = set(kwargs) | set(list(signature.parameters)[: len(args)])
            positional = dict(zip(("self", "scope", "id"), args, strict=False))
            path = _construct_path(owner, {**positional, **kwargs})
            _fail(path, _arity(owner, signature, error, given), TypeError)
        arguments = bound.arguments
        path = _construct_path(owner, arguments)
        hints = _hints(init)
        for name, value in arguments.items():
            if name in ("self", "scope", "id"):
                continue
            problem = problem_with(value, hints[name], name)
            if problem is not None:
                _fail(path, str(problem))
        init(*args, **kwargs)

    checked.__boundary_checked__ = init  # type: ignore[attr-defined]
    return checked


# --- What the boundary checks, for the README's error catalogue ------------------------------


@dataclass(frozen=True)
class Rule:
    """What one prop of a public callable may be."""

    owner: str
    prop: str
    allowed: str
    known: bool
    optional: bool
    tokens: bool  # the value is, or holds, a string, a number or a Duration (which can be tokens)


def value_classes(*constructs: type) -> dict[str, type]:
    """Every value class of this library the constructs' annotations reach (through fields and
    factories), by name, in the order they are reached."""
    return {name: cls for name, (cls, _) in _reached(constructs).items()}


def _reached(constructs: tuple[type, ...]) -> dict[str, tuple[type, bool]]:
    """Value class name -> (class, reached only inside ``Known[...]``)."""
    found: dict[str, tuple[type, bool]] = {}

    def visit(hint: Any, known: bool) -> None:
        if typing.get_origin(hint) is Annotated:
            known = known or KNOWN in typing.get_args(hint)[1:]
        for part in typing.get_args(hint):
            visit(part, known)
        if not _is_value_class(hint):
            return
        name = hint.__name__
        if name in found:
            found[name] = (hint, found[name][1] and known)
            return
        found[name] = (hint, known)
        for nested in _hints(hint).values():
            visit(nested, known)
        for factory in factories(hint).values():
            for nested in _hints(factory).values():
                visit(nested, known)

    for construct in constructs:
        for name, hint in _hints(construct.__init__).items():  # type: ignore[misc]
            if name != "return":
                visit(hint, False)
    return found


def _is_value_class(hint: Any) -> bool:
    return (
        isinstance(hint, type)
        and hint.__module__.startswith("cdk_devops_constructs")
        and (dataclasses.is_dataclass(hint) or bool(factories(hint)))
    )


def catalogue(*constructs: type) -> Iterator[Rule]:
    """The rule of every prop of the constructs, of the factories of every value class they
    take, and of those classes' fields (``rules``); a value object that only ever sits inside
    ``Known[...]`` has every prop known at synthesis."""
    for construct in constructs:
        yield from rules(construct.__name__, construct.__init__)  # type: ignore[misc]
    for name, (cls, known) in _reached(constructs).items():
        owners = [(f"{name}.{f}(...)", made) for f, made in factories(cls).items()]
        if dataclasses.is_dataclass(cls):
            owners.append((name, cls))
        for owner, target in owners:
            for rule in rules(owner, target):
                yield dataclasses.replace(rule, known=rule.known or known)


def rules(owner: str, target: Callable[..., Any] | type) -> Iterator[Rule]:
    """The rule of every prop of ``target`` (a constructor, a factory or a value class)."""
    hints = _hints(target)
    names = (
        [f.name for f in dataclasses.fields(target)]
        if isinstance(target, type) and dataclasses.is_dataclass(target)
        else [n for n in inspect.signature(target).parameters if n not in ("self", "scope", "id")]
    )
    for name in names:
        node = _compile(hints[name])
        members = node.parts()
        optional = any(isinstance(m, _NoneNode) for m in members)
        shown = [m for m in members if not isinstance(m, _NoneNode)]
        known = all(isinstance(m, _KnownNode) for m in shown) and bool(shown)
        tokens = any(_can_be_token(m) for m in shown)
        allowed = _join(shown, "describe")
        if any(isinstance(_inner(m), _Str) and _inner(m).text for m in shown):  # type: ignore[attr-defined]
            allowed += " (free text: tabs and line breaks allowed)"
        yield Rule(owner, name, allowed, known, optional, tokens)


def _inner(node: _Node) -> _Node:
    return node.inner if isinstance(node, _KnownNode) else node


def _can_be_token(node: _Node) -> bool:
    if isinstance(node, (_Str, _Int, _Float)):
        return True
    if isinstance(node, _Instance):
        return node.cls is Duration
    if isinstance(node, _SequenceNode):
        return _can_be_token(node.item)
    if isinstance(node, _MappingNode):
        return _can_be_token(node.value)
    if isinstance(node, _KnownNode):
        return _can_be_token(node.inner)
    return isinstance(node, _UnionNode) and any(_can_be_token(m) for m in node.members)
