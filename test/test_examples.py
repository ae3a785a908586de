"""The example app users copy synthesizes, every compliance tool accepts what it makes, and
every sender -> receiver pair it creates is allowed by AWS's documented rules."""

from __future__ import annotations

import json
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


# --- One platform, two service repositories (examples/platform) ---------------------------------

PLATFORM_APPS = sorted((EXAMPLE.parent / "platform").glob("*/app.py"))


@pytest.fixture(scope="module")
def platform_example() -> dict[str, list[cdk.Stack]]:
    """Each app of examples/platform run on its own, as its own repository would run it."""
    apps = {}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cdk, "App", lambda *args, **kwargs: compliance.compliance_app())
        for path in PLATFORM_APPS:
            app = runpy.run_path(str(path))["app"]
            apps[path.parent.name] = [c for c in app.node.children if isinstance(c, cdk.Stack)]
    return apps


def test_the_platform_example_is_three_apps(platform_example: dict[str, list[cdk.Stack]]) -> None:
    assert sorted(platform_example) == ["checkout", "platform", "search"]


def test_the_platform_example_apps_synthesize_compliant_stacks(
    platform_example: dict[str, list[cdk.Stack]],
) -> None:
    compliance.assert_compliant(*(s for stacks in platform_example.values() for s in stacks))


@pytest.mark.parametrize("name", ["checkout", "search"])
def test_a_service_app_looks_nothing_up_and_imports_nothing(
    platform_example: dict[str, list[cdk.Stack]], name: str
) -> None:
    (stack,) = platform_example[name]
    template = compliance.synthesize(stack).template
    assert "Fn::ImportValue" not in json.dumps(template)
    manifest = json.loads((Path(stack.node.root.outdir) / "manifest.json").read_text())  # type: ignore[attr-defined]
    assert "missing" not in manifest
    assert any(
        p["Type"].startswith("AWS::SSM::Parameter::Value<") for p in template["Parameters"].values()
    )


def test_every_delivery_of_the_platform_example_is_allowed(
    platform_example: dict[str, list[cdk.Stack]],
) -> None:
    stacks = [s for stacks in platform_example.values() for s in stacks]
    pairs = delivery.check(**app_of(stacks))
    assert len(pairs) > 20
    assert delivery.denied(pairs) == []
