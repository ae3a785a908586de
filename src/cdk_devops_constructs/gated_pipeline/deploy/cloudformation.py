"""A deploy stage's infrastructure: a CloudFormation stack changed through a change set
(``DeployStage.cloudformation``), in the pipeline's account and region."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ..._compliance import as_nag_shows
from ..._policies import add_statement
from ..permissions import CHANGE_SET_ACTIONS, KMS_DECRYPT, ArtifactAccess, Roles
from ..stages import CloudFormationTarget


def infrastructure_actions(
    scope: Construct,
    *,
    stage: str,
    target: CloudFormationTarget,
    roles: Roles,
    artifacts: ArtifactAccess,
    key: kms.IKey,
    template: codepipeline.ArtifactPath,
    run_order: int,
) -> list[codepipeline.IAction]:
    """Create a change set for the stack, then execute it (two run orders)."""
    role = roles.action(scope, "InfrastructureRole", f"Changes the stack {target.stack_name}")
    artifacts.grant(role, write=False)
    stack = Stack.of(scope)
    stack_arn = stack.format_arn(
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
    artifacts.grant_external(target.deployment_role)
    add_statement(
        key,
        iam.PolicyStatement(
            sid=f"DeploymentRoleReadsArtifacts{stage.replace('-', '')}"[:100],
            principals=[iam.ArnPrincipal(target.deployment_role.role_arn)],
            actions=list(KMS_DECRYPT),
            # In a key policy, "*" means "this key".
            resources=["*"],
        ),
        why=f"the CloudFormation deployment role of stage {stage} reading artifacts",
    )
    role.acknowledge(
        "cloudformation-target-role-policy",
        partition=as_nag_shows(stack.partition, "AWS::Partition"),
        region=as_nag_shows(stack.region, "AWS::Region"),
        account=as_nag_shows(stack.account, "AWS::AccountId"),
        stack_name=target.stack_name,
    )
    return [
        actions.CloudFormationCreateReplaceChangeSetAction(
            action_name="PrepareInfrastructure",
            stack_name=target.stack_name,
            change_set_name=target.change_set_name,
            admin_permissions=False,
            template_path=template,
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
