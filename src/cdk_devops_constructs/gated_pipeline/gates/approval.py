"""A person approves the change before the stage deploys it (``Gate.manual_approval``)."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from ... import _validation as check
from ..._boundary import Text
from ..._notifications import encrypted_topic, warn_if_unsubscribed
from ..permissions import Roles
from .base import MAX_APPROVAL_TIMEOUT, MIN_APPROVAL_TIMEOUT, URL, Gate


@dataclass(frozen=True)
class ManualApprovalGate(Gate):
    """A manual approval at the start of a stage; made by ``Gate.manual_approval``."""

    emails: tuple[str, ...]
    review_url: str | None
    comment: Text | None
    timeout: Duration | None

    def validate(self, scope: IConstruct, prop: str) -> None:
        check.emails(scope, f"{prop}.emails", self.emails)
        if (
            self.review_url is not None
            and not check.is_token(self.review_url)
            and (not URL.fullmatch(self.review_url) or len(self.review_url) > 2048)
        ):
            check.fail(
                scope,
                f"{prop}.review_url must be an http(s) URL of at most 2048 characters, "
                f"got {self.review_url!r}",
            )
        # The approval's comment is shown with the request; CodePipeline keeps 512 characters.
        if (
            self.comment is not None
            and not check.is_token(self.comment)
            and not 1 <= len(self.comment) <= 500
        ):
            check.fail(scope, f"{prop}.comment must be 1-500 characters, got {len(self.comment)}")
        if self.timeout is not None:
            check.minutes_in(
                scope, f"{prop}.timeout", self.timeout, MIN_APPROVAL_TIMEOUT, MAX_APPROVAL_TIMEOUT
            )

    def _action(
        self,
        scope: Construct,
        pipeline: Construct,
        *,
        stage: str,
        roles: Roles,
        key: kms.IKey,
        run_order: int,
    ) -> tuple[codepipeline.IAction, sns.ITopic]:
        """The approval action at the start of stage ``stage``, and the topic approvers hear
        on (encrypted with ``key``)."""
        topic = encrypted_topic(
            scope,
            "ApprovalTopic",
            key=key,
            emails=self.emails,
            display_name=f"Approvals: {stage}",
        )
        warn_if_unsubscribed(
            topic,
            pipeline,
            f"The approval topic of stage {stage} of {pipeline.node.path}",
            "pass emails to Gate.manual_approval (the approval can still be given in the console)",
        )
        role = roles.action(scope, "ApprovalRole", f"Approval of {stage}")
        role.allow(["sns:Publish"], [topic.topic_arn])
        role.use_key(key, ("kms:Decrypt", "kms:GenerateDataKey"))
        action = actions.ManualApprovalAction(
            action_name="Approve",
            notification_topic=topic,
            external_entity_link=self.review_url,
            additional_information=self.comment,
            timeout=self.timeout,
            role=role.immutable,
            run_order=run_order,
        )
        return action, topic
