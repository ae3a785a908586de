"""Whole-template snapshots of every GatedPipeline scenario.

A snapshot says what the template is; the assertions in test_gated_pipeline.py say why it must
be so. Review every snapshot diff: a changed logical ID of a stateful resource (artifact bucket,
repository, log groups, key) replaces it."""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion

from harness.scenarios import SCENARIOS, Built

NAMES = sorted(n for n in SCENARIOS if n.startswith("gated_pipeline/"))


@pytest.mark.snapshot
@pytest.mark.parametrize("built", NAMES, indirect=True, ids=[n.split("/")[1] for n in NAMES])
def test_template(built: Built, snapshot: SnapshotAssertion) -> None:
    assert built.template == snapshot
