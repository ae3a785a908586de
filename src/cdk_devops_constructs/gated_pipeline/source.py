"""Where a GatedPipeline's code comes from: a CodeConnections repository, CodeCommit or S3."""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

from .. import _validation as check
from .._boundary import as_tuple

# arn:<partition>:codeconnections:<region>:<account>:connection/<uuid>, and the same with the
# service's former prefix codestar-connections (connections created before the 2024 rename).
CONNECTION_ARN = re.compile(
    r"arn:aws(?:-cn|-us-gov)?:(?:codeconnections|codestar-connections):"
    r"[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:connection/"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
# A Git branch name (git check-ref-format, simplified): no control characters, spaces or
# ~ ^ : ? * [ \, no "..", "//" or "@{", not starting with "-" or "/", not ending with "/", "."
# or ".lock"; at most 255 characters (CodePipeline's BranchName limit).
BRANCH = re.compile(
    r"(?![-/])(?!.*(?:\.\.|//|@\{))(?!.*(?:/|\.|\.lock)$)[^\x00-\x20\x7f~^:?*\[\\]{1,255}"
)
# A branch or file-path pattern of a trigger filter (glob characters allowed).
PATTERN = re.compile(r"\S{1,255}")
OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# GitLab repositories may sit in subgroups: "group/subgroup/project".
REPO = re.compile(r"[A-Za-z0-9._-]{1,100}(?:/[A-Za-z0-9._-]{1,100}){0,19}")
MAX_FILTER_PATTERNS = 8  # GitPushFilter lists hold at most 8 patterns
S3_KEY = re.compile(r"[^*]{1,1024}")


class SourceKind(enum.Enum):
    """Which factory made a PipelineSource (the value is the factory's name)."""

    CONNECTION = "connection"
    CODECOMMIT = "code_commit"
    S3 = "s3"


# The fields each kind of source needs.
REQUIRED = {
    SourceKind.CONNECTION: ("connection_arn", "owner", "repo", "branch"),
    SourceKind.CODECOMMIT: ("repository", "branch"),
    SourceKind.S3: ("bucket", "key"),
}


@dataclass(frozen=True)
class PipelineSource:
    """Where the pipeline's code comes from. Make one with a factory:
    ``PipelineSource.connection(...)``, ``PipelineSource.code_commit(...)`` or
    ``PipelineSource.s3(...)``."""

    kind: SourceKind
    connection_arn: str | None = None
    owner: str | None = None
    repo: str | None = None
    branch: str | None = None
    trigger_branches: tuple[str, ...] = ()
    file_paths: tuple[str, ...] = ()
    excluded_file_paths: tuple[str, ...] = ()
    repository: codecommit.IRepository | None = None
    bucket: s3.IBucket | None = None
    key: str | None = None

    @staticmethod
    def connection(
        *,
        connection_arn: str,
        owner: str,
        repo: str,
        branch: str = "main",
        trigger_branches: Sequence[str] | None = None,
        file_paths: Sequence[str] = (),
        excluded_file_paths: Sequence[str] = (),
    ) -> PipelineSource:
        """A GitHub, GitHub Enterprise, GitLab or Bitbucket repository reached through an AWS
        CodeConnections connection (create it and complete the handshake in the console first).

        The pipeline starts on pushes that match the trigger filter (a V2 Git trigger).

        :param connection_arn: ``arn:aws:codeconnections:<region>:<account>:connection/<id>``
            (or the former ``codestar-connections`` prefix).
        :param owner: the user, organization or workspace that owns the repository.
        :param repo: the repository name (``group/subgroup/project`` for GitLab subgroups).
        :param branch: the branch the pipeline builds. Default: ``main``.
        :param trigger_branches: branch patterns (glob) whose pushes start the pipeline, at
            most 8. Default: ``[branch]``.
        :param file_paths: start only when a push changes a file matching one of these glob
            patterns, at most 8. Default: any file.
        :param excluded_file_paths: never start for pushes that only change files matching
            these patterns, at most 8. Default: none.
        """
        return PipelineSource(
            kind=SourceKind.CONNECTION,
            connection_arn=connection_arn,
            owner=owner,
            repo=repo,
            branch=branch,
            trigger_branches=as_tuple(trigger_branches)
            if trigger_branches is not None
            else (branch,),
            file_paths=as_tuple(file_paths),
            excluded_file_paths=as_tuple(excluded_file_paths),
        )

    @staticmethod
    def code_commit(repository: codecommit.IRepository, branch: str = "main") -> PipelineSource:
        """An AWS CodeCommit repository; pushes to ``branch`` start the pipeline (EventBridge).

        :param repository: the repository.
        :param branch: the branch the pipeline builds. Default: ``main``.
        """
        return PipelineSource(kind=SourceKind.CODECOMMIT, repository=repository, branch=branch)

    @staticmethod
    def s3(bucket: s3.IBucket, key: str) -> PipelineSource:
        """A zip archive in a versioned S3 bucket; uploading a new version starts the pipeline.

        The bucket must send events to EventBridge (``event_bridge_enabled=True`` on an
        ``s3.Bucket``); the image tag is the object's version id.

        :param bucket: a versioned bucket.
        :param key: the object key of the zip archive.
        """
        return PipelineSource(kind=SourceKind.S3, bucket=bucket, key=key)

    @property
    def description(self) -> str:
        if self.kind is SourceKind.CONNECTION:
            return f"{self.owner}/{self.repo}@{self.branch}"
        if self.kind is SourceKind.CODECOMMIT:
            return f"CodeCommit@{self.branch}"
        return "S3 archive"

    def validate(self, scope: IConstruct) -> None:
        """Raise ``ValueError`` naming ``scope`` for any malformed value (tokens excepted)."""
        for name in REQUIRED[self.kind]:
            if getattr(self, name) is None:
                check.fail(
                    scope,
                    f"source.{name} is required by PipelineSource.{self.kind.value}(...), got None",
                )
        if self.kind is SourceKind.CONNECTION:
            check.matches(
                scope,
                "source.connection_arn",
                self.connection_arn or "",
                CONNECTION_ARN,
                "a CodeConnections ARN like "
                "arn:aws:codeconnections:us-east-1:123456789012:connection/<uuid>",
            )
            check.matches(
                scope,
                "source.owner",
                self.owner or "",
                OWNER,
                "a repository owner (letters, digits, '.', '_', '-')",
            )
            check.matches(
                scope,
                "source.repo",
                self.repo or "",
                REPO,
                "a repository name (letters, digits, '.', '_', '-'; '/' between GitLab groups)",
            )
            for prop, patterns in (
                ("trigger_branches", self.trigger_branches),
                ("file_paths", self.file_paths),
                ("excluded_file_paths", self.excluded_file_paths),
            ):
                if len(patterns) > MAX_FILTER_PATTERNS:
                    check.fail(
                        scope,
                        f"source.{prop} may hold at most {MAX_FILTER_PATTERNS} patterns (the "
                        f"limit of a Git push filter), got {len(patterns)}",
                    )
                for index, pattern in enumerate(patterns):
                    check.matches(
                        scope,
                        f"source.{prop}[{index}]",
                        pattern,
                        PATTERN,
                        "a glob pattern of 1-255 characters without spaces",
                    )
            if not self.trigger_branches:
                check.fail(scope, "source.trigger_branches must name at least one branch pattern")
        if self.kind in (SourceKind.CONNECTION, SourceKind.CODECOMMIT):
            check.matches(
                scope,
                "source.branch",
                self.branch or "",
                BRANCH,
                "a Git branch name (no spaces, '..', '~^:?*[\\', not ending in '/', '.' or "
                "'.lock')",
            )
        if self.kind is SourceKind.S3:
            check.matches(
                scope,
                "source.key",
                self.key or "",
                S3_KEY,
                "an S3 object key of 1-1024 characters without '*'",
            )
            assert self.bucket is not None
            _check_source_bucket(scope, self.bucket)


def _check_source_bucket(scope: IConstruct, bucket: s3.IBucket) -> None:
    """An S3 source starts the pipeline on new object versions, through EventBridge: the bucket
    must be versioned (CodePipeline's S3 source action requires it) and send its events to
    EventBridge. Checked on a bucket of this app; an imported one cannot be seen."""
    resource = bucket.node.default_child
    if not isinstance(resource, s3.CfnBucket):
        return
    stack = Stack.of(resource)
    versioning = stack.resolve(resource.versioning_configuration) or {}
    if versioning.get("status") != "Enabled":
        check.fail(
            scope,
            f"source.bucket ({bucket.node.path}) must be versioned (s3.Bucket(..., "
            "versioned=True)): the S3 source action reads object versions, got versioning "
            f"{versioning.get('status', 'off')}",
        )
    if not _sends_to_eventbridge(bucket, resource):
        check.fail(
            scope,
            f"source.bucket ({bucket.node.path}) must send its events to EventBridge "
            "(s3.Bucket(..., event_bridge_enabled=True)): uploads start the pipeline through "
            "an EventBridge rule, got no EventBridge notifications",
        )


def _sends_to_eventbridge(bucket: s3.IBucket, resource: s3.CfnBucket) -> bool:
    """EventBridge notifications, set on the bucket resource itself or, as ``s3.Bucket`` does,
    by its ``Notifications`` custom resource (read from the resource's properties)."""
    stack = Stack.of(resource)
    own = stack.resolve(resource.notification_configuration) or {}
    if "eventBridgeConfiguration" in own or "EventBridgeConfiguration" in own:
        return True
    notifications = bucket.node.try_find_child("Notifications")
    custom = notifications.node.try_find_child("Resource") if notifications else None
    if custom is None:
        return False
    properties = stack.resolve(getattr(custom, "_cfn_properties", None)) or {}
    return "EventBridgeConfiguration" in (properties.get("NotificationConfiguration") or {})
