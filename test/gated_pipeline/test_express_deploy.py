"""How a GatedPipeline deploys an image to an ExpressService: a CodeBuild action per service,
running one project, with a role that may deploy to those services only."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs

from cdk_devops_constructs import (
    DeployStage,
    ExpressService,
    GatedPipeline,
    ObservedService,
    PipelineSource,
)
from cdk_devops_constructs.gated_pipeline.deploy.express import (
    AWS_CLI_VERSION,
    EXPRESS_DEPLOY_SCRIPT,
)

from harness.scenarios import Built, new_stack

SCENARIO = "express_service/pipeline_and_flags"
IMAGE = "public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine"
NEW_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:abc123"
SERVICE_ARN = "arn:aws:ecs:us-east-1:123456789012:service/platform/orders"
RUNNING = "arn:aws:ecs:us-east-1:123456789012:task-definition/orders:7"
NEW_REVISION = "arn:aws:ecs:us-east-1:123456789012:task-definition/orders:8"


def scenario() -> Any:
    return pytest.mark.parametrize("built", [SCENARIO], indirect=True)


def resources(built: Built, kind: str) -> dict[str, Any]:
    return {k: v for k, v in built.template["Resources"].items() if v["Type"] == kind}


def stage_actions(built: Built, stage: str) -> dict[str, dict[str, Any]]:
    (pipeline,) = resources(built, "AWS::CodePipeline::Pipeline").values()
    (found,) = [s for s in pipeline["Properties"]["Stages"] if s["Name"] == stage]
    return {a["Name"]: a for a in found["Actions"]}


def variables(action: dict[str, Any]) -> dict[str, Any]:
    text = action["Configuration"]["EnvironmentVariables"]
    assert "Fn::Join" in text, "the service ARN is built from the stack's partition and account"
    joined = "".join(p if isinstance(p, str) else "<token>" for p in text["Fn::Join"][1])
    return {v["name"]: v["value"] for v in json.loads(joined)}


def express_project(built: Built) -> tuple[str, dict[str, Any]]:
    (found,) = [
        (k, v)
        for k, v in resources(built, "AWS::CodeBuild::Project").items()
        if k.startswith("DeliveryExpressDeploy")
    ]
    return found


@scenario()
def test_express_services_get_a_codebuild_action_and_others_the_ecs_action(built: Built) -> None:
    staging = stage_actions(built, "Staging")
    assert staging["Deploy-Staging"]["ActionTypeId"]["Provider"] == "CodeBuild"
    assert staging["Deploy-Legacy"]["ActionTypeId"]["Provider"] == "ECS"
    assert staging["Deploy-Staging"]["RunOrder"] == staging["Deploy-Legacy"]["RunOrder"]
    assert staging["Release"]["RunOrder"] == staging["Deploy-Staging"]["RunOrder"] + 1
    production = stage_actions(built, "Production")
    project_id, _ = express_project(built)
    for action in (staging["Deploy-Staging"], production["Deploy-Production"]):
        assert action["Configuration"]["ProjectName"] == {"Ref": project_id}
        found = variables(action)
        assert found["CONTAINER_NAME"] == "Main"
        assert found["IMAGE_URI"] == "#{Image.IMAGE_URI}"
        assert found["EXPRESS_SERVICE_ARN"].endswith(
            f"service/{found['EXPRESS_CLUSTER']}/{found['EXPRESS_SERVICE']}"
        )


@scenario()
def test_one_project_pins_a_recent_aws_cli_and_waits_for_the_deployment(built: Built) -> None:
    _, project = express_project(built)
    spec = json.loads(project["Properties"]["Source"]["BuildSpec"])
    install = " ".join(spec["phases"]["install"]["commands"])
    assert f"awscli=={AWS_CLI_VERSION}" in install
    assert spec["phases"]["build"]["commands"][-1] == EXPRESS_DEPLOY_SCRIPT
    assert project["Properties"]["TimeoutInMinutes"] == 60
    assert project["Properties"]["Environment"]["PrivilegedMode"] is False


def statements(built: Built, role_prefix: str) -> list[dict[str, Any]]:
    (role_id,) = [k for k in resources(built, "AWS::IAM::Role") if k.startswith(role_prefix)]
    (policy,) = [
        p["Properties"]
        for p in resources(built, "AWS::IAM::ManagedPolicy").values()
        if p["Properties"]["Roles"] == [{"Ref": role_id}]
    ]
    return list(policy["PolicyDocument"]["Statement"])


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@scenario()
def test_the_express_deploy_role_may_deploy_to_the_pipelines_express_services_only(
    built: Built,
) -> None:
    found = statements(built, "DeliveryExpressDeployRole")
    by_action: dict[str, list[dict[str, Any]]] = {}
    for s in found:
        for action in as_list(s["Action"]):
            by_action.setdefault(action, []).append(s)
    service_names = sorted(
        r["Properties"]["ServiceName"]
        for r in resources(built, "AWS::ECS::ExpressGatewayService").values()
    )
    # One statement per stage (a stage in another account acts with its own role there).
    for express in by_action["ecs:UpdateExpressGatewayService"]:
        assert sorted(as_list(express["Action"])) == [
            "ecs:DescribeExpressGatewayService",
            "ecs:ListServiceDeployments",
            "ecs:UpdateExpressGatewayService",
        ]
    named = sorted(
        json.dumps(r).rsplit("/", 1)[-1].strip('"]}')
        for express in by_action["ecs:UpdateExpressGatewayService"]
        for r in as_list(express["Resource"])
    )
    assert named == service_names
    (register,) = by_action["ecs:RegisterTaskDefinition"]
    assert register["Resource"] == "*"
    (tagging,) = by_action["ecs:TagResource"]
    assert tagging["Condition"] == {"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}}
    passed = []
    for passing in by_action["iam:PassRole"]:
        assert passing["Condition"] == {
            "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
        }
        passed.extend(as_list(passing["Resource"]))
    assert len(passed) == 4  # task and execution role of each service
    assert "ecs:UpdateService" not in by_action
    assert all(not a.endswith("*") for a in by_action)


def run_script(
    tmp_path: Path, deployments: list[str]
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The project's script, with a fake AWS CLI on PATH: the service runs RUNNING, and
    ListServiceDeployments answers ``deployments`` in turn (the last one from then on)."""
    calls = tmp_path / "calls"
    statuses = tmp_path / "statuses"
    statuses.write_text("\n".join(deployments) + "\n")
    described = {
        "taskDefinition": {
            "taskDefinitionArn": RUNNING,
            "family": "orders",
            "revision": 7,
            "status": "ACTIVE",
            "registeredAt": "2026-12-01T10:00:00Z",
            "registeredBy": "arn:aws:iam::123456789012:role/deployer",
            "compatibilities": ["EC2", "FARGATE"],
            "requiresAttributes": [{"name": "ecs.capability.execution-role-awslogs"}],
            "requiresCompatibilities": ["FARGATE"],
            "taskRoleArn": "arn:aws:iam::123456789012:role/orders-task",
            "executionRoleArn": "arn:aws:iam::123456789012:role/orders-execution",
            "cpu": "256",
            "memory": "512",
            "networkMode": "awsvpc",
            "containerDefinitions": [
                {"name": "Main", "image": IMAGE, "portMappings": [{"containerPort": 8080}]},
                {"name": "otel-collector", "image": "collector:v1"},
            ],
        },
        "tags": [{"key": "team", "value": "orders"}],
    }
    (tmp_path / "described.json").write_text(json.dumps(described))
    fake = tmp_path / "aws"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        'case "$2" in\n'
        f"  describe-express-gateway-service) echo {RUNNING} ;;\n"
        f"  describe-task-definition) cat {tmp_path}/described.json ;;\n"
        f"  register-task-definition) cp new-task-definition.json {tmp_path}/registered.json;"
        f" echo {NEW_REVISION} ;;\n"
        "  update-express-gateway-service) echo '{}' ;;\n"
        f"  list-service-deployments) head -n 1 {statuses};"
        f' [ "$(wc -l < {statuses})" -gt 1 ] && sed -i 1d {statuses} ;;\n'
        "esac\n"
        "exit 0\n"
    )
    fake.chmod(0o755)
    env = {
        "PATH": f"{tmp_path}:/usr/bin:/bin",
        "EXPRESS_SERVICE_ARN": SERVICE_ARN,
        "EXPRESS_CLUSTER": "platform",
        "EXPRESS_SERVICE": "orders",
        "CONTAINER_NAME": "Main",
        "IMAGE_URI": NEW_IMAGE,
        "WAIT_SECONDS": "2",
        "POLL_SECONDS": "0",
    }
    result = subprocess.run(
        ["bash", "-c", EXPRESS_DEPLOY_SCRIPT],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    return result, calls


def test_the_deploy_script_registers_a_revision_with_the_new_image_and_waits_for_success(
    tmp_path: Path,
) -> None:
    result, calls = run_script(tmp_path, ["None", "PENDING", "IN_PROGRESS", "SUCCESSFUL"])
    assert result.returncode == 0, result.stdout + result.stderr
    registered = json.loads((tmp_path / "registered.json").read_text())
    main, collector = registered["containerDefinitions"]
    assert main["image"] == NEW_IMAGE
    assert collector["image"] == "collector:v1"
    # Everything else kept, roles included; what RegisterTaskDefinition does not take, dropped.
    assert registered["taskRoleArn"].endswith("role/orders-task")
    assert registered["executionRoleArn"].endswith("role/orders-execution")
    assert registered["tags"] == [{"key": "team", "value": "orders"}]
    for read_only in ("taskDefinitionArn", "revision", "status", "registeredAt", "compatibilities"):
        assert read_only not in registered
    made = calls.read_text()
    assert f"--service-arn {SERVICE_ARN} --task-definition-arn {NEW_REVISION}" in made
    assert f"--task-definition {RUNNING} --include TAGS" in made
    assert made.count("list-service-deployments") == 4
    assert "--cluster platform --service orders --created-at after=" in made


@pytest.mark.parametrize("ending", ["ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "STOPPED"])
def test_the_deploy_script_fails_when_express_mode_rolls_back(tmp_path: Path, ending: str) -> None:
    result, _ = run_script(tmp_path, ["IN_PROGRESS", ending])
    assert result.returncode == 1
    assert f"ended {ending}: the stage rolls back" in result.stdout


def test_the_deploy_script_fails_when_the_deployment_never_ends(tmp_path: Path) -> None:
    result, _ = run_script(tmp_path, ["IN_PROGRESS"])
    assert result.returncode == 1
    assert "is still IN_PROGRESS after" in result.stdout


def test_the_pipeline_refuses_express_and_observed_services_of_two_architectures() -> None:
    stack = new_stack()
    image = ecs.ContainerImage.from_registry(IMAGE)
    arm = ExpressService(stack, "Arm", image=image, cpu_architecture=ecs.CpuArchitecture.ARM64)
    x86 = ObservedService(stack, "X86", image=image)
    with pytest.raises(
        ValueError,
        match=r"^TestStack/Delivery: stages deploy one image to services of different CPU "
        r"architectures \(TestStack/Arm is ARM64, TestStack/X86 is X86_64\)",
    ):
        GatedPipeline(
            stack,
            "Delivery",
            source=_source(),
            stages=[DeployStage(name="Staging", services=[arm, x86])],
        )


def _source() -> PipelineSource:
    return PipelineSource.connection(
        connection_arn="arn:aws:codeconnections:us-east-1:123456789012:connection/"
        "0b1f7c2a-5d9e-4c3b-9a7e-1c2d3e4f5a6b",
        owner="acme",
        repo="orders",
    )


def test_a_pipeline_of_express_services_only_has_no_ecs_deploy_role() -> None:
    stack = new_stack()
    service = ExpressService(stack, "Orders", image=ecs.ContainerImage.from_registry(IMAGE))
    pipeline = GatedPipeline(
        stack, "Delivery", source=_source(), stages=[DeployStage(name="Prod", services=[service])]
    )
    assert pipeline.express_deploy_project is not None
    roles = [c.node.path for c in pipeline.node.find_all() if c.node.id == "DeployRole"]
    assert roles == []
    template = cdk.assertions.Template.from_stack(stack)
    template.resource_count_is("AWS::CodeBuild::Project", 3)  # image build, release, deploy
