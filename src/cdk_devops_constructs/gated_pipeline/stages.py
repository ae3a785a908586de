"""What a GatedPipeline runs: test actions and deploy stages, as typed, validated values."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from aws_cdk import CfnCapabilities, Duration
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import IConstruct

from .. import _validation as check
from .._boundary import Known, Text
from ..service_contract import IObservedService
from .gates import BakeGate, Gate

# CodePipeline stage and action names: [A-Za-z0-9.@_-], at most 100 characters. Rule names are
# derived from stage names ("<stage>-Bake-1") and must fit in 100 characters too.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.@_-]{0,63}")
NAME_RULE = "1-64 characters: letters, digits, '.', '@', '_', '-', starting with a letter or digit"
RESERVED_STAGE_NAMES = ("Source", "Build")
RESERVED_ACTION_NAMES = ("Approve", "PrepareInfrastructure", "ApplyInfrastructure", "Release")
STACK_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")
CHANGE_SET_NAME = re.compile(r"[A-Za-z][A-Za-z0-9-]{0,127}")
# CodeBuild reserves environment variable names that start with CODEBUILD_ ("Environment
# variables in build environments", CodeBuild user guide).
CODEBUILD_VARIABLE = re.compile(r"(?!CODEBUILD_)[^=]{1,255}")
CODEBUILD_VARIABLE_RULE = "1-255 characters without '=', not starting with CODEBUILD_"
MIN_TEST_TIMEOUT = Duration.minutes(5)
MAX_TEST_TIMEOUT = Duration.hours(8)


@dataclass(frozen=True)
class PipelineTest:
    """An automated test action: a CodeBuild build running ``commands`` on the source.

    Every test runs in the ``Build`` stage next to the image build; tests run in parallel and
    any failing one fails the stage, so nothing is deployed.

    :param name: action name, unique among the tests (``NAME_RULE``).
    :param commands: shell commands; a non-zero exit status fails the test.
    :param install_commands: commands run first (install phase), e.g. installing tools.
        Default: none.
    :param reports: JUnit XML report files (glob patterns relative to ``reports_base_directory``)
        published to a CodeBuild report group of this test. Default: none.
    :param reports_base_directory: directory the report patterns are relative to.
        Default: the source root.
    :param environment_variables: plain environment variables. Default: none.
    :param build_image: the CodeBuild image. Default: ``LinuxBuildImage.STANDARD_7_0``.
    :param compute_type: the CodeBuild compute type. Default: ``ComputeType.SMALL``.
    :param timeout: build timeout, 5 minutes to 8 hours. Default: 30 minutes.
    """

    name: Known[str]
    commands: Sequence[Text]
    install_commands: Sequence[Text] = ()
    reports: Sequence[str] = ()
    reports_base_directory: str | None = None
    environment_variables: Mapping[str, Text] = field(default_factory=dict)
    build_image: codebuild.IBuildImage | None = None
    compute_type: codebuild.ComputeType | None = None
    timeout: Duration | None = None

    def validate(self, scope: IConstruct, prop: str) -> None:
        check.matches(scope, f"{prop}.name", self.name, NAME, NAME_RULE)
        if not self.commands:
            check.fail(scope, f"{prop}.commands must hold at least one command")
        for name in self.environment_variables:
            check.matches(
                scope,
                f"each key of {prop}.environment_variables",
                name,
                CODEBUILD_VARIABLE,
                CODEBUILD_VARIABLE_RULE,
            )
        if self.timeout is not None:
            check.minutes_in(
                scope, f"{prop}.timeout", self.timeout, MIN_TEST_TIMEOUT, MAX_TEST_TIMEOUT
            )


@dataclass(frozen=True)
class CloudFormationTarget:
    """Infrastructure a deploy stage changes before it deploys the image: a CloudFormation
    stack from a template in the source, through a change set (created, then executed).

    :param stack_name: the stack to create or update.
    :param template_path: the template's path in the source artifact, e.g.
        ``infra/stack.template.json``.
    :param deployment_role: the role CloudFormation assumes to change the stack's resources.
        You own its permissions: the pipeline cannot know what the template creates.
    :param parameter_overrides: template parameter values. Default: none.
    :param capabilities: capabilities the template needs, e.g. ``CAPABILITY_NAMED_IAM``.
        Default: none.
    :param change_set_name: the change set's name. Default: ``GatedPipelineChangeSet``.
    """

    stack_name: Known[str]
    template_path: str
    deployment_role: iam.IRole
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    capabilities: Sequence[CfnCapabilities] = ()
    change_set_name: str = "GatedPipelineChangeSet"

    def validate(self, scope: IConstruct, prop: str) -> None:
        check.matches(
            scope,
            f"{prop}.stack_name",
            self.stack_name,
            STACK_NAME,
            "a CloudFormation stack name (letter first, then letters, digits, '-'; at most 128)",
        )
        check.matches(
            scope,
            f"{prop}.change_set_name",
            self.change_set_name,
            CHANGE_SET_NAME,
            "a change set name (letter first, then letters, digits, '-'; at most 128)",
        )
        if not check.is_token(self.template_path) and (
            not self.template_path or self.template_path.startswith("/")
        ):
            check.fail(
                scope,
                f"{prop}.template_path must be a relative path in the source, "
                f"got {self.template_path!r}",
            )


# CodePipeline's CodeDeployToECS action: the task definition template names the image as
# "<IMAGE1_NAME>"-style placeholder (without the angle brackets here); the AppSpec file names
# the task definition as "<TASK_DEFINITION>" (CodePipeline user guide, "Amazon Elastic
# Container Service and CodeDeploy blue-green deploy action reference").
PLACEHOLDER = re.compile(r"[A-Za-z0-9_-]{1,64}")
PLACEHOLDER_RULE = "1-64 characters: letters, digits, '_', '-' (CodePipeline adds the <>)"
SOURCE_PATH = re.compile(r"(?!/)(?!.*(?:^|/)\.\.(?:/|$))[^\s]{1,250}")
SOURCE_PATH_RULE = "a relative path in the source: no leading '/', no '..', no spaces"


@dataclass(frozen=True)
class CodeDeployTarget:
    """An ECS service whose deployment controller is ``CODE_DEPLOY``, deployed by CodeDeploy's
    blue/green action (``CodeDeployToECS``) with the pipeline's image.

    Use it only for a service that still runs on CodeDeploy; ECS-native deployments
    (``ObservedService`` with ``Deployment.blue_green``, ``canary`` or ``linear``) are the
    default. The source holds the task definition template, whose application container's
    image is ``<IMAGE1_NAME>``, and the AppSpec file, whose task definition is
    ``<TASK_DEFINITION>``; the build writes ``imageDetail.json`` with the image's URI.

    :param deployment_group: the service's CodeDeploy ECS deployment group, e.g.
        ``EcsDeploymentGroup.from_ecs_deployment_group_attributes(...)``; in the pipeline's
        account and region. Its own alarms and auto-rollback settings apply.
    :param name: the deploy action's name (``NAME_RULE``). Default: ``CodeDeploy-<group>``.
    :param task_definition_path: the task definition template in the source.
        Default: ``taskdef.json``.
    :param appspec_path: the AppSpec file in the source. Default: ``appspec.yaml``.
    :param image_placeholder: the placeholder the image URI replaces in the template, without
        the angle brackets. Default: ``IMAGE1_NAME``.
    """

    deployment_group: codedeploy.IEcsDeploymentGroup
    name: Known[str] | None = None
    task_definition_path: str = "taskdef.json"
    appspec_path: str = "appspec.yaml"
    image_placeholder: Known[str] = "IMAGE1_NAME"

    @property
    def action_name(self) -> str:
        group = self.deployment_group.deployment_group_name
        return self.name or ("CodeDeploy-" + ("Service" if check.is_token(group) else group))[:100]

    def validate(self, scope: IConstruct, prop: str) -> None:
        if self.name is not None:
            check.matches(scope, f"{prop}.name", self.name, NAME, NAME_RULE)
            if self.name in RESERVED_ACTION_NAMES:
                check.fail(
                    scope,
                    f"{prop}.name must not be one of {', '.join(RESERVED_ACTION_NAMES)} (actions "
                    f"the pipeline adds to a stage), got {self.name!r}",
                )
        for field_name in ("task_definition_path", "appspec_path"):
            check.matches(
                scope,
                f"{prop}.{field_name}",
                getattr(self, field_name),
                SOURCE_PATH,
                SOURCE_PATH_RULE,
            )
        if self.task_definition_path == self.appspec_path:
            check.fail(
                scope,
                f"{prop}: task_definition_path and appspec_path are both "
                f"{self.appspec_path!r}; CodeDeploy reads two different files",
            )
        check.matches(
            scope,
            f"{prop}.image_placeholder",
            self.image_placeholder,
            PLACEHOLDER,
            PLACEHOLDER_RULE,
        )


@dataclass(frozen=True)
class DeployStage:
    """One environment the pipeline deploys to, in order (e.g. Staging, then Production).

    :param name: the stage name, unique in the pipeline, not ``Source`` or ``Build``
        (``NAME_RULE``).
    :param services: services that get the new image (one ECS deploy action each, in
        parallel): ``ObservedService``, ``ExpressService`` or any ``IObservedService``.
        Default: none (a CloudFormation-only stage).
    :param gates: ``Gate.manual_approval``, ``Gate.healthy_before_entry``, ``Gate.bake`` and
        ``Gate.deployment_window``, at most one of each. Default: none.
    :param cloudformation: a stack changed before the services are deployed. Default: none.
    :param codedeploy: services on the ``CODE_DEPLOY`` deployment controller, deployed through
        CodeDeploy (one action each, in parallel with the services'). Default: none.
    :param rollback_on_failure: when an action of the stage fails (a deployment, or a bake that
        saw an alarm), roll the stage back to the last successful execution's artifacts
        (on-failure result ROLLBACK); required by ``Gate.bake``. Default: True.
    """

    name: Known[str]
    services: Sequence[IObservedService] = ()
    gates: Sequence[Gate] = ()
    cloudformation: CloudFormationTarget | None = None
    codedeploy: Sequence[CodeDeployTarget] = ()
    rollback_on_failure: bool = True

    def gate(self, kind: type[Gate]) -> Gate | None:
        return next((g for g in self.gates if isinstance(g, kind)), None)

    def validate(self, scope: IConstruct, prop: str) -> None:
        check.matches(scope, f"{prop}.name", self.name, NAME, NAME_RULE)
        if self.name in RESERVED_STAGE_NAMES:
            check.fail(
                scope,
                f"{prop}.name must not be one of {', '.join(RESERVED_STAGE_NAMES)} (stages of "
                f"the pipeline itself), got {self.name!r}",
            )
        if not self.services and self.cloudformation is None and not self.codedeploy:
            check.fail(
                scope,
                f"{prop} ({self.name}) deploys nothing: pass services=[...], codedeploy=[...] "
                "or cloudformation=",
            )
        seen: set[str] = set()
        for index, service in enumerate(self.services):
            path = service.node.path
            if path in seen:
                check.fail(scope, f"{prop}.services[{index}] repeats {path}")
            seen.add(path)
        kinds: set[type[Gate]] = set()
        for index, gate in enumerate(self.gates):
            if type(gate) in kinds:
                check.fail(
                    scope,
                    f"{prop}.gates holds two {type(gate).__name__}s; a stage takes at most one "
                    "gate of each kind",
                )
            kinds.add(type(gate))
            gate.validate(scope, f"{prop}.gates[{index}]")
        if self.cloudformation is not None:
            self.cloudformation.validate(scope, f"{prop}.cloudformation")
        for index, target in enumerate(self.codedeploy):
            target.validate(scope, f"{prop}.codedeploy[{index}]")
        check.unique(
            scope,
            f"{prop}.codedeploy (action names)",
            [t.action_name for t in self.codedeploy],
        )

    @property
    def deploys(self) -> bool:
        """The stage deploys the pipeline's image (to services or through CodeDeploy)."""
        return bool(self.services or self.codedeploy)

    @property
    def releases(self) -> bool:
        """The stage has a Release action: images to record in its services' secrets, or a
        bake (a CodeDeploy-only stage without a bake has nothing to release)."""
        return bool(self.services) or self.gate(BakeGate) is not None


@dataclass(frozen=True)
class DeployedStage:
    """What GatedPipeline built for one DeployStage.

    :param stage: the CodePipeline stage.
    :param services: the services it deploys.
    :param approval_topic: the topic approvers are notified on, when the stage has a manual
        approval.
    :param entry_rules: the rules of its entry condition (deployment window, alarms).
    :param release_action: the action after the deploy actions that bakes (watching the
        alarms of ``Gate.bake``) and records the deployed image; None without services.
    """

    stage: codepipeline.IStage
    services: tuple[IObservedService, ...]
    approval_topic: sns.ITopic | None
    entry_rules: tuple[codepipeline.Rule, ...]
    release_action: codepipeline.IAction | None
