"""What ``incidents=`` promises, one behaviour per test, on the scenarios' templates: the health
signal alone starts an incident (an OpsItem by default; chat, paging and an investigation when
asked), it says so again on OK where that means something, every alarm says what to do, and the
pipeline posts its failures and approvals in the same channels."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match

from cdk_devops_constructs import (
    DeployStage,
    GatedPipeline,
    Incidents,
    ObservedService,
    PagingEndpoint,
    PipelineSource,
)
from cdk_devops_constructs._alarms import MAX_DESCRIPTION, description_length
from cdk_devops_constructs.incidents.pipeline import PIPELINE_EVENTS
from cdk_devops_constructs.incidents.settings import PLAINTEXT_PAGING_URL

from conftest import template_of
from harness.compliance import ACCOUNT, REGION
from harness.scenarios import Built
from observed_service.scenarios import RUNBOOK, SLACK, TEAMS, image

READ_ONLY = {
    "Fn::Join": [
        "",
        ["arn:", {"Ref": "AWS::Partition"}, ":iam::aws:policy/CloudWatchReadOnlyAccess"],
    ]
}
CONNECTION = (
    "arn:aws:codeconnections:us-east-1:123456789012:connection/00000000-0000-0000-0000-000000000000"
)
PAGERDUTY = "https://events.pagerduty.com/integration/0123456789abcdef0123456789abcdef/enqueue"


def scenario(*names: str) -> Any:
    return pytest.mark.parametrize("built", list(names), indirect=True)


def of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: r["Properties"] for k, r in template["Resources"].items() if r["Type"] == kind}


def alarm(built: Built, prefix: str) -> dict[str, Any]:
    (found,) = [
        p
        for k, p in of_type(built.template, "AWS::CloudWatch::Alarm").items()
        if k.startswith(prefix)
    ]
    return found


def text(action: Any) -> str:
    """An ARN as a string: the literal parts of its ``Fn::Join``, ``<token>`` for the rest."""
    if isinstance(action, dict) and "Fn::Join" in action:
        return "".join(p if isinstance(p, str) else "<token>" for p in action["Fn::Join"][1])
    return json.dumps(action)


# --- The health signal starts the incident ------------------------------------------------------


@scenario("observed_service/defaults")
def test_by_default_the_health_signal_opens_an_opsitem_and_nothing_else(built: Built) -> None:
    health = alarm(built, "CheckoutAlarmsHealth")
    assert [text(a) for a in health["AlarmActions"]] == [
        "arn:<token>:ssm:us-east-1:123456789012:opsitem:2#CATEGORY=Availability"
    ]
    assert "OKActions" not in health, "an OpsItem does not resolve on OK: nothing to send"
    assert built.value.incident_topic is None
    kinds = {r["Type"] for r in built.template["Resources"].values()}
    assert not kinds & {
        "AWS::Chatbot::SlackChannelConfiguration",
        "AWS::CodeStarNotifications::NotificationRule",
    }


@scenario("observed_service/bring_your_own")
def test_incidents_can_be_turned_off(built: Built) -> None:
    health = alarm(built, "InventoryAlarmsHealth")
    assert "AlarmActions" not in health
    assert "OKActions" not in health
    assert health["AlarmDescription"].endswith(
        "On ALARM: nothing starts from this alarm (incidents are off)."
    )


@scenario("observed_service/incidents")
def test_the_health_signal_alone_opens_pages_posts_and_investigates(built: Built) -> None:
    health = alarm(built, "CheckoutAlarmsHealth")
    opsitem, topic, investigation = health["AlarmActions"]
    assert text(opsitem).endswith(":opsitem:1#CATEGORY=Availability")
    assert topic == {"Ref": "CheckoutIncidentsTopic754B3ABC"}
    assert investigation == {"Fn::GetAtt": ["InvestigationGroup", "Arn"]}
    assert health["OKActions"] == [topic], "chat and the page hear of the recovery"
    # The critical alarms notify the alarm topic only: one page per incident, not four.
    for key, props in of_type(built.template, "AWS::CloudWatch::Alarm").items():
        if key.startswith("CheckoutAlarms") and not key.startswith("CheckoutAlarmsHealth"):
            assert props["AlarmActions"] == [{"Ref": "CheckoutAlarmTopic887F0361"}], key


@scenario("observed_service/incidents")
def test_the_incident_topic_is_encrypted_and_only_cloudwatch_publishes(built: Built) -> None:
    topic = built.template["Resources"]["CheckoutIncidentsTopic754B3ABC"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["CheckoutKey8B2D8A42", "Arn"]}
    (policy,) = [
        p
        for p in of_type(built.template, "AWS::SNS::TopicPolicy").values()
        if p["Topics"] == [{"Ref": "CheckoutIncidentsTopic754B3ABC"}]
    ]
    allows = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert [s["Principal"] for s in allows] == [{"Service": "cloudwatch.amazonaws.com"}]
    checkout, cart = built.value
    assert cdk.Stack.of(checkout).resolve(checkout.incident_topic.topic_arn) == {
        "Ref": "CheckoutIncidentsTopic754B3ABC"
    }
    assert cdk.Stack.of(cart).resolve(cart.incident_topic.topic_arn) == {
        "Ref": "CartIncidentsTopic987C2F95"
    }


@scenario("observed_service/incidents")
def test_one_configuration_per_channel_per_stack_hears_every_incident_topic(built: Built) -> None:
    (slack,) = of_type(built.template, "AWS::Chatbot::SlackChannelConfiguration").values()
    (teams,) = of_type(built.template, "AWS::Chatbot::MicrosoftTeamsChannelConfiguration").values()
    assert slack["SnsTopicArns"] == [
        {"Ref": "CheckoutIncidentsTopic754B3ABC"},
        {"Ref": "CartIncidentsTopic987C2F95"},
    ]
    assert teams["SnsTopicArns"] == [{"Ref": "CheckoutIncidentsTopic754B3ABC"}]
    assert (slack["SlackWorkspaceId"], slack["SlackChannelId"]) == (
        SLACK.workspace_id,
        SLACK.channel_id,
    )
    assert (teams["TeamsTenantId"], teams["TeamId"], teams["TeamsChannelId"]) == (
        TEAMS.tenant_id,
        TEAMS.team_id,
        TEAMS.channel_id,
    )
    # Unique in the account: the stack's name and region, and the channel.
    assert slack["ConfigurationName"] == "TestStack-us-east-1-SlackC0123ABCDEF"
    assert teams["ConfigurationName"].startswith("TestStack-us-east-1-Teams")


@scenario("observed_service/incidents", "gated_pipeline/all_options")
def test_channels_have_read_only_guardrails_and_a_read_only_role(built: Built) -> None:
    """Without GuardrailPolicies the chat service applies AdministratorAccess."""
    configurations = {
        **of_type(built.template, "AWS::Chatbot::SlackChannelConfiguration"),
        **of_type(built.template, "AWS::Chatbot::MicrosoftTeamsChannelConfiguration"),
    }
    assert len(configurations) == 2
    (role_id,) = {c["IamRoleArn"]["Fn::GetAtt"][0] for c in configurations.values()}
    for configuration in configurations.values():
        assert configuration["GuardrailPolicies"] == [READ_ONLY]
        assert configuration["LoggingLevel"] == "ERROR"
    role = built.template["Resources"][role_id]["Properties"]
    assert role["ManagedPolicyArns"] == [READ_ONLY]
    assert "Policies" not in role
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "chatbot.amazonaws.com"}


@scenario("observed_service/incidents")
def test_paging_subscribes_a_secret_https_endpoint_with_the_envelope_kept(built: Built) -> None:
    subscriptions = of_type(built.template, "AWS::SNS::Subscription")
    (page,) = [s for s in subscriptions.values() if s["Protocol"] == "https"]
    assert page["TopicArn"] == {"Ref": "CheckoutIncidentsTopic754B3ABC"}
    assert page["Endpoint"] == "{{resolve:secretsmanager:checkout/pagerduty:SecretString:url::}}"
    assert "RawMessageDelivery" not in page


@scenario("observed_service/incidents")
def test_ops_item_severity_and_category_are_the_teams(built: Built) -> None:
    health = alarm(built, "CartAlarmsHealth")
    opsitem, topic = health["AlarmActions"]
    assert text(opsitem).endswith(":opsitem:3#CATEGORY=Performance")
    assert health["OKActions"] == [topic]


# --- Every alarm says what fired, what to check, where, and links what to read -----------------


@scenario("observed_service/defaults", "observed_service/incidents", "gated_pipeline/defaults")
def test_every_alarm_description_says_what_to_do_and_fits(built: Built) -> None:
    # The services' dashboards; a pipeline's DORA dashboard has a generated name.
    dashboards = {
        p.get("DashboardName")
        for p in of_type(built.template, "AWS::CloudWatch::Dashboard").values()
    }
    for key, props in of_type(built.template, "AWS::CloudWatch::Alarm").items():
        description = props["AlarmDescription"]
        assert len(description) <= MAX_DESCRIPTION, key
        what, first, where, dashboard, *rest = description.split("\n")
        assert what.endswith("."), key
        assert first.startswith("First check: the "), key
        assert re.fullmatch(
            r"Where: \w+ in account 123456789012, region us-east-1, stack TestStack\.", where
        ), key
        name = dashboard.removeprefix(
            "Dashboard: https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
            "#dashboards:name="
        )
        assert name in dashboards, key
        assert [line.startswith("On ALARM: ") for line in rest[-1:]] == (
            [True] if "AlarmsHealth" in key else [False] * len(rest)
        ), key


@scenario("observed_service/defaults")
def test_descriptions_state_the_threshold_and_the_window(built: Built) -> None:
    errors = alarm(built, "CheckoutAlarmsErrors")["AlarmDescription"]
    assert errors.startswith(
        "Checkout: more than 5% of requests answered 5xx for 3 consecutive periods of 1 minute"
    )
    health = alarm(built, "CheckoutAlarmsHealth")["AlarmDescription"]
    assert "p99 latency above 2 seconds" in health
    assert health.endswith(
        "On ALARM: OpsItem (severity High, Availability) opens in OpsCenter, open until "
        "resolved there, not on OK."
    )


@scenario("observed_service/incidents")
def test_the_runbook_is_linked_by_the_services_that_have_one(built: Built) -> None:
    for key, props in of_type(built.template, "AWS::CloudWatch::Alarm").items():
        linked = f"\nRunbook: {RUNBOOK}" in props["AlarmDescription"]
        assert linked == key.startswith("Checkout"), key
    health = alarm(built, "CheckoutAlarmsHealth")["AlarmDescription"]
    assert health.endswith(
        "On ALARM: OpsItem (severity Critical, Availability) opens in OpsCenter, open until "
        "resolved there, not on OK; chat is told, again on OK; on-call paged, resolved on OK; "
        "investigation starts."
    )


@scenario("observed_service/defaults")
def test_dashboards_have_names_unique_in_the_account(built: Built) -> None:
    """Dashboards are global: the region is part of the name."""
    (dashboard,) = of_type(built.template, "AWS::CloudWatch::Dashboard").values()
    assert dashboard["DashboardName"] == "TestStack-Checkout-2BDC3548-us-east-1"


def test_a_description_too_long_for_cloudwatch_is_refused() -> None:
    """Each part is within its own limit (stack name 128, service_name 90, runbook_url 256);
    together they pass CloudWatch's 1024."""
    stack = cdk.Stack(cdk.App(), "S" * 128, env=cdk.Environment(account=ACCOUNT, region=REGION))
    with pytest.raises(
        ValueError,
        match=r"^S{128}/Svc: the description of alarm \w+ must be at most 1024 "
        r"characters \(CloudWatch's limit\), got 1\d{3}: shorten incidents.runbook_url or "
        r"service_name$",
    ):
        ObservedService(
            stack,
            "Svc",
            image=image(),
            service_name="s" * 90,
            incidents=Incidents(runbook_url="https://wiki.example.com/" + "r" * 231),
        )


