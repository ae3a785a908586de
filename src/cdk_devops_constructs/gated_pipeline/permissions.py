"""Roles whose every permission is written here, in one customer-managed policy per role.

CDK's pipeline actions and CodeBuild projects grant their roles what they need as they are
bound, with wildcard actions (``s3:GetObject*``, ``kms:GenerateDataKey*``) and wildcard
resources (``/aws/codebuild/<project>:*``, ``report-group/<project>-*``). GatedPipeline hands
them ``role.without_policy_updates()`` instead, so those grants are dropped, and states each
permission itself: explicit actions, resources as narrow as the service allows, and ``*`` only
where the Service Authorization Reference lists no resource type (with a comment saying so).

Object access to the artifact bucket is granted by the bucket policy, not here: object ARNs end
in ``/*``, and the bucket policy names the exact roles that may read or write artifacts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aws_cdk import Names, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .._compliance import acknowledge, as_nag_shows

ARTIFACT_READ = ("s3:GetObject", "s3:GetObjectVersion")
# CodePipeline uploads artifacts with a canned ACL (bucket-owner-full-control), which S3 authorizes
# as s3:PutObjectAcl too: without it, a CodeConnections source action fails with "Upload to S3
# failed ... Access Denied" (aws/aws-cdk#13557). The artifact bucket enforces bucket-owner
# ownership (ACLs disabled), so no other ACL can be set. CodePipeline's documented minimum for
# artifact objects is exactly these four actions (CodePipeline user guide, "Manage the
# CodePipeline service role").
ARTIFACT_WRITE = ("s3:PutObject", "s3:PutObjectAcl")
# Bucket-level calls CodePipeline and CodeBuild make before reading or writing artifacts: both
# services check the bucket's owner (GetBucketAcl) and region (GetBucketLocation); CodePipeline
# reads its versioning. Same documented minimum, and CodeBuild's "S3BucketIdentity" statement.
BUCKET_READ = (
    "s3:GetBucketAcl",
    "s3:GetBucketLocation",
    "s3:GetBucketVersioning",
    "s3:ListBucket",
)
KMS_DECRYPT = ("kms:Decrypt",)
KMS_ENCRYPT = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")

# --- Sources ----------------------------------------------------------------------------------
USE_CONNECTION = ("codestar-connections:UseConnection", "codeconnections:UseConnection")
CODECOMMIT_SOURCE = (
    "codecommit:CancelUploadArchive",
    "codecommit:GetBranch",
    "codecommit:GetCommit",
    "codecommit:GetUploadArchiveStatus",
    "codecommit:UploadArchive",
)
S3_SOURCE_READ = ("s3:GetObject", "s3:GetObjectVersion")
START_PIPELINE = ("codepipeline:StartPipelineExecution",)

# --- Builds -----------------------------------------------------------------------------------
CODEBUILD_START = ("codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild")
# What pushing to one repository needs (ECR "push" permissions), plus DescribeImages so that a
# rerun for a commit already pushed skips the build instead of failing on an immutable tag.
ECR_PUSH = (
    "ecr:BatchCheckLayerAvailability",
    "ecr:BatchGetImage",
    "ecr:CompleteLayerUpload",
    "ecr:DescribeImages",
    "ecr:GetDownloadUrlForLayer",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
)
# What a task's execution role needs to pull an image (ECR user guide, "Private repository
# policy examples": pulls; "Amazon ECR on Amazon ECS").
ECR_PULL = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")
LOG_WRITE = ("logs:CreateLogStream", "logs:PutLogEvents")
REPORT_WRITE = (
    "codebuild:BatchPutCodeCoverages",
    "codebuild:BatchPutTestCases",
    "codebuild:CreateReport",
    "codebuild:UpdateReport",
)

# --- Deployments ------------------------------------------------------------------------------
# What the ECS standard deploy action calls (CodePipeline user guide, service role permissions
# for the Amazon ECS action).
ECS_SERVICE_ACTIONS = ("ecs:DescribeServices", "ecs:UpdateService")
# No resource type in the Service Authorization Reference: "*" is the only valid resource.
ECS_TASK_DEFINITION_ACTIONS = ("ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition")
ECS_TASK_READ_ACTIONS = ("ecs:DescribeTasks", "ecs:ListTasks")
# Service Authorization Reference: the Express actions and ListServiceDeployments are granted on
# the service's ARN (the resource the API names with serviceArn / service; ECS developer guide,
# "Permissions required for viewing Amazon ECS service deployments", grants
# ListServiceDeployments on the service ARN).
EXPRESS_SERVICE_ACTIONS = (
    "ecs:DescribeExpressGatewayService",
    "ecs:ListServiceDeployments",
    "ecs:UpdateExpressGatewayService",
)
# The CodeDeploy ECS (blue/green) action (CodePipeline user guide, "Manage the CodePipeline
# service role": CodeDeploy actions), by the resource each one is authorized on.
CODEDEPLOY_APPLICATION_ACTIONS = (
    "codedeploy:GetApplication",
    "codedeploy:GetApplicationRevision",
    "codedeploy:RegisterApplicationRevision",
)
CODEDEPLOY_GROUP_ACTIONS = ("codedeploy:CreateDeployment", "codedeploy:GetDeployment")
CODEDEPLOY_CONFIG_ACTIONS = ("codedeploy:GetDeploymentConfig",)
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

# --- Gates and releases -----------------------------------------------------------------------
ALARM_READ = ("cloudwatch:DescribeAlarmHistory", "cloudwatch:DescribeAlarms")
PUT_SECRET = ("secretsmanager:PutSecretValue",)
ASSUME_ROLE = ("sts:AssumeRole",)


class ServiceRole(Construct):
    """A role and the one managed policy that holds all its permissions.

    ``role`` is the role itself; ``immutable`` is what is passed to CDK constructs so that they
    cannot add permissions behind the library's back. Call ``allow`` while building, then
    ``attach`` once.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        assumed_by: iam.IPrincipal,
        description: str,
        before_pipeline: bool = True,
        named: bool = False,
    ) -> None:
        """
        :param before_pipeline: the pipeline is created only once this role's policy exists
            (False for a role whose policy names the pipeline, which would be a cycle).
        :param named: give the role a name known at synthesis (``name``), for roles that a
            policy of another account names.
        """
        super().__init__(scope, id)
        self.before_pipeline = before_pipeline
        self.name: str | None = (
            Names.unique_resource_name(self, max_length=64, separator="-") if named else None
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=assumed_by,
            description=description[:1000],
            role_name=self.name,
        )
        self.immutable: iam.IRole = self.role.without_policy_updates()
        self._grants: list[
            tuple[tuple[str, ...], tuple[str, ...], dict[str, dict[str, object]] | None]
        ] = []
        self._acknowledgments: list[tuple[str, dict[str, str]]] = []
        self.policy: iam.ManagedPolicy | None = None

    def allow(
        self,
        actions: Sequence[str],
        resources: Sequence[str],
        *,
        conditions: dict[str, dict[str, object]] | None = None,
    ) -> None:
        if resources:  # nothing to allow (a stage without secrets to record, say)
            self._grants.append((tuple(actions), tuple(resources), conditions))

    def use_key(self, key: kms.IKey | None, actions: Sequence[str]) -> None:
        if key is not None:
            self.allow(actions, [key.key_arn])

    def _statements(self) -> list[iam.PolicyStatement]:
        """One statement per (resources, conditions), its actions merged and sorted."""
        stack = Stack.of(self)
        merged: dict[str, tuple[set[str], tuple[str, ...], Any]] = {}
        for actions, resources, conditions in self._grants:
            key = json.dumps(stack.resolve([list(resources), conditions]), sort_keys=True)
            merged.setdefault(key, (set(), resources, conditions))[0].update(actions)
        return [
            iam.PolicyStatement(
                actions=sorted(actions), resources=list(resources), conditions=conditions
            )
            for actions, resources, conditions in merged.values()
        ]

    def acknowledge(self, key: str, **details: str) -> None:
        """Acknowledge the findings ``_compliance.ACKNOWLEDGMENTS[key]`` on the policy."""
        if (key, details) not in self._acknowledgments:
            self._acknowledgments.append((key, details))

    def attach(self) -> iam.ManagedPolicy:
        """Create the managed policy and attach it to the role; call once, after every
        ``allow``."""
        if self.policy is not None:
            raise RuntimeError(f"{self.node.path}: the policy is already attached")
        self.policy = iam.ManagedPolicy(
            self, "Policy", roles=[self.role], statements=self._statements()
        )
        for key, details in self._acknowledgments:
            acknowledge(self.policy, key, **details)
        return self.policy


