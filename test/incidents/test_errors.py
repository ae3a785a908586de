"""Every bad ``incidents=`` value fails at construction with the path, the prop, what is allowed
and what was given; a paging URL is never repeated in an error."""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk.assertions import Template

from cdk_devops_constructs import (
    DeployStage,
    GatedPipeline,
    Incidents,
    ObservedService,
    OpsItem,
    PagingEndpoint,
    PipelineSource,
    SlackChannel,
    TeamsChannel,
)

from observed_service.scenarios import SLACK, TEAMS, image

PATH = "TestStack/Svc: "
UUID = "0b1f7c2a-5d9e-4c3b-9a7e-1c2d3e4f5a6b"
SECRET_KEY = "0123456789abcdef0123456789abcdef"
GROUP = "arn:aws:aiops:us-east-1:123456789012:investigation-group/sMwwg1IogXdvL7UZ"
CONNECTION = (
    "arn:aws:codeconnections:us-east-1:123456789012:connection/00000000-0000-0000-0000-000000000000"
)


HTTP = f"http://events.pagerduty.com/integration/{SECRET_KEY}/enqueue"
NEWLINE = f"https://events.pagerduty.com/integration/{SECRET_KEY}/enqueue\n"
NO_HOST = f"https:///integration/{SECRET_KEY}"
NO_SCHEME = f"events.pagerduty.com/{SECRET_KEY}"
FTP = f"ftp://pager.example.com/{SECRET_KEY}"


def page(url: Any, name: str = "PagerDuty") -> Incidents:
    return Incidents(paging=[PagingEndpoint(name, url)])


def not_https(url: str, start: str) -> str:
    return (
        "incidents.paging[0].url must be an https:// URL with a host and without spaces or "
        f"control characters, got a value of {len(url)} characters {start} (the rest is not "
        "shown: a paging URL holds its key)"
    )


CASES: list[tuple[Any, str]] = [
    ({"ops_item": OpsItem()}, "incidents must be an Incidents or None, got {'ops_item': OpsItem("),
    (
        Incidents(ops_item=OpsItem(severity="2")),  # type: ignore[arg-type]
        "incidents.ops_item.severity must be one of OpsItemSeverity.CRITICAL, "
        "OpsItemSeverity.HIGH, OpsItemSeverity.MEDIUM, OpsItemSeverity.LOW, got '2'",
    ),
    (
        Incidents(ops_item=OpsItem(category="Availability")),  # type: ignore[arg-type]
        "incidents.ops_item.category must be one of OpsItemCategory.AVAILABILITY, "
        "OpsItemCategory.COST, OpsItemCategory.PERFORMANCE, OpsItemCategory.RECOVERY, "
        "OpsItemCategory.SECURITY or None, got 'Availability'",
    ),
    (
        Incidents(ops_item=cloudwatch_actions.OpsItemSeverity.HIGH),  # type: ignore[arg-type]
        "incidents.ops_item must be an OpsItem or None, got OpsItemSeverity.HIGH",
    ),
    (
        Incidents(chat=SLACK),  # type: ignore[arg-type]
        "incidents.chat must be a list of (SlackChannel or TeamsChannel), got "
        "SlackChannel(workspace_id='T0123ABCDEF', "
        "channel_id='C0123ABCDEF')",
    ),
    (
        Incidents(chat=["#oncall"]),  # type: ignore[list-item]
        "incidents.chat[0] must be a SlackChannel or a TeamsChannel, got '#oncall'",
    ),
    (
        Incidents(chat=[SlackChannel(workspace_id="t0123abc", channel_id="C0123")]),
        "incidents.chat[0].workspace_id must be a Slack workspace ID (1-255 upper-case letters "
        "and digits, like T0123ABCDEF), got 't0123abc'",
    ),
    (
        Incidents(chat=[SlackChannel(workspace_id="T0123ABC", channel_id="#checkout-oncall")]),
        "incidents.chat[0].channel_id must be a Slack channel ID (1-255 letters and digits, like "
        "C0123ABCDEF; not the channel's name), got '#checkout-oncall'",
    ),
    (
        Incidents(chat=[SLACK, SlackChannel(workspace_id="T9", channel_id=SLACK.channel_id)]),
        "incidents.chat must list each one once, got SlackChannel(workspace_id='T9', "
        "channel_id='C0123ABCDEF') twice",
    ),
    (
        Incidents(chat=[TeamsChannel(tenant_id="acme", team_id=UUID, channel_id=TEAMS.channel_id)]),
        "incidents.chat[0].tenant_id must be a UUID (8-4-4-4-12 hex digits), got 'acme'",
    ),
    (
        Incidents(chat=[TeamsChannel(tenant_id=UUID, team_id="42", channel_id=TEAMS.channel_id)]),
        "incidents.chat[0].team_id must be a UUID (8-4-4-4-12 hex digits), got '42'",
    ),
    (
        Incidents(chat=[TeamsChannel(UUID, UUID, "19:b6ef35dc342d56ba@thread.tacv2")]),
        "incidents.chat[0].channel_id must be a URL-encoded Teams channel ID of at most 255 "
        "characters, like 19%3a...%40thread.tacv2 (':' written %3a, '@' written %40), got "
        "'19:b6ef35dc342d56ba@thread.tacv2'",
    ),
    (page(HTTP), not_https(HTTP, "starting with 'http:'")),
    (
        page(NEWLINE),
        "incidents.paging[0].url must be a string without control characters (line breaks, "
        f"tabs, NUL...), got a string of {len(NEWLINE)} characters (not shown: it may hold a "
        "secret)",
    ),
    (page(NO_HOST), not_https(NO_HOST, "starting with 'https:'")),
    (page(NO_SCHEME), not_https(NO_SCHEME, "without a scheme")),
    (
        page(cdk.SecretValue.ssm_secure("/checkout/pagerduty")),
        "incidents.paging[0].url must be a Secrets Manager reference or a string, got an SSM "
        "secure string reference (CloudFormation does not resolve those in an SNS "
        "subscription's endpoint): store the URL in Secrets Manager",
    ),
    (
        page(cdk.SecretValue.unsafe_plain_text(FTP)),
        not_https(FTP, "starting with 'ftp:'"),
    ),
    (
        page(42),
        "incidents.paging[0].url must be a string or an aws_cdk.SecretValue, got 42",
    ),
    (
        page("https://events.pagerduty.com/x", name="pager-duty"),
        "incidents.paging[0].name must be 1-32 letters and digits, a letter first, got "
        "'pager-duty'",
    ),
    (
        Incidents(paging=[f"https://events.pagerduty.com/integration/{SECRET_KEY}"]),  # type: ignore[list-item]
        "incidents.paging[0] must be a PagingEndpoint, got a string of 73 characters (not shown: "
        "it may hold a secret)",
    ),
    (
        Incidents(
            paging=[
                PagingEndpoint("Pager", cdk.SecretValue.secrets_manager("a")),
                PagingEndpoint("Pager", cdk.SecretValue.secrets_manager("b")),
            ]
        ),
        "incidents.paging must list each one once, got the name 'Pager' twice",
    ),
    (
        Incidents(investigation_group_arn="arn:aws:aiops:us-east-1:123456789012:group/abc"),
        "incidents.investigation_group_arn must be an investigation group ARN, "
        "arn:<partition>:aiops:<region>:<account>:investigation-group/<16 letters and digits>, "
        "got 'arn:aws:aiops:us-east-1:123456789012:group/abc'",
    ),
    (
        Incidents(investigation_group_arn=GROUP.replace("us-east-1", "eu-west-1")),
        "incidents.investigation_group_arn must name a group in the alarm's own region "
        "(us-east-1): CloudWatch starts investigations in the group of the alarm's account and "
        "region, got 'arn:aws:aiops:eu-west-1:123456789012:investigation-group/sMwwg1IogXdvL7UZ'",
    ),
    (
        Incidents(investigation_group_arn=GROUP.replace("123456789012", "111122223333")),
        "incidents.investigation_group_arn must name a group in the alarm's own account "
        "(123456789012): CloudWatch starts investigations in the group of the alarm's account "
        "and region, got 'arn:aws:aiops:us-east-1:111122223333:investigation-group/"
        "sMwwg1IogXdvL7UZ'",
    ),
    (
        Incidents(investigation_group_arn=f"{GROUP}#DEDUPE_STRING=checkout"),
        "incidents.investigation_group_arn must be an investigation group ARN",
    ),
    (
        Incidents(runbook_url="wiki/runbooks/checkout"),
        "incidents.runbook_url must be an http:// or https:// URL with a host, without spaces "
        "or control characters, at most 256 characters, got 'wiki/runbooks/checkout'",
    ),
    (
        Incidents(runbook_url="https://wiki.example.com/Check out"),
        "incidents.runbook_url must be an http:// or https:// URL with a host, without spaces "
        "or control characters, at most 256 characters, got 'https://wiki.example.com/Check out'",
    ),
    (
        Incidents(runbook_url="https://wiki.example.com/" + "r" * 240),
        "incidents.runbook_url must be an http:// or https:// URL with a host, without spaces "
        "or control characters, at most 256 characters, got 'https://wiki.example.com/rrrr",
    ),
]


