"""Delivery across accounts and regions (examples/cross-account): a pipeline in a tools account
deploys to staging in a second account and production in a third account and region.

Nothing here is deployed; what AWS documents about cross-account access is checked on the
synthesized templates of every stack of the app (the delivery checker evaluates each trust,
identity, bucket, key and repository policy as AWS would)."""

from __future__ import annotations

import copy
import json
import re
import runpy
import subprocess
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms

from cdk_devops_constructs import (
    DeployStage,
    GatedPipeline,
    ObservedService,
    PipelineSource,
    _compliance,
)
from cdk_devops_constructs.gated_pipeline.release import RELEASE_SCRIPT

from harness import compliance, delivery
from harness.scenarios import as_text

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "cross-account" / "app.py"
IMAGE = "public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine"
CONNECTION_ARN = (
    "arn:aws:codeconnections:us-east-1:111111111111:connection/0b1f7c2a-5d9e-4c3b-9a7e-1c2d3e4f5a6b"
)
TOOLS, STAGING, PRODUCTION = "111111111111", "222222222222", "333333333333"
STACKS = {
    "PaymentsDelivery": (TOOLS, "us-east-1"),
    "PaymentsDelivery-Pipeline-222222222222-us-east-1": (STAGING, "us-east-1"),
    "PaymentsDelivery-Pipeline-333333333333-eu-west-1": (PRODUCTION, "eu-west-1"),
    "PaymentsDelivery-support-eu-west-1": (TOOLS, "eu-west-1"),
    "PaymentsProduction": (PRODUCTION, "eu-west-1"),
    "PaymentsStaging": (STAGING, "us-east-1"),
}


# Each stage, the support stack of its account and region, and that account and region.
TARGETS = (
    ("Staging", "PaymentsDelivery-Pipeline-222222222222-us-east-1", STAGING, "us-east-1"),
    ("Production", "PaymentsDelivery-Pipeline-333333333333-eu-west-1", PRODUCTION, "eu-west-1"),
)


def _run(*, audit: bool) -> list[cdk.Stack]:
    """The example's stacks, in an App with the cdk-nag packs. In audit mode cdk-nag also
    reports what the library acknowledges, so the example's own ``app.synth()`` fails; the
    harness reads the report it wrote."""
    made: list[cdk.App] = []

    def make(*args: Any, **kwargs: Any) -> cdk.App:
        made.append(compliance.compliance_app(audit=audit))
        return made[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cdk, "App", make)
        try:
            runpy.run_path(str(EXAMPLE))
        except RuntimeError as error:
            if not audit or "ValidationFailed" not in str(error):
                raise
    (app,) = made
    return [c for c in app.node.find_all() if isinstance(c, cdk.Stack)]


@pytest.fixture(scope="module")
def stacks() -> list[cdk.Stack]:
    return _run(audit=False)


@pytest.fixture(scope="module")
def templates(stacks: list[cdk.Stack]) -> dict[str, dict[str, Any]]:
    return {s.stack_name: compliance.synthesize(s).template for s in stacks}


def resources(template: dict[str, Any], kind: str) -> dict[str, Any]:
    return {k: r for k, r in template["Resources"].items() if r["Type"] == kind}


def pipeline_of(templates: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (pipeline,) = resources(templates["PaymentsDelivery"], "AWS::CodePipeline::Pipeline").values()
    return pipeline["Properties"]


def role_named(templates: dict[str, dict[str, Any]], stack: str, id: str) -> dict[str, Any]:
    (role,) = [
        r["Properties"]
        for k, r in resources(templates[stack], "AWS::IAM::Role").items()
        if k.startswith(id)
    ]
    return role


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_of(templates: dict[str, dict[str, Any]], stack: str, id: str) -> list[dict[str, Any]]:
    """The statements of the one managed policy of the role whose logical ID starts with id."""
    (role,) = [k for k in resources(templates[stack], "AWS::IAM::Role") if k.startswith(id)]
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(templates[stack], "AWS::IAM::ManagedPolicy").values()
        if p["Properties"]["Roles"] == [{"Ref": role}]
    ]
    return list(policy)


