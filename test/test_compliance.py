"""Every scenario of every construct passes cdk-nag (AwsSolutions, NIST 800-53 rev 5), cfn-lint,
checkov and cfn-guard (AWS Control Tower proactive controls), and every acknowledged finding is
still a finding."""

from __future__ import annotations

import aws_cdk as cdk
import pytest

from cdk_devops_constructs import _compliance
from cdk_devops_constructs._compliance import CFN_GUARD_PLUGIN

from conftest import ScenarioResult
from harness import compliance, scenarios
from harness.scenarios import SCENARIOS

NAMES = sorted(SCENARIOS)
Results = dict[str, ScenarioResult]


@pytest.mark.parametrize("name", NAMES)
def test_no_tool_reports_a_finding(scenario_results: Results, name: str) -> None:
    findings = scenario_results[name].normal_findings()
    assert not findings, f"{name}:\n{compliance.format_findings(findings)}"


@pytest.mark.parametrize("name", NAMES)
def test_cdk_nag_reports_nothing_once_the_acknowledgments_are_applied(
    scenario_results: Results, name: str
) -> None:
    """cdk-nag (and aws-cdk-lib's built-in validation) run again on the normal synthesis."""
    reported = scenario_results[name].normal.synthesized.nag
    assert not reported, f"{name}:\n{compliance.format_findings(reported)}"


# Compared with a normal-mode build on these two; on the others in ./dev test:generated.
SAME_AS_BUILT = ["gated_pipeline/all_options", "express_service/pipeline_and_flags"]


@pytest.mark.parametrize(
    "name",
    [n if n in SAME_AS_BUILT else pytest.param(n, marks=pytest.mark.exhaustive) for n in NAMES],
)
def test_the_normal_template_is_what_a_normal_build_synthesizes(
    scenario_results: Results, name: str
) -> None:
    """The scenarios are built once, in audit mode, and synthesized again with the recorded
    acknowledgments applied (``scenarios.build_audited``); a user's app builds them in normal
    mode. Both give the same template."""
    built = scenarios.build(name, audit=False, nag=False)
    assert built.template == scenario_results[name].normal.template


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
    declared = {
        rule
        for key, rules in _compliance.ACKNOWLEDGMENTS.items()
        if key not in compliance.ACROSS_ACCOUNTS
        for rule in rules
    }
    # A rule with placeholders ("stack/{stack_name}/*") is used by any rule it fills in to.
    unused = {d for d in declared if not any(_compliance.declares(d, rule) for rule in used)}
    assert unused == set(), "acknowledgments no scenario exercises"


def test_every_acknowledgment_names_a_known_tool_and_a_reason() -> None:
    for key, rules in _compliance.ACKNOWLEDGMENTS.items():
        for rule, reason in rules.items():
            known = any(
                p.match(rule)
                for p in (
                    _compliance._CDK_NAG,
                    _compliance._CFN_GUARD,
                    _compliance._CHECKOV,
                    _compliance._CFN_LINT,
                )
            )
            assert known, f"{key}: {rule} belongs to no known tool"
            assert len(reason) >= 60, f"{key}: {rule} needs a reason a reviewer can accept"


@pytest.mark.parametrize("name", ["observed_service/defaults", "gated_pipeline/defaults"])
def test_cdk_nag_honors_the_acknowledgments_in_user_apps(
    scenario_results: Results, name: str
) -> None:
    """The scenarios' normal synthesis has its acknowledgments applied by the harness
    (``compliance.apply_recorded``): here the library applies them while building, as in a
    user's app, and cdk-nag reports nothing, while the audit build shows what was
    acknowledged."""
    built = scenarios.build(name, audit=False)
    assert built.synthesized.nag == []
    audit = scenario_results[name].audit.synthesized
    assert audit.nag, "the scenario should exercise cdk-nag acknowledgments"
    assert {(f.rule, f.path) for f in audit.nag} <= audit.acknowledged


@pytest.mark.parametrize(
    "name",
    [
        "observed_service/all_options",
        pytest.param("observed_service/defaults", marks=pytest.mark.exhaustive),
    ],
)
def test_cfn_lint_and_checkov_honor_the_acknowledgments_in_user_templates(
    scenario_results: Results, name: str
) -> None:
    """The tools' own suppression metadata works: on the template a user deploys they report
    nothing, and with that metadata stripped they report exactly what was acknowledged."""
    result = scenario_results[name]
    template_file = result.normal.synthesized.template_file
    tools = ("cfn-lint", "checkov")
    as_deployed = compliance.lint(template_file, tools=tools)
    stripped_run = compliance.lint(template_file, strip_acknowledgments=True, tools=tools)
    assert as_deployed.result() == []
    stripped = stripped_run.result()
    # The library records what it acknowledges only in audit mode; same stack, same rules.
    acknowledged_rules = {rule for rule, _ in result.audit.synthesized.acknowledged}
    assert stripped, "the scenario should exercise cfn-lint or checkov acknowledgments"
    assert {rule for _, rule, _, _ in stripped} <= acknowledged_rules


# One scenario per construct; ./dev test runs the first (the plugin takes 5-10 s per stack).
GUARD_AGREEMENT = [
    ("observed_service/all_options", False),
    ("observed_service/all_options", True),
    pytest.param("gated_pipeline/defaults", True, marks=pytest.mark.exhaustive),
    pytest.param(
        "feature_flagged_deploy/staging_and_production", True, marks=pytest.mark.exhaustive
    ),
]


@pytest.mark.parametrize(
    ("name", "audit"),
    GUARD_AGREEMENT,
    ids=[
        "observed_service-as-deployed",
        "observed_service-unacknowledged",
        "gated_pipeline-unacknowledged",
        "feature_flagged_deploy-unacknowledged",
    ],
)
def test_the_cfn_guard_plugin_agrees_with_the_harness(
    scenario_results: Results, name: str, audit: bool
) -> None:
    """The plugin users add to their apps, run in synthesis: on the template a user deploys it
    reports nothing, and with the library's acknowledgments only recorded (audit mode) it
    reports exactly what the harness's cfn-guard run found (the harness runs each rule only on
    the resources it names: one scenario per construct proves that loses nothing)."""
    from cdklabs.cdk_validator_cfnguard import CfnGuardValidator  # noqa: PLC0415

    app = compliance.compliance_app(audit=audit)
    cdk.Validations.of(app).add_plugins(CfnGuardValidator(control_tower_rules_enabled=True))
    stack = scenarios.new_stack(app=app)
    SCENARIOS[name](stack)
    synthesized = compliance.synthesize(stack)
    plugin = {(f.rule, f.path) for f in synthesized.nag if CFN_GUARD_PLUGIN in f.tool}
    result = scenario_results[name]
    harness = {(f.rule, f.path) for f in result.audit_findings() if f.tool == "cfn-guard"}
    assert harness, "the scenario should exercise cfn-guard acknowledgments"
    assert plugin == (harness if audit else set())