def test_a_value_known_at_deployment_counts_at_its_longest() -> None:
    app = cdk.App()
    agnostic = cdk.Stack(app, "Agnostic")
    assert description_length(agnostic, f"account {agnostic.account}.") == len("account .") + 12
    assert description_length(agnostic, f"{cdk.Aws.STACK_ID}") == 255


# --- Paging URLs are secrets -------------------------------------------------------------------


def test_a_plain_paging_url_is_a_warning_that_does_not_repeat_it(stack: cdk.Stack) -> None:
    ObservedService(
        stack,
        "Svc",
        image=image(),
        alarm_emails=["oncall@example.com"],
        incidents=Incidents(paging=[PagingEndpoint("PagerDuty", PAGERDUTY)]),
    )
    found = Annotations.from_stack(stack).find_warning(
        "*", Match.string_like_regexp("plain string")
    )
    (warning,) = [str(f.entry.data) for f in found]
    assert PLAINTEXT_PAGING_URL in warning
    assert "incidents.paging[0].url (PagerDuty)" in warning
    assert "pagerduty.com" not in warning


# --- The pipeline's incidents --------------------------------------------------------------------


@scenario("gated_pipeline/all_options")
def test_pipeline_failures_and_approvals_reach_the_chat_channels(built: Built) -> None:
    (rule,) = of_type(built.template, "AWS::CodeStarNotifications::NotificationRule").values()
    assert (
        rule["EventTypeIds"]
        == [
            "codepipeline-pipeline-pipeline-execution-failed",
            "codepipeline-pipeline-stage-execution-failed",
            "codepipeline-pipeline-manual-approval-needed",
        ]
        == list(PIPELINE_EVENTS)
    )
    assert rule["DetailType"] == "FULL"
    (pipeline_id,) = of_type(built.template, "AWS::CodePipeline::Pipeline")
    assert {"Ref": pipeline_id} in rule["Resource"]["Fn::Join"][1]
    assert ":codepipeline:" in text(rule["Resource"])
    slack_id, teams_id = (
        next(iter(of_type(built.template, kind)))
        for kind in (
            "AWS::Chatbot::SlackChannelConfiguration",
            "AWS::Chatbot::MicrosoftTeamsChannelConfiguration",
        )
    )
    assert rule["Targets"] == [
        {"TargetAddress": {"Ref": slack_id}, "TargetType": "AWSChatbotSlack"},
        {"TargetAddress": {"Ref": teams_id}, "TargetType": "AWSChatbotMicrosoftTeams"},
    ]
    assert built.value.chat_notifications is not None


