"""A stage deploys to an ECS service still on the CODE_DEPLOY deployment controller through
CodePipeline's CodeDeployToECS action (``DeployStage.codedeploy``), gated and baked like the
others. What the action reads is documented in the CodePipeline user guide, "Amazon Elastic
Container Service and CodeDeploy blue-green deploy action reference" (input artifacts, the
``<IMAGE1_NAME>`` placeholder, ``imageDetail.json``) and "Image definitions file reference"."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_codedeploy as codedeploy

from cdk_devops_constructs import CodeDeployTarget, DeployStage, Gate, GatedPipeline, PipelineSource
from cdk_devops_constructs.gated_pipeline.build import IMAGE_BUILD_COMMANDS

from .scenarios import CONNECTION_ARN
from harness import scenarios
from harness.scenarios import Built, as_text

scenario = pytest.mark.parametrize("built", ["gated_pipeline/codedeploy"], indirect=True)


def _pipeline(built: Built) -> dict[str, Any]:
    (pipeline,) = [
        r
        for r in built.template["Resources"].values()
        if r["Type"] == "AWS::CodePipeline::Pipeline"
    ]
    return dict(pipeline["Properties"])


def _stage(built: Built, name: str) -> dict[str, Any]:
    (stage,) = [s for s in _pipeline(built)["Stages"] if s["Name"] == name]
    return dict(stage)


@scenario
def test_the_stage_deploys_through_codedeploy_with_the_source_files_and_the_built_image(
    built: Built,
) -> None:
    actions = _stage(built, "Production")["Actions"]
    (deploy,) = [a for a in actions if a["ActionTypeId"]["Provider"] == "CodeDeployToECS"]
    assert deploy["Configuration"] == {
        "ApplicationName": "checkout",
        "DeploymentGroupName": "checkout-production",
        "TaskDefinitionTemplateArtifact": "Source",
        "TaskDefinitionTemplatePath": "deploy/taskdef.json",
        "AppSpecTemplateArtifact": "Source",
        "AppSpecTemplatePath": "deploy/appspec.yaml",
        "Image1ArtifactName": "Image",
        "Image1ContainerName": "IMAGE1_NAME",
    }
    # The documented limits: at most 5 input artifacts, of which at most 4 images.
    assert [a["Name"] for a in deploy["InputArtifacts"]] == ["Source", "Image"]
    # The image artifact is the build's output, which holds imageDetail.json.
    (build,) = [a for a in _stage(built, "Build")["Actions"] if a["Name"] == "Image"]
    assert build["OutputArtifacts"] == [{"Name": "Image"}]
    # Then the release bakes on the stage's alarm; a failure rolls the stage back.
    (release,) = [a for a in actions if a["Name"] == "Release"]
    assert release["RunOrder"] > deploy["RunOrder"]
    variables = {
        v["name"]: v["value"]
        for v in json.loads(as_text(release["Configuration"]["EnvironmentVariables"]))
    }
    (alarm,) = [
        k
        for k, r in built.template["Resources"].items()
        if r["Properties"].get("AlarmName") == "checkout-production-health"
    ]
    assert variables["WATCHED_ALARMS"] == "${Ref:" + alarm + "}"  # its Ref is its name
    assert variables["IMAGE_SECRETS"] == ""
    assert _stage(built, "Production")["OnFailure"]["Result"] == "ROLLBACK"


@scenario
def test_the_codedeploy_role_may_deploy_to_the_stages_group_only(built: Built) -> None:
    roles = [
        k
        for k in built.template["Resources"]
        if k.startswith("DeliveryStagesProductionCodeDeployRole")
    ]
    role = next(k for k in roles if built.template["Resources"][k]["Type"] == "AWS::IAM::Role")
    (policy,) = [
        r["Properties"]["PolicyDocument"]["Statement"]
        for r in built.template["Resources"].values()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and r["Properties"]["Roles"] == [{"Ref": role}]
    ]
    by_action = {
        a: s
        for s in policy
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    where = {
        "codedeploy:CreateDeployment": ":deploymentgroup:checkout/checkout-production",
        "codedeploy:GetDeployment": ":deploymentgroup:checkout/checkout-production",
        "codedeploy:GetApplication": ":application:checkout",
        "codedeploy:GetApplicationRevision": ":application:checkout",
        "codedeploy:RegisterApplicationRevision": ":application:checkout",
        # Whichever configuration the group uses (an imported group may not say).
        "codedeploy:GetDeploymentConfig": ":deploymentconfig:*",
    }
    for action, suffix in where.items():
        assert json.dumps(by_action[action]["Resource"]).endswith(f'{suffix}"]]}}'), action
    assert by_action["iam:PassRole"]["Condition"] == {
        "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    }
    assert not any(a.endswith("*") for a in by_action)
    assert by_action["ecs:TagResource"]["Condition"] == {
        "StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}
    }
    trust = built.template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [s["Principal"] for s in trust] == [
        {"AWS": {"Fn::GetAtt": ["DeliveryPipelineRole121F68FB", "Arn"]}}
    ]


def test_the_build_writes_the_image_detail_codedeploy_reads(tmp_path: Path) -> None:
    """The post-build commands, run as CodeBuild runs them, write imageDetail.json as the
    CodePipeline user guide shows it: {"ImageURI": "<uri>"}."""
    uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout:abc123"
    script = "\n".join(IMAGE_BUILD_COMMANDS["post_build"])
    subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env={"IMAGE_URI": uri, "CONTAINER_NAMES": "app", "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
    )
    assert json.loads((tmp_path / "imageDetail.json").read_text()) == {"ImageURI": uri}
    assert json.loads((tmp_path / "imagedefinitions.json").read_text()) == [
        {"name": "app", "imageUri": uri}
    ]


# --- Bad input ----------------------------------------------------------------------------------


def _group(stack: cdk.Stack, id: str = "Group") -> codedeploy.IEcsDeploymentGroup:
    return codedeploy.EcsDeploymentGroup.from_ecs_deployment_group_attributes(
        stack,
        id,
        application=codedeploy.EcsApplication.from_ecs_application_name(stack, f"{id}App", "app"),
        deployment_group_name="app-production",
    )


def _deploy(stack: cdk.Stack, target: CodeDeployTarget, gates: tuple[Gate, ...] = ()) -> None:
    GatedPipeline(
        stack,
        "Delivery",
        source=PipelineSource.connection(connection_arn=CONNECTION_ARN, owner="a", repo="b"),
        stages=[DeployStage(name="Production", codedeploy=[target], gates=gates)],
    )


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            {"task_definition_path": "/deploy/taskdef.json"},
            "stages[0].codedeploy[0].task_definition_path must be a relative path in the "
            "source: no leading '/', no '..', no spaces, got '/deploy/taskdef.json'",
        ),
        (
            {"appspec_path": "../appspec.yaml"},
            "stages[0].codedeploy[0].appspec_path must be a relative path in the source: no "
            "leading '/', no '..', no spaces, got '../appspec.yaml'",
        ),
        (
            {"appspec_path": "taskdef.json"},
            "stages[0].codedeploy[0]: task_definition_path and appspec_path are both "
            "'taskdef.json'; CodeDeploy reads two different files",
        ),
        (
            {"image_placeholder": "<IMAGE1_NAME>"},
            "stages[0].codedeploy[0].image_placeholder must be 1-64 characters: letters, "
            "digits, '_', '-' (CodePipeline adds the <>), got '<IMAGE1_NAME>'",
        ),
        (
            {"name": "Release"},
            "stages[0].codedeploy[0].name must not be one of Approve, PrepareInfrastructure, "
            "ApplyInfrastructure, Release (actions the pipeline adds to a stage), got 'Release'",
        ),
    ],
)
def test_a_bad_codedeploy_target_is_refused(target: dict[str, Any], message: str) -> None:
    stack = scenarios.new_stack()
    with pytest.raises(ValueError, match="^TestStack/Delivery: " + re.escape(message)):
        _deploy(stack, CodeDeployTarget(deployment_group=_group(stack), **target))


def test_a_deployment_group_of_another_region_is_refused() -> None:
    stack = scenarios.new_stack()
    elsewhere = cdk.Stack(
        stack.node.root,
        "Elsewhere",
        env=cdk.Environment(account="123456789012", region="eu-west-1"),
    )
    with pytest.raises(
        ValueError,
        match=re.escape(
            "TestStack/Delivery: stages[0].codedeploy[0] (Production): CodeDeploy deployments run "
            "in the pipeline's account and region (123456789012/us-east-1), and so must the "
            "stage's other services; got the deployment group in 123456789012/eu-west-1"
        ),
    ):
        _deploy(stack, CodeDeployTarget(deployment_group=_group(elsewhere)))


def test_a_bake_of_a_codedeploy_stage_names_its_alarms() -> None:
    """A CodeDeploy target has no health signal to default to."""
    stack = scenarios.new_stack()
    with pytest.raises(
        ValueError,
        match=re.escape(
            "TestStack/Delivery: stages[0].gates (Gate.bake of Production) watches no alarm "
            "(this stage's services are none); pass services=[...] or alarms=[...]"
        ),
    ):
        _deploy(
            stack,
            CodeDeployTarget(deployment_group=_group(stack)),
            gates=(Gate.bake(cdk.Duration.minutes(10)),),
        )
