"""AppConfig's published JSON Schema for ``AWS.AppConfig.FeatureFlags`` configuration data,
transcribed (JSON Schema draft 7, as published) to check rendered documents against the
service's own definition rather than against this library's reading of it.

Source: https://docs.aws.amazon.com/appconfig/latest/userguide/appconfig-type-reference-feature-flags.html
Two rules of the published schema are written as ``maxLength`` on arrays (``_variants``, at most
32; a string constraint's ``enum``, at most 100), which JSON Schema ignores; they are kept as
published here, and the library enforces them itself (see ``flags.py``).
"""

from __future__ import annotations

from typing import Any

KEY = r"^[a-z][a-zA-Z\d_-]{0,63}$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/definitions/{name}"}


def _closed(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "additionalProperties": False, **extra}


def _constraints(kind: str, **properties: Any) -> dict[str, Any]:
    return _closed(
        {"type": {"type": "string", "enum": [kind]}, "required": {"type": "boolean"}, **properties},
        required=["type"],
    )


_STRING_1024 = {"type": "string", "maxLength": 1024}

OFFICIAL_FEATURE_FLAGS_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "$ref": "#/definitions/flagSetDefinition",
    "additionalProperties": False,
    "definitions": {
        "flagSetDefinition": _closed(
            {
                "version": _ref("flagSchemaVersions"),
                "flags": _ref("flagDefinitions"),
                "values": _ref("flagValues"),
            },
            required=["version"],
        ),
        "flagDefinitions": {
            "type": "object",
            "patternProperties": {KEY: _ref("flagDefinition")},
            "additionalProperties": False,
        },
        "flagDefinition": _closed(
            {
                "name": _ref("customerDefinedName"),
                "description": _ref("customerDefinedDescription"),
                "_createdAt": {"type": "string"},
                "_updatedAt": {"type": "string"},
                "_deprecation": _closed(
                    {
                        "status": {"type": "string", "enum": ["planned"]},
                        "date": {"type": "string", "format": "date"},
                    }
                ),
                "attributes": _ref("attributeDefinitions"),
            }
        ),
        "attributeDefinitions": {
            "type": "object",
            "patternProperties": {KEY: _ref("attributeDefinition")},
            "maxProperties": 25,
            "additionalProperties": False,
        },
        "attributeDefinition": _closed(
            {
                "description": _ref("customerDefinedDescription"),
                "constraints": {
                    "oneOf": [
                        _ref("numberConstraints"),
                        _ref("stringConstraints"),
                        _ref("arrayConstraints"),
                        _ref("boolConstraints"),
                    ]
                },
            }
        ),
        "flagValues": {
            "type": "object",
            "patternProperties": {KEY: _ref("flagValue")},
            "additionalProperties": False,
        },
        "flagValue": {
            "type": "object",
            "properties": {
                "enabled": {"type": "boolean"},
                "_createdAt": {"type": "string"},
                "_updatedAt": {"type": "string"},
                "_variants": {"type": "array", "maxLength": 32, "items": _ref("variant")},
            },
            "patternProperties": {KEY: {**_ref("attributeValue"), "maxProperties": 25}},
            "additionalProperties": False,
        },
        "attributeValue": {
            "oneOf": [
                _STRING_1024,
                {"type": "number"},
                {"type": "boolean"},
                {
                    "type": "array",
                    "oneOf": [{"items": _STRING_1024}, {"items": {"type": "number"}}],
                },
            ],
            "additionalProperties": False,
        },
        "stringConstraints": {
            **_constraints(
                "string",
                pattern=_STRING_1024,
                enum={
                    "type": "array",
                    "maxLength": 100,
                    "items": {"oneOf": [_STRING_1024, {"type": "integer"}]},
                },
            ),
            "not": {"required": ["pattern", "enum"]},
        },
        "numberConstraints": _constraints(
            "number", minimum={"type": "integer"}, maximum={"type": "integer"}
        ),
        "arrayConstraints": _constraints("array", elements=_ref("elementConstraints")),
        "boolConstraints": _constraints("boolean"),
        "elementConstraints": {
            "oneOf": [_ref("numberConstraints"), _ref("stringConstraints")],
        },
        "variant": _closed(
            {
                "enabled": {"type": "boolean"},
                "name": _ref("customerDefinedName"),
                "rule": {"type": "string", "maxLength": 16384},
                "attributeValues": {
                    "type": "object",
                    "patternProperties": {KEY: _ref("attributeValue")},
                    "maxProperties": 25,
                    "additionalProperties": False,
                },
            },
            required=["name", "enabled"],
        ),
        "customerDefinedName": {"type": "string", "pattern": r"^[^\n]{1,64}$"},
        "customerDefinedDescription": {"type": "string", "maxLength": 1024},
        "flagSchemaVersions": {"type": "string", "enum": ["1"]},
    },
}
