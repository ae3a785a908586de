"""Whole-template snapshots that survive aws-cdk-lib patch upgrades.

A snapshot is the template as users deploy it, minus what changes without a change of ours:
asset hashes (they follow the aws-cdk-lib version and the asset's bytes), the bootstrap-version
parameter and rule, and CDK's analytics metadata. One JSON file per test, next to the test.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from syrupy.extensions.json import JSONSnapshotExtension

ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")
ASSET_PLACEHOLDER = "<asset-hash>"
VOLATILE_METADATA = ("aws:asset:path", "aws:asset:is-bundled", "aws:asset:property")


def normalize_template(template: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``template`` without the values that change between CDK patch releases."""
    result = copy.deepcopy(template)
    result.get("Parameters", {}).pop("BootstrapVersion", None)
    result.get("Rules", {}).pop("CheckBootstrapVersion", None)
    result.get("Conditions", {}).pop("CDKMetadataAvailable", None)
    resources = result.get("Resources", {})
    for logical_id in [k for k, v in resources.items() if v.get("Type") == "AWS::CDK::Metadata"]:
        del resources[logical_id]
    for resource in resources.values():
        metadata = resource.get("Metadata")
        if isinstance(metadata, dict):
            for key in VOLATILE_METADATA:
                metadata.pop(key, None)
            if not metadata:
                del resource["Metadata"]
    for section in ("Parameters", "Rules", "Conditions"):
        if section in result and not result[section]:
            del result[section]
    return _scrub(result)


def _scrub(value: Any) -> Any:
    if isinstance(value, str):
        return ASSET_HASH.sub(ASSET_PLACEHOLDER, value)
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    if isinstance(value, dict):
        return {ASSET_HASH.sub(ASSET_PLACEHOLDER, k): _scrub(v) for k, v in value.items()}
    return value


class TemplateSnapshot(JSONSnapshotExtension):
    """Stores a normalized CloudFormation template as ``__snapshots__/<module>/<test>.json``."""

    def serialize(self, data: Any, **kwargs: Any) -> str:
        if isinstance(data, dict) and "Resources" in data:
            data = normalize_template(data)
        return str(super().serialize(data, **kwargs))
