"""GatedPipeline: source, image build and tests, then gated, self-rolling-back deploy stages.

The constructor calls one step per part of the pipeline; each source kind, gate and deploy
method builds its own actions and rules (``sources/``, ``gates/``, ``deploy/``), and every IAM
action list is in ``permissions``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import Annotations, CfnOutput, Duration, Names, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from .. import _validation as check
from .._boundary import Known, boundary
from .._buckets import harden_replication_bucket, secure_bucket
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
from .._service.dashboard import dashboard_url
from .._shared import SharedInfrastructure
from ..incidents import Incidents
from ..incidents.pipeline import notify_chat
from ..service_contract import DEPLOY_METHODS, DeployTarget, IObservedService
from . import dora
from . import events as pipeline_events
from .build import (
    DEFAULT_ARM_BUILD_IMAGE,
    DEFAULT_BUILD_IMAGE,
    DEFAULT_BUILD_TIMEOUT,
    DEFAULT_COMPUTE,
    DOCKER_PLATFORMS,
    IMAGE_DEFINITIONS,
    RELEASE_TIMEOUT_MARGIN,
    image_build_project,
    project_for_test,
)
from .deploy.cloudformation import infrastructure_actions
from .deploy.codedeploy import codedeploy_actions
from .deploy.ecs import ecs_deploy_actions
from .deploy.express import (
    allow_express_deployments,
    express_deploy_action,
    express_deploy_project,
)
from .environments import Env, TargetAccount, TargetAccounts
from .gates import (
    MAX_BAKE,
    MAX_RULES_PER_CONDITION,
    AlarmGate,
    BakeGate,
    DeploymentWindowGate,
    ManualApprovalGate,
    RuleSpec,
    WatchedAlarm,
    watched_alarms,
)
from .images import allow_pulls, pipeline_repository
from .permissions import (
    ALARM_READ,
    CODEBUILD_START,
    KMS_ENCRYPT,
    ArtifactAccess,
    Roles,
    ServiceRole,
)
from .release import release_action, release_project, target_variables
from .sources import PipelineSource
from .stages import DeployedStage, DeployStage, PipelineTest

DEFAULT_MAX_IMAGE_COUNT = 100
DEFAULT_ARTIFACT_RETENTION = Duration.days(90)
PIPELINE_NAME = re.compile(r"[A-Za-z0-9.@_-]{1,100}")
EXECUTION_MODES = (codepipeline.ExecutionMode.QUEUED, codepipeline.ExecutionMode.SUPERSEDED)
IMAGE_ACTION = "Image"
IMAGE_NAMESPACE = "Image"
IMAGE_URI = f"#{{{IMAGE_NAMESPACE}.IMAGE_URI}}"

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
    delivery metrics (DORA). A stage's services may be in other accounts and regions than the
    pipeline: it then acts there with roles of a support stack it adds to the app
    (``environments``), and their tasks pull the image from the pipeline's repository.

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
    ``delivery_rule``, ``chat_notifications`` (the CodeStar Notifications rule of
    ``incidents``' chat channels, or None) and ``support_stacks`` (the stacks of roles in other
    accounts, by ``"<account>/<region>"``).
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
        :param stages: the environments, in deployment order (at least one). A stage's
            services may be in another account and/or region than the pipeline's (one account
            and region per stage): the pipeline then adds a support stack of roles per target
            account and region to the app (``support_stacks``).
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
        self._stages_spec = tuple(stages)
        self._check_build(
            tests=tests,
            pipeline_name=pipeline_name,
            execution_mode=execution_mode,
            dockerfile=dockerfile,
            build_context=build_context,
            build_timeout=build_timeout,
            build_image=build_image,
        )
        self._check_storage(
            repository=repository,
            encryption_key=encryption_key,
            max_image_count=max_image_count,
            kms_encrypt_images=kms_encrypt_images,
            artifact_retention=artifact_retention,
        )
        source._validate(self)
        self._check_stages()
        self._warn_on_weakened_defaults(kms_encrypt_images=kms_encrypt_images)

        self._storage(
            encryption_key=encryption_key,
            artifact_retention=artifact_retention,
            repository=repository,
            max_image_count=max_image_count,
            kms_encrypt_images=kms_encrypt_images,
            log_retention=log_retention,
        )
        self._notifications(id, notification_topic, notification_emails)
        self._roles = Roles(self, named=self._deploys_to_other_accounts())
        self._pipeline_role = self._roles.pipeline
        self._artifacts.grant(self._pipeline_role, write=True)
        self._accounts = TargetAccounts(self, self._roles)

        source_action, revision = self._source_action(source)
        build_stage_actions = self._build_actions(
            tests=tests,
            revision=revision,
            dockerfile=dockerfile,
            build_context=build_context,
            build_image=build_image,
            build_compute_type=build_compute_type,
            build_timeout=build_timeout,
        )
        self._deployment_projects()
        self.pipeline = codepipeline.Pipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_name,
            pipeline_type=codepipeline.PipelineType.V2,
            execution_mode=execution_mode,
            artifact_bucket=self.artifact_bucket,
            role=self._pipeline_role.immutable,
            # Keys for the replication buckets CodePipeline needs in the regions of other
            # stages; an artifact in another account's region is read with that key.
            cross_account_keys=self._deploys_to_other_regions(),
            restart_execution_on_update=False,
            stages=[
                codepipeline.StageProps(stage_name="Source", actions=[source_action]),
                codepipeline.StageProps(stage_name="Build", actions=build_stage_actions),
            ],
        )
        acknowledge(self.pipeline, "codepipeline-pipeline")
        source._start(self, self.pipeline, source_action, self._roles)
        self._deploy_stages()
        self._observe(incidents)
        for region, support in self.pipeline.cross_region_support.items():
            bucket = support.replication_bucket
            harden_replication_bucket(bucket, artifact_retention)
            # aws-cdk-lib's grants to the pipeline role do nothing on an immutable role.
            self._artifacts.grant_replica(self._pipeline_role, bucket, region, write=True)
            for role in self._regional_readers.get(region, []):
                self._artifacts.grant_replica(role, bucket, region, write=False)
        self._artifacts.apply()
        self._roles.attach(self.pipeline)
        self.support_stacks: dict[str, Stack] = {
            f"{a.env.account}/{a.env.region}": Stack.of(a) for a in self._accounts.accounts
        }
        """The stacks of roles the pipeline acts with in other accounts, by
        ``"<account>/<region>"`` (``environments``); deploy them before the pipeline's stack,
        which depends on them."""

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

    # --- Checks -----------------------------------------------------------------------------

    def _check_build(
        self,
        *,
        tests: Sequence[PipelineTest],
        pipeline_name: str | None,
        execution_mode: codepipeline.ExecutionMode,
        dockerfile: str,
        build_context: str,
        build_timeout: Duration | None,
        build_image: codebuild.IBuildImage | None,
    ) -> None:
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
        architectures: dict[str, str] = {}
        for stage in self._stages_spec:
            for service in stage.services:
                architectures.setdefault(service.deploy_target.cpu_architecture, service.node.path)
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

    def _check_storage(
        self,
        *,
        repository: ecr.IRepository | None,
        encryption_key: kms.IKey | None,
        max_image_count: int | None,
        kms_encrypt_images: bool | None,
        artifact_retention: Duration,
    ) -> None:
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
        if self._deploys_to_other_accounts():
            # Other accounts read the artifacts and pull the images only if the key's and the
            # repository's own policies say so, which an imported one's cannot be made to.
            given: tuple[tuple[str, IConstruct | None, type[Construct]], ...] = (
                ("encryption_key", encryption_key, kms.Key),
                ("repository", repository, ecr.Repository),
            )
            for prop, resource, kind in given:
                if resource is not None and not isinstance(resource, kind):
                    check.fail(
                        self,
                        f"{prop} is imported ({resource.node.path}), but stages deploy to other "
                        f"accounts, whose roles its policy must name; pass a {kind.__name__} "
                        "of this app, or leave the default",
                    )
        check.duration_in(
            self, "artifact_retention", artifact_retention, Duration.days(1), Duration.days(3650)
        )
        check.whole(self, "artifact_retention", artifact_retention, "day", why="S3 lifecycle")

    def _check_stages(self) -> None:
        stages = self._stages_spec
        if not stages:
            check.fail(self, "stages must hold at least one DeployStage, got none")
        for index, stage in enumerate(stages):
            stage.validate(self, f"stages[{index}]")
        check.unique(self, "stages (names)", [s.name for s in stages])
        for index, stage in enumerate(stages):
            self._entry_rules(stage, index)
            if stage.gate(BakeGate) is not None and not stage.rollback_on_failure:
                check.fail(
                    self,
                    f"stages[{index}] ({stage.name}): Gate.bake rolls the stage back when an "
                    "alarm fires, through the stage's on-failure rollback, which "
                    "rollback_on_failure=False turns off; keep one or the other",
                )
            for position, service in enumerate(stage.services):
                self._check_target(index, stage, position, service)
            env = self._stage_env(index, stage)
            for position, target in enumerate(stage.codedeploy):
                group = target.deployment_group
                where = Env(group.env.account, group.env.region)
                if not (where.same(Env.of(self)) and env.same(Env.of(self))):
                    check.fail(
                        self,
                        f"stages[{index}].codedeploy[{position}] ({stage.name}): CodeDeploy "
                        f"deployments run in the pipeline's account and region "
                        f"({Env.of(self).describe()}), and so must the stage's other services; "
                        f"got the deployment group in {where.describe()} and the services in "
                        f"{env.describe()}",
                    )
            self._baked(index, stage)

    def _check_target(
        self, index: int, stage: DeployStage, position: int, service: IObservedService
    ) -> None:
        target = service.deploy_target
        check.one_of(
            self,
            f"stages[{index}].services[{position}].deploy_target.method",
            target.method,
            DEPLOY_METHODS,
        )
        baking = target.bake_minutes
        if target.method == "ecs" and baking is not None and baking > MAX_DEPLOYMENT_BAKE_MINUTES:
            check.fail(
                self,
                f"stages[{index}] ({stage.name}): {service.node.path} bakes "
                f"{baking} minutes per deployment; CodePipeline's ECS deploy action "
                f"waits at most 60, so at most {MAX_DEPLOYMENT_BAKE_MINUTES} minutes of "
                "bake time leave room to start the new tasks (shorten the deployment's "
                "bake times or use larger linear steps)",
            )
        env = Env.of_target(target, self)
        own = Env.of(self)
        if check.is_token(own.account) and (
            not check.is_token(env.account) or not env.same_region(own)
        ):
            check.fail(
                self,
                f"stages[{index}].services[{position}] ({service.node.path}) is in "
                f"{env.describe()}: a pipeline that deploys to another account or region must "
                "know its own account; give its stack an env with account= and region=",
            )

    def _stage_env(self, index: int, stage: DeployStage) -> Env:
        """Where a stage's services are: one account and region per stage (its release action
        acts in one)."""
        envs = {Env.of_target(s.deploy_target, self): s for s in stage.services}
        if len(envs) > 1:
            found = ", ".join(f"{s.node.path} in {env.describe()}" for env, s in envs.items())
            check.fail(
                self,
                f"stages[{index}] ({stage.name}) deploys to services in more than one account "
                f"or region ({found}); give each account and region a stage of its own",
            )
        return next(iter(envs), Env.of(self))

    # --- Storage, notifications, roles ---------------------------------------------------------

    def _storage(
        self,
        *,
        encryption_key: kms.IKey | None,
        artifact_retention: Duration,
        repository: ecr.IRepository | None,
        max_image_count: int | None,
        kms_encrypt_images: bool | None,
        log_retention: logs.RetentionDays,
    ) -> None:
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
        self._images_encrypted = repository is None and kms_encrypt_images is not False
        self.repository: ecr.IRepository = repository or pipeline_repository(
            self,
            key=self.encryption_key,
            max_image_count=max_image_count or DEFAULT_MAX_IMAGE_COUNT,
            kms_encrypted=self._images_encrypted,
        )
        self.build_log_group = encrypted_log_group(
            self, "BuildLogs", retention=log_retention, key=self.encryption_key
        )
        self.delivery_log_group = encrypted_log_group(
            self, "DeliveryEvents", retention=log_retention, key=self.encryption_key
        )

    def _notifications(self, id: str, topic: sns.ITopic | None, emails: Sequence[str]) -> None:
        if topic is None:
            topic = encrypted_topic(
                self,
                "NotificationTopic",
                key=self.encryption_key,
                emails=emails,
                display_name=f"Pipeline {id}",
            )
            warn_if_unsubscribed(
                topic,
                self,
                f"The notification topic of {self.node.path}",
                "pass notification_emails, or subscribe notification_topic",
            )
        else:
            subscribe_emails(topic, emails)
        # The rules that notify are created later (_observe); they publish as EventBridge.
        allow_to_publish(topic, eventbridge_rules(f"EventsOf{Names.unique_id(self)}"[:80]))
        self.notification_topic: sns.ITopic = topic

    def _targets(self) -> list[DeployTarget]:
        """How each deployed service is deployed, in stage order."""
        return [s.deploy_target for stage in self._stages_spec for s in stage.services]

    def _deploys_to_other_accounts(self) -> bool:
        own = Env.of(self)
        return any(not Env.of_target(t, self).same_account(own) for t in self._targets())

    def _deploys_to_other_regions(self) -> bool:
        own = Env.of(self)
        return any(not Env.of_target(t, self).same_region(own) for t in self._targets())

    # --- Source and build -----------------------------------------------------------------------

    def _source_action(self, source: PipelineSource) -> tuple[codepipeline.IAction, str]:
        self._source_output = codepipeline.Artifact("Source")
        role = self._roles.action(self, "SourceActionRole", "Fetches the source")
        step = source._action(self._source_output, role)
        self._artifacts.grant(role, write=True)
        return step.action, step.revision

    def _build_actions(
        self,
        *,
        tests: Sequence[PipelineTest],
        revision: str,
        dockerfile: str,
        build_context: str,
        build_image: codebuild.IBuildImage | None,
        build_compute_type: codebuild.ComputeType | None,
        build_timeout: Duration | None,
    ) -> list[codepipeline.IAction]:
        """The image build and the tests, in parallel."""
        self._build_output = codepipeline.Artifact("Image")
        self._build_actions_role = self._roles.action(
            self, "BuildActionRole", "Starts the image build and the tests"
        )
        image_role = self._roles.codebuild(self, "ImageBuildRole", "Image build project")
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
        build_actions: list[codepipeline.IAction] = [
            actions.CodeBuildAction(
                action_name=IMAGE_ACTION,
                project=self.build_project,
                input=self._source_output,
                outputs=[self._build_output],
                environment_variables={
                    "SOURCE_REVISION": codebuild.BuildEnvironmentVariable(value=revision)
                },
                role=self._build_actions_role.immutable,
                variables_namespace=IMAGE_NAMESPACE,
            )
        ]
        self.test_projects: dict[str, codebuild.PipelineProject] = {}
        self.report_groups: dict[str, codebuild.ReportGroup] = {}
        tests_scope = Construct(self, "Tests") if tests else None
        for test in tests:
            assert tests_scope is not None
            test_scope = Construct(tests_scope, test.name)
            test_role = self._roles.codebuild(test_scope, "Role", f"Test {test.name}")
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
            build_actions.append(
                actions.CodeBuildAction(
                    action_name=test.name,
                    project=project,
                    input=self._source_output,
                    type=actions.CodeBuildActionType.TEST,
                    role=self._build_actions_role.immutable,
                )
            )
        return build_actions

    def _deployment_projects(self) -> None:
        """The projects the deploy stages run: the release (bake and record the image) and,
        for Express services, the Express deploy."""
        self.release_project: codebuild.PipelineProject | None = None
        """Bakes each stage and records the image it deployed; None when no stage has
        services or a bake."""
        projects: list[codebuild.IProject] = [self.build_project, *self.test_projects.values()]
        if any(stage.releases for stage in self._stages_spec):
            self._release_role = self._deployment_role("ReleaseRole", "Release project")
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
        if any(t.method == "express" for t in self._targets()):
            self._express_role = self._deployment_role(
                "ExpressDeployRole", "Express deploy project"
            )
            self.express_deploy_project = express_deploy_project(
                self,
                role=self._express_role,
                encryption_key=self.encryption_key,
                log_group=self.build_log_group,
            )
            projects.append(self.express_deploy_project)
        self._build_actions_role.allow(CODEBUILD_START, [p.project_arn for p in projects])

    def _deployment_role(self, id: str, description: str) -> ServiceRole:
        """The role of a project the deploy stages run: it reads the build's artifacts and, in
        a pipeline that deploys to other accounts, is named (target roles trust it by name)."""
        role = self._roles.codebuild(self, id, description, named=True)
        role.use_key(self.encryption_key, KMS_ENCRYPT)
        self._artifacts.grant(role, write=False)
        return role

    def _container_names(self) -> list[str]:
        """The containers ``imagedefinitions.json`` names (ECS deploy actions read it)."""
        names = [t.container_name for t in self._targets() if t.method == "ecs"]
        return list(dict.fromkeys(names)) or ["app"]

    def _architecture(self) -> str:
        """The CPU architecture of every deployed service (X86_64 without services)."""
        found = {t.cpu_architecture for t in self._targets()}
        return found.pop() if found else "X86_64"

    # --- Deploy stages --------------------------------------------------------------------------

    def _deploy_stages(self) -> None:
        self._image_secrets = self._bind_services()
        self._regional_readers: dict[str, list[ServiceRole]] = {}
        self.stages: dict[str, DeployedStage] = {}
        stages_scope = Construct(self, "Stages")
        for index, spec in enumerate(self._stages_spec):
            self.stages[spec.name] = self._deploy_stage(
                Construct(stages_scope, spec.name), index, spec
            )

    def _deploy_stage(self, scope: Construct, index: int, spec: DeployStage) -> DeployedStage:
        run_order = 1
        stage_actions: list[codepipeline.IAction] = []
        approval_topic: sns.ITopic | None = None
        approval = spec.gate(ManualApprovalGate)
        if isinstance(approval, ManualApprovalGate):
            action, approval_topic = approval._action(
                scope,
                self,
                stage=spec.name,
                roles=self._roles,
                key=self.encryption_key,
                run_order=run_order,
            )
            stage_actions.append(action)
            run_order += 1
        if spec.cloudformation is not None:
            stage_actions.extend(
                infrastructure_actions(
                    scope,
                    stage=spec.name,
                    target=spec.cloudformation,
                    roles=self._roles,
                    artifacts=self._artifacts,
                    key=self.encryption_key,
                    template=self._source_output.at_path(spec.cloudformation.template_path),
                    run_order=run_order,
                )
            )
            run_order += 2
        release: codepipeline.IAction | None = None
        if spec.deploys:
            env = self._stage_env(index, spec)
            account = self._accounts.of(env)
            deploy_actions = self._service_actions(scope, spec, env, account, run_order)
            if spec.codedeploy:
                deploy_actions.extend(
                    codedeploy_actions(
                        scope,
                        stage=spec.name,
                        targets=spec.codedeploy,
                        roles=self._roles,
                        artifacts=self._artifacts,
                        source=self._source_output,
                        image=self._build_output,
                        run_order=run_order,
                    )
                )
            stage_actions.extend(deploy_actions)
            if spec.releases:
                release = self._release_action(index, spec, env, account, run_order + 1)
                stage_actions.append(release)

        entry_rules = [self._rule(spec, rule) for rule in self._entry_rules(spec, index)]
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
        self,
        scope: Construct,
        spec: DeployStage,
        env: Env,
        account: TargetAccount | None,
        run_order: int,
    ) -> list[codepipeline.IAction]:
        """One deploy action per service, in parallel, by the service's deploy method: the ECS
        standard deploy action, or the Express deploy project (``deploy/``)."""
        names: list[str] = []
        taken = [t.action_name for t in spec.codedeploy]
        for service in spec.services:
            names.append(_action_name(f"Deploy-{service.service_name}", [*taken, *names]))
        named = [(n, s.deploy_target) for n, s in zip(names, spec.services, strict=True)]
        by_ecs = [(n, t) for n, t in named if t.method == "ecs"]
        deploy_actions: list[codepipeline.IAction] = []
        if by_ecs:
            deploy_actions, role = ecs_deploy_actions(
                scope,
                stage=spec.name,
                named=by_ecs,
                roles=self._roles,
                artifacts=self._artifacts,
                target=account,
                image_file=self._build_output.at_path(IMAGE_DEFINITIONS),
                run_order=run_order,
            )
            if account is None and not env.same_region(Env.of(self)):
                # It reads the artifacts CodePipeline copies to the stage's region.
                self._regional_readers.setdefault(env.region, []).append(role)
        by_express = [(n, t) for n, t in named if t.method == "express"]
        if by_express:
            assert self.express_deploy_project is not None
            acting = self._express_role
            if account is not None:
                acting = account.role(
                    "ExpressDeployRole",
                    "Deploys the pipeline's images to Express services in this account",
                    assumed_by=self._express_role,
                )
            allow_express_deployments(acting, [t for _, t in by_express])
            where = target_variables(
                env,
                pipeline=Env.of(self),
                role_arn=account.arn_of(acting) if account is not None else None,
            )
            for name, target in by_express:
                deploy_actions.append(
                    express_deploy_action(
                        self,
                        name=name,
                        project=self.express_deploy_project,
                        target=target,
                        image_uri=IMAGE_URI,
                        input=self._build_output,
                        role=self._build_actions_role,
                        run_order=run_order,
                        in_target=where,
                    )
                )
        return deploy_actions

    def _release_action(
        self,
        index: int,
        spec: DeployStage,
        env: Env,
        account: TargetAccount | None,
        run_order: int,
    ) -> codepipeline.IAction:
        """After the deploy actions: bake (watch the alarms of ``Gate.bake``), then record the
        deployed image in each service's secret (``release``)."""
        assert self.release_project is not None
        baking = spec.gate(BakeGate)
        return release_action(
            self,
            prop=f"stages[{index}] ({spec.name})",
            project=self.release_project,
            project_role=self._release_role,
            action_role=self._build_actions_role,
            env=env,
            target=account,
            secrets=[self._image_secrets[service.node.path] for service in spec.services],
            watched=self._baked(index, spec),
            bake_minutes=baking.minutes if isinstance(baking, BakeGate) else 0,
            image_uri=IMAGE_URI,
            input=self._build_output,
            run_order=run_order,
        )

    def _baked(self, index: int, spec: DeployStage) -> list[WatchedAlarm]:
        """The alarms ``Gate.bake`` of a stage watches, in the stage's account and region (the
        release action acts in one)."""
        baking = spec.gate(BakeGate)
        if not isinstance(baking, BakeGate):
            return []
        prop = f"stages[{index}].gates (Gate.bake of {spec.name})"
        watched = watched_alarms(
            self,
            prop,
            baking.services if baking.services is not None else spec.services,
            baking.alarms,
            default="this stage's services",
        )
        env = self._stage_env(index, spec) if spec.services else Env.of(self)
        for alarm in watched:
            if not alarm.env.same(env):
                check.fail(
                    self,
                    f"{prop}: {alarm.name} is in {alarm.env.describe()}, but the stage acts in "
                    f"{env.describe()}; a bake watches alarms of the stage's own account and "
                    "region (watch the others with Gate.healthy_before_entry of the next stage)",
                )
        return watched

    def _entry_rules(self, spec: DeployStage, index: int) -> list[RuleSpec]:
        """The rules of a stage's entry condition: the deployment window first, then one per
        alarm of ``Gate.healthy_before_entry``. Validation and building both call this."""
        prop = f"stages[{index}]"
        rules: list[RuleSpec] = []
        window = spec.gate(DeploymentWindowGate)
        if isinstance(window, DeploymentWindowGate):
            rules.extend(window.rules(spec.name))
        healthy = spec.gate(AlarmGate)
        if isinstance(healthy, AlarmGate):
            previous = self._stages_spec[index - 1].services if index else ()
            watched = watched_alarms(
                self,
                f"{prop}.gates (Gate.healthy_before_entry of {spec.name})",
                healthy.services if healthy.services is not None else previous,
                healthy.alarms,
                default="the previous deploy stage's services" if index else None,
            )
            rules.extend(healthy.rules(spec.name, watched, Env.of(self)))
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

    def _rule(self, spec: DeployStage, rule: RuleSpec) -> codepipeline.Rule:
        """A stage-condition rule. A CloudWatchAlarm rule reads the alarm where it is: with
        the pipeline role in the pipeline's account (which may read alarms: how the rule calls
        DescribeAlarms, naming the alarms or listing them, is not documented, and only "*"
        serves both; it is read-only, see _compliance, pipeline-role-policy), or with a role of
        the alarm's account, in the alarm's region."""
        name, provider, configuration, env = rule
        role: iam.Role | None = None
        if provider == "CloudWatchAlarm":
            account = self._accounts.of(env) if env is not None else None
            reader = self._pipeline_role
            if account is not None:
                reader = account.role(
                    "GateRole",
                    "Reads alarms for the entry conditions of the pipeline's stages",
                    assumed_by=self._pipeline_role,
                )
                role = reader.role
            reader.allow(ALARM_READ, ["*"])
            reader.acknowledge("pipeline-role-policy")
        return codepipeline.Rule(
            name=name,
            provider=provider,
            version="1",
            configuration=configuration,
            region=env.region if env is not None else None,
            role=role,
        )

    def _bind_services(self) -> dict[str, str]:
        """Tell every deployed service that this pipeline deploys it from now on, and let its
        execution role pull the pipeline's images (``images``); return the name of each one's
        deployed-image secret, by construct path."""
        services = _unique_by_path([s for stage in self._stages_spec for s in stage.services])
        if not services:
            return {}
        pull = allow_pulls(
            self,
            self.repository,
            self.encryption_key if self._images_encrypted else None,
            services,
        )
        return {s.node.path: s.bind_to_pipeline(pull) for s in services}

    # --- Events, metrics ------------------------------------------------------------------------

    def _observe(self, incidents: Incidents | None) -> None:
        """Every pipeline, stage and action event, whatever account or region the action acts
        in, is emitted in the pipeline's account and region ("the account field represents
        the account ID where the pipeline is created": CodePipeline user guide, "Monitoring
        CodePipeline events"), so one set of rules covers every stage."""
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

    def _warn_on_weakened_defaults(self, *, kms_encrypt_images: bool | None) -> None:
        stages = self._stages_spec
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


def _unique_by_path(services: list[IObservedService]) -> list[IObservedService]:
    seen: dict[str, IObservedService] = {}
    for service in services:
        seen.setdefault(service.node.path, service)
    return list(seen.values())


def _action_name(wanted: str, taken: Sequence[str]) -> str:
    """An action name (``[A-Za-z0-9.@_-]``, at most 100 characters) unique among ``taken``."""
    name = re.sub(r"[^A-Za-z0-9.@_-]", "-", wanted)[:90]
    candidate, n = name, 2
    while candidate in taken:
        candidate, n = f"{name}-{n}", n + 1
    return candidate
