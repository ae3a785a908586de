"""Every scenario of every construct passes cdk-nag (AwsSolutions, NIST 800-53 rev 5), cfn-lint
and checkov, and every acknowledged finding is still a finding."""

from __future__ import annotations

import pytest

from cdk_devops_constructs import _compliance

from conftest import ScenarioResult
from harness import compliance, linters
from harness.scenarios import SCENARIOS

NAMES = sorted(SCENARIOS)
Results = dict[str, ScenarioResult]


@pytest.mark.parametrize("name", NAMES)
def test_no_tool_reports_a_finding(scenario_results: Results, name: str) -> None:
    findings = scenario_results[name].normal_findings()
    assert not findings, f"{name}:\n{compliance.format_findings(findings)}"


@pytest.mark.parametrize("name", NAMES)
def test_every_finding_is_acknowledged_with_a_reason(scenario_results: Results, name: str) -> None:
    result = scenario_results[name]
    missing = compliance.unacknowledged(
        result.audit_findings(), result.audit.synthesized.acknowledged
    )
    assert not missing, f"{name}, unacknowledged:\n{compliance.format_findings(missing)}"


@pytest.mark.parametrize("name", NAMES)
def test_no_acknowledgment_outlives_its_finding(scenario_results: Results, name: str) -> None:
    result = scenario_results[name]
    stale = compliance.stale_acknowledgments(
        result.audit_findings(), result.audit.synthesized.acknowledged
    )
    assert not stale, f"{name}: acknowledgments that match no finding: {stale}"


def test_every_acknowledgment_is_used_by_some_scenario(scenario_results: Results) -> None:
    used = {
        rule
        for result in scenario_results.values()
        for rule, _ in result.audit.synthesized.acknowledged
    }
    declared = {rule for rules in _compliance.ACKNOWLEDGMENTS.values() for rule in rules}
    # A rule with placeholders ("stack/{stack_name}/*") is used by any rule it fills in to.
    unused = {d for d in declared if not any(_compliance.declares(d, rule) for rule in used)}
    assert unused == set(), "acknowledgments no scenario exercises"


def test_every_acknowledgment_names_a_known_tool_and_a_reason() -> None:
    for key, rules in _compliance.ACKNOWLEDGMENTS.items():
        for rule, reason in rules.items():
            known = any(
                p.match(rule)
                for p in (_compliance._CDK_NAG, _compliance._CHECKOV, _compliance._CFN_LINT)
            )
            assert known, f"{key}: {rule} belongs to no known tool"
            assert len(reason) >= 60, f"{key}: {rule} needs a reason a reviewer can accept"


@pytest.mark.parametrize("name", ["observed_service/defaults", "observed_service/all_options"])
def test_cfn_lint_and_checkov_honor_the_acknowledgments_in_user_templates(
    scenario_results: Results, name: str
) -> None:
    """The tools' own suppression metadata works: on the template a user deploys they report
    nothing, and with that metadata stripped they report exactly what was acknowledged."""
    result = scenario_results[name]
    template_file = str(result.normal.synthesized.template_file)
    as_deployed = compliance.pool().submit(linters.lint_file, template_file)
    stripped_run = compliance.pool().submit(linters.lint_file, template_file, True)
    assert as_deployed.result() == []
    stripped = stripped_run.result()
    # The library records what it acknowledges only in audit mode; same stack, same rules.
    acknowledged_rules = {rule for rule, _ in result.audit.synthesized.acknowledged}
    assert stripped, "the scenario should exercise cfn-lint or checkov acknowledgments"
    assert {rule for _, rule, _, _ in stripped} <= acknowledged_rules
