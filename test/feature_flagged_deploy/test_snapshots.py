"""Whole-template snapshots of every FeatureFlaggedDeploy scenario.

A snapshot says what the template is; the assertions in test_feature_flagged_deploy.py say why
it must be so. Review every snapshot diff: a changed logical ID of a stateful resource replaces
it."""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion

from harness.scenarios import SCENARIOS, Built

NAMES = sorted(n for n in SCENARIOS if n.startswith("feature_flagged_deploy/"))


@pytest.mark.snapshot
@pytest.mark.parametrize("built", NAMES, indirect=True, ids=[n.split("/")[1] for n in NAMES])
def test_template(built: Built, snapshot: SnapshotAssertion) -> None:
    assert built.template == snapshot
