"""The harness itself: the compliance helper catches what it must, snapshots drop only the
values that change between CDK releases."""

from __future__ import annotations

import json
import re
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from harness import compliance, scenarios
from harness.snapshot import ASSET_PLACEHOLDER, normalize_template


def non_compliant_stack() -> cdk.Stack:
    stack = scenarios.new_stack()
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-12345678", availability_zones=["us-east-1a"]
    )
    open_group = ec2.SecurityGroup(stack, "OpenToTheWorld", vpc=vpc)
    open_group.add_ingress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(22), "ssh from anywhere")
    s3.CfnBucket(stack, "Unencrypted")  # no BucketEncryption, no public access block
    cdk.aws_lambda.CfnFunction(  # a runtime Lambda no longer accepts
        stack,
        "Outdated",
        code=cdk.aws_lambda.CfnFunction.CodeProperty(zip_file="def handler(e, c): pass"),
        role=f"arn:aws:iam::{compliance.ACCOUNT}:role/outdated",
        handler="index.handler",
        runtime="python3.7",
    )
    return stack


def test_catches_an_open_security_group_and_an_unencrypted_bucket() -> None:
    (result,) = compliance.check([non_compliant_stack()])
    by_tool: dict[str, set[tuple[str, str]]] = {}
    for f in result.findings:
        by_tool.setdefault(f.tool.split()[0], set()).add((f.rule, f.path.split("/")[1]))
    group, bucket = "OpenToTheWorld", "Unencrypted"
    assert {
        ("AwsSolutions-EC23", group),
        ("NIST.800.53.R5-EC2RestrictedSSH", group),
        ("NIST.800.53.R5-S3DefaultEncryptionKMS", bucket),
        ("AwsSolutions-S10", bucket),
    } <= by_tool["cdk-nag"]
    assert {("CKV_AWS_24", group), ("CKV_AWS_53", bucket)} <= by_tool["checkov"]
    assert "Outdated" in {path for _, path in by_tool["cfn-lint"]}


def test_assert_compliant_lists_every_finding_with_rule_path_and_message() -> None:
    with pytest.raises(AssertionError) as failure:
        compliance.assert_compliant(non_compliant_stack())
    text = str(failure.value)
    assert "AwsSolutions-EC23 on TestStack/OpenToTheWorld/Resource" in text
    assert "[checkov] CKV_AWS_24 on TestStack/OpenToTheWorld/Resource: " in text
    assert re.search(r"\[cfn-lint\] \w+ on TestStack/Outdated: ", text)


def test_earlier_findings_are_reused_for_the_same_bytes_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compliance, "LINT_CACHE", tmp_path / "lint")
    monkeypatch.delenv("CDK_DEVOPS_LINT_CACHE", raising=False)
    template = compliance.synthesize(non_compliant_stack()).template_file
    linted = compliance.lint(template, tools=("cfn-lint",)).result()
    assert linted, "the template should have cfn-lint findings"
    (kept,) = (tmp_path / "lint").iterdir()
    assert compliance.lint(template, tools=("cfn-lint",)).result() == linted

    planted = [("cfn-lint", "E9999", "Kept", "from an earlier run")]

    def reused(path: Path, **options: Any) -> bool:
        kept.write_text(json.dumps(planted))
        return compliance.lint(path, **options).result() == planted

    # Kept findings are what comes back for the same bytes and options, without linting...
    assert reused(template, tools=("cfn-lint",))
    # ...and never for other bytes, other tools, other options, or with the cache off.
    changed = tmp_path / "changed.template.json"
    changed.write_bytes(template.read_bytes().replace(b"python3.7", b"python3.6"))
    assert not reused(changed, tools=("cfn-lint",))
    assert not reused(template, tools=("cfn-lint", "cfn-guard"))
    assert not reused(template, tools=("cfn-lint",), strip_acknowledgments=True)
    monkeypatch.setenv("CDK_DEVOPS_LINT_CACHE", "off")
    assert not reused(template, tools=("cfn-lint",))


