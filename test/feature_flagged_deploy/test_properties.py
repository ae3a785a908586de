"""Property-based tests: any flag set either renders a document that AppConfig's published
schema accepts, or raises a ValueError that names the field at fault; valid flag sets
synthesize templates every compliance tool accepts."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from cdk_devops_constructs import Attribute, FeatureFlaggedDeploy, Flag, Variant
from cdk_devops_constructs.feature_flagged_deploy.flags import render_document

from feature_flagged_deploy.appconfig_schema import OFFICIAL_FEATURE_FLAGS_SCHEMA
from harness import compliance, scenarios
from harness.generated import count, examples

OFFICIAL = jsonschema.Draft7Validator(OFFICIAL_FEATURE_FLAGS_SCHEMA)
# Every message names where the problem is: the flag list, one flag, or the whole document.
ERROR = re.compile(r"^(flags(\[| must)|each key of flags\[|the rendered flags document)")

KEYS = st.from_regex(r"[a-z][a-zA-Z0-9_-]{0,12}", fullmatch=True)
BAD_KEYS = st.sampled_from(["", "Upper", "9lives", "has space", "a" * 65, "dot.ted"])
PATTERNS = ("^[a-z]+$", "^v[0-9]{1,3}$", "[A-Z]", "^(red|green|blue)$")
# What a string may hold (the boundary refuses control characters, line and paragraph
# separators and lone surrogates in names; values and descriptions also take tabs and newlines).
PRINTABLE = st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"))
TEXT = st.text(PRINTABLE, max_size=20)
SAFE_INTEGERS = st.integers(-(2**53 - 1), 2**53 - 1)


def keys(valid: bool) -> st.SearchStrategy[str]:
    return KEYS if valid else st.one_of(KEYS, BAD_KEYS)


@st.composite
def number_attribute(draw: st.DrawFn, valid: bool) -> tuple[Attribute, Any]:
    low = draw(st.none() | st.integers(-100, 100))
    high = draw(st.none() | st.integers(-100, 100))
    if valid and low is not None and high is not None and high < low:
        low, high = high, low
    attribute = Attribute.number(minimum=low, maximum=high, required=draw(st.booleans()))
    lo = -1000 if low is None else low
    hi = 1000 if high is None else high
    inside: st.SearchStrategy[Any] = (
        st.integers(lo, hi) | st.floats(lo, hi, allow_nan=False) if lo <= hi else st.just(lo)
    )
    value = draw(inside if valid else inside | st.integers(-2000, 2000) | st.booleans() | TEXT)
    return attribute, value


@st.composite
def string_attribute(draw: st.DrawFn, valid: bool) -> tuple[Attribute, Any]:
    kind = draw(st.sampled_from(["free", "pattern", "enum"]))
    required = draw(st.booleans())
    if kind == "pattern":
        pattern = draw(st.sampled_from(PATTERNS))
        attribute = Attribute.string(pattern=pattern, required=required)
        # AppConfig's $ matches only at the end (ECMAScript), where Python's also matches
        # before a final newline: generate whole matches of printable text.
        value = draw(
            st.from_regex(pattern, fullmatch=True, alphabet=PRINTABLE).filter(
                lambda s: len(s) <= 1024
            )
        )
    elif kind == "enum":
        members = draw(st.lists(TEXT, min_size=1, max_size=5, unique=True))
        attribute = Attribute.string(enum=members, required=required)
        value = draw(st.sampled_from(members))
    else:
        attribute = Attribute.string(required=required)
        value = draw(st.text(PRINTABLE, max_size=50))
    if not valid:
        value = draw(st.just(value) | TEXT | st.integers())
    return attribute, value


@st.composite
def array_attribute(draw: st.DrawFn, valid: bool) -> tuple[Attribute, Any]:
    elements = draw(st.sampled_from([None, "number", "string"]))
    if elements == "number":
        attribute = Attribute.array(elements=Attribute.number(minimum=0, maximum=10))
        value: Any = draw(st.lists(st.integers(0, 10), min_size=1, max_size=4))
    elif elements == "string":
        attribute = Attribute.array(elements=Attribute.string(pattern="^[a-z]+$"))
        value = draw(
            st.lists(
                st.from_regex("^[a-z]+$", fullmatch=True, alphabet=PRINTABLE),
                min_size=1,
                max_size=4,
            )
        )
    else:
        attribute = Attribute.array()
        value = draw(
            st.lists(SAFE_INTEGERS, min_size=1, max_size=4) | st.lists(TEXT, min_size=1, max_size=4)
        )
    if not valid:
        value = draw(st.just(value) | st.just([]) | st.just(["x", 1]) | st.lists(st.integers()))
    return attribute, value


def attributes(valid: bool) -> st.SearchStrategy[tuple[Attribute, Any]]:
    boolean = st.tuples(st.just(Attribute.boolean()), st.booleans())
    if not valid:
        boolean = st.tuples(st.just(Attribute.boolean()), st.booleans() | st.integers())
    return st.one_of(
        number_attribute(valid), string_attribute(valid), array_attribute(valid), boolean
    )


@st.composite
def flags(draw: st.DrawFn, valid: bool) -> Flag:
    declared = draw(
        st.dictionaries(keys(valid).filter(lambda k: k != "enabled"), attributes(valid), max_size=4)
    )
    definitions = {key: attribute for key, (attribute, _) in declared.items()}
    values = {key: value for key, (_, value) in declared.items()}
    if valid:
        # Optional attributes may be left unset.
        optional = [k for k, a in definitions.items() if not a.required]
        for key in draw(st.lists(st.sampled_from(optional), unique=True)) if optional else []:
            del values[key]
    key = draw(keys(valid))
    name = draw(st.none() | st.from_regex(r"[^\n]{1,64}", fullmatch=True, alphabet=PRINTABLE))
    description = draw(st.none() | st.text(PRINTABLE, max_size=40))
    if draw(st.booleans()):
        # A multi-variant flag: every variant carries the values, the last has no rule.
        count = draw(st.integers(1, 3))
        variants = [
            Variant(
                f"variant-{i}",
                enabled=draw(st.booleans()),
                rule=None if i == count - 1 else f'(eq $plan "p{i}")',
                values=values,
            )
            for i in range(count)
        ]
        if not valid and draw(st.booleans()):
            variants.reverse()  # puts a rule on the default variant when count > 1
        return Flag(
            key, name=name, description=description, attributes=definitions, variants=variants
        )
    return Flag(
        key,
        enabled=draw(st.booleans()),
        name=name,
        description=description,
        attributes=definitions,
        values=values,
    )


def flag_sets(valid: bool) -> st.SearchStrategy[list[Flag]]:
    return st.lists(flags(valid), min_size=1, max_size=4, unique_by=lambda f: f.key)


def messages(validator: Any, document: dict[str, Any]) -> list[str]:
    return [e.message for e in validator.iter_errors(document)]


def render(flag_list: list[Flag]) -> dict[str, Any] | str:
    """The document, or the message of the ValueError raised instead."""
    try:
        return render_document(flag_list)
    except ValueError as error:
        return str(error)


@pytest.mark.generated
@examples(300, sample=20)
@given(st.one_of(flag_sets(valid=True), flag_sets(valid=False)))
def test_flags_render_a_valid_document_or_raise_a_clear_error(flag_list: list[Flag]) -> None:
    document = render(flag_list)
    if isinstance(document, str):
        event("rejected")
        assert ERROR.match(document), document
        return
    event("rendered")
    assert messages(OFFICIAL, document) == []


@pytest.mark.generated
@examples(100, sample=10)
@given(flag_sets(valid=True))
def test_valid_flag_sets_always_render(flag_list: list[Flag]) -> None:
    document = render_document(flag_list)
    assert sorted(document["values"]) == sorted(f.key for f in flag_list)


@pytest.mark.generated
def test_generated_flag_sets_synthesize_compliant_templates() -> None:
    """Generated flag sets, each in its own stack, linted as one batch."""
    stacks = []

    @examples(6, sample=1)
    @given(flag_sets(valid=True))
    def build(flag_list: list[Flag]) -> None:
        stack = scenarios.new_stack()
        FeatureFlaggedDeploy(stack, "Flags", flags=flag_list)
        stacks.append(stack)

    build()
    assert 1 <= len(stacks) <= count(6, sample=1)
    compliance.assert_compliant(*stacks)
