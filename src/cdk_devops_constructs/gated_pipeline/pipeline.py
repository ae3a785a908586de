"""GatedPipeline: source, image build and tests, then gated, self-rolling-back deploy stages."""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import (
    Annotations,
    ArnFormat,
    CfnOutput,
    Duration,
    Names,
    RemovalPolicy,
    Stack,
    Token,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from .. import _validation as check
from .._boundary import Known, boundary
from .._buckets import secure_bucket
from .._compliance import acknowledge
from .._encryption import allow_log_groups, customer_managed_key
from .._logs import encrypted_log_group
from .._notifications import (
    allow_to_publish,
    encrypted_topic,
    eventbridge_rules,
    subscribe_emails,
    warn_if_unsubscribed,
)
from .._policies import add_statement
from .._service.dashboard import dashboard_url
from .._shared import SharedInfrastructure
from ..incidents import Incidents
from ..incidents.pipeline import notify_chat
from ..service_contract import (
    DEPLOY_METHODS,
    DeployTarget,
    IObservedService,
    alarm_arn,
    role_arn,
)
from . import dora
from . import events as pipeline_events
from .build import (
    DEFAULT_ARM_BUILD_IMAGE,
    DEFAULT_BUILD_IMAGE,
    DEFAULT_BUILD_TIMEOUT,
    DEFAULT_COMPUTE,
    DOCKER_PLATFORMS,
    IMAGE_DEFINITIONS,
    POLL_SECONDS,
    RELEASE_TIMEOUT_MARGIN,
    codebuild_role,
    image_build_project,
    project_for_test,
    release_project,
)
from .express_deploy import express_deploy_action, express_deploy_project
from .gates import (
    MAX_BAKE,
    MAX_RULES_PER_CONDITION,
    AlarmGate,
    BakeGate,
    DeploymentWindowGate,
    ManualApprovalGate,
    RuleSpec,
)
from .permissions import BUCKET_READ, KMS_DECRYPT, KMS_ENCRYPT, ArtifactAccess, ServiceRole
from .source import PipelineSource, SourceKind
from .stages import DeployedStage, DeployStage, PipelineTest

DEFAULT_MAX_IMAGE_COUNT = 100
DEFAULT_ARTIFACT_RETENTION = Duration.days(90)
PIPELINE_NAME = re.compile(r"[A-Za-z0-9.@_-]{1,100}")
EXECUTION_MODES = (codepipeline.ExecutionMode.QUEUED, codepipeline.ExecutionMode.SUPERSEDED)
IMAGE_ACTION = "Image"
IMAGE_NAMESPACE = "Image"
RELEASE_ACTION = "Release"
SOURCE_NAMESPACE = "SourceVariables"

# What the ECS standard deploy action calls (CodePipeline user guide, service role permissions
# for the Amazon ECS action).
ECS_SERVICE_ACTIONS = ("ecs:DescribeServices", "ecs:UpdateService")
# No resource type in the Service Authorization Reference: "*" is the only valid resource.
ECS_TASK_DEFINITION_ACTIONS = ("ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition")
ECS_TASK_READ_ACTIONS = ("ecs:DescribeTasks", "ecs:ListTasks")
CHANGE_SET_ACTIONS = (
    "cloudformation:CreateChangeSet",
    "cloudformation:DeleteChangeSet",
    "cloudformation:DescribeChangeSet",
    # Read when a change set execution fails, to show the failing resource's status reason in
    # the pipeline (without it: "Status reason is not available", aws/aws-cdk#29534).
    "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStacks",
    "cloudformation:ExecuteChangeSet",
)
USE_CONNECTION = ("codestar-connections:UseConnection", "codeconnections:UseConnection")
CODECOMMIT_SOURCE = (
    "codecommit:CancelUploadArchive",
    "codecommit:GetBranch",
    "codecommit:GetCommit",
    "codecommit:GetUploadArchiveStatus",
    "codecommit:UploadArchive",
)
ECR_PULL = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
CODEBUILD_START = ("codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild")
ALARM_READ = ("cloudwatch:DescribeAlarmHistory", "cloudwatch:DescribeAlarms")
PUT_SECRET = ("secretsmanager:PutSecretValue",)

# CodePipeline's ECS deploy action waits at most 60 minutes for the service to be deployed;
# the deployment's bake times must leave time to start and register the new tasks.
MAX_DEPLOYMENT_BAKE_MINUTES = 45


class GatedPipeline(Construct):
    """A CodePipeline (V2) that builds a container image, tests it and ships it through gated
    stages to ObservedServices, rolling a stage back when it fails or its alarms fire.

    Source (CodeConnections, CodeCommit or S3) -> Build (image to ECR, tests in parallel) ->
    one stage per ``DeployStage``, in order, each with its gates: manual approval, "previous
    environment healthy" entry check, deployment window, and a bake time watching the stage's
    own health alarms. Pipeline events go to an encrypted SNS topic; a dashboard shows the
    delivery metrics (DORA).

    Example::

        GatedPipeline(
            stack, "CheckoutPipeline",
            source=PipelineSource.connection(
                connection_arn=connection_arn, owner="acme", repo="checkout"),
            tests=[PipelineTest(name="Unit", commands=["make test"], reports=["junit.xml"])],
            stages=[
                DeployStage(name="Staging", services=[staging],
                            gates=[Gate.bake(Duration.minutes(10))]),
                DeployStage(name="Production", services=[production],
                            gates=[Gate.healthy_before_entry(),
                                   Gate.manual_approval(emails=["release@example.com"]),
                                   Gate.bake(Duration.minutes(30))]),
            ],
            notification_emails=["team@example.com"],
        )

    Attributes: ``pipeline`` (codepipeline.Pipeline), ``artifact_bucket``, ``repository``
    (ECR), ``build_project`` and ``test_projects`` (name -> project), ``report_groups`` (test
    name -> report group), ``notification_topic``, ``dashboard``, ``stages`` (name ->
    ``DeployedStage``: its CodePipeline stage, services, approval topic and rules),
    ``encryption_key``, ``build_log_group``, ``delivery_log_group``, ``event_rules``,
    ``delivery_rule`` and ``chat_notifications`` (the CodeStar Notifications rule of
    ``incidents``' chat channels, or None).
    """

    @boundary
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        source: PipelineSource,
        stages: Sequence[DeployStage],
        tests: Sequence[PipelineTest] = (),
        pipeline_name: str | None = None,
        execution_mode: codepipeline.ExecutionMode | None = None,
        dockerfile: str = "Dockerfile",
        build_context: str = ".",
        build_image: codebuild.IBuildImage | None = None,
        build_compute_type: codebuild.ComputeType | None = None,
        build_timeout: Duration | None = None,
        repository: ecr.IRepository | None = None,
        max_image_count: Known[int] | None = None,
        kms_encrypt_images: bool | None = None,
        encryption_key: kms.IKey | None = None,
        artifact_retention: Duration | None = None,
        log_retention: logs.RetentionDays | None = None,
        notification_emails: Sequence[str] = (),
        notification_topic: sns.ITopic | None = None,
        incidents: Incidents | None = None,
    ) -> None:
        """
        :param source: where the code comes from: ``PipelineSource.connection(...)``,
            ``PipelineSource.code_commit(...)`` or ``PipelineSource.s3(...)``.
        :param stages: the environments, in deployment order (at least one).
        :param tests: test actions run in parallel with the image build; any failure stops the
            pipeline. Default: none.
        :param pipeline_name: the pipeline's name. Default: generated by CloudFormation.
        :param execution_mode: ``QUEUED`` (every change is deployed, in order) or
            ``SUPERSEDED`` (a newer change overtakes one waiting at a gate). Default: QUEUED.
        :param dockerfile: the Dockerfile's path in the source. Default: ``Dockerfile``.
        :param build_context: the Docker build context in the source. Default: ``.``.
        :param build_image: CodeBuild image of the image build. Default:
            ``LinuxBuildImage.STANDARD_7_0``.
        :param build_compute_type: CodeBuild compute type of the image build.
            Default: ``ComputeType.SMALL`` (2 vCPU, 3 GB).
        :param build_timeout: image build timeout, 5 minutes to 8 hours. Default: 30 minutes.
        :param repository: an existing ECR repository to push to. Default: a new repository
            (scan on push, immutable tags, last ``max_image_count`` images kept, kept when the
            stack is deleted).
        :param max_image_count: images the new repository keeps, 1-10000. Default: 100.
        :param kms_encrypt_images: encrypt the new repository with ``encryption_key``; False
            uses AES-256 managed by ECR. Default: True.
        :param encryption_key: KMS key for artifacts, images, logs, topics and builds.
            Default: a new customer-managed key with rotation ($1/month).
        :param artifact_retention: how long pipeline artifacts are kept, in whole days; a stage
            cannot roll back to an execution whose artifacts expired. Default: 90 days.
        :param log_retention: retention of build logs and of the delivery events behind the
            dashboard. Default: one year.
        :param notification_emails: addresses told when an execution fails or succeeds, a
            stage fails or rolls back, or an approval waits. Default: none.
        :param notification_topic: an existing topic for those events (its key policy must let
            EventBridge publish). Default: a new topic encrypted with ``encryption_key``.
        :param incidents: its ``chat`` channels get the pipeline's failed executions, failed
            stages (a stage that rolls back on failure starts its rollback) and waiting
            approvals, through a CodeStar Notifications rule (``chat_notifications``); the
            rest of ``Incidents`` acts on a service's health signal and is not used here.
            Default: no chat notifications.
        """
        super().__init__(scope, id)
        execution_mode = execution_mode or codepipeline.ExecutionMode.QUEUED
        artifact_retention = artifact_retention or DEFAULT_ARTIFACT_RETENTION
        log_retention = log_retention or logs.RetentionDays.ONE_YEAR
        notification_emails = check.emails(self, "notification_emails", notification_emails)
        self._validate(
            source=source,
            stages=stages,
            tests=tests,
            pipeline_name=pipeline_name,
            execution_mode=execution_mode,
            dockerfile=dockerfile,
            build_context=build_context,
            build_timeout=build_timeout,
            build_image=build_image,
            repository=repository,
            max_image_count=max_image_count,
            kms_encrypt_images=kms_encrypt_images,
            artifact_retention=artifact_retention,
        )
        self._warn_on_weakened_defaults(stages=stages, kms_encrypt_images=kms_encrypt_images)
        self._stages_spec = tuple(stages)

        # --- Encryption, storage, logs, notifications --------------------------------------
        self.encryption_key: kms.IKey = encryption_key or customer_managed_key(
            self,
            "Key",
            description=f"Artifacts, images, logs and notifications of {self.node.path}",
        )
        allow_log_groups(self.encryption_key)
        self.artifact_bucket: s3.Bucket = secure_bucket(
            self,
            "ArtifactBucket",
            encryption_key=self.encryption_key,
            expiration=artifact_retention,
        )
        _log_access(
            self.artifact_bucket,
            SharedInfrastructure.of(self).log_bucket,
            f"pipeline-artifacts/{Names.unique_id(self)}/",
        )
        acknowledge(self.artifact_bucket, "pipeline-artifact-bucket")
        self._artifacts = ArtifactAccess(self.artifact_bucket, self.encryption_key)
        self.repository: ecr.IRepository = repository or self._repository(
            max_image_count or DEFAULT_MAX_IMAGE_COUNT, kms_encrypt_images is not False
        )
        self.build_log_group = encrypted_log_group(
            self, "BuildLogs", retention=log_retention, key=self.encryption_key
        )
        self.delivery_log_group = encrypted_log_group(
            self, "DeliveryEvents", retention=log_retention, key=self.encryption_key
        )
        if notification_topic is None:
            notification_topic = encrypted_topic(
                self,
                "NotificationTopic",
                key=self.encryption_key,
                emails=notification_emails,
                display_name=f"Pipeline {id}",
            )
            warn_if_unsubscribed(
                notification_topic,
                self,
                f"The notification topic of {self.node.path}",
                "pass notification_emails, or subscribe notification_topic",
            )
        else:
            subscribe_emails(notification_topic, notification_emails)
        # The rules that notify are created below; they publish as EventBridge.
        allow_to_publish(
            notification_topic,
            eventbridge_rules(f"EventsOf{Names.unique_id(self)}"[:80]),
        )
        self.notification_topic: sns.ITopic = notification_topic

        # --- Roles -------------------------------------------------------------------------
        self._roles: list[ServiceRole] = []
        self._pipeline_role = self._role(
            "PipelineRole",
            iam.ServicePrincipal("codepipeline.amazonaws.com"),
            "Service role of the pipeline; assumes one role per action",
        )
        self._artifacts.grant(self._pipeline_role, write=True)

        # --- Source ------------------------------------------------------------------------
        self._source_output = codepipeline.Artifact("Source")
        source_role = self._action_role("SourceActionRole", "Fetches the source")
        self._source_action, revision = self._source(source, source_role)
        self._artifacts.grant(source_role, write=True)

        # --- Build and tests ---------------------------------------------------------------
        self._build_output = codepipeline.Artifact("Image")
        build_actions_role = self._action_role(
            "BuildActionRole", "Starts the image build and the tests"
        )
        image_role = self._codebuild_role("ImageBuildRole", "Image build project")
        image_role.acknowledge("image-build-role-policy")
        architecture = self._architecture()
        self.build_project = image_build_project(
            self,
            role=image_role,
            repository=self.repository,
            container_names=self._container_names(),
            platform=DOCKER_PLATFORMS[architecture],
            dockerfile=dockerfile,
            build_context=build_context,
            build_image=build_image
            or (DEFAULT_ARM_BUILD_IMAGE if architecture == "ARM64" else DEFAULT_BUILD_IMAGE),
            compute_type=build_compute_type or DEFAULT_COMPUTE,
            timeout=build_timeout or DEFAULT_BUILD_TIMEOUT,
            encryption_key=self.encryption_key,
            log_group=self.build_log_group,
        )
        image_role.use_key(self.encryption_key, KMS_ENCRYPT)
        self._artifacts.grant(image_role, write=True)
        build_stage_actions: list[codepipeline.IAction] = [
            actions.CodeBuildAction(
                action_name=IMAGE_ACTION,
                project=self.build_project,
                input=self._source_output,
                outputs=[self._build_output],
                environment_variables={
                    "SOURCE_REVISION": codebuild.BuildEnvironmentVariable(value=revision)
                },
                role=build_actions_role.immutable,
                variables_namespace=IMAGE_NAMESPACE,
            )
        ]
        self.test_projects: dict[str, codebuild.PipelineProject] = {}
        self.report_groups: dict[str, codebuild.ReportGroup] = {}
        tests_scope = Construct(self, "Tests") if tests else None
        for test in tests:
            assert tests_scope is not None
            test_scope = Construct(tests_scope, test.name)
            test_role = self._codebuild_role_in(test_scope, f"Test {test.name}")
            project, report_group = project_for_test(
                test_scope,
                test,
                role=test_role,
                encryption_key=self.encryption_key,
                log_group=self.build_log_group,
            )
            test_role.use_key(self.encryption_key, KMS_ENCRYPT)
            self._artifacts.grant(test_role, write=False)
            self.test_projects[test.name] = project
            if report_group is not None:
                self.report_groups[test.name] = report_group
            build_stage_actions.append(
                actions.CodeBuildAction(
                    action_name=test.name,
                    project=project,
                    input=self._source_output,
                    type=actions.CodeBuildActionType.TEST,
                    role=build_actions_role.immutable,
                )
            )
        self.release_project: codebuild.PipelineProject | None = None
        """Bakes each stage and records the image it deployed; None without services."""
        projects = [self.build_project, *self.test_projects.values()]
        if any(stage.services for stage in stages):
            self._release_role = self._codebuild_role("ReleaseRole", "Release project")
            self._release_role.use_key(self.encryption_key, KMS_ENCRYPT)
            self._artifacts.grant(self._release_role, write=False)
            self.release_project = release_project(
                self,
                role=self._release_role,
                timeout=MAX_BAKE.plus(RELEASE_TIMEOUT_MARGIN),
                encryption_key=self.encryption_key,
                log_group=self.build_log_group,
            )
            projects.append(self.release_project)
        self.express_deploy_project: codebuild.PipelineProject | None = None
        """Deploys images to the ExpressServices of every stage; None without any."""
        express = [t for t in self._targets() if t.method == "express"]
        if express:
            express_role = self._codebuild_role("ExpressDeployRole", "Express deploy project")
            express_role.use_key(self.encryption_key, KMS_ENCRYPT)
            self._artifacts.grant(express_role, write=False)
            self.express_deploy_project = express_deploy_project(
                self,
                role=express_role,
                targets=express,
                encryption_key=self.encryption_key,
                log_group=self.build_log_group,
            )
            projects.append(self.express_deploy_project)
        self._release_actions_role = build_actions_role
        build_actions_role.allow(CODEBUILD_START, [p.project_arn for p in projects])

        # --- Pipeline ----------------------------------------------------------------------
        self.pipeline = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_name,
            pipeline_type=codepipeline.PipelineType.V2,
            execution_mode=execution_mode,
            artifact_bucket=self.artifact_bucket,
            role=self._pipeline_role.immutable,
            cross_account_keys=False,
            restart_execution_on_update=False,
            stages=[
                codepipeline.StageProps(stage_name="Source", actions=[self._source_action]),
                codepipeline.StageProps(stage_name="Build", actions=build_stage_actions),
            ],
        )
        acknowledge(self.pipeline, "codepipeline-pipeline")
        if source.kind is SourceKind.CONNECTION:
            self.pipeline.add_trigger(
                provider_type=codepipeline.ProviderType.CODE_STAR_SOURCE_CONNECTION,
                git_configuration=codepipeline.GitConfiguration(
                    source_action=self._source_action,
                    push_filter=[
                        codepipeline.GitPushFilter(
                            branches_includes=list(source.trigger_branches),
                            file_paths_includes=list(source.file_paths) or None,
                            file_paths_excludes=list(source.excluded_file_paths) or None,
                        )
                    ],
                ),
            )
        else:
            self._start_on_source_events(source)

        # --- Deploy stages -----------------------------------------------------------------
        self._image_secrets = self._bind_services()
        self.stages: dict[str, DeployedStage] = {}
        stages_scope = Construct(self, "Stages")
        previous: Sequence[IObservedService] = ()
        for index, spec in enumerate(stages):
            self.stages[spec.name] = self._deploy_stage(
                Construct(stages_scope, spec.name), index, spec, previous
            )
            previous = spec.services

        # --- Events, metrics, permissions --------------------------------------------------
        self.event_rules = pipeline_events.notify(
            self,
            pipeline_arn=self.pipeline.pipeline_arn,
            pipeline_name=self.pipeline.pipeline_name,
            topic=self.notification_topic,
        )
        self.delivery_rule = pipeline_events.record(
            self,
            pipeline_arn=self.pipeline.pipeline_arn,
            pipeline_name=self.pipeline.pipeline_name,
            log_group=self.delivery_log_group,
        )
        self.dashboard = dora.build_dashboard(
            self,
            "Dashboard",
            pipeline_name=self.pipeline.pipeline_name,
            log_group=self.delivery_log_group,
        )
        self.chat_notifications = notify_chat(self, self.pipeline, incidents)
        self._artifacts.apply()
        self._attach_policies()

        CfnOutput(
            self,
            "PipelineUrl",
            value=(
                "https://console.aws.amazon.com/codesuite/codepipeline/pipelines/"
                f"{self.pipeline.pipeline_name}/view?region={Stack.of(self).region}"
            ),
            description=f"CodePipeline console of {self.node.path}",
        )
        CfnOutput(
            self,
            "DashboardUrl",
            value=dashboard_url(self.dashboard),
            description=f"Delivery metrics (DORA) of {self.node.path}",
        )

    # ------------------------------------------------------------------------------------------

    def _validate(
        self,
        *,
        source: PipelineSource,
        stages: Sequence[DeployStage],
        tests: Sequence[PipelineTest],
        pipeline_name: str | None,
        execution_mode: codepipeline.ExecutionMode,
        dockerfile: str,
        build_context: str,
        build_timeout: Duration | None,
        build_image: codebuild.IBuildImage | None,
        repository: ecr.IRepository | None,
        max_image_count: int | None,
        kms_encrypt_images: bool | None,
        artifact_retention: Duration,
    ) -> None:
        source.validate(self)
        if not stages:
            check.fail(self, "stages must hold at least one DeployStage, got none")
        for index, stage in enumerate(stages):
            stage.validate(self, f"stages[{index}]")
        check.unique(self, "stages (names)", [s.name for s in stages])
        for index, test in enumerate(tests):
            test.validate(self, f"tests[{index}]")
            if test.name == IMAGE_ACTION:
                check.fail(self, f"tests[{index}].name must not be {IMAGE_ACTION!r} (the build)")
        check.unique(self, "tests (names)", [t.name for t in tests])
        if pipeline_name is not None:
            check.matches(
                self,
                "pipeline_name",
                pipeline_name,
                PIPELINE_NAME,
                "1-100 characters: letters, digits, '.', '@', '_', '-'",
            )
        check.one_of(self, "execution_mode", execution_mode, EXECUTION_MODES)
        for prop, path in (("dockerfile", dockerfile), ("build_context", build_context)):
            if not check.is_token(path) and (not path or path.startswith("/") or " " in path):
                check.fail(
                    self,
                    f"{prop} must be a relative path in the source without spaces, got {path!r}",
                )
        if build_timeout is not None:
            check.minutes_in(
                self, "build_timeout", build_timeout, Duration.minutes(5), Duration.hours(8)
            )
        if repository is not None:
            for prop, value in (
                ("max_image_count", max_image_count),
                ("kms_encrypt_images", kms_encrypt_images),
            ):
                if value is not None:
                    check.fail(
                        self,
                        f"{prop} configures the repository this construct creates; it cannot "
                        "be combined with repository=",
                    )
        if max_image_count is not None:
            check.in_range(self, "max_image_count", max_image_count, 1, 10000)
        check.duration_in(
            self, "artifact_retention", artifact_retention, Duration.days(1), Duration.days(3650)
        )
        check.whole(self, "artifact_retention", artifact_retention, "day", why="S3 lifecycle")
        architectures: dict[str, str] = {}
        for index, stage in enumerate(stages):
            previous = stages[index - 1].services if index else ()
            self._entry_rules(stage, index, previous)
            if stage.gate(BakeGate) is not None and not stage.rollback_on_failure:
                check.fail(
                    self,
                    f"stages[{index}] ({stage.name}): Gate.bake rolls the stage back when an "
                    "alarm fires, through the stage's on-failure rollback, which "
                    "rollback_on_failure=False turns off; keep one or the other",
                )
            for position, service in enumerate(stage.services):
                target = service.deploy_target
                architectures.setdefault(target.cpu_architecture, service.node.path)
                check.one_of(
                    self,
                    f"stages[{index}].services[{position}].deploy_target.method",
                    target.method,
                    DEPLOY_METHODS,
                )
                baking = target.bake_minutes
                if (
                    target.method == "ecs"
                    and baking is not None
                    and baking > MAX_DEPLOYMENT_BAKE_MINUTES
                ):
                    check.fail(
                        self,
                        f"stages[{index}] ({stage.name}): {service.node.path} bakes "
                        f"{baking} minutes per deployment; CodePipeline's ECS deploy action "
                        f"waits at most 60, so at most {MAX_DEPLOYMENT_BAKE_MINUTES} minutes of "
                        "bake time leave room to start the new tasks (shorten the deployment's "
                        "bake times or use larger linear steps)",
                    )
        if len(architectures) > 1:
            found = ", ".join(f"{path} is {arch}" for arch, path in architectures.items())
            check.fail(
                self,
                f"stages deploy one image to services of different CPU architectures ({found}); "
                "the image is built for one: give them the same cpu_architecture, or use one "
                "GatedPipeline per architecture",
            )
        if build_image is not None and architectures:
            (architecture,) = architectures
            host = "ARM64" if build_image.type == "ARM_CONTAINER" else "X86_64"
            if host != architecture:
                check.fail(
                    self,
                    f"build_image runs on {host} but the services run on {architecture}: the "
                    f"image would not start; pass a {architecture} build image (default: "
                    "chosen for the services' architecture)",
                )

    def _warn_on_weakened_defaults(
        self, *, stages: Sequence[DeployStage], kms_encrypt_images: bool | None
    ) -> None:
        weakened = [
            f"stage {s.name}: rollback_on_failure=False leaves a failed deployment in place"
            for s in stages
            if not s.rollback_on_failure
        ]
        if kms_encrypt_images is False:
            weakened.append("kms_encrypt_images=False encrypts images with ECR's AES-256 key")
        check.warn_weakened(self, weakened)
        for stage in stages:
            unwatched = stage.gate(ManualApprovalGate) is None and stage.gate(BakeGate) is None
            if stage.gate(DeploymentWindowGate) and stage.gate(AlarmGate) and unwatched:
                # "After the deployment window opens, CodePipeline does not check the
                # CloudWatchAlarm alarm again" (DeploymentWindow rule reference).
                Annotations.of(self).add_warning_v2(
                    "cdk-devops-constructs:window-and-health-gate",
                    f"stage {stage.name}: Gate.healthy_before_entry is checked when a change "
                    "reaches the stage, not again when the deployment window opens; add "
                    "Gate.manual_approval or Gate.bake to the stage, which act later",
                )

    # --- Building blocks ------------------------------------------------------------------------

    def _role(self, id: str, principal: iam.IPrincipal, description: str) -> ServiceRole:
        return self._role_in(self, id, principal, description)

    def _role_in(
        self, scope: Construct, id: str, principal: iam.IPrincipal, description: str
    ) -> ServiceRole:
        role = ServiceRole(scope, id, assumed_by=principal, description=description)
        self._roles.append(role)
        return role

    def _action_role(
        self, id: str, description: str, scope: Construct | None = None
    ) -> ServiceRole:
        """A role that only the pipeline role may assume, for one kind of action."""
        role = self._role_in(
            scope or self, id, iam.ArnPrincipal(self._pipeline_role.role.role_arn), description
        )
        self._pipeline_role.allow(["sts:AssumeRole"], [role.role.role_arn])
        return role

    def _codebuild_role(self, id: str, description: str) -> ServiceRole:
        role = codebuild_role(self, id, description)
        self._roles.append(role)
        return role

    def _codebuild_role_in(self, scope: Construct, description: str) -> ServiceRole:
        role = codebuild_role(scope, "Role", description)
        self._roles.append(role)
        return role

    def _repository(self, max_image_count: int, kms: bool) -> ecr.Repository:
        repository = ecr.Repository(
            self,
            "Repository",
            image_scan_on_push=True,
            image_tag_mutability=ecr.TagMutability.IMMUTABLE,
            encryption=ecr.RepositoryEncryption.KMS if kms else ecr.RepositoryEncryption.AES_256,
            encryption_key=self.encryption_key if kms else None,
            lifecycle_rules=[
                ecr.LifecycleRule(
                    description=f"Keep the last {max_image_count} images",
                    max_image_count=max_image_count,
                )
            ],
            removal_policy=RemovalPolicy.RETAIN,
        )
        if not kms:
            acknowledge(repository, "ecr-repository-aes256")
        return repository

    def _source(
        self, source: PipelineSource, role: ServiceRole
    ) -> tuple[codepipeline.IAction, str]:
        """The source action and the pipeline variable holding the revision built."""
        if source.kind is SourceKind.CONNECTION:
            assert source.connection_arn
            assert source.owner
            assert source.repo
            connection = actions.CodeStarConnectionsSourceAction(
                action_name="Source",
                connection_arn=source.connection_arn,
                owner=source.owner,
                repo=source.repo,
                branch=source.branch,
                output=self._source_output,
                trigger_on_push=True,
                role=role.immutable,
                variables_namespace=SOURCE_NAMESPACE,
            )
            # The connection ARN may carry either service prefix; both actions are granted so
            # that the pipeline works whichever prefix IAM evaluates for this connection.
            role.allow(USE_CONNECTION, [source.connection_arn])
            return connection, connection.variables.commit_id
        if source.kind is SourceKind.CODECOMMIT:
            assert source.repository is not None
            codecommit_action = actions.CodeCommitSourceAction(
                action_name="Source",
                repository=source.repository,
                branch=source.branch,
                output=self._source_output,
                trigger=actions.CodeCommitTrigger.NONE,
                role=role.immutable,
                variables_namespace=SOURCE_NAMESPACE,
            )
            role.allow(CODECOMMIT_SOURCE, [source.repository.repository_arn])
            return codecommit_action, codecommit_action.variables.commit_id
        assert source.bucket is not None
        assert source.key is not None
        s3_action = actions.S3SourceAction(
            action_name="Source",
            bucket=source.bucket,
            bucket_key=source.key,
            output=self._source_output,
            trigger=actions.S3Trigger.NONE,
            role=role.immutable,
            variables_namespace=SOURCE_NAMESPACE,
        )
        role.allow(
            ["s3:GetObject", "s3:GetObjectVersion"], [source.bucket.arn_for_objects(source.key)]
        )
        role.allow(BUCKET_READ, [source.bucket.bucket_arn])
        role.use_key(source.bucket.encryption_key, KMS_DECRYPT)
        return s3_action, s3_action.variables.version_id

    def _start_on_source_events(self, source: PipelineSource) -> None:
        """CodeCommit pushes and S3 uploads start the pipeline through EventBridge, with a role
        that may start this pipeline only."""
        events_role = ServiceRole(
            self,
            "SourceEventsRole",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="Starts the pipeline when its source changes",
            before_pipeline=False,
        )
        self._roles.append(events_role)
        events_role.allow(["codepipeline:StartPipelineExecution"], [self.pipeline.pipeline_arn])
        if source.kind is SourceKind.CODECOMMIT:
            assert source.repository is not None
            pattern = events.EventPattern(
                source=["aws.codecommit"],
                detail_type=["CodeCommit Repository State Change"],
                resources=[source.repository.repository_arn],
                detail={
                    "event": ["referenceCreated", "referenceUpdated"],
                    "referenceType": ["branch"],
                    "referenceName": [source.branch],
                },
            )
        else:
            assert source.bucket is not None
            assert source.key is not None
            pattern = events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={
                    "bucket": {"name": [source.bucket.bucket_name]},
                    "object": {"key": [source.key]},
                },
            )
        events.Rule(
            self,
            "SourceChanged",
            description=f"Starts {self.node.path} when its source changes"[:512],
            event_pattern=pattern,
            targets=[targets.CodePipeline(self.pipeline, event_role=events_role.immutable)],
        )

    def _targets(self) -> list[DeployTarget]:
        """How each deployed service is deployed, in stage order."""
        return [s.deploy_target for stage in self._stages_spec for s in stage.services]

    def _container_names(self) -> list[str]:
        """The containers ``imagedefinitions.json`` names (ECS deploy actions read it)."""
        names = [t.container_name for t in self._targets() if t.method == "ecs"]
        return list(dict.fromkeys(names)) or ["app"]

    def _architecture(self) -> str:
        """The CPU architecture of every deployed service (X86_64 without services)."""
        found = {t.cpu_architecture for t in self._targets()}
        return found.pop() if found else "X86_64"

    # --- Deploy stages --------------------------------------------------------------------------

    def _deploy_stage(
        self,
        scope: Construct,
        index: int,
        spec: DeployStage,
        previous: Sequence[IObservedService],
    ) -> DeployedStage:
        run_order = 1
        stage_actions: list[codepipeline.IAction] = []
        approval_topic: sns.ITopic | None = None
        approval = spec.gate(ManualApprovalGate)
        if isinstance(approval, ManualApprovalGate):
            approval_topic = encrypted_topic(
                scope,
                "ApprovalTopic",
                key=self.encryption_key,
                emails=approval.emails,
                display_name=f"Approvals: {spec.name}",
            )
            warn_if_unsubscribed(
                approval_topic,
                self,
                f"The approval topic of stage {spec.name} of {self.node.path}",
                "pass emails to Gate.manual_approval (the approval can still be given in the "
                "console)",
            )
            approval_role = self._action_role("ApprovalRole", f"Approval of {spec.name}", scope)
            approval_role.allow(["sns:Publish"], [approval_topic.topic_arn])
            approval_role.use_key(self.encryption_key, ("kms:Decrypt", "kms:GenerateDataKey"))
            stage_actions.append(
                actions.ManualApprovalAction(
                    action_name="Approve",
                    notification_topic=approval_topic,
                    external_entity_link=approval.review_url,
                    additional_information=approval.comment,
                    timeout=approval.timeout,
                    role=approval_role.immutable,
                    run_order=run_order,
                )
            )
            run_order += 1
        if spec.cloudformation is not None:
            stage_actions.extend(self._infrastructure_actions(scope, spec, run_order))
            run_order += 2
        release: codepipeline.IAction | None = None
        if spec.services:
            stage_actions.extend(self._service_actions(scope, spec, run_order))
            release = self._release_action(index, spec, run_order + 1)
            stage_actions.append(release)

        entry = self._entry_rules(spec, index, previous)
        if any(provider == "CloudWatchAlarm" for _, provider, _ in entry):
            # The rules run with the pipeline role. How the rule calls DescribeAlarms is not
            # documented (naming the alarms, or listing them), and only a grant on "*" serves
            # both; it is read-only (see _compliance, pipeline-role-policy).
            self._pipeline_role.allow(ALARM_READ, ["*"])
            self._pipeline_role.acknowledge("pipeline-role-policy")
        entry_rules = [_rule(*r) for r in entry]
        stage = self.pipeline.add_stage(
            stage_name=spec.name,
            actions=stage_actions,
            before_entry=codepipeline.Conditions(
                conditions=[
                    codepipeline.Condition(result=codepipeline.Result.FAIL, rules=entry_rules)
                ]
            )
            if entry_rules
            else None,
            # A bake that sees an alarm fails the release action: the stage rolls back.
            on_failure=codepipeline.FailureConditions(result=codepipeline.Result.ROLLBACK)
            if spec.rollback_on_failure
            else None,
        )
        return DeployedStage(
            stage=stage,
            services=tuple(spec.services),
            approval_topic=approval_topic,
            entry_rules=tuple(entry_rules),
            release_action=release,
        )

    def _service_actions(
        self, scope: Construct, spec: DeployStage, run_order: int
    ) -> list[codepipeline.IAction]:
        """One deploy action per service, in parallel, by the service's deploy method: the ECS
        standard deploy action, or the Express deploy project (``express_deploy``)."""
        names: list[str] = []
        for service in spec.services:
            names.append(_action_name(f"Deploy-{service.service_name}", names))
        named = list(zip(names, spec.services, strict=True))
        by_ecs = [(n, s) for n, s in named if s.deploy_target.method == "ecs"]
        deploy_actions = self._ecs_deploy_actions(scope, spec, by_ecs, run_order) if by_ecs else []
        for name, service in named:
            if service.deploy_target.method == "express":
                assert self.express_deploy_project is not None
                deploy_actions.append(
                    express_deploy_action(
                        self,
                        name=name,
                        project=self.express_deploy_project,
                        target=service.deploy_target,
                        image_uri=f"#{{{IMAGE_NAMESPACE}.IMAGE_URI}}",
                        input=self._build_output,
                        role=self._release_actions_role,
                        run_order=run_order,
                    )
                )
        return deploy_actions

    def _ecs_deploy_actions(
        self,
        scope: Construct,
        spec: DeployStage,
        named: Sequence[tuple[str, IObservedService]],
        run_order: int,
    ) -> list[codepipeline.IAction]:
        """One ECS standard deploy action per service. Services are named, never referenced,
        so the pipeline stack imports nothing from theirs (``_targets``)."""
        targets = [service.deploy_target for _, service in named]
        role = self._action_role("DeployRole", f"Deploys the image to {spec.name}", scope)
        role.acknowledge("ecs-deploy-role-policy")
        self._artifacts.grant(role, write=False)
        role.allow(ECS_SERVICE_ACTIONS, [t.service_arn(self) for t in targets])
        # RegisterTaskDefinition and DescribeTaskDefinition have no resource type.
        role.allow(ECS_TASK_DEFINITION_ACTIONS, ["*"])
        # Tags copied onto the new task definition revision, at registration only.
        role.allow(
            ["ecs:TagResource"],
            ["*"],
            conditions={"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}},
        )
        role.allow(
            ECS_TASK_READ_ACTIONS,
            ["*"],
            conditions={
                "ArnEquals": {"ecs:cluster": _unique([t.cluster_arn(self) for t in targets])}
            },
        )
        role.allow(
            ["iam:PassRole"],
            _unique([arn for t in targets for arn in t.role_arns(self)]),
            conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        )
        deploy_actions: list[codepipeline.IAction] = []
        for (name, _), target in zip(named, targets, strict=True):
            deploy_actions.append(
                actions.EcsDeployAction(
                    action_name=name,
                    service=ecs.FargateService.from_service_arn_with_cluster(
                        scope, f"{name}Service", target.service_arn(self)
                    ),
                    image_file=self._build_output.at_path(IMAGE_DEFINITIONS),
                    role=role.immutable,
                    run_order=run_order,
                    # The action's maximum; validation keeps bake times within it.
                    deployment_timeout=Duration.minutes(60),
                )
            )
        return deploy_actions

    def _release_action(
        self, index: int, spec: DeployStage, run_order: int
    ) -> codepipeline.IAction:
        """After the deploy actions: bake (watch the alarms of ``Gate.bake``), then record the
        deployed image in each service's secret (``observed_service/deployed_image``)."""
        assert self.release_project is not None
        secrets = [self._image_secrets[service.node.path] for service in spec.services]
        self._release_role.allow(PUT_SECRET, [self._secret_arn(name) for name in secrets])
        baking = spec.gate(BakeGate)
        watched: list[tuple[str, str]] = []
        if isinstance(baking, BakeGate):
            watched = self._watched(
                f"stages[{index}].gates (Gate.bake of {spec.name})",
                baking.services if baking.services is not None else spec.services,
                baking.alarms,
                default="this stage's services",
            )
            self._release_role.allow(ALARM_READ, _unique([arn for _, arn in watched]))
        variables = {
            "WATCHED_ALARMS": " ".join(name for name, _ in watched),
            "BAKE_SECONDS": str(baking.minutes * 60 if isinstance(baking, BakeGate) else 0),
            "POLL_SECONDS": str(POLL_SECONDS),
            "IMAGE_SECRETS": " ".join(secrets),
            "IMAGE_URI": f"#{{{IMAGE_NAMESPACE}.IMAGE_URI}}",
        }
        return actions.CodeBuildAction(
            action_name=RELEASE_ACTION,
            project=self.release_project,
            input=self._build_output,
            environment_variables={
                key: codebuild.BuildEnvironmentVariable(value=value)
                for key, value in variables.items()
            },
            role=self._release_actions_role.immutable,
            run_order=run_order,
        )

    def _secret_arn(self, name: str) -> str:
        # Secrets Manager appends six random characters to a secret's name in its ARN.
        return Stack.of(self).format_arn(
            service="secretsmanager",
            resource="secret",
            resource_name=f"{name}-??????",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def _infrastructure_actions(
        self, scope: Construct, spec: DeployStage, run_order: int
    ) -> list[codepipeline.IAction]:
        """Create a change set for the stack, then execute it."""
        target = spec.cloudformation
        assert target is not None
        role = self._action_role(
            "InfrastructureRole", f"Changes the stack {target.stack_name}", scope
        )
        self._artifacts.grant(role, write=False)
        stack_arn = Stack.of(self).format_arn(
            service="cloudformation", resource="stack", resource_name=f"{target.stack_name}/*"
        )
        # A stack's ARN ends in the id CloudFormation assigns it: "<name>/*" is this stack.
        role.allow(
            CHANGE_SET_ACTIONS,
            [stack_arn],
            conditions={
                "StringEqualsIfExists": {"cloudformation:ChangeSetName": target.change_set_name}
            },
        )
        role.allow(
            ["iam:PassRole"],
            [target.deployment_role.role_arn],
            conditions={
                "StringEqualsIfExists": {"iam:PassedToService": "cloudformation.amazonaws.com"}
            },
        )
        # CloudFormation reads the template artifact with the deployment role.
        self._artifacts.grant_external(target.deployment_role)
        add_statement(
            self.encryption_key,
            iam.PolicyStatement(
                sid=f"DeploymentRoleReadsArtifacts{spec.name.replace('-', '')}"[:100],
                principals=[iam.ArnPrincipal(target.deployment_role.role_arn)],
                actions=list(KMS_DECRYPT),
                # In a key policy, "*" means "this key".
                resources=["*"],
            ),
            why=f"the CloudFormation deployment role of stage {spec.name} reading artifacts",
        )
        stack = Stack.of(self)
        role.acknowledge(
            "cloudformation-target-role-policy",
            partition=_as_nag_shows(stack.partition, "AWS::Partition"),
            region=_as_nag_shows(stack.region, "AWS::Region"),
            account=_as_nag_shows(stack.account, "AWS::AccountId"),
            stack_name=target.stack_name,
        )
        return [
            actions.CloudFormationCreateReplaceChangeSetAction(
                action_name="PrepareInfrastructure",
                stack_name=target.stack_name,
                change_set_name=target.change_set_name,
                admin_permissions=False,
                template_path=self._source_output.at_path(target.template_path),
                deployment_role=target.deployment_role,
                parameter_overrides=dict(target.parameter_overrides) or None,
                cfn_capabilities=list(target.capabilities) or None,
                role=role.immutable,
                run_order=run_order,
            ),
            actions.CloudFormationExecuteChangeSetAction(
                action_name="ApplyInfrastructure",
                stack_name=target.stack_name,
                change_set_name=target.change_set_name,
                role=role.immutable,
                run_order=run_order + 1,
            ),
        ]

    def _entry_rules(
        self, spec: DeployStage, index: int, previous: Sequence[IObservedService]
    ) -> list[RuleSpec]:
        """The rules of a stage's entry condition: the deployment window first, then one per
        alarm of ``Gate.healthy_before_entry``. Validation and building both call this."""
        prop = f"stages[{index}]"
        rules: list[RuleSpec] = []
        window = spec.gate(DeploymentWindowGate)
        if isinstance(window, DeploymentWindowGate):
            rules.extend(window.rules(spec.name))
        healthy = spec.gate(AlarmGate)
        if isinstance(healthy, AlarmGate):
            watched = self._watched(
                f"{prop}.gates (Gate.healthy_before_entry of {spec.name})",
                healthy.services if healthy.services is not None else previous,
                healthy.alarms,
                default="the previous deploy stage's services" if index else None,
            )
            rules.extend(healthy.rules(spec.name, [name for name, _ in watched]))
        if len(rules) > MAX_RULES_PER_CONDITION:
            names = [r[0] for r in rules]
            listed = ", ".join(names[:6]) + (f", ... ({len(names)} in all)" if names[6:] else "")
            check.fail(
                self,
                f"{prop} ({spec.name}): its entry condition would hold {len(rules)} rules "
                f"({listed}); CodePipeline allows at most {MAX_RULES_PER_CONDITION} rules in one "
                "condition. Watch fewer alarms (services= and alarms= of "
                "Gate.healthy_before_entry)",
            )
        return rules

    def _watched(
        self,
        prop: str,
        services: Sequence[IObservedService],
        alarms: Sequence[cloudwatch.IAlarm],
        *,
        default: str | None,
    ) -> list[tuple[str, str]]:
        """(name, ARN) of the alarms a gate watches: each service's health alarm, by its
        literal name (``_targets``), then ``alarms``. Composite alarms are refused: neither the
        CloudWatchAlarm rule nor the release action's DescribeAlarms call documents reading
        them (DescribeAlarms returns composite alarms only when asked for them)."""
        watched: list[tuple[str, str]] = []
        for service in services:
            name = service.health_alarm_name
            watched.append((name, alarm_arn(self, name)))
        for index, alarm in enumerate(alarms):
            if isinstance(alarm, cloudwatch.CompositeAlarm):
                check.fail(
                    self,
                    f"{prop}: alarms[{index}] ({alarm.node.path}) is a composite alarm, which "
                    "CodePipeline's CloudWatchAlarm rule does not document reading; pass a "
                    "metric alarm (one alarm over a metric-math expression can combine signals)",
                )
            watched.append((alarm.alarm_name, alarm.alarm_arn))
        if not watched:
            where = f" ({default} are none)" if default else " (it is the first deploy stage)"
            check.fail(
                self,
                f"{prop} watches no alarm{where}; pass services=[...] or alarms=[...]",
            )
        return watched

    def _bind_services(self) -> dict[str, str]:
        """Tell every deployed service that this pipeline deploys it from now on; return the
        name of each one's deployed-image secret, by construct path.

        The pipeline's repository lets the services' execution roles pull, naming the roles by
        ARN (built from their literal names: nothing is imported from the services' stacks),
        so the roles need only ecr:GetAuthorizationToken, which names nothing of this stack. An
        imported repository's policy cannot be changed here: the roles then grant themselves
        the pulls."""
        services = _unique_by_path([s for stage in self._stages_spec for s in stage.services])
        if not services:
            return {}
        added = self.repository.add_to_resource_policy(
            iam.PolicyStatement(
                sid="DeployedServicesPullImages",
                principals=[
                    iam.ArnPrincipal(role_arn(self, s.deploy_target.execution_role_name))
                    for s in services
                ],
                actions=list(ECR_PULL),
            )
        )
        grant_pull_on = None if added.statement_added else self.repository
        return {s.node.path: s.bind_to_pipeline(grant_pull_on) for s in services}

    def _attach_policies(self) -> None:
        """One managed policy per role, created once every permission is known; the pipeline
        waits for them, so that no action runs before its role may act."""
        for role in self._roles:
            policy = role.attach()
            if role.before_pipeline:
                self.pipeline.node.add_dependency(policy)


# --- Helpers -------------------------------------------------------------------------------


def _log_access(bucket: s3.Bucket, log_bucket: s3.IBucket, prefix: str) -> None:
    """S3 server access logs of ``bucket`` to ``log_bucket``, delivered by the logging service
    under a bucket-policy grant (what ``server_access_logs_bucket`` does when the feature flag
    ``@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy`` is on, whatever the app's flags)."""
    cfn = bucket.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    cfn.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
        destination_bucket_name=log_bucket.bucket_name, log_file_prefix=prefix
    )
    log_bucket.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
            actions=["s3:PutObject"],
            resources=[log_bucket.arn_for_objects(f"{prefix}*")],
            conditions={
                "ArnLike": {"aws:SourceArn": bucket.bucket_arn},
                "StringEquals": {"aws:SourceAccount": Stack.of(bucket).account},
            },
        )
    )


def _as_nag_shows(value: str, pseudo_parameter: str) -> str:
    """How cdk-nag writes ``value`` in a finding: a pseudo parameter as ``<AWS::Region>``."""
    return f"<{pseudo_parameter}>" if Token.is_unresolved(value) else value


def _rule(name: str, provider: str, configuration: dict[str, str]) -> codepipeline.Rule:
    return codepipeline.Rule(name=name, provider=provider, version="1", configuration=configuration)


def _unique_by_path(services: list[IObservedService]) -> list[IObservedService]:
    seen: dict[str, IObservedService] = {}
    for service in services:
        seen.setdefault(service.node.path, service)
    return list(seen.values())


def _unique(values: list[str]) -> list[str]:
    result: list[str] = []
    for value in values:
        if value not in result:
            result.append(value)
    return result


def _action_name(wanted: str, taken: Sequence[str]) -> str:
    """An action name (``[A-Za-z0-9.@_-]``, at most 100 characters) unique among ``taken``."""
    name = re.sub(r"[^A-Za-z0-9.@_-]", "-", wanted)[:90]
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    return candidate
