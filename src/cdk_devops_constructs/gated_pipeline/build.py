"""The CodeBuild projects of a GatedPipeline: the image build and the test actions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from .._compliance import acknowledge
from .permissions import ECR_PUSH, LOG_WRITE, REPORT_WRITE, ServiceRole
from .stages import PipelineTest

# A specific, supported image (Ubuntu 22.04, Docker), never "latest": builds change only when
# this library changes it.
DEFAULT_BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
# For services on ARM64 (Graviton): images are built on a host of the same architecture, since
# an amd64 image exits with "exec format error" on an arm64 task.
DEFAULT_ARM_BUILD_IMAGE = codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0
DEFAULT_COMPUTE = codebuild.ComputeType.SMALL
# The release action mostly waits: the cheapest host that runs the AWS CLI (arm64, SMALL).
RELEASE_BUILD_IMAGE = codebuild.LinuxArmBuildImage.AMAZON_LINUX_2023_STANDARD_3_0
RELEASE_TIMEOUT_MARGIN = Duration.minutes(15)
DOCKER_PLATFORMS = {"X86_64": "linux/amd64", "ARM64": "linux/arm64"}
DEFAULT_BUILD_TIMEOUT = Duration.minutes(30)
IMAGE_DEFINITIONS = "imagedefinitions.json"
IMAGE_DETAIL = "imageDetail.json"

# The image tag is the source revision (commit id, or S3 object version id) made safe for a
# Docker tag. Tags are immutable: a rerun for a revision already pushed reuses its image.
IMAGE_BUILD_COMMANDS = {
    "pre_build": [
        "IMAGE_TAG=\"$(printf '%s' \"$SOURCE_REVISION\" | tr -c 'A-Za-z0-9_.-' '-' "
        '| cut -c 1-128)"',
        'IMAGE_URI="$REPOSITORY_URI:$IMAGE_TAG"',
        'aws ecr get-login-password --region "$AWS_DEFAULT_REGION" '
        '| docker login --username AWS --password-stdin "${REPOSITORY_URI%%/*}"',
    ],
    "build": [
        'if aws ecr describe-images --repository-name "$REPOSITORY_NAME" '
        '--image-ids imageTag="$IMAGE_TAG" > /dev/null 2>&1; then '
        'echo "$IMAGE_URI exists, not rebuilt"; '
        'else docker build --platform "$DOCKER_PLATFORM" --file "$DOCKERFILE" '
        '--tag "$IMAGE_URI" "$BUILD_CONTEXT" && docker push "$IMAGE_URI"; fi',
    ],
    "post_build": [
        # One entry per container name, all pointing at the new image.
        'SEP=""; printf "[" > ' + IMAGE_DEFINITIONS + "; "
        "for NAME in $CONTAINER_NAMES; do "
        'printf \'%s{"name":"%s","imageUri":"%s"}\' "$SEP" "$NAME" "$IMAGE_URI" >> '
        + IMAGE_DEFINITIONS
        + '; SEP=","; done; printf "]" >> '
        + IMAGE_DEFINITIONS,
        "cat " + IMAGE_DEFINITIONS,
        # The image for CodeDeploy's ECS blue/green action (DeployStage.codedeploy).
        'printf \'{"ImageURI":"%s"}\' "$IMAGE_URI" > ' + IMAGE_DETAIL,
    ],
}


def image_build_project(
    scope: Construct,
    *,
    role: ServiceRole,
    repository: ecr.IRepository,
    container_names: Sequence[str],
    platform: str,
    dockerfile: str,
    build_context: str,
    build_image: codebuild.IBuildImage,
    compute_type: codebuild.ComputeType,
    timeout: Duration,
    encryption_key: kms.IKey,
    log_group: logs.ILogGroup,
) -> codebuild.PipelineProject:
    """Builds the repository's container image for ``platform`` (``linux/amd64`` or
    ``linux/arm64``), pushes it tagged with the source revision and writes
    ``imagedefinitions.json`` and ``imageDetail.json``. The only project with privileged mode
    (Docker needs it)."""
    project = codebuild.PipelineProject(
        scope,
        "ImageBuild",
        description="Builds and pushes the container image; writes its definition files",
        role=role.immutable,
        environment=codebuild.BuildEnvironment(
            build_image=build_image, compute_type=compute_type, privileged=True
        ),
        environment_variables={
            "REPOSITORY_URI": plain_variable(repository.repository_uri),
            "REPOSITORY_NAME": plain_variable(repository.repository_name),
            "DOCKERFILE": plain_variable(dockerfile),
            "BUILD_CONTEXT": plain_variable(build_context),
            "CONTAINER_NAMES": plain_variable(" ".join(container_names)),
            "DOCKER_PLATFORM": plain_variable(platform),
        },
        build_spec=codebuild.BuildSpec.from_object(
            {
                "version": "0.2",
                # The release actions record the image deployed (pipeline variable Image.IMAGE_URI).
                "env": {"exported-variables": ["IMAGE_URI"]},
                "phases": {
                    phase: {"commands": commands}
                    for phase, commands in IMAGE_BUILD_COMMANDS.items()
                },
                "artifacts": {"files": [IMAGE_DEFINITIONS, IMAGE_DETAIL]},
            }
        ),
        cache=codebuild.Cache.local(codebuild.LocalCacheMode.DOCKER_LAYER),
        encryption_key=encryption_key,
        timeout=timeout,
        logging=codebuild.LoggingOptions(
            cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=log_group, prefix="image")
        ),
    )
    role.allow(LOG_WRITE, [log_group.log_group_arn])
    # ecr:GetAuthorizationToken has no resource type: "*" is the only valid resource.
    role.allow(["ecr:GetAuthorizationToken"], ["*"])
    role.allow(ECR_PUSH, [repository.repository_arn])
    acknowledge(project, "image-build-project")
    return project


def project_for_test(
    scope: Construct,
    test: PipelineTest,
    *,
    role: ServiceRole,
    encryption_key: kms.IKey,
    log_group: logs.ILogGroup,
) -> tuple[codebuild.PipelineProject, codebuild.ReportGroup | None]:
    """A non-privileged project running ``test.commands``; JUnit reports go to its own report
    group (kept when the stack is deleted, reports expire after 30 days in CodeBuild)."""
    report_group = None
    spec: dict[str, Any] = {
        "version": "0.2",
        "phases": {
            **(
                {"install": {"commands": list(test.install_commands)}}
                if test.install_commands
                else {}
            ),
            "build": {"commands": list(test.commands)},
        },
    }
    if test.reports:
        report_group = codebuild.ReportGroup(
            scope,
            "Reports",
            type=codebuild.ReportGroupType.TEST,
            removal_policy=RemovalPolicy.RETAIN,
        )
        spec["reports"] = {
            report_group.report_group_arn: {
                "files": list(test.reports),
                "file-format": "JUNITXML",
                **(
                    {"base-directory": test.reports_base_directory}
                    if test.reports_base_directory
                    else {}
                ),
            }
        }
        role.allow(REPORT_WRITE, [report_group.report_group_arn])
    project = codebuild.PipelineProject(
        scope,
        "Project",
        description=f"Test {test.name}",
        role=role.immutable,
        environment=codebuild.BuildEnvironment(
            build_image=test.build_image or DEFAULT_BUILD_IMAGE,
            compute_type=test.compute_type or DEFAULT_COMPUTE,
            privileged=False,
        ),
        environment_variables={k: plain_variable(v) for k, v in test.environment_variables.items()},
        build_spec=codebuild.BuildSpec.from_object(spec),
        encryption_key=encryption_key,
        timeout=test.timeout or DEFAULT_BUILD_TIMEOUT,
        logging=codebuild.LoggingOptions(
            cloud_watch=codebuild.CloudWatchLoggingOptions(
                log_group=log_group, prefix=f"test-{test.name}"
            )
        ),
    )
    role.allow(LOG_WRITE, [log_group.log_group_arn])
    return project, report_group


def waiting_project(
    scope: Construct,
    id: str,
    *,
    description: str,
    role: ServiceRole,
    build_spec: dict[str, Any],
    timeout: Duration,
    encryption_key: kms.IKey,
    log_group: logs.ILogGroup,
    log_prefix: str,
    environment_variables: dict[str, codebuild.BuildEnvironmentVariable] | None = None,
) -> codebuild.PipelineProject:
    """A project that mostly waits on AWS APIs: the cheapest host that runs the AWS CLI (arm64,
    SMALL), not privileged, logging to ``log_group``."""
    project = codebuild.PipelineProject(
        scope,
        id,
        description=description,
        role=role.immutable,
        environment=codebuild.BuildEnvironment(
            build_image=RELEASE_BUILD_IMAGE, compute_type=codebuild.ComputeType.SMALL
        ),
        environment_variables=environment_variables,
        build_spec=codebuild.BuildSpec.from_object(build_spec),
        encryption_key=encryption_key,
        timeout=timeout,
        logging=codebuild.LoggingOptions(
            cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=log_group, prefix=log_prefix)
        ),
    )
    role.allow(LOG_WRITE, [log_group.log_group_arn])
    return project


def waiting_action(
    *,
    name: str,
    project: codebuild.IProject,
    input: codepipeline.Artifact,
    variables: Mapping[str, str],
    role: ServiceRole,
    run_order: int,
) -> actions.CodeBuildAction:
    """The pipeline action that runs a ``waiting_project`` as ``role``, with ``variables``."""
    return actions.CodeBuildAction(
        action_name=name,
        project=project,
        input=input,
        environment_variables={key: plain_variable(value) for key, value in variables.items()},
        role=role.immutable,
        run_order=run_order,
    )


def plain_variable(value: str) -> codebuild.BuildEnvironmentVariable:
    return codebuild.BuildEnvironmentVariable(
        value=value, type=codebuild.BuildEnvironmentVariableType.PLAINTEXT
    )
