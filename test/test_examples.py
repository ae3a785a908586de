"""The example app users copy synthesizes, and every compliance tool accepts what it makes."""

from __future__ import annotations

import runpy
from pathlib import Path

import aws_cdk as cdk
import pytest

from harness import compliance

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "app.py"


def test_the_example_app_synthesizes_compliant_stacks(monkeypatch: pytest.MonkeyPatch) -> None:
    # The example's own App, with the cdk-nag packs added (synthesis fails on any finding).
    monkeypatch.setattr(cdk, "App", lambda *args, **kwargs: compliance.compliance_app())
    app = runpy.run_path(str(EXAMPLE))["app"]
    stacks = [child for child in app.node.children if isinstance(child, cdk.Stack)]
    assert sorted(s.stack_name for s in stacks) == [
        "CheckoutDelivery",
        "CheckoutProduction",
        "CheckoutStaging",
    ]
    compliance.assert_compliant(*stacks)
