"""What a team sets for incidents: the ``Incidents`` value and its parts, each validating itself.

Every value type here checks itself (``_validate(scope, prop)``) against what the AWS API accepts,
with the library's one error shape; values that are CDK tokens are not validated. A paging URL is
never printed in an error: its key is part of it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aws_cdk import Annotations, SecretValue, Stack
from aws_cdk import aws_chatbot as chatbot
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from constructs import IConstruct

from .. import _validation as check

# Amazon Q Developer in chat applications (CreateSlackChannelConfiguration and
# CreateMicrosoftTeamsChannelConfiguration in the AWS API: SlackTeamId, SlackChannelId, TeamId,
# TenantId, ChannelId). A Slack channel ID is documented as 9 characters, but real IDs are
# longer ("C07EZ1ABC23"): the pattern is checked, not a length.
SLACK_WORKSPACE_ID = re.compile(r"[0-9A-Z]{1,255}")
SLACK_CHANNEL_ID = re.compile(r"[A-Za-z0-9]{1,255}")
UUID = re.compile(r"[0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}")
TEAMS_CHANNEL_ID = re.compile(
    r"(?=.{1,255}$)[a-zA-Z0-9\-_=+/.,]*%3[aA][a-zA-Z0-9\-_=+/.,]*%40[a-zA-Z0-9\-_=+/.,]*"
)
# An investigation group's ARN (its Arn attribute; the alarm action is this ARN). The AIOps API
# pattern, with the group's 16-character ID.
INVESTIGATION_GROUP_ARN = re.compile(
    r"arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):aiops:([a-z0-9-]+):(\d{12}):"
    r"investigation-group/[A-Za-z0-9]{16}"
)
PAGING_NAME = re.compile(r"[A-Za-z][A-Za-z0-9]{0,31}")
MAX_RUNBOOK_URL = 256  # every alarm's description links it; descriptions hold 1024
# Spaces, control characters (C0, DEL, C1) and nothing else: every URL the pager or a reader
# follows must be one token a chat client links whole.
_UNSAFE = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")
_SCHEME = re.compile(r"([a-z][a-z0-9+.-]{0,15}):")
# Secure strings resolve only in the resource properties CloudFormation lists ("Resources that
# support dynamic parameter patterns for secure strings"); an SNS subscription's endpoint is
# not one of them. Secrets Manager references resolve in every resource property.
SSM_SECURE = "{{resolve:ssm-secure:"
PLAINTEXT_PAGING_URL = "cdk-devops-constructs:paging-url-in-template"


@dataclass(frozen=True)
class OpsItem:
    """An OpsCenter OpsItem opened when the health signal goes into ALARM.

    CloudWatch opens it (the alarm action ``arn:aws:ssm:<region>:<account>:opsitem:<severity>
    #CATEGORY=<category>``) with the title "CloudWatch alarm - '<alarm name>' is in ALARM
    state". It is **not** resolved when the alarm returns to OK: someone resolves it in
    OpsCenter. AWS documents that the alarm opens a new one once it is resolved, and suggests
    (without saying so) that it opens no second one while it is open.

    :param severity: the OpsItem's severity. Default: ``OpsItemSeverity.HIGH`` (2).
    :param category: the OpsItem's category; None sets none. Default:
        ``OpsItemCategory.AVAILABILITY``.
    """

    severity: cloudwatch_actions.OpsItemSeverity = cloudwatch_actions.OpsItemSeverity.HIGH
    category: cloudwatch_actions.OpsItemCategory | None = (
        cloudwatch_actions.OpsItemCategory.AVAILABILITY
    )

    def _validate(self, scope: IConstruct, prop: str) -> None:
        _member_of(scope, f"{prop}.severity", self.severity, cloudwatch_actions.OpsItemSeverity)
        if self.category is not None:
            _member_of(scope, f"{prop}.category", self.category, cloudwatch_actions.OpsItemCategory)

    def _alarm_action(self) -> cloudwatch_actions.SsmAction:
        """The alarm action that opens the OpsItem (ALARM only: CloudWatch documents OpsItems
        for the ALARM state, and what the ARN would do as an OK action is not documented)."""
        return cloudwatch_actions.SsmAction(self.severity, self.category)

    def _describe(self) -> str:
        category = f", {self.category.name.capitalize()}" if self.category else ""
        return f"severity {self.severity.name.capitalize()}{category}"


@dataclass(frozen=True)
class SlackChannel:
    """A Slack channel told of incidents through Amazon Q Developer in chat applications.

    Authorise the Slack workspace once in the Amazon Q Developer in chat applications console
    (that is where its ID is shown) and invite the app to the channel (``@Amazon Q``, formerly
    ``@aws``).

    :param workspace_id: the Slack workspace (team) ID, e.g. ``T0123ABCDEF``.
    :param channel_id: the channel's ID (channel details in Slack), e.g. ``C0123ABCDEF``.
    """

    workspace_id: str
    channel_id: str

    _configuration = chatbot.CfnSlackChannelConfiguration
    _target_type = "AWSChatbotSlack"  # how CodeStar Notifications names this kind of target

    def _validate(self, scope: IConstruct, prop: str) -> None:
        check.matches(
            scope,
            f"{prop}.workspace_id",
            self.workspace_id,
            SLACK_WORKSPACE_ID,
            "a Slack workspace ID (1-255 upper-case letters and digits, like T0123ABCDEF)",
        )
        check.matches(
            scope,
            f"{prop}.channel_id",
            self.channel_id,
            SLACK_CHANNEL_ID,
            "a Slack channel ID (1-255 letters and digits, like C0123ABCDEF; not the channel's "
            "name)",
        )

    @property
    def _key(self) -> str:
        """Identifies the channel within a stack: one configuration per channel."""
        return f"Slack{self.channel_id}"

    def _ids(self) -> dict[str, Any]:
        """The channel's properties in its configuration (``_configuration``)."""
        return {"slack_workspace_id": self.workspace_id, "slack_channel_id": self.channel_id}


@dataclass(frozen=True)
class TeamsChannel:
    """A Microsoft Teams channel told of incidents through Amazon Q Developer in chat
    applications.

    Authorise the team once in the Amazon Q Developer in chat applications console and add the
    app to the channel; the console shows the three IDs.

    :param tenant_id: the Microsoft 365 tenant ID (a UUID).
    :param team_id: the team's ID (a UUID).
    :param channel_id: the channel's ID, URL-encoded as in the channel's link, e.g.
        ``19%3ab6ef35dc342d56ba5654e6fc6d25a071%40thread.tacv2``.
    """

    tenant_id: str
    team_id: str
    channel_id: str

    _configuration = chatbot.CfnMicrosoftTeamsChannelConfiguration
    _target_type = "AWSChatbotMicrosoftTeams"  # how CodeStar Notifications names it

    def _validate(self, scope: IConstruct, prop: str) -> None:
        for key, value in (("tenant_id", self.tenant_id), ("team_id", self.team_id)):
            check.matches(scope, f"{prop}.{key}", value, UUID, "a UUID (8-4-4-4-12 hex digits)")
        check.matches(
            scope,
            f"{prop}.channel_id",
            self.channel_id,
            TEAMS_CHANNEL_ID,
            "a URL-encoded Teams channel ID of at most 255 characters, like "
            "19%3a...%40thread.tacv2 (':' written %3a, '@' written %40)",
        )

    @property
    def _key(self) -> str:
        # The channel ID holds '%' and '.': a digest names the configuration's construct.
        digest = hashlib.sha256(f"{self.team_id}/{self.channel_id}".encode()).hexdigest()[:12]
        return f"Teams{digest}"

    def _ids(self) -> dict[str, Any]:
        return {
            "teams_tenant_id": self.tenant_id,
            "team_id": self.team_id,
            "teams_channel_id": self.channel_id,
        }


ChatChannel = SlackChannel | TeamsChannel
CHAT_KINDS = (SlackChannel, TeamsChannel)


@dataclass(frozen=True)
class PagingEndpoint:
    """A paging tool's HTTPS endpoint for CloudWatch alarms (PagerDuty's or Opsgenie's
    CloudWatch integration, say): it opens a page when the health signal goes into ALARM and
    resolves it when the signal returns to OK.

    The URL carries the integration's key, so it is a secret in practice. Pass it as a
    ``SecretValue`` from Secrets Manager (``SecretValue.secrets_manager("pagerduty/checkout",
    json_field="url")``): CloudFormation resolves the reference when it creates the
    subscription, and the template holds only the reference. A plain string is written into the
    template (a synth-time warning says so); a Parameter Store secure string cannot be used
    (CloudFormation resolves ``ssm-secure`` references only in the properties it lists, and an
    SNS subscription's endpoint is not one).

    :param name: names the endpoint in the construct tree and in errors (the URL never
        appears in either): 1-32 letters and digits, a letter first, e.g. ``PagerDuty``.
    :param url: the endpoint, ``https://`` only.
    """

    name: str
    url: str | SecretValue = field(repr=False)  # never printed: it holds the key

    def _validate(self, scope: IConstruct, prop: str) -> None:
        check.matches(
            scope, f"{prop}.name", self.name, PAGING_NAME, "1-32 letters and digits, a letter first"
        )
        prop = f"{prop}.url"
        if isinstance(self.url, SecretValue):
            resolved = Stack.of(scope).resolve(self.url.unsafe_unwrap())
            if isinstance(resolved, str) and resolved.startswith(SSM_SECURE):
                check.fail(
                    scope,
                    f"{prop} must be a Secrets Manager reference or a string, got an SSM "
                    "secure string reference (CloudFormation does not resolve those in an SNS "
                    "subscription's endpoint): store the URL in Secrets Manager",
                )
            if isinstance(resolved, str) and not resolved.startswith("{{resolve:"):
                _https_url(scope, prop, resolved)  # SecretValue.unsafe_plain_text
            return
        if not isinstance(self.url, str):
            check.fail(scope, f"{prop} must be a string or a SecretValue, got {_kind(self.url)}")
        if check.is_token(self.url):
            return
        _https_url(scope, prop, self.url)
        Annotations.of(scope).add_warning_v2(
            PLAINTEXT_PAGING_URL,
            f"{prop} ({self.name}) is a plain string, so the URL and the key in it are written "
            "into the template and shown by CloudFormation: pass "
            "SecretValue.secrets_manager(...) to keep them out",
        )

    def _endpoint(self) -> str:
        """What the subscription's Endpoint property holds: the URL, or the reference."""
        return self.url.unsafe_unwrap() if isinstance(self.url, SecretValue) else self.url


@dataclass(frozen=True)
class Incidents:
    """What happens when a service's health signal goes into ALARM, and when it returns to OK.

    Only the health signal (``health_alarm``) starts an incident: one OpsItem, one chat message
    and one page per incident, however many of the service's alarms fired, and one more chat
    message and the page's resolution when it returns to OK. The alarms it combines keep
    emailing ``alarm_emails`` which signal broke. Chat and paging hear of it through the
    service's incident topic (``incident_topic``): encrypted with the service's key, published
    to by CloudWatch alone.

    ``GatedPipeline`` reads ``chat`` only: its failed executions and stages and its waiting
    approvals go to the same channels.

    :param ops_item: the OpsItem opened in Systems Manager OpsCenter; None opens none.
        Default: ``OpsItem()`` (severity HIGH, category Availability).
    :param chat: Slack and Teams channels told on ALARM and on OK. Default: none.
    :param paging: HTTPS endpoints of paging tools, paged on ALARM and resolved on OK.
        Default: none.
    :param investigation_group_arn: the ARN of this account and region's CloudWatch
        investigation group (one per account and region, created once outside the service);
        an investigation starts when the health signal goes into ALARM. Its resource policy
        must let ``aiops.alarms.cloudwatch.amazonaws.com`` create investigations. Default: none.
    :param runbook_url: linked from every alarm's description: what to do. Default: none.
    """

    ops_item: OpsItem | None = field(default_factory=OpsItem)
    chat: Sequence[ChatChannel] = ()
    paging: Sequence[PagingEndpoint] = ()
    investigation_group_arn: str | None = None
    runbook_url: str | None = None

    def _validate(self, scope: IConstruct, prop: str) -> None:
        if self.ops_item is not None:
            _instance(scope, f"{prop}.ops_item", self.ops_item, OpsItem, "an OpsItem(...) or None")
            self.ops_item._validate(scope, f"{prop}.ops_item")
        channels: list[ChatChannel] = _listed(scope, f"{prop}.chat", self.chat)
        for index, channel in enumerate(channels):
            where = f"{prop}.chat[{index}]"
            _instance(
                scope, where, channel, CHAT_KINDS, "a SlackChannel(...) or a TeamsChannel(...)"
            )
            channel._validate(scope, where)
        _once(scope, f"{prop}.chat", [(c._key, repr(c)) for c in channels])
        endpoints: list[PagingEndpoint] = _listed(scope, f"{prop}.paging", self.paging)
        for index, endpoint in enumerate(endpoints):
            where = f"{prop}.paging[{index}]"
            # Never shown: a URL passed in its place holds its key.
            _instance(
                scope, where, endpoint, PagingEndpoint, "a PagingEndpoint(name, url)", show=False
            )
            endpoint._validate(scope, where)
        _once(scope, f"{prop}.paging", [(e.name, f"the name {e.name!r}") for e in endpoints])
        if self.investigation_group_arn is not None:
            _investigation_group(
                scope, f"{prop}.investigation_group_arn", self.investigation_group_arn
            )
        if self.runbook_url is not None:
            _runbook(scope, f"{prop}.runbook_url", self.runbook_url)

    @property
    def _routes_to_people(self) -> bool:
        """True when chat channels or paging endpoints hear of incidents (an incident topic)."""
        return bool(self.chat or self.paging)


# --- Checks shared by the values above -----------------------------------------------------


def _member_of(scope: IConstruct, prop: str, value: object, enum: type) -> None:
    if not isinstance(value, enum):
        names = ", ".join(f"{enum.__name__}.{m.name}" for m in enum)  # type: ignore[attr-defined]
        check.fail(scope, f"{prop} must be one of {names}, got {value!r}")


def _instance(
    scope: IConstruct,
    prop: str,
    value: object,
    kinds: type | tuple[type, ...],
    what: str,
    *,
    show: bool = True,
) -> None:
    if not isinstance(value, kinds):
        shown = repr(value) if show else _kind(value)
        check.fail(scope, f"{prop} must be {what}, got {shown}")


def _listed(scope: IConstruct, prop: str, values: Any) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
        check.fail(scope, f"{prop} must be a list, got {values!r}")
    return list(values)


def _once(scope: IConstruct, prop: str, keyed: Sequence[tuple[str, str]]) -> None:
    seen: set[str] = set()
    for key, shown in keyed:
        if key in seen:
            check.fail(scope, f"{prop} must list each one once, got {shown} twice")
        seen.add(key)


def check_incidents(scope: IConstruct, prop: str, value: object) -> Incidents:
    """``value`` is an ``Incidents`` whose parts are valid; return it."""
    _instance(scope, prop, value, Incidents, "an Incidents(...)")
    assert isinstance(value, Incidents)
    value._validate(scope, prop)
    return value


def _kind(value: object) -> str:
    return f"a value of type {type(value).__name__}"


def _https_url(scope: IConstruct, prop: str, url: str) -> None:
    """An ``https://`` URL with a host, without spaces or control characters. The error shows
    the length and the scheme only: the rest of a paging URL is its key."""
    host = url[len("https://") :].split("/", 1)[0].split("?", 1)[0] if url else ""
    if url.startswith("https://") and host and not _UNSAFE.search(url):
        return
    scheme = _SCHEME.match(url)
    start = f"starting with {scheme.group(0)!r}" if scheme else "without a scheme"
    check.fail(
        scope,
        f"{prop} must be an https:// URL with a host and without spaces or control "
        f"characters, got a value of {len(url)} characters {start} (the rest is not shown: a "
        "paging URL holds its key)",
    )


def _investigation_group(scope: IConstruct, prop: str, arn: str) -> None:
    check.matches(
        scope,
        prop,
        arn,
        INVESTIGATION_GROUP_ARN,
        "an investigation group ARN, arn:<partition>:aiops:<region>:<account>:"
        "investigation-group/<16 letters and digits>",
    )
    if check.is_token(arn):
        return
    match = INVESTIGATION_GROUP_ARN.fullmatch(arn)
    assert match is not None
    stack = Stack.of(scope)
    for label, value, own in (
        ("region", match.group(2), stack.region),
        ("account", match.group(3), stack.account),
    ):
        if not check.is_token(own) and value != own:
            check.fail(
                scope,
                f"{prop} must name a group in the alarm's own {label} ({own}): CloudWatch "
                f"starts investigations in the group of the alarm's account and region, got "
                f"{arn!r}",
            )


def _runbook(scope: IConstruct, prop: str, url: str) -> None:
    if check.is_token(url):
        return
    if (
        not isinstance(url, str)
        or not re.fullmatch(r"https?://[^/?#\s]+\S*", url)
        or _UNSAFE.search(url)
        or len(url) > MAX_RUNBOOK_URL
    ):
        check.fail(
            scope,
            f"{prop} must be an http:// or https:// URL with a host, without spaces or control "
            f"characters, at most {MAX_RUNBOOK_URL} characters, got {url!r}",
        )
