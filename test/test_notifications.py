"""A topic the library creates and nobody subscribes to is a synth-time warning, not a surprise
in the first incident."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk.assertions import Annotations, Match

from cdk_devops_constructs import DeployStage, Gate, GatedPipeline, ObservedService, PipelineSource
from cdk_devops_constructs._notifications import UNSUBSCRIBED

from observed_service.scenarios import image

CONNECTION = (
    "arn:aws:codeconnections:us-east-1:123456789012:connection/00000000-0000-0000-0000-000000000000"
)


def warnings(stack: cdk.Stack) -> list[tuple[str, str]]:
    """(construct path, message) of every unsubscribed-topic warning."""
    found = Annotations.from_stack(stack).find_warning("*", Match.string_like_regexp("subscriber"))
    return [(f.id, str(f.entry.data)) for f in found]


def test_a_service_whose_alarms_email_nobody_is_warned_about(stack: cdk.Stack) -> None:
    ObservedService(stack, "Checkout", image=image())
    ((path, message),) = warnings(stack)
    assert path == "/TestStack/Checkout"
    assert message.startswith(
        "The alarm topic of TestStack/Checkout has no subscriber, so what it carries reaches "
        "nobody: pass alarm_emails, or subscribe alarm_topic"
    )
    assert message.endswith(f"acknowledge this warning. [ack: {UNSUBSCRIBED}]")


def test_emails_a_later_subscription_or_a_chat_channel_each_silence_it(stack: cdk.Stack) -> None:
    ObservedService(stack, "Emailed", image=image(), alarm_emails=["oncall@example.com"])
    paged = ObservedService(stack, "Paged", image=image())
    paged.alarm_topic.add_subscription(
        subscriptions.UrlSubscription("https://events.pagerduty.example/integration/abc")
    )
    chatted = ObservedService(stack, "Chatted", image=image())
    chatbot.CfnSlackChannelConfiguration(
        stack,
        "Slack",
        configuration_name="checkout",
        iam_role_arn="arn:aws:iam::123456789012:role/chat",
        slack_channel_id="C0123456789",
        slack_workspace_id="T0123456789",
        sns_topic_arns=[chatted.alarm_topic.topic_arn],
    )
    assert warnings(stack) == []


def test_an_acknowledged_warning_is_silent(stack: cdk.Stack) -> None:
    service = ObservedService(stack, "Checkout", image=image())
    cdk.Annotations.of(service).acknowledge_warning(UNSUBSCRIBED, "subscribed by the platform")
    assert warnings(stack) == []


def test_pipeline_notifications_and_approvals_nobody_receives_are_warned_about(
    stack: cdk.Stack,
) -> None:
    service = ObservedService(stack, "Api", image=image(), alarm_emails=["oncall@example.com"])
    GatedPipeline(
        stack,
        "Delivery",
        source=PipelineSource.connection(connection_arn=CONNECTION, owner="acme", repo="api"),
        stages=[DeployStage(name="Production", services=[service], gates=[Gate.manual_approval()])],
    )
    assert sorted(m.split(" has no")[0] for _, m in warnings(stack)) == [
        "The approval topic of stage Production of TestStack/Delivery",
        "The notification topic of TestStack/Delivery",
    ]
