"""What every kind of source does for the pipeline, and the factories that make them."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from ... import _validation as check
from ..._boundary import as_tuple
from ..permissions import START_PIPELINE, Roles, ServiceRole

SOURCE_NAMESPACE = "SourceVariables"
# A Git branch name (git check-ref-format, simplified): no control characters, spaces or
# ~ ^ : ? * [ \, no "..", "//" or "@{", not starting with "-" or "/", not ending with "/", "."
# or ".lock"; at most 255 characters (CodePipeline's BranchName limit).
BRANCH = re.compile(
    r"(?![-/])(?!.*(?:\.\.|//|@\{))(?!.*(?:/|\.|\.lock)$)[^\x00-\x20\x7f~^:?*\[\\]{1,255}"
)
BRANCH_RULE = "a Git branch name (no spaces, '..', '~^:?*[\\', not ending in '/', '.' or '.lock')"


@dataclass(frozen=True)
class SourceStep:
    """What a source gives the pipeline: its action, and the pipeline variable that holds the
    revision it fetched (the image tag)."""

    action: codepipeline.IAction
    revision: str


class PipelineSource:
    """Where the pipeline's code comes from. Make one with a factory:
    ``PipelineSource.connection(...)``, ``PipelineSource.code_commit(...)`` or
    ``PipelineSource.s3(...)``."""

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
    ) -> ConnectionSource:
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
        return ConnectionSource(
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
    def code_commit(repository: codecommit.IRepository, branch: str = "main") -> CodeCommitSource:
        """An AWS CodeCommit repository; pushes to ``branch`` start the pipeline (EventBridge).

        :param repository: the repository.
        :param branch: the branch the pipeline builds. Default: ``main``.
        """
        return CodeCommitSource(repository=repository, branch=branch)

    @staticmethod
    def s3(bucket: s3.IBucket, key: str) -> S3Source:
        """A zip archive in a versioned S3 bucket; uploading a new version starts the pipeline.

        The bucket must send events to EventBridge (``event_bridge_enabled=True`` on an
        ``s3.Bucket``); the image tag is the object's version id.

        :param bucket: a versioned bucket.
        :param key: the object key of the zip archive.
        """
        return S3Source(bucket=bucket, key=key)

    def _validate(self, scope: IConstruct) -> None:
        """Raise ``ValueError`` naming ``scope`` for any malformed value (tokens excepted)."""
        raise NotImplementedError

    def _action(self, output: codepipeline.Artifact, role: ServiceRole) -> SourceStep:
        """The source action, writing to ``output``; its permissions go to ``role``."""
        raise NotImplementedError

    def _start(
        self,
        scope: Construct,
        pipeline: codepipeline.Pipeline,
        action: codepipeline.IAction,
        roles: Roles,
    ) -> None:
        """Make a new revision start ``pipeline``: by default, the EventBridge event of
        ``_new_revision``."""
        start_on_event(scope, pipeline, self._new_revision(), roles)

    def _new_revision(self) -> events.EventPattern:
        """The event a new revision of the source emits."""
        raise NotImplementedError


def start_on_event(
    scope: Construct,
    pipeline: codepipeline.Pipeline,
    pattern: events.EventPattern,
    roles: Roles,
) -> None:
    """A rule that starts ``pipeline`` on ``pattern``, with a role that may start this pipeline
    only (CodeCommit pushes and S3 uploads)."""
    events_role = roles.add(
        ServiceRole(
            scope,
            "SourceEventsRole",
            assumed_by=iam.ServicePrincipal("events.amazonaws.com"),
            description="Starts the pipeline when its source changes",
            before_pipeline=False,
        )
    )
    events_role.allow(START_PIPELINE, [pipeline.pipeline_arn])
    events.Rule(
        scope,
        "SourceChanged",
        description=f"Starts {scope.node.path} when its source changes"[:512],
        event_pattern=pattern,
        targets=[targets.CodePipeline(pipeline, event_role=events_role.immutable)],
    )


def check_branch(scope: IConstruct, branch: str) -> None:
    check.matches(scope, "source.branch", branch, BRANCH, BRANCH_RULE)


# The factories' return types, defined in modules that import this one.
from .codecommit import CodeCommitSource  # noqa: E402
from .connection import ConnectionSource  # noqa: E402
from .s3 import S3Source  # noqa: E402
