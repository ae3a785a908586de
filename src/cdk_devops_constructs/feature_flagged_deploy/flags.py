"""Typed feature flags and the ``AWS.AppConfig.FeatureFlags`` document they render to.

The rules checked here are AppConfig's, from the type reference of feature-flag configuration
data (https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-type-reference-feature-flags.html)
and the multi-variant flag guide. ``render_document`` checks the flags' types at the boundary
(``_boundary``), then AppConfig's rules, and raises ``ValueError`` naming the flag, the field and
the value at fault; the construct adds its path. Attribute patterns, and the values held to
them, are evaluated as ECMAScript regular expressions by Node.js (``ecmascript``).
"""

from __future__ import annotations

import contextvars
import datetime
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import Any, Literal, NoReturn, TypeAlias

from .._boundary import Text, as_tuple, require
from .._validation import shown
from . import ecmascript

# A flag, attribute or value key: a lowercase letter, then up to 63 letters, digits, "_" or "-".
KEY = re.compile(r"^[a-z][a-zA-Z\d_-]{0,63}$", re.ASCII)
KEY_TEXT = "a lowercase letter followed by up to 63 letters, digits, '_' or '-'"
# Flag and variant names: 1-64 characters, no line break.
NAME = re.compile(r"^[^\n]{1,64}$")

MAX_DESCRIPTION = 1024
MAX_ATTRIBUTES = 25
MAX_STRING = 1024  # a string attribute value, a constraint pattern, an enum member
MAX_ENUM = 100
MAX_VARIANTS = 32
MAX_RULE = 16384
# AppConfig stores hosted configurations of at most 1 MB; counted here as 10^6 UTF-8 bytes of
# the rendered document. The document is also inlined in the CloudFormation template, itself
# limited to 1 MB, so a real document must stay well below this.
MAX_DOCUMENT_BYTES = 1_000_000
# "enabled" sits next to the attribute values in a flag's value (and in what the agent
# returns), so an attribute of that name would be ambiguous.
RESERVED_ATTRIBUTE_KEYS = frozenset({"enabled"})

AttributeType: TypeAlias = Literal["number", "string", "boolean", "array"]
AttributeValue: TypeAlias = Text | int | float | bool | Sequence[Text] | Sequence[int | float]


@dataclass(frozen=True)
class Attribute:
    """The type and constraints of one flag attribute. Make one with ``Attribute.number()``,
    ``Attribute.string()``, ``Attribute.boolean()`` or ``Attribute.array()``."""

    type: AttributeType
    _: KW_ONLY
    required: bool = False
    description: Text | None = None
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None
    enum: Sequence[str] | None = None
    elements: Attribute | None = None

    @staticmethod
    def number(
        *,
        minimum: int | None = None,
        maximum: int | None = None,
        required: bool = False,
        description: Text | None = None,
    ) -> Attribute:
        """A number; values may be fractional, the bounds are integers (AppConfig's rule).

        :param minimum: smallest value allowed. Default: no lower bound.
        :param maximum: largest value allowed. Default: no upper bound.
        :param required: every value of the flag must set this attribute. Default: False.
        :param description: shown in the AppConfig console. Default: none.
        """
        return Attribute(
            "number", minimum=minimum, maximum=maximum, required=required, description=description
        )

    @staticmethod
    def string(
        *,
        pattern: str | None = None,
        enum: Sequence[str] | None = None,
        required: bool = False,
        description: Text | None = None,
    ) -> Attribute:
        """A string of at most 1024 characters.

        :param pattern: a regular expression values must contain a match of (JSON Schema
            ``pattern`` semantics: anchor it with ``^...$`` to match the whole value).
            Default: any string.
        :param enum: the only values allowed (at most 100). Not with ``pattern``.
            Default: any string.
        :param required: every value of the flag must set this attribute. Default: False.
        :param description: shown in the AppConfig console. Default: none.
        """
        return Attribute(
            "string",
            pattern=pattern,
            enum=as_tuple(enum) if enum is not None else None,
            required=required,
            description=description,
        )

    @staticmethod
    def boolean(*, required: bool = False, description: Text | None = None) -> Attribute:
        """True or false.

        :param required: every value of the flag must set this attribute. Default: False.
        :param description: shown in the AppConfig console. Default: none.
        """
        return Attribute("boolean", required=required, description=description)

    @staticmethod
    def array(
        *,
        elements: Attribute | None = None,
        required: bool = False,
        description: Text | None = None,
    ) -> Attribute:
        """A non-empty list of strings or of numbers (never both in one list).

        :param elements: ``Attribute.number(...)`` or ``Attribute.string(...)`` constraining
            every element (its own ``required`` and ``description`` are not used).
            Default: strings or numbers, unconstrained.
        :param required: every value of the flag must set this attribute. Default: False.
        :param description: shown in the AppConfig console. Default: none.
        """
        return Attribute("array", elements=elements, required=required, description=description)


