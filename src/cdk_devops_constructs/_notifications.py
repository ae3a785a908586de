"""The encrypted SNS topics that carry alarms and pipeline events to people, and who may publish.

A topic with an ``AWS::SNS::TopicPolicy`` loses SNS's default policy (the policy *replaces* it),
so every AWS service that publishes needs an Allow of its own in the topic policy; on a topic
encrypted with a customer-managed key it also needs the key (the AWS-managed ``aws/sns`` key
cannot grant services). Each ``Publisher`` holds both statements' conditions as AWS documents
them for that service, and ``allow_to_publish`` writes both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsii
from aws_cdk import Annotations, ArnFormat, Aspects, IAspect, Stack
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct, IConstruct

from ._policies import add_statement

# What a publisher needs of the key of an encrypted topic.
# https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
PUBLISH_TO_ENCRYPTED_TOPIC = ("kms:Decrypt", "kms:GenerateDataKey")

Conditions = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Publisher:
    """An AWS service that publishes to a topic, and the conditions that scope it.

    :param name: PascalCase name used in statement IDs, unique per kind of publisher.
    :param service: the service principal.
    :param topic_conditions: conditions of the topic-policy Allow (confused-deputy protection).
    :param key_conditions: conditions of the key-policy Allow; empty where AWS documents that
        the service sets no source keys on its KMS requests.
    """

    name: str
    service: str
    topic_conditions: Conditions
    key_conditions: Conditions = field(default_factory=dict)


def cloudwatch_alarms(scope: IConstruct) -> Publisher:
    """CloudWatch alarm actions of this account and region.

    The topic policy names the alarms by ``aws:SourceArn`` (AWS Knowledge Center, "Why didn't I
    receive an SNS notification for my CloudWatch alarm trigger?": an ``ArnLike`` condition on
    the alarm ARNs; CloudWatch's denial names the alarm as the requester). Whether CloudWatch
    sets the source keys on its KMS requests is not documented, so the key policy checks them
    only when present.
    """
    alarms = Stack.of(scope).format_arn(
        service="cloudwatch",
        resource="alarm",
        resource_name="*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
    return Publisher(
        name="CloudWatchAlarms",
        service="cloudwatch.amazonaws.com",
        topic_conditions={"ArnLike": {"aws:SourceArn": alarms}},
        key_conditions={"ArnLikeIfExists": {"aws:SourceArn": alarms}},
    )


def eventbridge_rules(name: str) -> Publisher:
    """EventBridge rules, which publish as ``events.amazonaws.com``.

    AWS documents no condition for this pair, and rules some out: "You can't use Condition
    blocks in Amazon SNS topic policies for EventBridge" (EventBridge user guide, "Amazon SNS
    permissions"), and "Adding the aws:SourceAccount, aws:SourceArn, and aws:SourceOrgID to a
    AWS KMS policy is not supported for EventBridge-to-encrypted topics" (SNS developer guide,
    "Configuring AWS KMS permissions"). Neither statement has a condition: a condition the
    request does not satisfy drops every notification, silently. What is left open (a rule of
    another account naming this topic could publish to it, never read from it) is what the
    documented form leaves open.
    """
    return Publisher(name=name, service="events.amazonaws.com", topic_conditions={})


def appconfig_deployment_notices() -> Publisher:
    """AppConfig's ``AWS.AppConfig.DeploymentNotificationsToSns`` extension.

    AWS documents the principal and nothing else: "Add an access control policy to your Amazon
    SNS topic granting AWS AppConfig (appconfig.amazonaws.com) publish permissions
    (sns:Publish)" (AppConfig user guide, "Using the AWS AppConfig deployment event to Amazon
    SNS extension"): no source condition keys, and no key policy for an encrypted topic. The
    statements carry no condition, as documented, so that no undocumented request context can
    drop the notices.
    """
    return Publisher(
        name="AppConfigDeploymentNotices", service="appconfig.amazonaws.com", topic_conditions={}
    )


def encrypted_topic(
    scope: Construct,
    id: str,
    *,
    key: kms.IKey,
    emails: Sequence[str],
    display_name: str,
    publishers: Sequence[Publisher] = (),
) -> sns.Topic:
    """An SSL-only topic encrypted with a customer-managed ``key``, that ``publishers`` may
    publish to. Each address in ``emails`` gets a subscription (its owner confirms it once)."""
    topic = sns.Topic(
        scope,
        id,
        display_name=display_name[:100],
        master_key=key,
        enforce_ssl=True,
    )
    for publisher in publishers:
        allow_to_publish(topic, publisher)
    subscribe_emails(topic, emails)
    return topic


def allow_to_publish(topic: sns.ITopic, publisher: Publisher) -> None:
    """Let ``publisher`` publish to ``topic``: the topic policy, and the key policy of an
    encrypted topic. A topic or key imported into the app cannot be changed here: the
    construct warns, saying what to add where it is defined."""
    add_statement(
        topic,
        iam.PolicyStatement(
            sid=f"Allow{publisher.name}ToPublish"[:100],
            principals=[iam.ServicePrincipal(publisher.service)],
            actions=["sns:Publish"],
            resources=[topic.topic_arn],
            conditions=dict(publisher.topic_conditions),
        ),
        why=f"{publisher.service} publishing to {topic.node.path}",
    )
    key = topic.master_key
    if key is None:
        return
    add_statement(
        key,
        iam.PolicyStatement(
            # One statement per service and conditions: the key may encrypt several topics.
            sid=f"Allow{_pascal(publisher.service)}ToPublishToEncryptedTopics",
            principals=[iam.ServicePrincipal(publisher.service)],
            actions=list(PUBLISH_TO_ENCRYPTED_TOPIC),
            # In a key policy, "*" means "this key".
            resources=["*"],
            conditions=dict(publisher.key_conditions) or None,
        ),
        why=f"{publisher.service} publishing to {topic.node.path}",
    )


def subscribe_emails(topic: sns.ITopic, emails: Sequence[str]) -> None:
    """One email subscription per address; each owner confirms it once."""
    for address in emails:
        topic.add_subscription(subscriptions.EmailSubscription(address))


UNSUBSCRIBED = "cdk-devops-constructs:topic-without-subscribers"


def warn_if_unsubscribed(topic: sns.Topic, owner: IConstruct, what: str, fix: str) -> None:
    """At synthesis, warn on ``owner`` when nothing in the stack subscribes to ``topic`` (an SNS
    subscription, or an Amazon Q Developer chat channel naming it): what it carries would reach
    nobody. ``what`` names the topic, ``fix`` says how to subscribe it."""
    Aspects.of(topic).add(_WarnIfUnsubscribed(owner, what, fix))


@jsii.implements(IAspect)
class _WarnIfUnsubscribed:
    def __init__(self, owner: IConstruct, what: str, fix: str) -> None:
        self._owner, self._what, self._fix = owner, what, fix

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, sns.Topic):
            return  # the aspect visits the topic's children too
        stack = Stack.of(node)
        arn = stack.resolve(node.topic_arn)
        if any(_subscribes(stack, construct, arn) for construct in stack.node.find_all()):
            return
        Annotations.of(self._owner).add_warning_v2(
            UNSUBSCRIBED,
            f"{self._what} has no subscriber, so what it carries reaches nobody: {self._fix}. "
            "If it is subscribed outside this stack, acknowledge this warning.",
        )


CHAT_CHANNELS = (
    chatbot.CfnSlackChannelConfiguration,
    chatbot.CfnMicrosoftTeamsChannelConfiguration,
)


def _subscribes(stack: Stack, construct: IConstruct, topic_arn: Any) -> bool:
    if isinstance(construct, sns.CfnSubscription):
        return bool(stack.resolve(construct.topic_arn) == topic_arn)
    if isinstance(construct, CHAT_CHANNELS):
        return topic_arn in (stack.resolve(construct.sns_topic_arns) or [])
    return False


def _pascal(service: str) -> str:
    """``events.amazonaws.com`` -> ``Events``: one key-policy statement ID per service."""
    return "".join(part.capitalize() for part in service.split(".", maxsplit=1)[0].split("-"))
