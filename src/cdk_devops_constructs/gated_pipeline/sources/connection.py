"""A repository reached through an AWS CodeConnections connection (GitHub, GitLab, Bitbucket)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from constructs import Construct, IConstruct

from ... import _validation as check
from ..permissions import USE_CONNECTION, Roles, ServiceRole
from .base import SOURCE_NAMESPACE, PipelineSource, SourceStep, check_branch

# arn:<partition>:codeconnections:<region>:<account>:connection/<uuid>, and the same with the
# service's former prefix codestar-connections (connections created before the 2024 rename).
CONNECTION_ARN = re.compile(
    r"arn:aws(?:-cn|-us-gov)?:(?:codeconnections|codestar-connections):"
    r"[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:connection/"
    r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
)
# A branch or file-path pattern of a trigger filter (glob characters allowed).
PATTERN = re.compile(r"\S{1,255}")
OWNER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# GitLab repositories may sit in subgroups: "group/subgroup/project".
REPO = re.compile(r"[A-Za-z0-9._-]{1,100}(?:/[A-Za-z0-9._-]{1,100}){0,19}")
MAX_FILTER_PATTERNS = 8  # GitPushFilter lists hold at most 8 patterns


@dataclass(frozen=True)
class ConnectionSource(PipelineSource):
    """A CodeConnections repository; made by ``PipelineSource.connection``, which documents
    each field."""

    connection_arn: str
    owner: str
    repo: str
    branch: str
    trigger_branches: tuple[str, ...]
    file_paths: tuple[str, ...]
    excluded_file_paths: tuple[str, ...]

    def _validate(self, scope: IConstruct) -> None:
        check.matches(
            scope,
            "source.connection_arn",
            self.connection_arn,
            CONNECTION_ARN,
            "a CodeConnections ARN like "
            "arn:aws:codeconnections:us-east-1:123456789012:connection/<uuid>",
        )
        check.matches(
            scope,
            "source.owner",
            self.owner,
            OWNER,
            "a repository owner (letters, digits, '.', '_', '-')",
        )
        check.matches(
            scope,
            "source.repo",
            self.repo,
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
                    f"source.{prop} may hold at most {MAX_FILTER_PATTERNS} patterns (the limit "
                    f"of a Git push filter), got {len(patterns)}",
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
        check_branch(scope, self.branch)

    def _action(self, output: codepipeline.Artifact, role: ServiceRole) -> SourceStep:
        action = actions.CodeStarConnectionsSourceAction(
            action_name="Source",
            connection_arn=self.connection_arn,
            owner=self.owner,
            repo=self.repo,
            branch=self.branch,
            output=output,
            trigger_on_push=True,
            role=role.immutable,
            variables_namespace=SOURCE_NAMESPACE,
        )
        # The connection ARN may carry either service prefix; both actions are granted so that
        # the pipeline works whichever prefix IAM evaluates for this connection.
        role.allow(USE_CONNECTION, [self.connection_arn])
        return SourceStep(action, action.variables.commit_id)

    def _start(
        self,
        scope: Construct,
        pipeline: codepipeline.Pipeline,
        action: codepipeline.IAction,
        roles: Roles,
    ) -> None:
        """A V2 Git trigger with the push filter."""
        pipeline.add_trigger(
            provider_type=codepipeline.ProviderType.CODE_STAR_SOURCE_CONNECTION,
            git_configuration=codepipeline.GitConfiguration(
                source_action=action,
                push_filter=[
                    codepipeline.GitPushFilter(
                        branches_includes=list(self.trigger_branches),
                        file_paths_includes=list(self.file_paths) or None,
                        file_paths_excludes=list(self.excluded_file_paths) or None,
                    )
                ],
            ),
        )
