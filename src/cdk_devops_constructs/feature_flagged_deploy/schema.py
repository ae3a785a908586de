"""The JSON Schema attached to the configuration profile as a validator.

AppConfig checks every new hosted version and every deployment against it, so an edit made in
the console is held to the same rules as the flags declared in code:

- AppConfig's rules for feature-flag documents (keys, names, lengths, constraint shapes, value
  types, at most 25 attributes and 32 variants);
- for every flag declared in code: the flag stays (it may not be deleted by hand), its values
  hold only its declared attributes, each within its declared constraints, and its required
  attributes are set.

Flags added by hand are held to AppConfig's rules only. AppConfig reads inline schemas as JSON
Schema draft 4 (https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-creating-configuration-and-profile-validators.html),
so nothing newer (``const``, ``if``/``then``, ``propertyNames``) is used. A validator holds at
most 32,768 characters: when the document-specific schema would be longer, the generic rules
alone are attached and the construct warns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .flags import (
    KEY,
    MAX_ATTRIBUTES,
    MAX_DESCRIPTION,
    MAX_ENUM,
    MAX_RULE,
    MAX_STRING,
    MAX_VARIANTS,
    NAME,
    Attribute,
    Flag,
    to_json,
)

DRAFT_4 = "http://json-schema.org/draft-04/schema#"
MAX_VALIDATOR_CHARACTERS = 32768  # AWS::AppConfig::ConfigurationProfile Validators.Content

_KEY = KEY.pattern
DATE = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
_REF = "#/definitions/"


def validator_schema(flags: Sequence[Flag]) -> tuple[str, bool]:
    """The schema text to attach for ``flags`` (already validated), and whether it is the
    document-specific one (False: too long, the generic rules are attached instead)."""
    specific = to_json(document_schema(flags))
    if len(specific) <= MAX_VALIDATOR_CHARACTERS:
        return specific, True
    return to_json(generic_schema()), False


def generic_schema() -> dict[str, Any]:
    """AppConfig's rules for any feature-flag document, in JSON Schema draft 4."""
    return {
        "$schema": DRAFT_4,
        "type": "object",
        "required": ["version"],
        "additionalProperties": False,
        "properties": {
            "version": {"enum": ["1"]},
            "flags": _keyed(_REF + "flag"),
            "values": _keyed(_REF + "value"),
        },
        "definitions": _definitions(),
    }


def document_schema(flags: Sequence[Flag]) -> dict[str, Any]:
    """The generic rules plus, for each flag of ``flags``, its declared attributes and
    constraints."""
    schema = generic_schema()
    properties = schema["properties"]
    keys = sorted(flag.key for flag in flags)
    properties["flags"]["required"] = keys
    properties["values"]["required"] = keys
    properties["values"]["properties"] = {flag.key: _flag_value(flag) for flag in flags}
    return schema


def _flag_value(flag: Flag) -> dict[str, Any]:
    attributes = dict(flag.attributes or {})
    values = {key: value_schema(attribute) for key, attribute in attributes.items()}
    required = sorted(key for key, attribute in attributes.items() if attribute.required)
    attribute_values: dict[str, Any] = {
        "type": "object",
        "properties": values,
        "additionalProperties": False,
    }
    if required:
        attribute_values["required"] = required
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            **values,
            "enabled": {"type": "boolean"},
            "_createdAt": {"type": "string"},
            "_updatedAt": {"type": "string"},
            "_variants": {
                "type": "array",
                "items": {"type": "object", "properties": {"attributeValues": attribute_values}},
            },
        },
        "additionalProperties": False,
    }
    if required:
        # Without variants the values sit next to "enabled"; with variants each variant
        # carries them (checked above).
        schema["anyOf"] = [{"required": ["_variants"]}, {"required": required}]
    return schema


