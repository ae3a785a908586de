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

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .._compliance import acknowledge

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
    ) -> None:
        """
        :param before_pipeline: the pipeline is created only once this role's policy exists
            (False for a role whose policy names the pipeline, which would be a cycle).
        """
        super().__init__(scope, id)
        self.before_pipeline = before_pipeline
        self.role = iam.Role(self, "Role", assumed_by=assumed_by, description=description[:1000])
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
