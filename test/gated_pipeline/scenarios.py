"""GatedPipeline configurations, each synthesized once per session (see harness.scenarios).

Each scenario builds the ObservedServices it deploys in the same stack, kept minimal (no
tracing) so that the pipeline dominates the template."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns

from cdk_devops_constructs import (
    CloudFormationTarget,
    CodeDeployTarget,
    DeployStage,
    Gate,
    GatedPipeline,
    Incidents,
    ObservedService,
    PipelineSource,
    PipelineTest,
)

from harness.scenarios import scenario, team_key
from observed_service.scenarios import SLACK, TEAMS

CONNECTION_ARN = (
    "arn:aws:codeconnections:us-east-1:123456789012:connection/0b1f7c2a-5d9e-4c3b-9a7e-1c2d3e4f5a6b"
)
IMAGE = "public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine"


def service(stack: cdk.Stack, id: str) -> ObservedService:
    return ObservedService(
        stack,
        id,
        image=ecs.ContainerImage.from_registry(IMAGE),
        tracing=False,
        min_capacity=1,
        max_capacity=2,
    )


@scenario("gated_pipeline/defaults")
def defaults(stack: cdk.Stack) -> GatedPipeline:
    """What the README quickstart writes: GitHub through a connection, unit tests, staging with
    a bake time, production behind a health check, an approval and a longer bake."""
    staging = service(stack, "Staging")
    production = service(stack, "Production")
    return GatedPipeline(
        stack,
        "Delivery",
        source=PipelineSource.connection(
            connection_arn=CONNECTION_ARN, owner="acme", repo="checkout"
        ),
        tests=[PipelineTest(name="Unit", commands=["make test"], reports=["reports/*.xml"])],
        stages=[
            DeployStage(
                name="Staging", services=[staging], gates=[Gate.bake(cdk.Duration.minutes(10))]
            ),
            DeployStage(
                name="Production",
                services=[production],
                gates=[
                    Gate.healthy_before_entry(),
                    Gate.manual_approval(emails=["release-managers@example.com"]),
                    Gate.bake(cdk.Duration.minutes(30)),
                ],
            ),
        ],
        notification_emails=["team@example.com"],
    )


@scenario("gated_pipeline/all_options")
def all_options(stack: cdk.Stack) -> GatedPipeline:
    """Every option away from its default: trigger filters, own key and topic, AES-256 images,
    a tuned build, two tests, three stages with every gate, chat channels told of failures and
    approvals."""
    key = team_key(stack, "TeamKey")
    topic = sns.Topic(stack, "TeamTopic", master_key=key, enforce_ssl=True)
    dev_api, dev_web = service(stack, "DevApi"), service(stack, "DevWeb")
    staging = service(stack, "StagingApi")
    production = service(stack, "ProductionApi")
    return GatedPipeline(
        stack,
        "Release",
        source=PipelineSource.connection(
            connection_arn=CONNECTION_ARN.replace("codeconnections", "codestar-connections"),
            owner="acme",
            repo="platform/checkout",
            branch="release/2025",
            trigger_branches=["release/*", "hotfix/*"],
            file_paths=["services/checkout/**"],
            excluded_file_paths=["**/*.md"],
        ),
        pipeline_name="checkout-release",
        execution_mode=codepipeline.ExecutionMode.SUPERSEDED,
        dockerfile="services/checkout/Dockerfile",
        build_context="services/checkout",
        build_image=codebuild.LinuxBuildImage.AMAZON_LINUX_2_5,
        build_compute_type=codebuild.ComputeType.MEDIUM,
        build_timeout=cdk.Duration.minutes(45),
        max_image_count=30,
        kms_encrypt_images=False,
        encryption_key=key,
        artifact_retention=cdk.Duration.days(30),
        log_retention=cdk.aws_logs.RetentionDays.TWO_YEARS,
        notification_emails=["team@example.com", "sre@example.com"],
        notification_topic=topic,
        incidents=Incidents(chat=[SLACK, TEAMS]),
        tests=[
            PipelineTest(
                name="Unit",
                install_commands=["pip install -r requirements-dev.txt"],
                commands=["pytest --junitxml=reports/unit.xml"],
                reports=["unit.xml"],
                reports_base_directory="reports",
                environment_variables={"PYTHONDONTWRITEBYTECODE": "1"},
                compute_type=codebuild.ComputeType.MEDIUM,
                timeout=cdk.Duration.minutes(20),
            ),
            PipelineTest(
                name="Lint",
                commands=["make lint"],
                build_image=codebuild.LinuxBuildImage.AMAZON_LINUX_2_5,
            ),
        ],
        stages=[
            DeployStage(name="Dev", services=[dev_api, dev_web], rollback_on_failure=False),
            DeployStage(
                name="Staging",
                services=[staging],
                gates=[
                    Gate.healthy_before_entry(wait=cdk.Duration.minutes(10)),
                    Gate.bake(cdk.Duration.minutes(15), alarms=[dev_api.alarms["errors"]]),
                ],
            ),
            DeployStage(
                name="Production",
                services=[production],
                gates=[
                    Gate.deployment_window("* * 9-16 ? * MON-THU *", time_zone="Europe/Berlin"),
                    Gate.healthy_before_entry(services=[staging, dev_api]),
                    Gate.manual_approval(
                        emails=["cab@example.com"],
                        review_url="https://staging.example.com/checkout",
                        comment="Check the staging dashboard before approving.",
                        timeout=cdk.Duration.hours(8),
                    ),
                    Gate.bake(cdk.Duration.minutes(60)),
                ],
            ),
        ],
    )


@scenario("gated_pipeline/codecommit")
def codecommit_source(stack: cdk.Stack) -> GatedPipeline:
    """A CodeCommit repository, an existing ECR repository, one stage, no tests."""
    production = service(stack, "Api")
    return GatedPipeline(
        stack,
        "Pipeline",
        source=PipelineSource.code_commit(
            codecommit.Repository.from_repository_name(stack, "Repo", "checkout"), "trunk"
        ),
        repository=ecr.Repository.from_repository_name(stack, "Images", "checkout"),
        stages=[DeployStage(name="Production", services=[production])],
    )


@scenario("gated_pipeline/s3_cloudformation")
def s3_cloudformation(stack: cdk.Stack) -> GatedPipeline:
    """An S3 source archive and a CloudFormation stack changed before the service."""
    bucket = s3.Bucket.from_bucket_attributes(
        stack,
        "Releases",
        bucket_name="acme-releases",
        encryption_key=kms.Key.from_key_arn(
            stack,
            "ReleasesKey",
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ),
    )
    production = service(stack, "Api")
    return GatedPipeline(
        stack,
        "Pipeline",
        source=PipelineSource.s3(bucket, "checkout/source.zip"),
        stages=[
            DeployStage(
                name="Production",
                services=[production],
                cloudformation=CloudFormationTarget(
                    stack_name="checkout-infrastructure",
                    template_path="infra/checkout.template.json",
                    deployment_role=iam.Role.from_role_arn(
                        stack,
                        "DeployRole",
                        "arn:aws:iam::123456789012:role/checkout-cloudformation",
                        mutable=False,
                    ),
                    parameter_overrides={"Environment": "production"},
                    capabilities=[cdk.CfnCapabilities.NAMED_IAM],
                ),
                gates=[Gate.manual_approval(), Gate.bake(cdk.Duration.minutes(20))],
            )
        ],
    )


@scenario("gated_pipeline/codedeploy")
def codedeploy_migration(stack: cdk.Stack) -> GatedPipeline:
    """A team mid-migration: staging on an ObservedService (ECS-native deployments), production
    still on CodeDeploy's ECS blue/green (deployment controller CODE_DEPLOY), baked on its own
    alarm."""
    staging = service(stack, "Staging")
    application = codedeploy.EcsApplication.from_ecs_application_name(
        stack, "LegacyApplication", "checkout"
    )
    group = codedeploy.EcsDeploymentGroup.from_ecs_deployment_group_attributes(
        stack,
        "LegacyProduction",
        application=application,
        deployment_group_name="checkout-production",
        deployment_config=codedeploy.EcsDeploymentConfig.CANARY_10_PERCENT_5_MINUTES,
    )
    # The legacy service's health alarm, in the app; it notifies the team's alarm topic (the
    # staging service's, for brevity).
    production_health = cloudwatch.Alarm(
        stack,
        "LegacyHealth",
        alarm_name="checkout-production-health",
        metric=cloudwatch.Metric(
            namespace="AWS/ApplicationELB",
            metric_name="HTTPCode_Target_5XX_Count",
            dimensions_map={"LoadBalancer": "app/checkout/0123456789abcdef"},
            statistic="Sum",
            period=cdk.Duration.minutes(1),
        ),
        threshold=10,
        evaluation_periods=3,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    production_health.add_alarm_action(cloudwatch_actions.SnsAction(staging.alarm_topic))
    return GatedPipeline(
        stack,
        "Delivery",
        source=PipelineSource.connection(
            connection_arn=CONNECTION_ARN, owner="acme", repo="checkout"
        ),
        stages=[
            DeployStage(
                name="Staging", services=[staging], gates=[Gate.bake(cdk.Duration.minutes(10))]
            ),
            DeployStage(
                name="Production",
                codedeploy=[
                    CodeDeployTarget(
                        deployment_group=group,
                        task_definition_path="deploy/taskdef.json",
                        appspec_path="deploy/appspec.yaml",
                    )
                ],
                gates=[
                    Gate.healthy_before_entry(),
                    Gate.bake(cdk.Duration.minutes(30), alarms=[production_health]),
                ],
            ),
        ],
        notification_emails=["team@example.com"],
    )
