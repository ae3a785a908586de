"""The chat channels of a stack: one Amazon Q Developer in chat applications configuration per
channel, shared by every service and pipeline of the stack.

A configuration name is unique in the account, and a channel may hear from several services:
each channel gets one configuration per stack, subscribed to the incident topic of every service
of the stack that names it, and targeted by the stack's pipeline notification rules. The
configurations share one role that only the chat service can assume, with the read-only
CloudWatch policy the chat service documents for notifications; the same policy is the channel's
guardrail, set explicitly: a configuration without guardrails gets AWS's default,
``AdministratorAccess``.
"""

from __future__ import annotations

import hashlib

from aws_cdk import Stack, Token
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_codestarnotifications as notifications
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from .._compliance import acknowledge
from .._shared import SharedInfrastructure, once
from .settings import ChatChannel

# "CloudWatchReadOnlyAccess ... can be used in place of the customer managed Notification
# permissions policy" (chat applications administrator guide, IAM policies); it also lets the
# channel show the alarm's graph and logs.
READ_ONLY_POLICY = "CloudWatchReadOnlyAccess"
MAX_CONFIGURATION_NAME = 128

Configuration = chatbot.CfnSlackChannelConfiguration | chatbot.CfnMicrosoftTeamsChannelConfiguration


class ChatChannels(Construct):
    """The stack's chat channel configurations (``<stack>/DevOpsShared/Chat``), created the first
    time a construct of the stack names a channel."""

    ID = "Chat"

    @classmethod
    def of(cls, scope: IConstruct) -> ChatChannels:
        return once(SharedInfrastructure.of(scope), cls, cls.ID)

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        read_only = iam.ManagedPolicy.from_aws_managed_policy_name(READ_ONLY_POLICY)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("chatbot.amazonaws.com"),
            managed_policies=[read_only],
            description="Amazon Q Developer in chat applications: reads the alarms it posts",
        )
        acknowledge(self.role, "chat-channel-role")
        self._guardrails = [read_only.managed_policy_arn]
        self._configurations: dict[str, Configuration] = {}
        self._topics: dict[str, list[str]] = {}

    def configuration(self, channel: ChatChannel) -> Configuration:
        """The stack's configuration of ``channel``, created on first use."""
        existing = self._configurations.get(channel._key)
        if existing is None:
            existing = channel._configuration(
                self,
                channel._key,
                configuration_name=self._name(channel),
                iam_role_arn=self.role.role_arn,
                guardrail_policies=self._guardrails,
                # Deliveries that fail leave a trace (CloudWatch Logs, us-east-1).
                logging_level="ERROR",
                **channel._ids(),
            )
            self._configurations[channel._key] = existing
        return existing

    def subscribe(self, channel: ChatChannel, topic: sns.ITopic) -> Configuration:
        """Post what ``topic`` carries in ``channel``. The chat service subscribes the
        configuration to the topic itself (an HTTPS subscription it manages)."""
        configuration = self.configuration(channel)
        topics = self._topics.setdefault(channel._key, [])
        topics.append(topic.topic_arn)
        configuration.sns_topic_arns = list(topics)
        return configuration

    def target(self, channel: ChatChannel) -> notifications.CfnNotificationRule.TargetProperty:
        """``channel`` as the target of a CodeStar Notifications rule: the configuration itself
        (``AWSChatbotSlack`` or ``AWSChatbotMicrosoftTeams`` and its ARN), no topic between."""
        return notifications.CfnNotificationRule.TargetProperty(
            target_type=channel._target_type, target_address=self.configuration(channel).ref
        )

    def _name(self, channel: ChatChannel) -> str:
        """Unique in the account, as configuration names must be: the stack's name and region
        (a stack name is unique per region) and the channel."""
        stack = Stack.of(self)
        region = "" if Token.is_unresolved(stack.region) else f"-{stack.region}"
        name = f"{stack.stack_name}{region}-{channel._key}"
        if len(name) <= MAX_CONFIGURATION_NAME:
            return name
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        return f"{name[: MAX_CONFIGURATION_NAME - 9]}-{digest}"