@dataclass(frozen=True)
class Variant:
    """One variant of a multi-variant flag: a status and attribute values, returned by the
    agent when ``rule`` matches the request's context. The last variant of a flag is its
    default: it has no rule and is returned when no other variant matches."""

    name: str
    _: KW_ONLY
    enabled: bool = False
    rule: Text | None = None
    values: Mapping[str, AttributeValue] | None = None


@dataclass(frozen=True)
class Flag:
    """A feature flag: a key the application asks for, a status and typed attributes.

    :param key: what the application asks for (``?flag=<key>``): a lowercase letter, then up
        to 63 letters, digits, ``_`` or ``-``.
    :param enabled: the flag's status. Default: False. Not with ``variants``.
    :param name: display name, 1-64 characters. Default: ``key``.
    :param description: shown in the console, at most 1024 characters. Default: none.
    :param attributes: attribute key -> type and constraints (at most 25). Default: none.
    :param values: attribute key -> value; required attributes must have one. Default: none.
        Not with ``variants``.
    :param variants: for a multi-variant flag: each variant's status, values and rule; the
        last one is the default and has no rule (at most 32). Default: a single-value flag.
    :param deprecation_date: marks the flag as planned for deprecation on that date.
        Default: not deprecated.
    """

    key: str
    _: KW_ONLY
    enabled: bool = False
    name: str | None = None
    description: Text | None = None
    attributes: Mapping[str, Attribute] | None = None
    values: Mapping[str, AttributeValue] | None = None
    variants: Sequence[Variant] | None = None
    deprecation_date: datetime.date | None = None


# --- Rendering and validation -----------------------------------------------------------------


def render_document(flags: Sequence[Flag]) -> dict[str, Any]:
    """The feature-flag document for ``flags``: ``{"version": "1", "flags": ..., "values": ...}``.

    Raises ``ValueError`` on the first rule ``flags`` breaks.
    """
    require(flags, Sequence[Flag], "flags")
    if not flags:
        _fail("flags must hold at least one Flag, got an empty list")
    definitions: dict[str, Any] = {}
    values: dict[str, Any] = {}
    patterns: list[_PatternCheck] = []
    token = _PATTERNS.set(patterns)
    try:
        for index, flag in enumerate(flags):
            _key(f"flags[{index}].key", flag.key)
            if flag.key in definitions:
                _fail(f"flags must not repeat a key, got {shown(flag.key)} twice")
            definitions[flag.key], values[flag.key] = _render_flag(f"flags[{flag.key!r}]", flag)
    finally:
        _PATTERNS.reset(token)
    _check_patterns(patterns)
    document = {"version": "1", "flags": definitions, "values": values}
    size = len(to_json(document).encode())
    if size > MAX_DOCUMENT_BYTES:
        _fail(
            f"the rendered flags document must be at most {MAX_DOCUMENT_BYTES} bytes "
            f"(AppConfig's 1 MB limit for hosted configurations), got {size}"
        )
    return document


