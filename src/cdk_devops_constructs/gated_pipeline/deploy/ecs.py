"""CodePipeline's Amazon ECS standard deploy action, for services ECS deploys itself
(``DeployTarget.method == "ecs"``: ``ObservedService``)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from constructs import Construct

from ...service_contract import DeployTarget
from ..environments import TargetAccount
from ..permissions import (
    ECS_SERVICE_ACTIONS,
    ECS_TASK_READ_ACTIONS,
    ArtifactAccess,
    Roles,
    ServiceRole,
    allow_new_revisions,
    unique,
)

# The action's maximum wait for the service to be deployed (CodePipeline action reference,
# Amazon ECS: "configurable up to one hour"); validation keeps bake times within it.
DEPLOYMENT_TIMEOUT = Duration.minutes(60)


def ecs_deploy_actions(
    scope: Construct,
    *,
    stage: str,
    named: Sequence[tuple[str, DeployTarget]],
    roles: Roles,
    artifacts: ArtifactAccess,
    target: TargetAccount | None,
    image_file: codepipeline.ArtifactPath,
    run_order: int,
) -> tuple[list[codepipeline.IAction], ServiceRole]:
    """One ECS standard deploy action per service of stage ``stage``, in parallel, and the
    stage's deploy role they act with (in the services' account when it is not the
    pipeline's). Services are named, never referenced, so the pipeline's stack imports nothing
    from theirs."""
    if target is None:
        role = roles.action(scope, "DeployRole", f"Deploys the image to {stage}")
        artifacts.grant(role, write=False)
        action_role = role.immutable
    else:
        role = target.role(
            "DeployRole",
            "Deploys the pipeline's images to ECS services in this account",
            assumed_by=roles.pipeline,
        )
        artifacts.grant_across_accounts(role, target.env.region)
        # The artifact bucket and its key grant the role too (CDK writes those statements for
        # a role of another account); the role's own policy is in its stack.
        action_role = iam.Role.from_role_arn(
            scope, "DeployRoleOfTarget", target.arn_of(role), mutable=False
        )
    allow_ecs_deployments(role, [t for _, t in named])
    return [
        actions.EcsDeployAction(
            action_name=name,
            service=ecs.FargateService.from_service_arn_with_cluster(
                scope, f"{name}Service", deploy_target.service_arn(scope)
            ),
            image_file=image_file,
            role=action_role,
            run_order=run_order,
            deployment_timeout=DEPLOYMENT_TIMEOUT,
        )
        for name, deploy_target in named
    ], role


def allow_ecs_deployments(role: ServiceRole, targets: Sequence[DeployTarget]) -> None:
    """What the ECS standard deploy action does with ``role`` to ``targets``: register a task
    definition revision with the new image and update the service to it."""
    role.acknowledge("ecs-deploy-role-policy")
    role.allow(ECS_SERVICE_ACTIONS, unique([t.service_arn(role) for t in targets]))
    allow_new_revisions(role, [arn for t in targets for arn in t.role_arns(role)])
    role.allow(
        ECS_TASK_READ_ACTIONS,
        ["*"],
        conditions={"ArnEquals": {"ecs:cluster": unique([t.cluster_arn(role) for t in targets])}},
    )
