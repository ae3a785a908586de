"""CodePipeline's Amazon ECS blue/green action through CodeDeploy (``CodeDeployToECS``), for
services whose deployment controller is already ``CODE_DEPLOY`` (``DeployStage.codedeploy``).

ECS-native deployments are the default (ECS deploys itself, with blue/green, canary and linear
strategies since 2025); CodeDeploy stays for teams that have not migrated yet ("Migrate
CodeDeploy blue/green deployments to Amazon ECS blue/green deployments", Amazon ECS developer
guide). The action reads, from the source, a task definition template whose image is the
placeholder ``<IMAGE1_NAME>`` and an AppSpec file whose task definition is
``<TASK_DEFINITION>``; from the build, ``imageDetail.json`` (``{"ImageURI": ...}``), written
next to ``imagedefinitions.json`` (CodePipeline user guide, "Image definitions file
reference" and "Amazon Elastic Container Service and CodeDeploy blue-green deploy action
reference").
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from constructs import Construct

from ..._compliance import as_nag_shows
from ..permissions import (
    CODEDEPLOY_APPLICATION_ACTIONS,
    CODEDEPLOY_CONFIG_ACTIONS,
    CODEDEPLOY_GROUP_ACTIONS,
    ArtifactAccess,
    Roles,
    allow_new_revisions,
)
from ..stages import CodeDeployTarget


def codedeploy_actions(
    scope: Construct,
    *,
    stage: str,
    targets: Sequence[CodeDeployTarget],
    roles: Roles,
    artifacts: ArtifactAccess,
    source: codepipeline.Artifact,
    image: codepipeline.Artifact,
    run_order: int,
) -> list[codepipeline.IAction]:
    """One CodeDeployToECS action per target of stage ``stage``, in parallel, with the stage's
    CodeDeploy role (whose permissions are the ones CodePipeline's user guide lists for the
    action, on the targets' application and deployment group only)."""
    role = roles.action(scope, "CodeDeployRole", f"Deploys the image through CodeDeploy to {stage}")
    artifacts.grant(role, write=False)
    for target in targets:
        group = target.deployment_group
        role.allow(CODEDEPLOY_APPLICATION_ACTIONS, [group.application.application_arn])
        role.allow(CODEDEPLOY_GROUP_ACTIONS, [group.deployment_group_arn])
    # Reading a deployment configuration, whichever the group uses: an imported group states
    # its configuration only if the user passed it (else aws-cdk-lib assumes ECSAllAtOnce).
    stack = Stack.of(scope)
    role.allow(
        CODEDEPLOY_CONFIG_ACTIONS,
        [
            stack.format_arn(
                service="codedeploy",
                resource="deploymentconfig",
                resource_name="*",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
        ],
    )
    # The action registers the template as a new revision, whose roles (named in the source,
    # unknown here) CodeDeploy's tasks run with.
    allow_new_revisions(role, ["*"])
    role.acknowledge(
        "codedeploy-role-policy",
        partition=as_nag_shows(stack.partition, "AWS::Partition"),
        region=as_nag_shows(stack.region, "AWS::Region"),
        account=as_nag_shows(stack.account, "AWS::AccountId"),
    )
    return [
        actions.CodeDeployEcsDeployAction(
            action_name=target.action_name,
            deployment_group=target.deployment_group,
            task_definition_template_file=source.at_path(target.task_definition_path),
            app_spec_template_file=source.at_path(target.appspec_path),
            container_image_inputs=[
                actions.CodeDeployEcsContainerImageInput(
                    input=image, task_definition_placeholder=target.image_placeholder
                )
            ],
            role=role.immutable,
            run_order=run_order,
        )
        for target in targets
    ]