def to_json(value: Any) -> str:
    """Compact, key-sorted, ASCII-only JSON: the same flags always give the same bytes, whatever
    order the dictionaries were written in, and no character outside ASCII (a control
    character in a description, say) reaches the template unescaped, where template parsers
    such as cfn-lint's reject it."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _render_flag(where: str, flag: Flag) -> tuple[dict[str, Any], dict[str, Any]]:
    name = flag.key if flag.name is None else flag.name
    definition: dict[str, Any] = {"name": _name(f"{where}.name", name)}
    if flag.description is not None:
        definition["description"] = _description(f"{where}.description", flag.description)
    if flag.deprecation_date is not None:
        definition["_deprecation"] = {
            "status": "planned",
            "date": flag.deprecation_date.isoformat()[:10],
        }
    attributes = _mapping(flag.attributes)
    if len(attributes) > MAX_ATTRIBUTES:
        _fail(
            f"{where}.attributes must hold at most {MAX_ATTRIBUTES} attributes, "
            f"got {len(attributes)}"
        )
    rendered_attributes = {}
    for key, attribute in attributes.items():
        _key(f"{where}.attributes key", key)
        if key in RESERVED_ATTRIBUTE_KEYS:
            _fail(
                f"{where}.attributes key must not be {key!r}: the agent returns the flag's "
                "status under that name"
            )
        rendered_attributes[key] = _render_attribute(f"{where}.attributes[{key!r}]", attribute)
    if rendered_attributes:
        definition["attributes"] = rendered_attributes

    if flag.variants is None:
        value: dict[str, Any] = {"enabled": flag.enabled}
        value.update(_render_values(f"{where}.values", attributes, flag.values))
        return definition, value
    if flag.values is not None or flag.enabled:
        _fail(
            f"{where} sets variants, so enabled and values must be left unset: set them on "
            "each variant (the last variant is the default)"
        )
    return definition, {"_variants": _render_variants(f"{where}.variants", attributes, flag)}


def _render_attribute(where: str, attribute: Attribute) -> dict[str, Any]:
    rendered: dict[str, Any] = {}
    if attribute.description is not None:
        rendered["description"] = _description(f"{where}.description", attribute.description)
    constraints = _constraints(where, attribute)
    if attribute.required:
        constraints["required"] = True
    rendered["constraints"] = constraints
    return rendered


def _constraints(where: str, attribute: Attribute) -> dict[str, Any]:
    """The ``constraints`` object of one attribute (or of an array's elements)."""
    kind = attribute.type
    _only(where, attribute)
    constraints: dict[str, Any] = {"type": kind}
    if kind == "number":
        for bound in ("minimum", "maximum"):
            limit = getattr(attribute, bound)
            if limit is not None:
                constraints[bound] = limit
        low, high = attribute.minimum, attribute.maximum
        if low is not None and high is not None and high < low:
            _fail(f"{where}.maximum must be at least minimum ({low}), got {high}")
    elif kind == "string":
        if attribute.pattern is not None and attribute.enum is not None:
            _fail(f"{where} may set pattern or enum, not both (AppConfig's rule)")
        if attribute.pattern is not None:
            constraints["pattern"] = _pattern(f"{where}.pattern", attribute.pattern)
        if attribute.enum is not None:
            constraints["enum"] = _enum(f"{where}.enum", attribute.enum)
    elif kind == "array" and attribute.elements is not None:
        elements = attribute.elements
        if elements.type not in ("number", "string"):
            _fail(
                f"{where}.elements must be Attribute.number(...) or Attribute.string(...), "
                f"got {shown(elements)}"
            )
        constraints["elements"] = _constraints(f"{where}.elements", elements)
    return constraints


def _only(where: str, attribute: Attribute) -> None:
    """Constraints that belong to another attribute type are a mistake, not a no-op."""
    allowed = {
        "number": {"minimum", "maximum"},
        "string": {"pattern", "enum"},
        "boolean": set(),
        "array": {"elements"},
    }[attribute.type]
    for field in ("minimum", "maximum", "pattern", "enum", "elements"):
        if field not in allowed and getattr(attribute, field) is not None:
            _fail(f"{where}.{field} does not apply to a {attribute.type} attribute")


def _pattern(where: str, pattern: str) -> str:
    if not 1 <= len(pattern) <= MAX_STRING:
        _fail(
            f"{where} must be a regular expression of 1-{MAX_STRING} characters, "
            f"got {shown(pattern)}"
        )
    _PATTERNS.get().append(_PatternCheck(where, pattern, None))
    return pattern


def _enum(where: str, members: Sequence[str]) -> list[str]:
    if not 1 <= len(members) <= MAX_ENUM:
        _fail(f"{where} must hold 1-{MAX_ENUM} strings, got {len(members)}")
    for member in members:
        if len(member) > MAX_STRING:
            _fail(
                f"{where} members must be strings of at most {MAX_STRING} characters, "
                f"got {shown(member)}"
            )
    if len(set(members)) != len(members):
        _fail(f"{where} must not repeat a member, got {shown(list(members))}")
    return list(members)


def _render_values(
    where: str, attributes: Mapping[str, Attribute], values: Mapping[str, AttributeValue] | None
) -> dict[str, Any]:
    given = _mapping(values)
    rendered = {}
    for key, value in given.items():
        if key not in attributes:
            declared = ", ".join(repr(k) for k in attributes) or "none"
            _fail(f"{where} key must be a declared attribute ({declared}), got {shown(key)}")
        rendered[key] = _value(f"{where}[{key!r}]", attributes[key], value)
    for key, attribute in attributes.items():
        if attribute.required and key not in given:
            _fail(f"{where} must set the required attribute {key!r}")
    return rendered


def _value(where: str, attribute: Attribute, value: Any) -> Any:
    """``value`` checked against ``attribute``, as it goes into the document."""
    kind = attribute.type
    if kind == "boolean":
        if not isinstance(value, bool):
            _fail(f"{where} must be True or False, got {shown(value)}")
        return value
    if kind == "number":
        return _number(where, attribute, value)
    if kind == "string":
        return _string(where, attribute, value)
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        _fail(f"{where} must be a list of strings or of numbers, got {shown(value)}")
    if not value:
        # AppConfig's schema accepts an array only if it is all strings or all numbers, and an
        # empty array is both, which its "oneOf" rejects.
        _fail(f"{where} must hold at least one element, got an empty list")
    strings = all(isinstance(v, str) for v in value)
    numbers = all(_is_number(v) for v in value)
    if not strings and not numbers:
        _fail(f"{where} must be all strings or all numbers, got {shown(list(value))}")
    elements = attribute.elements
    if elements is not None and (elements.type == "string") != strings:
        _fail(f"{where} elements must be {elements.type}s, got {shown(list(value))}")
    check = elements or Attribute("string" if strings else "number")
    return [_value(f"{where}[{i}]", check, v) for i, v in enumerate(value)]


def _number(where: str, attribute: Attribute, value: Any) -> int | float:
    if not _is_number(value) or not math.isfinite(value):
        _fail(f"{where} must be a finite number, got {shown(value)}")
    low, high = attribute.minimum, attribute.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
        _fail(f"{where} must be in {bounds}, got {shown(value)}")
    number: int | float = value
    return number


def _string(where: str, attribute: Attribute, value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_STRING:
        _fail(f"{where} must be a string of at most {MAX_STRING} characters, got {shown(value)}")
    if attribute.enum is not None and value not in attribute.enum:
        choices = ", ".join(repr(m) for m in attribute.enum)
        _fail(f"{where} must be one of {choices}, got {shown(value)}")
    if attribute.pattern is not None:
        _PATTERNS.get().append(_PatternCheck(where, attribute.pattern, value))
    return value


def _render_variants(
    where: str, attributes: Mapping[str, Attribute], flag: Flag
) -> list[dict[str, Any]]:
    variants = flag.variants
    assert variants is not None
    if not 1 <= len(variants) <= MAX_VARIANTS:
        _fail(f"{where} must hold 1-{MAX_VARIANTS} variants, got {len(variants)}")
    rendered = []
    names: set[str] = set()
    for index, variant in enumerate(variants):
        at = f"{where}[{index}]"
        _name(f"{at}.name", variant.name)
        if variant.name in names:
            _fail(f"{where} must not repeat a name, got {shown(variant.name)} twice")
        names.add(variant.name)
        item: dict[str, Any] = {"name": variant.name, "enabled": variant.enabled}
        last = index == len(variants) - 1
        if last and variant.rule is not None:
            _fail(
                f"{at}.rule must be unset: the last variant is the default, returned when no "
                f"rule matches (AppConfig rejects a rule on it), got {shown(variant.rule)}"
            )
        if not last:
            rule = variant.rule
            if rule is None or not rule.strip() or len(rule) > MAX_RULE:
                _fail(
                    f"{at}.rule must be a rule expression of 1-{MAX_RULE} characters "
                    f"(only the last, default variant has none), got {shown(rule)}"
                )
            item["rule"] = rule
        attribute_values = _render_values(f"{at}.values", attributes, variant.values)
        if attribute_values:
            item["attributeValues"] = attribute_values
        rendered.append(item)
    return rendered


# --- Small checks -----------------------------------------------------------------------------


def _key(where: str, key: str) -> None:
    if not KEY.fullmatch(key):
        _fail(f"{where} must be {KEY_TEXT}, got {shown(key)}")


def _name(where: str, name: str) -> str:
    if not NAME.fullmatch(name):
        _fail(f"{where} must be 1-64 characters without a line break, got {shown(name)}")
    return name


def _description(where: str, description: str) -> str:
    if len(description) > MAX_DESCRIPTION:
        limit = MAX_DESCRIPTION
        _fail(f"{where} must be a string of at most {limit} characters, got {shown(description)}")
    return description


def _mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return {} if value is None else value


# --- Patterns, evaluated as AppConfig does (ecmascript.py) ------------------------------------


@dataclass(frozen=True)
class _PatternCheck:
    """A pattern to compile (``value`` None), or a value it must match; ``where`` names it."""

    where: str
    pattern: str
    value: str | None


_PATTERNS: contextvars.ContextVar[list[_PatternCheck]] = contextvars.ContextVar("patterns")


def _check_patterns(checks: Sequence[_PatternCheck]) -> None:
    """One Node.js evaluation of every pattern and value; the first problem raises."""
    if not checks:
        return
    try:
        verdicts = ecmascript.evaluate(
            [c.pattern for c in checks],
            [(c.pattern, c.value) for c in checks if c.value is not None],
        )
    except ecmascript.RegexError as error:
        _fail(f"{checks[0].where} {error}")
    for item in checks:
        problem = verdicts.patterns[item.pattern]
        if problem is not None and item.value is None:  # a pattern is listed before its values
            _fail(_pattern_problem(item, problem))
    for item in checks:
        if item.value is None:
            continue
        matched = verdicts.values[(item.pattern, item.value)]
        if matched is not True:
            why = {
                False: "",
                "slow": " (evaluating it took too long)",
                "differs": " (it matches with ECMAScript's u flag and not without, or the "
                "reverse, so AppConfig's answer is not known)",
            }[matched]
            _fail(
                f"{item.where} must match the pattern {item.pattern!r}{why}, "
                f"got {shown(item.value)}"
            )


def _pattern_problem(item: _PatternCheck, problem: str) -> str:
    where = item.where
    if problem.startswith("invalid: "):
        return (
            f"{where} must be a valid regular expression in ECMAScript syntax, as AppConfig "
            f"reads it ({problem.removeprefix('invalid: ')}), got {shown(item.pattern)}"
        )
    return (
        f"{where} must be a regular expression that evaluates quickly: it backtracks "
        f"catastrophically on an input like {problem.removeprefix('slow: ')}... (nested "
        f"quantifiers such as (a+)+), got {shown(item.pattern)}"
    )


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fail(message: str) -> NoReturn:
    raise ValueError(message)
