"""An AWS CodeCommit repository."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_events as events
from constructs import IConstruct

from ..permissions import CODECOMMIT_SOURCE, ServiceRole
from .base import SOURCE_NAMESPACE, PipelineSource, SourceStep, check_branch


@dataclass(frozen=True)
class CodeCommitSource(PipelineSource):
    """A CodeCommit repository; made by ``PipelineSource.code_commit``, which documents each
    field."""

    repository: codecommit.IRepository
    branch: str

    def _validate(self, scope: IConstruct) -> None:
        check_branch(scope, self.branch)

    def _action(self, output: codepipeline.Artifact, role: ServiceRole) -> SourceStep:
        action = actions.CodeCommitSourceAction(
            action_name="Source",
            repository=self.repository,
            branch=self.branch,
            output=output,
            trigger=actions.CodeCommitTrigger.NONE,
            role=role.immutable,
            variables_namespace=SOURCE_NAMESPACE,
        )
        role.allow(CODECOMMIT_SOURCE, [self.repository.repository_arn])
        return SourceStep(action, action.variables.commit_id)

    def _new_revision(self) -> events.EventPattern:
        """Pushes to the branch."""
        return events.EventPattern(
            source=["aws.codecommit"],
            detail_type=["CodeCommit Repository State Change"],
            resources=[self.repository.repository_arn],
            detail={
                "event": ["referenceCreated", "referenceUpdated"],
                "referenceType": ["branch"],
                "referenceName": [self.branch],
            },
        )