def test_the_app_is_the_services_the_pipeline_and_one_support_stack_per_target(
    stacks: list[cdk.Stack],
) -> None:
    assert {s.stack_name: (s.account, s.region) for s in stacks} == STACKS


@pytest.fixture(scope="module")
def audited() -> list[compliance.Result]:
    """Every tool's findings on the example's stacks in audit mode (nothing acknowledged)."""
    return compliance.check(_run(audit=True))


def test_every_stack_is_compliant(
    stacks: list[cdk.Stack], audited: list[compliance.Result]
) -> None:
    """What a user's app reports, as for the scenarios (conftest.ScenarioResult): cdk-nag on
    the stacks as built, and every tool's audit findings less the library's acknowledgments,
    which test_compliance proves each tool honors."""
    assert [s.stack_path for s in audited] == [s.node.path for s in stacks]
    for stack, result in zip(stacks, audited, strict=True):
        findings = compliance.unacknowledged(result.findings, result.acknowledged)
        findings += compliance.synthesize(stack).nag
        assert findings == [], compliance.format_findings(findings)


def test_acknowledgments_match_findings_across_accounts(
    audited: list[compliance.Result],
) -> None:
    """Audit mode: every finding of every stack is acknowledged, every acknowledgment matches a
    finding, and the cross-account acknowledgments are the ones this app uses."""
    used = set()
    for result in audited:
        assert compliance.unacknowledged(result.findings, result.acknowledged) == []
        assert compliance.stale_acknowledgments(result.findings, result.acknowledged) == []
        used |= {rule for rule, _ in result.acknowledged}
    for key in compliance.ACROSS_ACCOUNTS:
        declared = _compliance.ACKNOWLEDGMENTS[key]
        assert all(any(_compliance.declares(d, rule) for rule in used) for d in declared), key


def test_every_delivery_across_accounts_is_allowed(templates: dict[str, dict[str, Any]]) -> None:
    pairs = delivery.check(templates, environments=STACKS)
    across = [p for p in pairs if "assumes the role" in p.what]
    assert len(across) >= 3, delivery.format_pairs(pairs)
    pulls = [p for p in pairs if "pulls the image" in p.what]
    assert len(pulls) == 2, delivery.format_pairs(pairs)
    # The pipeline role writes both regions' stores; each deploy role reads its region's.
    stores = [p for p in pairs if "artifacts" in p.what]
    assert len(stores) == 4, delivery.format_pairs(pairs)
    refused = delivery.denied(pairs)
    assert refused == [], f"AWS would refuse:\n{delivery.format_pairs(refused)}"


def test_nothing_crosses_environments_as_a_reference(templates: dict[str, dict[str, Any]]) -> None:
    """CloudFormation cannot import a value from another account or region: every name the
    pipeline uses is known at synthesis."""
    for name, template in templates.items():
        assert "Fn::ImportValue" not in json.dumps(template), name