def value_schema(attribute: Attribute) -> dict[str, Any]:
    """What a value of ``attribute`` may be."""
    if attribute.type == "boolean":
        return {"type": "boolean"}
    if attribute.type == "number":
        schema: dict[str, Any] = {"type": "number"}
        if attribute.minimum is not None:
            schema["minimum"] = attribute.minimum
        if attribute.maximum is not None:
            schema["maximum"] = attribute.maximum
        return schema
    if attribute.type == "string":
        schema = {"type": "string", "maxLength": MAX_STRING}
        if attribute.pattern is not None:
            schema["pattern"] = attribute.pattern
        if attribute.enum is not None:
            schema["enum"] = list(attribute.enum)
        return schema
    # An array: the generic rules make it all strings or all numbers.
    elements = (
        value_schema(attribute.elements)
        if attribute.elements is not None
        else {"type": ["string", "number"]}
    )
    return {"type": "array", "minItems": 1, "items": elements}


def _keyed(ref: str, **extra: Any) -> dict[str, Any]:
    """An object whose keys are flag/attribute keys and whose values match ``ref``."""
    return {
        "type": "object",
        "patternProperties": {_KEY: {"$ref": ref}},
        "additionalProperties": False,
        **extra,
    }


def _definitions() -> dict[str, Any]:
    description = {"type": "string", "maxLength": MAX_DESCRIPTION}
    name = {"type": "string", "pattern": NAME.pattern}
    timestamps = {"_createdAt": {"type": "string"}, "_updatedAt": {"type": "string"}}
    string_or_integer = {
        "oneOf": [{"type": "string", "maxLength": MAX_STRING}, {"type": "integer"}]
    }

    def constraints(kind: str, **properties: Any) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["type"],
            "additionalProperties": False,
            "properties": {"type": {"enum": [kind]}, "required": {"type": "boolean"}, **properties},
        }

    number = constraints("number", minimum={"type": "integer"}, maximum={"type": "integer"})
    string = constraints(
        "string",
        pattern={"type": "string", "maxLength": MAX_STRING},
        enum={"type": "array", "maxItems": MAX_ENUM, "items": string_or_integer},
    )
    string["not"] = {"required": ["pattern", "enum"]}
    return {
        "flag": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "name": name,
                "description": description,
                **timestamps,
                "_deprecation": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "status": {"enum": ["planned"]},
                        # AppConfig's schema says format "date", a draft-7 format; draft-4
                        # validators may reject unknown formats, so the shape is a pattern.
                        "date": {"type": "string", "pattern": DATE},
                    },
                },
                "attributes": _keyed(_REF + "attribute", maxProperties=MAX_ATTRIBUTES),
            },
        },
        "attribute": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "description": description,
                "constraints": {
                    "oneOf": [
                        {"$ref": _REF + "numberConstraints"},
                        {"$ref": _REF + "stringConstraints"},
                        {"$ref": _REF + "arrayConstraints"},
                        {"$ref": _REF + "booleanConstraints"},
                    ]
                },
            },
        },
        "numberConstraints": number,
        "stringConstraints": string,
        "arrayConstraints": constraints(
            "array",
            elements={
                "oneOf": [
                    {"$ref": _REF + "numberConstraints"},
                    {"$ref": _REF + "stringConstraints"},
                ]
            },
        ),
        "booleanConstraints": constraints("boolean"),
        "value": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "enabled": {"type": "boolean"},
                **timestamps,
                "_variants": {
                    "type": "array",
                    "maxItems": MAX_VARIANTS,
                    "items": {"$ref": _REF + "variant"},
                },
            },
            "patternProperties": {_KEY: {"$ref": _REF + "attributeValue"}},
        },
        "attributeValue": {
            "oneOf": [
                {"type": "string", "maxLength": MAX_STRING},
                {"type": "number"},
                {"type": "boolean"},
                {
                    "type": "array",
                    "oneOf": [
                        {"items": {"type": "string", "maxLength": MAX_STRING}},
                        {"items": {"type": "number"}},
                    ],
                },
            ]
        },
        "variant": {
            "type": "object",
            "required": ["name", "enabled"],
            "additionalProperties": False,
            "properties": {
                "name": name,
                "enabled": {"type": "boolean"},
                "rule": {"type": "string", "maxLength": MAX_RULE},
                "attributeValues": _keyed(_REF + "attributeValue", maxProperties=MAX_ATTRIBUTES),
            },
        },
    }
