"""The example app users copy synthesizes, every compliance tool accepts what it makes, and
every sender -> receiver pair it creates is allowed by AWS's documented rules."""

from __future__ import annotations

import runpy
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from harness import compliance, delivery

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "app.py"
STACKS = ["CheckoutDelivery", "CheckoutProduction", "CheckoutStaging"]


@pytest.fixture(scope="module")
def example() -> list[cdk.Stack]:
    # The example's own App, with the cdk-nag packs added (synthesis fails on any finding).
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cdk, "App", lambda *args, **kwargs: compliance.compliance_app())
        app = runpy.run_path(str(EXAMPLE))["app"]
    stacks = [child for child in app.node.children if isinstance(child, cdk.Stack)]
    assert sorted(s.stack_name for s in stacks) == STACKS
    return stacks


def test_the_example_app_synthesizes_compliant_stacks(example: list[cdk.Stack]) -> None:
    compliance.assert_compliant(*example)


def app_of(stacks: list[cdk.Stack]) -> dict[str, Any]:
    templates = {s.stack_name: compliance.synthesize(s).template for s in stacks}
    environments = {s.stack_name: (s.account, s.region) for s in stacks}
    return {"templates": templates, "environments": environments}


def test_every_delivery_of_the_example_app_is_allowed(example: list[cdk.Stack]) -> None:
    app = app_of(example)
    pairs = delivery.check(**app)
    assert len(pairs) > 50, "the checker found the example's pairs"
    refused = delivery.denied(pairs)
    assert refused == [], f"AWS would refuse:\n{delivery.format_pairs(refused)}"


def test_the_example_stacks_import_nothing_from_each_other(example: list[cdk.Stack]) -> None:
    """No Fn::ImportValue: a replaced service, role or alarm never meets an export in use."""
    for name, template in app_of(example)["templates"].items():
        assert "Fn::ImportValue" not in str(template), name
        assert "Outputs" not in template or all(
            "Export" not in output for output in template["Outputs"].values()
        ), name


def test_every_consumer_of_the_example_reads_a_metric_alarm(example: list[cdk.Stack]) -> None:
    consumed = delivery.consumers(**app_of(example))
    assert {c.how.split(" ")[0] for c in consumed} >= {"ECS", "CloudWatchAlarm", "AppConfig"}
    assert [c for c in consumed if c.type != "AWS::CloudWatch::Alarm"] == []