def test_the_same_bytes_submitted_twice_are_linted_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compliance, "LINT_CACHE", tmp_path / "lint")
    monkeypatch.delenv("CDK_DEVOPS_LINT_CACHE", raising=False)
    submitted: list[Future[Any]] = []

    class Pending:  # a pool whose work ends when the test says so
        def submit(self, *args: Any) -> Future[Any]:
            submitted.append(Future())
            return submitted[-1]

    monkeypatch.setattr(compliance, "pool", Pending)
    first, copy, other = (tmp_path / f"{n}.template.json" for n in ("first", "copy", "other"))
    first.write_text('{"Resources": {}}')
    copy.write_text('{"Resources": {}}')
    other.write_text('{"Resources": {"A": {}}}')
    futures = [compliance.lint(path) for path in (first, copy, other)]
    assert len(submitted) == 2
    assert futures[0] is futures[1] is not futures[2]
    for future in submitted:
        future.set_result([("cfn-lint", "E9999", "", "done")])
    assert all(f.result() == [("cfn-lint", "E9999", "", "done")] for f in futures)
    # Once kept, the findings come from .cache/lint/: nothing is submitted again.
    assert compliance.lint(copy).done()
    assert len(submitted) == 2


def test_the_built_in_cloudformation_validation_reports_with_cdk_nag() -> None:
    """aws-cdk-lib's own schema checks run in every app with cdk-nag, and report with it."""
    if not compliance._WITHOUT_BUILTIN_VALIDATION:
        pytest.skip("this aws-cdk-lib's App cannot turn its built-in validation off")
    reported = {}
    for nag in (True, False):
        stack = scenarios.new_stack(nag=nag)
        sns.CfnTopic(stack, "Topic").add_property_override("Unknown", 1)
        reported[nag] = [f for f in compliance.synthesize(stack).nag if "Unknown" in f.message]
    assert [f.path for f in reported[True]] == ["TestStack/Topic"]
    assert reported[False] == []


def test_a_clean_stack_passes() -> None:
    stack = scenarios.new_stack()
    key = scenarios.team_key(stack, "Key")
    sns.Topic(stack, "Topic", master_key=key, enforce_ssl=True)
    compliance.assert_compliant(stack)


def test_snapshot_normalization_drops_only_release_volatile_values() -> None:
    digest = "a" * 64
    template = {
        "Parameters": {"BootstrapVersion": {"Type": "String"}, "Keep": {"Type": "String"}},
        "Rules": {"CheckBootstrapVersion": {}},
        "Conditions": {"CDKMetadataAvailable": {}},
        "Resources": {
            "CDKMetadata": {"Type": "AWS::CDK::Metadata"},
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Code": {"S3Key": f"{digest}.zip"}, "Timeout": 30},
                "Metadata": {"aws:asset:path": f"asset.{digest}", "checkov": {"skip": []}},
            },
        },
    }
    assert normalize_template(template) == {
        "Parameters": {"Keep": {"Type": "String"}},
        "Resources": {
            "Fn": {
                "Type": "AWS::Lambda::Function",
                "Properties": {"Code": {"S3Key": f"{ASSET_PLACEHOLDER}.zip"}, "Timeout": 30},
                "Metadata": {"checkov": {"skip": []}},
            }
        },
    }


def test_every_snapshot_belongs_to_a_scenario() -> None:
    """syrupy cannot see an orphaned single-file snapshot; this test can."""
    root = Path(__file__).resolve().parent
    stored = {
        p.relative_to(root).as_posix() for p in root.glob("*/__snapshots__/test_snapshots/*.json")
    }
    expected = {
        f"{construct}/__snapshots__/test_snapshots/test_template[{name}].json"
        for construct, name in (n.split("/", 1) for n in scenarios.SCENARIOS)
    }
    assert stored == expected
