"""A pipeline's incidents in the team's chat channels: CodeStar Notifications rules.

Amazon Q Developer in chat applications posts the notifications of CodeStar Notifications rules
and of CloudWatch alarms; it drops EventBridge events whose content an input transformer
changed, which is what the pipeline's email rules send (``gated_pipeline.events``). So the chat
channels get a notification rule of their own, whose targets are the channel configurations
themselves (``AWSChatbotSlack``, ``AWSChatbotMicrosoftTeams``): no topic between, so no topic or
key policy can drop a notice.

The events (Developer Tools console user guide, "Events for notification rules on pipelines"):

- ``codepipeline-pipeline-pipeline-execution-failed``: an execution failed;
- ``codepipeline-pipeline-stage-execution-failed``: a stage failed, which starts its rollback
  when it rolls back on failure;
- ``codepipeline-pipeline-manual-approval-needed``: an approval is waiting.

A stage rollback has no event of its own: it runs as a new execution, which no notification
event tells from any other. The failed stage that starts it is posted; the pipeline's email
rules report the rollback execution starting (``RollbackStarted``).
"""

from __future__ import annotations

from aws_cdk import Names
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codestarnotifications as notifications
from constructs import Construct

from .chat import ChatChannels
from .settings import Incidents, check_incidents

PIPELINE_EVENTS = (
    "codepipeline-pipeline-pipeline-execution-failed",
    "codepipeline-pipeline-stage-execution-failed",
    "codepipeline-pipeline-manual-approval-needed",
)


def notify_chat(
    scope: Construct, pipeline: codepipeline.IPipeline, incidents: Incidents | None
) -> notifications.CfnNotificationRule | None:
    """A notification rule posting ``pipeline``'s failures and waiting approvals in the chat
    channels of ``incidents`` (None without channels). The rest of ``incidents`` acts on a
    service's health signal, which a pipeline has none of."""
    if incidents is None:
        return None
    incidents = check_incidents(scope, "incidents", incidents)
    if not incidents.chat:
        return None
    channels = ChatChannels.of(scope)
    rule = notifications.CfnNotificationRule(
        scope,
        "ChatNotifications",
        name="ChatNotifications",  # replaced below by a name unique in the account
        detail_type="FULL",
        event_type_ids=list(PIPELINE_EVENTS),
        resource=pipeline.pipeline_arn,
        targets=[channels.target(channel) for channel in incidents.chat],
    )
    rule.name = Names.unique_resource_name(rule, max_length=64)
    return rule