def allow_new_revisions(role: ServiceRole, passed_roles: Sequence[str]) -> None:
    """Register task definition revisions (``RegisterTaskDefinition`` and
    ``DescribeTaskDefinition`` have no resource type: '*'), tagged at registration only, and
    pass ``passed_roles`` (the revisions' task and execution roles) to ECS tasks."""
    role.allow(ECS_TASK_DEFINITION_ACTIONS, ["*"])
    role.allow(
        ["ecs:TagResource"],
        ["*"],
        conditions={"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}},
    )
    role.allow(
        ["iam:PassRole"],
        unique(passed_roles),
        conditions={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
    )


def unique(values: Sequence[str]) -> list[str]:
    """``values`` without repeats, in order."""
    return list(dict.fromkeys(values))


class Roles:
    """Every role a pipeline makes, so that each gets its one managed policy once every
    permission is known (``attach``)."""

    def __init__(self, scope: Construct, *, named: bool) -> None:
        """
        :param named: the pipeline deploys to other accounts, whose roles trust the pipeline's
            roles by name.
        """
        self.named = named
        self._roles: list[ServiceRole] = []
        self.pipeline = self.add(
            ServiceRole(
                scope,
                "PipelineRole",
                assumed_by=iam.ServicePrincipal("codepipeline.amazonaws.com"),
                description="Service role of the pipeline; assumes one role per action",
                named=named,
            )
        )

    def add(self, role: ServiceRole) -> ServiceRole:
        self._roles.append(role)
        return role

    def action(self, scope: Construct, id: str, description: str) -> ServiceRole:
        """A role that only the pipeline role may assume, for one kind of action."""
        role = self.add(
            ServiceRole(
                scope,
                id,
                assumed_by=iam.ArnPrincipal(self.pipeline.role.role_arn),
                description=description,
            )
        )
        self.pipeline.allow(ASSUME_ROLE, [role.role.role_arn])
        return role

    def codebuild(
        self, scope: Construct, id: str, description: str, *, named: bool = False
    ) -> ServiceRole:
        """The service role of a CodeBuild project; ``named`` for a project that assumes
        roles in other accounts (when the pipeline deploys there)."""
        return self.add(
            ServiceRole(
                scope,
                id,
                assumed_by=iam.ServicePrincipal("codebuild.amazonaws.com"),
                description=description,
                named=named and self.named,
            )
        )

    def attach(self, pipeline: Construct) -> None:
        """One managed policy per role; the pipeline waits for them, so that no action runs
        before its role may act."""
        for role in self._roles:
            policy = role.attach()
            if role.before_pipeline:
                pipeline.node.add_dependency(policy)


class ArtifactAccess:
    """Grants on the artifact bucket: object access through the bucket policy, bucket-level
    reads and the key through each role's own policy."""

    def __init__(self, bucket: s3.Bucket, key: kms.IKey) -> None:
        self._bucket = bucket
        self._key = key
        self._readers: list[iam.IRole] = []
        self._writers: list[iam.IRole] = []

    def grant(self, role: ServiceRole, *, write: bool) -> None:
        role.allow(BUCKET_READ, [self._bucket.bucket_arn])
        role.use_key(self._key, KMS_ENCRYPT if write else KMS_DECRYPT)
        (self._writers if write else self._readers).append(role.role)

    def grant_external(self, role: iam.IRole) -> None:
        """Read access for a role the pipeline does not own (a CloudFormation deployment role):
        bucket policy for the objects; its own policy must allow decrypting with the key."""
        self._readers.append(role)

    def grant_replica(
        self, role: ServiceRole, bucket: s3.IBucket, region: str, *, write: bool
    ) -> None:
        """Access for a role of the pipeline's account to CodePipeline's replication bucket
        of ``region`` (the pipeline role copies the artifacts there; an action of that region
        reads them), by the role's own policy: the bucket is aws-cdk-lib's, and its key is
        known by alias only, so the role may use the keys of the pipeline's account in that
        region through S3 only."""
        stack = Stack.of(role)
        role.allow(ARTIFACT_READ, [bucket.arn_for_objects("*")])
        if write:
            role.allow(ARTIFACT_WRITE, [bucket.arn_for_objects("*")])
        role.allow(BUCKET_READ, [bucket.bucket_arn])
        role.allow(
            KMS_ENCRYPT if write else KMS_DECRYPT,
            [stack.format_arn(service="kms", region=region, resource="key", resource_name="*")],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        )
        role.acknowledge(
            "replication-bucket-access",
            partition=as_nag_shows(stack.partition, "AWS::Partition"),
            region=region,
            account=as_nag_shows(stack.account, "AWS::AccountId"),
            bucket=str(stack.resolve(bucket.bucket_name)),
        )

    def grant_across_accounts(self, role: ServiceRole, region: str) -> None:
        """Read access for a role of another account (a deploy role there) to the artifacts of
        ``region`` (the artifact bucket, or CodePipeline's replication bucket of that region):
        its own policy may read the pipeline account's buckets and decrypt with its keys
        through S3 there; the buckets' and the keys' policies name the role (CDK writes those
        statements for a role of another account)."""
        stack = Stack.of(role)
        account = Stack.of(self._bucket).account
        in_pipeline_account: dict[str, dict[str, object]] = {
            "StringEquals": {"s3:ResourceAccount": account}
        }
        buckets = stack.format_arn(service="s3", region="", account="", resource="*")
        role.allow(ARTIFACT_READ, [f"{buckets}/*"], conditions=in_pipeline_account)
        role.allow(BUCKET_READ, [buckets], conditions=in_pipeline_account)
        role.allow(
            KMS_DECRYPT,
            [stack.format_arn(service="kms", region=region, account=account, resource="key/*")],
            conditions={"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
        )
        role.acknowledge(
            "artifacts-of-pipeline-account",
            partition=as_nag_shows(stack.partition, "AWS::Partition"),
            region=region,
            account=account,
        )

    def apply(self) -> None:
        """Write the bucket-policy statements (once every role is known)."""
        objects = self._bucket.arn_for_objects("*")
        for sid, roles, actions in (
            ("PipelineRolesReadArtifacts", self._readers + self._writers, ARTIFACT_READ),
            ("PipelineRolesWriteArtifacts", self._writers, ARTIFACT_WRITE),
        ):
            if roles:
                self._bucket.add_to_resource_policy(
                    iam.PolicyStatement(
                        sid=sid,
                        principals=[iam.ArnPrincipal(r.role_arn) for r in _unique(roles)],
                        actions=list(actions),
                        resources=[objects],
                    )
                )


def _unique(roles: list[iam.IRole]) -> list[iam.IRole]:
    seen: list[iam.IRole] = []
    for role in roles:
        if all(role is not s for s in seen):
            seen.append(role)
    return seen
