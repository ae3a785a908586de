"""The flag model: what each Flag renders to, checked against AppConfig's published schema."""

from __future__ import annotations

import datetime
from typing import Any

import jsonschema
import pytest
from aws_cdk import Duration

from cdk_devops_constructs import Attribute, Flag, Rollout, Variant
from cdk_devops_constructs.feature_flagged_deploy.flags import render_document, to_json

from feature_flagged_deploy.appconfig_schema import OFFICIAL_FEATURE_FLAGS_SCHEMA
from feature_flagged_deploy.scenarios import all_flags, quickstart_flags


def official_errors(document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(OFFICIAL_FEATURE_FLAGS_SCHEMA)
    return [e.message for e in validator.iter_errors(document)]


# --- Rendering ---------------------------------------------------------------------------------


def test_a_bare_flag_is_disabled_and_named_after_its_key() -> None:
    assert render_document([Flag("dark-mode")]) == {
        "version": "1",
        "flags": {"dark-mode": {"name": "dark-mode"}},
        "values": {"dark-mode": {"enabled": False}},
    }


def test_name_description_and_deprecation_go_to_the_definition() -> None:
    flag = Flag(
        "old-export",
        enabled=True,
        name="Old export",
        description="CSV export",
        deprecation_date=datetime.date(2026, 6, 30),
    )
    document = render_document([flag])
    assert document["flags"]["old-export"] == {
        "name": "Old export",
        "description": "CSV export",
        "_deprecation": {"status": "planned", "date": "2026-06-30"},
    }
    assert document["values"]["old-export"] == {"enabled": True}


def test_every_attribute_type_renders_its_constraints() -> None:
    flag = Flag(
        "limits",
        attributes={
            "count": Attribute.number(minimum=1, maximum=10, required=True, description="How many"),
            "plan": Attribute.string(enum=["free", "pro"]),
            "code": Attribute.string(pattern="^[A-Z]{3}$"),
            "beta": Attribute.boolean(),
            "tags": Attribute.array(elements=Attribute.string(pattern="^[a-z]+$")),
            "any-list": Attribute.array(),
        },
        values={"count": 3, "plan": "pro", "tags": ["a", "b"], "any-list": [1, 2.5]},
    )
    document = render_document([flag])
    assert document["flags"]["limits"]["attributes"] == {
        "count": {
            "description": "How many",
            "constraints": {"type": "number", "minimum": 1, "maximum": 10, "required": True},
        },
        "plan": {"constraints": {"type": "string", "enum": ["free", "pro"]}},
        "code": {"constraints": {"type": "string", "pattern": "^[A-Z]{3}$"}},
        "beta": {"constraints": {"type": "boolean"}},
        "tags": {
            "constraints": {
                "type": "array",
                "elements": {"type": "string", "pattern": "^[a-z]+$"},
            }
        },
        "any-list": {"constraints": {"type": "array"}},
    }
    assert document["values"]["limits"] == {
        "enabled": False,
        "count": 3,
        "plan": "pro",
        "tags": ["a", "b"],
        "any-list": [1, 2.5],
    }


def test_a_multi_variant_flag_renders_its_variants_in_order_default_last() -> None:
    flag = Flag(
        "banner",
        attributes={"text": Attribute.string(required=True)},
        variants=[
            Variant("vip", enabled=True, rule='(eq $tier "vip")', values={"text": "Hi VIP"}),
            Variant("default", values={"text": "Hello"}),
        ],
    )
    assert render_document([flag])["values"]["banner"] == {
        "_variants": [
            {
                "name": "vip",
                "enabled": True,
                "rule": '(eq $tier "vip")',
                "attributeValues": {"text": "Hi VIP"},
            },
            {"name": "default", "enabled": False, "attributeValues": {"text": "Hello"}},
        ]
    }


def test_the_json_does_not_depend_on_declaration_order() -> None:
    """The same flags declared in another order give the same bytes, hence the same template
    and no new deployment."""
    attributes = {"a": Attribute.boolean(), "b": Attribute.number()}
    one = [Flag("x", attributes=attributes, values={"a": True, "b": 1}), Flag("y")]
    other = [
        Flag("y"),
        Flag("x", attributes=dict(reversed(attributes.items())), values={"b": 1, "a": True}),
    ]
    assert to_json(render_document(one)) == to_json(render_document(other))


def test_the_scenario_documents_pass_appconfigs_schema() -> None:
    for flags in (quickstart_flags(), all_flags()):
        assert official_errors(render_document(flags)) == []


def test_the_declared_constraints_travel_in_the_document() -> None:
    """AppConfig holds every value, console edits included, to the constraints in the
    document ("Constraints ensure that any unexpected attribute values are not deployed to
    your application"): the document carries each one declared in code."""
    flag = Flag(
        "search",
        enabled=True,
        attributes={
            "size": Attribute.number(minimum=1, maximum=50, required=True),
            "mode": Attribute.string(enum=["fast", "exact"]),
            "prefix": Attribute.string(pattern="^v[0-9]+$"),
        },
        values={"size": 10},
    )
    attributes = render_document([flag])["flags"]["search"]["attributes"]
    assert attributes == {
        "size": {"constraints": {"type": "number", "minimum": 1, "maximum": 50, "required": True}},
        "mode": {"constraints": {"type": "string", "enum": ["fast", "exact"]}},
        "prefix": {"constraints": {"type": "string", "pattern": "^v[0-9]+$"}},
    }


# --- Rollout presets ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rollout", "predefined", "minutes"),
    [
        (Rollout.canary(), "AppConfig.Canary10Percent20Minutes", 30),
        (Rollout.linear(), "AppConfig.Linear20PercentEvery6Minutes", 60),
        (Rollout.all_at_once(), "AppConfig.AllAtOnce", 10),
        (
            Rollout.linear(
                step_percent=50, duration=Duration.minutes(1), bake_time=Duration.minutes(1)
            ),
            "AppConfig.Linear50PercentEvery30Seconds",
            2,
        ),
        (
            Rollout.exponential(growth_factor=10, duration=Duration.minutes(20)),
            "AppConfig.Canary10Percent20Minutes",
            30,
        ),
        (Rollout.canary(percent=5), None, 30),
        (Rollout.all_at_once(bake_time=Duration.minutes(5)), None, 5),
    ],
)
def test_presets_use_aws_predefined_strategies_when_the_values_match(
    rollout: Rollout, predefined: str | None, minutes: int
) -> None:
    assert (rollout.predefined.id if rollout.predefined else None) == predefined
    assert rollout.total_time.to_minutes() == minutes


def test_a_rollout_describes_itself() -> None:
    assert Rollout.linear(step_percent=25, duration=Duration.minutes(20)).describe() == (
        "linear, 25% per step over 20 minutes, then 30 minutes of bake"
    )
