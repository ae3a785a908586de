"""The service contract: GatedPipeline and FeatureFlaggedDeploy use a service through
``IObservedService`` only, so a service kind written here, and known to neither, works with both.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from constructs import Construct

from cdk_devops_constructs import (
    DeployStage,
    DeployTarget,
    FeatureFlaggedDeploy,
    Flag,
    Gate,
    GatedPipeline,
    ImagePull,
    IObservedService,
    PipelineSource,
    SidecarHost,
)

PACKAGE = Path(__file__).parent.parent / "src" / "cdk_devops_constructs"
CONNECTION_ARN = (
    "arn:aws:codeconnections:us-east-1:123456789012:connection/0f2e8a4c-1b3d-4e5f-8a7b-9c0d1e2f3a4b"
)


class MinimalService(Construct):
    """The least a service must offer: a task, an ECS service, a health alarm and a topic."""

    def __init__(self, scope: Construct, id: str, cluster: ecs.ICluster) -> None:
        super().__init__(scope, id)
        self.service_name = id
        self.url = f"https://{id.lower()}.example.com/"
        self.log_group = logs.LogGroup(self, "Logs")
        self.task_definition = ecs.FargateTaskDefinition(self, "Task")
        self.container = self.task_definition.add_container(
            "App",
            container_name="web",
            image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/httpd:2.4"),
            port_mappings=[ecs.PortMapping(container_port=80)],
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=cluster,
            task_definition=self.task_definition,
            service_name=f"{id.lower()}-svc",
        )
        self.health_alarm_name = f"{id.lower()}-health"
        self.health_alarm = cloudwatch.Alarm(
            self,
            "Health",
            alarm_name=self.health_alarm_name,
            metric=cloudwatch.Metric(namespace="Minimal", metric_name="Errors"),
            threshold=1,
            evaluation_periods=1,
        )
        self.alarm_topic = sns.Topic(self, "Topic")
        self.bound: list[list[dict[str, Any]]] = []
        task_role = self.task_definition.task_role.node.default_child
        assert isinstance(task_role, iam.CfnRole)
        task_role.role_name = f"{id.lower()}-task"
        execution_role = self.task_definition.obtain_execution_role().node.default_child
        assert isinstance(execution_role, iam.CfnRole)
        execution_role.role_name = f"{id.lower()}-execution"

    @property
    def deploy_target(self) -> DeployTarget:
        return DeployTarget(
            cluster_name="platform",
            service_name=f"{self.node.id.lower()}-svc",
            container_name="web",
            task_role_name=f"{self.node.id.lower()}-task",
            execution_role_name=f"{self.node.id.lower()}-execution",
            cpu_architecture="X86_64",
        )

    def bind_to_pipeline(self, pull: ImagePull) -> str:
        self.bound.append(
            [cdk.Stack.of(self).resolve(s.to_statement_json()) for s in pull.statements]
        )
        role = self.task_definition.obtain_execution_role()
        for statement in pull.statements:
            role.add_to_principal_policy(statement)
        secretsmanager.Secret(self, "Image", secret_name=f"{self.node.id.lower()}-image")
        return f"{self.node.id.lower()}-image"

    @property
    def sidecar_host(self) -> SidecarHost:
        return SidecarHost(self.task_definition, self.container, self.log_group, self.service)


def _as_contract(service: MinimalService) -> IObservedService:
    return service  # mypy checks here that MinimalService honours the protocol


def _stack() -> tuple[cdk.Stack, ecs.ICluster]:
    env = cdk.Environment(account="123456789012", region="us-east-1")
    stack = cdk.Stack(cdk.App(), "Contract", env=env)
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0a1b2c3d4e5f60718",
        availability_zones=["us-east-1a", "us-east-1b"],
        private_subnet_ids=["subnet-0bbb0000000000001", "subnet-0bbb0000000000002"],
    )
    return stack, ecs.Cluster.from_cluster_attributes(
        stack, "Cluster", cluster_name="platform", vpc=vpc
    )


def _by_type(template: Template, kind: str) -> dict[str, Any]:
    return dict(template.find_resources(kind))


def test_a_service_of_another_kind_is_deployed_gated_and_baked_by_the_pipeline() -> None:
    stack, cluster = _stack()
    staging = MinimalService(stack, "Staging", cluster)
    production = MinimalService(stack, "Production", cluster)
    pipeline = GatedPipeline(
        stack,
        "Pipeline",
        source=PipelineSource.connection(connection_arn=CONNECTION_ARN, owner="acme", repo="x"),
        stages=[
            DeployStage(
                name="Staging",
                services=[_as_contract(staging)],
                gates=[Gate.bake(cdk.Duration.minutes(5))],
            ),
            DeployStage(
                name="Production",
                services=[_as_contract(production)],
                gates=[Gate.healthy_before_entry()],
            ),
        ],
    )
    template = Template.from_stack(stack)
    (props,) = (r["Properties"] for r in _by_type(template, "AWS::CodePipeline::Pipeline").values())
    stages = {s["Name"]: s for s in props["Stages"]}
    deploy = next(a for a in stages["Staging"]["Actions"] if a["ActionTypeId"]["Provider"] == "ECS")
    assert deploy["Configuration"]["ClusterName"] == "platform"
    assert deploy["Configuration"]["ServiceName"] == "staging-svc"
    # Production is entered only while staging's health signal is not in ALARM.
    rules = stages["Production"]["BeforeEntry"]["Conditions"][0]["Rules"]
    assert [r["Configuration"]["AlarmName"] for r in rules] == ["staging-health"]
    release = next(a for a in stages["Staging"]["Actions"] if a["Name"] == "Release")
    variables = {
        v["name"]: v["value"] for v in json.loads(release["Configuration"]["EnvironmentVariables"])
    }
    assert variables["WATCHED_ALARMS"] == "staging-health"
    assert variables["IMAGE_SECRETS"] == "staging-image"
    # The pipeline's repository lets the execution roles pull; each role's own policy gets the
    # statements the pipeline passes, once.
    (staging_pull,) = staging.bound
    (production_pull,) = production.bound
    assert staging_pull == production_pull
    assert [s["Action"] for s in staging_pull] == [
        "ecr:GetAuthorizationToken",
        ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        "kms:Decrypt",
    ]
    (repository,) = _by_type(template, "AWS::ECR::Repository").values()
    (pulls,) = repository["Properties"]["RepositoryPolicyText"]["Statement"]
    roles = pulls["Condition"]["ArnEquals"]["aws:PrincipalArn"]
    assert [json.dumps(r).split(":role/")[-1].rstrip('"]}') for r in roles] == [
        "production-execution",
        "staging-execution",
    ]
    assert pipeline.stages["Staging"].services == (staging,)


def test_a_service_of_another_kind_gets_the_flags_agent_and_rolls_flags_back() -> None:
    stack, cluster = _stack()
    staging = MinimalService(stack, "Staging", cluster)
    FeatureFlaggedDeploy(
        stack,
        "Flags",
        flags=[Flag("new-checkout")],
        environments=["staging"],
        services={"staging": [_as_contract(staging)]},
    )
    template = Template.from_stack(stack)
    (task,) = _by_type(template, "AWS::ECS::TaskDefinition").values()
    containers = {c["Name"]: c for c in task["Properties"]["ContainerDefinitions"]}
    assert "appconfig-agent" in containers
    app_container = containers["web"]
    assert {"ContainerName": "appconfig-agent", "Condition": "HEALTHY"} in app_container[
        "DependsOn"
    ]
    assert "FEATURE_FLAGS_URL" in {e["Name"] for e in app_container["Environment"]}
    (environment,) = _by_type(template, "AWS::AppConfig::Environment").values()
    health = stack.resolve(staging.health_alarm.alarm_arn)
    assert [m["AlarmArn"] for m in environment["Properties"]["Monitors"]] == [health]
    (deployment_id, deployment) = next(
        iter(_by_type(template, "AWS::AppConfig::Deployment").items())
    )
    service_id = stack.resolve(staging.service.node.default_child.logical_id)  # type: ignore[union-attr]
    assert service_id in deployment["DependsOn"], deployment_id
    (association,) = _by_type(template, "AWS::AppConfig::ExtensionAssociation").values()
    assert association["Properties"]["Parameters"]["topicArn"] == stack.resolve(
        staging.alarm_topic.topic_arn
    )


def test_the_pipeline_and_the_flags_import_no_service_kind() -> None:
    """They depend on the contract, never on a service kind's package."""
    service_kinds = {"observed_service", "express_service"}
    for package in ("gated_pipeline", "feature_flagged_deploy"):
        for module in sorted((PACKAGE / package).glob("*.py")):
            for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module:
                    top = node.module.split(".")[0]
                    assert top not in service_kinds, f"{module.name} imports {node.module}"