def test_each_target_account_deploys_with_its_own_role_that_trusts_only_the_pipeline_role(
    templates: dict[str, dict[str, Any]],
) -> None:
    stages = {s["Name"]: s for s in pipeline_of(templates)["Stages"]}
    for stage, stack, account, region in TARGETS:
        (deploy,) = [a for a in stages[stage]["Actions"] if a["ActionTypeId"]["Provider"] == "ECS"]
        role = role_named(templates, stack, "DeliveryDeployRole")
        assert as_text(deploy["RoleArn"]) == (
            f"arn:${{Ref:AWS::Partition}}:iam::{account}:role/{role['RoleName']}"
        )
        assert deploy.get("Region", "us-east-1") == region
        (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
        assert (
            as_text(trust["Principal"]["AWS"]) == f"arn:${{Ref:AWS::Partition}}:iam::{TOOLS}:root"
        )
        pipeline_role = role_named(templates, "PaymentsDelivery", "PipelinePipelineRole")[
            "RoleName"
        ]
        assert as_text(trust["Condition"]["ArnEquals"]["aws:PrincipalArn"]) == (
            f"arn:${{Ref:AWS::Partition}}:iam::{TOOLS}:role/{pipeline_role}"
        )


def test_the_entry_rule_reads_staging_health_in_the_staging_account(
    templates: dict[str, dict[str, Any]],
) -> None:
    stages = {s["Name"]: s for s in pipeline_of(templates)["Stages"]}
    (rule,) = stages["Production"]["BeforeEntry"]["Conditions"][0]["Rules"]
    assert rule["RuleTypeId"]["Provider"] == "CloudWatchAlarm"
    assert rule["Region"] == "us-east-1"
    gate = role_named(
        templates, "PaymentsDelivery-Pipeline-222222222222-us-east-1", "DeliveryGateRole"
    )
    assert (
        as_text(rule["RoleArn"])
        == f"arn:${{Ref:AWS::Partition}}:iam::{STAGING}:role/{gate['RoleName']}"
    )
    staging_alarm = [
        a["Properties"]["AlarmName"]
        for a in resources(templates["PaymentsStaging"], "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("AlarmName", "").endswith("-health")
    ]
    assert rule["Configuration"]["AlarmName"] in staging_alarm


def test_the_release_bakes_and_records_the_image_with_a_role_of_each_target(
    templates: dict[str, dict[str, Any]],
) -> None:
    stages = {s["Name"]: s for s in pipeline_of(templates)["Stages"]}
    for stage, stack, account, region in TARGETS:
        (release,) = [a for a in stages[stage]["Actions"] if a["Name"] == "Release"]
        variables = {
            v["name"]: v["value"]
            for v in json.loads(as_text(release["Configuration"]["EnvironmentVariables"]))
        }
        role = role_named(templates, stack, "DeliveryReleaseRole")
        assert variables["TARGET_ROLE_ARN"] == (
            f"arn:${{Ref:AWS::Partition}}:iam::{account}:role/{role['RoleName']}"
        )
        assert variables.get("TARGET_REGION", "us-east-1") == region
        policy = policy_of(templates, stack, "DeliveryReleaseRole")
        by_action = {a: s for s in policy for a in as_list(s["Action"])}
        assert f":secretsmanager:{region}:{account}:secret:" in as_text(
            by_action["secretsmanager:PutSecretValue"]["Resource"]
        )
        assert f":cloudwatch:{region}:{account}:alarm:" in as_text(
            by_action["cloudwatch:DescribeAlarms"]["Resource"]
        )


def test_each_target_account_may_pull_the_image_for_its_execution_roles_only(
    templates: dict[str, dict[str, Any]],
) -> None:
    (repository,) = resources(templates["PaymentsDelivery"], "AWS::ECR::Repository").values()
    statements = repository["Properties"]["RepositoryPolicyText"]["Statement"]
    by_account = {
        re.search(r"iam::(\d{12}):root", as_text(s["Principal"]["AWS"])).group(1): s  # type: ignore[union-attr]
        for s in statements
    }
    assert sorted(by_account) == [STAGING, PRODUCTION]
    for account, stack in ((STAGING, "PaymentsStaging"), (PRODUCTION, "PaymentsProduction")):
        (execution,) = [
            r["Properties"]["RoleName"]
            for k, r in resources(templates[stack], "AWS::IAM::Role").items()
            if "ExecutionRole" in k
        ]
        assert [
            as_text(a) for a in by_account[account]["Condition"]["ArnEquals"]["aws:PrincipalArn"]
        ] == [f"arn:${{Ref:AWS::Partition}}:iam::{account}:role/{execution}"]
    # The image's key lets the other accounts decrypt through ECR only, for those roles only.
    (key,) = [
        k
        for k in resources(templates["PaymentsDelivery"], "AWS::KMS::Key").values()
        if any(
            s.get("Sid", "").startswith("ServicesOf")
            for s in k["Properties"]["KeyPolicy"]["Statement"]
        )
    ]
    pulls = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid", "").startswith("ServicesOf")
    ]
    assert {s["Condition"]["StringEquals"]["kms:ViaService"] for s in pulls} == {
        "ecr.us-east-1.amazonaws.com"
    }
    assert len(pulls) == 2


def test_the_artifact_key_is_a_customer_managed_key_in_every_region(
    templates: dict[str, dict[str, Any]],
) -> None:
    stores = pipeline_of(templates)["ArtifactStores"]
    assert sorted(s["Region"] for s in stores) == ["eu-west-1", "us-east-1"]
    for store in stores:
        assert store["ArtifactStore"]["EncryptionKey"]["Type"] == "KMS"
    (key,) = resources(templates["PaymentsDelivery-support-eu-west-1"], "AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True


@pytest.mark.parametrize(
    "break_it",
    [
        "trust names another caller",
        "pipeline role may not assume",
        "no pull for the role",
        "no write to the replication bucket",
    ],
)
def test_the_checker_refuses_each_broken_cross_account_grant(
    templates: dict[str, dict[str, Any]], break_it: str
) -> None:
    """Each grant the pairs above rely on, removed from the real templates, is reported."""
    broken = copy.deepcopy(templates)
    staging = broken["PaymentsDelivery-Pipeline-222222222222-us-east-1"]
    if break_it == "trust names another caller":
        for role in resources(staging, "AWS::IAM::Role").values():
            (trust,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
            trust["Condition"]["ArnEquals"]["aws:PrincipalArn"] = (
                f"arn:aws:iam::{TOOLS}:role/someone-else"
            )
    elif break_it == "pipeline role may not assume":
        for policy in resources(broken["PaymentsDelivery"], "AWS::IAM::ManagedPolicy").values():
            statements = policy["Properties"]["PolicyDocument"]["Statement"]
            statements[:] = [s for s in statements if "sts:AssumeRole" not in as_list(s["Action"])]
    elif break_it == "no write to the replication bucket":
        support = broken["PaymentsDelivery-support-eu-west-1"]
        (bucket,) = resources(support, "AWS::S3::Bucket").values()
        name = bucket["Properties"]["BucketName"]
        for policy in resources(broken["PaymentsDelivery"], "AWS::IAM::ManagedPolicy").values():
            statements = policy["Properties"]["PolicyDocument"]["Statement"]
            statements[:] = [s for s in statements if name not in json.dumps(s)]
    else:
        (repository,) = resources(broken["PaymentsDelivery"], "AWS::ECR::Repository").values()
        document = repository["Properties"]["RepositoryPolicyText"]
        document["Statement"] = [
            s for s in document["Statement"] if STAGING not in json.dumps(s["Principal"])
        ]
    refused = delivery.denied(delivery.check(broken, environments=STACKS))
    assert refused, f"{break_it}: the checker found nothing wrong"


def test_the_release_script_acts_in_the_target_account_and_region(tmp_path: Path) -> None:
    """The release script, run with a fake AWS CLI: it assumes TARGET_ROLE_ARN through STS of
    the build's region, then calls CloudWatch and Secrets Manager with the assumed credentials
    in TARGET_REGION."""
    calls = tmp_path / "calls"
    fake = tmp_path / "aws"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$AWS_DEFAULT_REGION ${{AWS_ACCESS_KEY_ID:-container}} $*" >> {calls}\n'
        'case "$2" in\n'
        "  assume-role) printf 'AKIAEXAMPLE\\tsecret\\ttoken\\n' ;;\n"
        "  describe-alarms) echo OK ;;\n"
        "  describe-alarm-history) echo 0 ;;\n"
        "esac\n"
    )
    fake.chmod(0o755)
    role = f"arn:aws:iam::{PRODUCTION}:role/release"
    env = {
        "PATH": f"{tmp_path}:/usr/bin:/bin",
        "AWS_DEFAULT_REGION": "us-east-1",
        "TARGET_REGION": "eu-west-1",
        "TARGET_ROLE_ARN": role,
        "WATCHED_ALARMS": "payments-health",
        "BAKE_SECONDS": "1",
        "POLL_SECONDS": "0",
        "IMAGE_SECRETS": "payments/deployed-image",
        "IMAGE_URI": f"{TOOLS}.dkr.ecr.us-east-1.amazonaws.com/payments:abc",
    }
    result = subprocess.run(
        ["bash", "-c", RELEASE_SCRIPT], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = calls.read_text().splitlines()
    assert lines[0].startswith(
        f"eu-west-1 container sts assume-role --region us-east-1 --role-arn {role}"
    )
    rest = lines[1:]
    assert rest
    assert all(line.startswith("eu-west-1 AKIAEXAMPLE ") for line in rest)
    assert any(
        "secretsmanager put-secret-value --secret-id payments/deployed-image" in line
        for line in rest
    )
    # Without a target role, nothing is assumed and the build's own region is used.
    calls.write_text("")
    del env["TARGET_ROLE_ARN"], env["TARGET_REGION"]
    result = subprocess.run(
        ["bash", "-c", RELEASE_SCRIPT], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = calls.read_text().splitlines()
    assert lines
    assert all(line.startswith("us-east-1 container ") for line in lines)
    assert not any("assume-role" in line for line in lines)


def _other_region_of_the_pipelines_account() -> list[cdk.Stack]:
    """A pipeline in us-east-1 deploying to a service of its own account in eu-west-1."""
    app = compliance.compliance_app()
    tools = cdk.Environment(account=TOOLS, region="us-east-1")
    eu = cdk.Stack(app, "Eu", env=cdk.Environment(account=TOOLS, region="eu-west-1"))
    service = ObservedService(
        eu, "Api", image=ecs.ContainerImage.from_registry(IMAGE), tracing=False
    )
    delivery_stack = cdk.Stack(app, "Tools", env=tools)
    pipeline = GatedPipeline(
        delivery_stack,
        "Pipeline",
        source=PipelineSource.connection(connection_arn=CONNECTION_ARN, owner="a", repo="b"),
        stages=[DeployStage(name="Europe", services=[service])],
    )
    assert pipeline.support_stacks == {}
    return [c for c in app.node.find_all() if isinstance(c, cdk.Stack)]


def test_a_stage_in_another_region_of_the_pipelines_account_delivers() -> None:
    """Same account, other region: the pipeline's own deploy role acts there (no support
    stack) and reads the artifacts CodePipeline copies to that region's replication bucket."""
    stacks = _other_region_of_the_pipelines_account()
    templates = {st.stack_name: compliance.synthesize(st).template for st in stacks}
    environments = {st.stack_name: (st.account, st.region) for st in stacks}
    pairs = delivery.check(templates, environments=environments)
    stores = [p for p in pairs if "artifacts" in p.what]
    assert len(stores) == 3, delivery.format_pairs(pairs)  # writes in 2 regions, 1 read
    assert delivery.denied(pairs) == [], delivery.format_pairs(delivery.denied(pairs))


@pytest.mark.exhaustive  # ./dev test lints the cross-account example's replication stack
def test_a_stage_in_another_region_of_the_pipelines_account_is_compliant() -> None:
    compliance.assert_compliant(*_other_region_of_the_pipelines_account())


@pytest.mark.parametrize("prop", ["encryption_key", "repository"])
def test_an_imported_key_or_repository_cannot_serve_other_accounts(prop: str) -> None:
    app = compliance.compliance_app()
    staging = cdk.Stack(app, "Staging", env=cdk.Environment(account=STAGING, region="us-east-1"))
    service = ObservedService(
        staging, "Api", image=ecs.ContainerImage.from_registry(IMAGE), tracing=False
    )
    tools = cdk.Stack(app, "Tools", env=cdk.Environment(account=TOOLS, region="us-east-1"))
    imported: kms.IKey | ecr.IRepository = (
        kms.Key.from_key_arn(
            tools,
            "Imported",
            f"arn:aws:kms:us-east-1:{TOOLS}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        )
        if prop == "encryption_key"
        else ecr.Repository.from_repository_name(tools, "Imported", "payments")
    )
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"Tools/Pipeline: {prop} is imported (Tools/Imported), but stages deploy to other "
            "accounts, whose roles its policy must name; pass a "
        ),
    ):
        GatedPipeline(
            tools,
            "Pipeline",
            source=PipelineSource.connection(connection_arn=CONNECTION_ARN, owner="a", repo="b"),
            stages=[DeployStage(name="Staging", services=[service])],
            **{prop: imported},
        )