@pytest.mark.parametrize(("incidents", "message"), CASES, ids=[c[1][:60] for c in CASES])
def test_bad_incidents_are_refused_with_what_is_allowed(
    stack: cdk.Stack, incidents: Any, message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(PATH + message)}") as raised:
        ObservedService(stack, "Svc", image=image(), incidents=incidents)
    assert SECRET_KEY not in str(raised.value), "a paging URL's key is never repeated"


def test_the_pipeline_checks_its_incidents_too(stack: cdk.Stack) -> None:
    service = ObservedService(stack, "Api", image=image(), alarm_emails=["oncall@example.com"])
    with pytest.raises(
        ValueError,
        match=re.escape(
            "TestStack/Delivery: incidents.chat[0].channel_id must be a Slack channel ID"
        ),
    ):
        GatedPipeline(
            stack,
            "Delivery",
            source=PipelineSource.connection(connection_arn=CONNECTION, owner="acme", repo="api"),
            stages=[DeployStage(name="Production", services=[service])],
            incidents=Incidents(chat=[SlackChannel(workspace_id="T1", channel_id="general!")]),
        )


def test_tokens_are_not_validated(stack: cdk.Stack) -> None:
    workspace = cdk.CfnParameter(stack, "Workspace").value_as_string
    url = cdk.CfnParameter(stack, "PagerUrl", no_echo=True).value_as_string
    group = cdk.CfnParameter(stack, "Group").value_as_string
    ObservedService(
        stack,
        "Svc",
        image=image(),
        alarm_emails=["oncall@example.com"],
        incidents=Incidents(
            chat=[SlackChannel(workspace_id=workspace, channel_id="C0123")],
            paging=[PagingEndpoint("Pager", url)],
            investigation_group_arn=group,
            runbook_url=cdk.Fn.import_value("runbook"),
        ),
    )
    template = Template.from_stack(stack)
    template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "https", "Endpoint": {"Ref": "PagerUrl"}}
    )