@scenario("gated_pipeline/defaults")
def test_a_pipeline_without_incidents_has_no_chat_notifications(built: Built) -> None:
    assert of_type(built.template, "AWS::CodeStarNotifications::NotificationRule") == {}
    assert built.value.chat_notifications is None


def test_a_service_and_a_pipeline_of_one_stack_share_the_channels_configuration(
    stack: cdk.Stack,
) -> None:
    incidents = Incidents(chat=[SLACK])
    service = ObservedService(
        stack, "Api", image=image(), alarm_emails=["oncall@example.com"], incidents=incidents
    )
    GatedPipeline(
        stack,
        "Delivery",
        source=PipelineSource.connection(connection_arn=CONNECTION, owner="acme", repo="api"),
        stages=[DeployStage(name="Production", services=[service])],
        notification_emails=["team@example.com"],
        incidents=incidents,
    )
    template = template_of(stack)
    template.resource_count_is("AWS::Chatbot::SlackChannelConfiguration", 1)
    (slack_id,) = template.find_resources("AWS::Chatbot::SlackChannelConfiguration")
    template.has_resource_properties(
        "AWS::CodeStarNotifications::NotificationRule",
        {"Targets": [{"TargetAddress": {"Ref": slack_id}, "TargetType": "AWSChatbotSlack"}]},
    )
    template.has_resource_properties(
        "AWS::Chatbot::SlackChannelConfiguration",
        {"SnsTopicArns": [{"Ref": Match.string_like_regexp("^ApiIncidentsTopic")}]},
    )
