"""Fixtures every test uses: fixed-environment stacks, template snapshots, scenarios and their
compliance results."""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
os.environ.setdefault("JSII_DEPRECATED", "fail")

import importlib
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template
from hypothesis import HealthCheck, settings
from syrupy.assertion import SnapshotAssertion

from harness import compliance, generated, scenarios
from harness.snapshot import TemplateSnapshot

# Every construct's scenarios (test/<construct>/scenarios.py), registered on import.
for _module in sorted(Path(__file__).parent.glob("*/scenarios.py")):
    importlib.import_module(f"{_module.parent.name}.scenarios")

settings.register_profile(
    "default",
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("default")


SCENARIO_GROUP = "scenarios"


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``exhaustive`` or ``slow`` run only with every generated case (./dev
    test:generated).

    ./dev test runs the suite in several processes (pytest-xdist, ``--dist loadgroup``), each
    with its own jsii kernel, so a fixture is built once per process that uses it. Every test
    of the scenarios (``scenario_results``) goes to one process, which synthesizes each scenario
    once, and first, being the longest unit of work; the other tests go by module, so that
    module fixtures (the README's samples, the examples) are built once too.
    """
    of_scenarios = {i.nodeid for i in items if "scenario_results" in getattr(i, "fixturenames", ())}
    for item in items:
        group = SCENARIO_GROUP if item.nodeid in of_scenarios else item.nodeid.split("::", 1)[0]
        item.add_marker(pytest.mark.xdist_group(group))
    items.sort(key=lambda item: item.nodeid not in of_scenarios)
    if generated.FULL:
        return
    for item in items:
        for marker in ("exhaustive", "slow"):
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=f"{marker}: runs in ./dev test:generated"))


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    return snapshot.use_extension(TemplateSnapshot)


@pytest.fixture
def stack() -> cdk.Stack:
    """A fresh stack (fixed account and region) whose App runs cdk-nag when synthesized."""
    return scenarios.new_stack()


def template_of(stack: cdk.Stack) -> Template:
    """Synthesize ``stack``; fail on any cdk-nag finding; return it for assertions."""
    synthesized = compliance.synthesize(stack)
    assert not synthesized.nag, "cdk-nag findings:\n" + compliance.format_findings(synthesized.nag)
    return Template.from_json(synthesized.template)


@dataclass
class ScenarioResult:
    """A scenario built once, in audit mode, and synthesized in both modes (see
    ``scenarios.build_audited``), with every tool's findings."""

    normal: scenarios.Built
    audit: scenarios.Built
    audit_tools: Future[Any]

    def normal_findings(self) -> list[compliance.Finding]:
        """What a user's app reports: every tool's audit findings less the library's
        acknowledgments. No linter reads the normal template: it is the audit one with the
        acknowledgments applied, and test_compliance proves each tool honors them (cdk-nag on
        every scenario, cfn-lint and checkov on one, the cfn-guard plugin on one)."""
        return compliance.unacknowledged(self.audit_findings(), self.audit.synthesized.acknowledged)

    def audit_findings(self) -> list[compliance.Finding]:
        s = self.audit.synthesized
        return sorted({*s.nag, *s.tool_findings(self.audit_tools.result())})


@pytest.fixture(scope="session")
def scenario_results() -> dict[str, ScenarioResult]:
    """Every registered scenario, built once; the linters run in the background while the
    rest of the scenarios synthesize."""
    results = {}
    for name in scenarios.SCENARIOS:
        audit, normal = scenarios.build_audited(name)
        audit_tools = compliance.submit(audit.synthesized)
        results[name] = ScenarioResult(normal, audit, audit_tools)
    return results


@pytest.fixture
def built(request: pytest.FixtureRequest, scenario_results: dict[str, ScenarioResult]) -> Any:
    """The normal-mode build of the scenario named by ``@pytest.mark.parametrize("built", ...,
    indirect=True)``."""
    return scenario_results[request.param].normal
