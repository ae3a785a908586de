"""A service's incident response: where its health signal goes, and what every alarm says.

Why a route of its own, driven by the health signal alone: the service's critical alarms each
notify the alarm topic (on ALARM and on OK), so a person reading email learns which signal
broke. Paging or chatting from that topic would open one page and post one message per alarm
for a single incident (a bad deployment fires the error, latency and unhealthy-target alarms
within the same minute). The health signal is in ALARM once per incident, whichever signals
broke, and returns to OK once: its incident topic (encrypted with the service's key, published
to by CloudWatch alone) carries one message each way, which the chat channels post and the
paging tools open and resolve a page on. The OpsItem and the investigation are alarm actions of
the same alarm, on ALARM only.
"""

from __future__ import annotations

from collections.abc import Mapping

import jsii
from aws_cdk import Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from .._alarms import AlarmSpec, check_description
from .._compliance import acknowledge
from .._notifications import cloudwatch_alarms, encrypted_topic
from .chat import ChatChannels
from .settings import Incidents


def respond_to_incidents(
    scope: Construct,
    incidents: Incidents,
    *,
    service_name: str,
    alarms: Mapping[str, tuple[cloudwatch.Alarm, AlarmSpec]],
    health_alarm: cloudwatch.Alarm,
    key: kms.IKey,
    dashboard_name: str,
) -> sns.Topic | None:
    """Give ``health_alarm`` its incident actions and every alarm of ``alarms`` (key -> alarm
    and what it watches; the health alarm under ``"health"``) its full description; return the
    incident topic (None when no chat channel or paging endpoint hears of incidents)."""
    topic = _route(scope, incidents, health_alarm=health_alarm, key=key, name=service_name)
    context = _context(scope, service_name, dashboard_name, incidents.runbook_url)
    for key_name, (alarm, spec) in alarms.items():
        lines = [spec.description, f"First check: {spec.first_check}", *context]
        if alarm is health_alarm:
            lines.append(_on_alarm(incidents))
        text = "\n".join(lines)
        check_description(
            scope,
            f"the description of alarm {key_name}",
            text,
            fix="shorten incidents.runbook_url or service_name",
        )
        cfn = alarm.node.default_child
        assert isinstance(cfn, cloudwatch.CfnAlarm)
        cfn.alarm_description = text
    return topic


def _context(
    scope: Construct, service_name: str, dashboard_name: str, runbook_url: str | None
) -> list[str]:
    """The lines every alarm of a service ends its description with: where (service, account,
    region, stack), the dashboard, the runbook.

    A description is what a person reads in the email, the chat message or the page: what
    fired and at which threshold, what to look at first, then these. One sentence or link per
    line: a reader that joins lines still reads sentences, and chat clients link a bare URL."""
    stack = Stack.of(scope)
    region = stack.region
    lines = [
        f"Where: {service_name} in account {stack.account}, region {region}, stack "
        f"{stack.stack_name}.",
        f"Dashboard: https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}"
        f"#dashboards:name={dashboard_name}",
    ]
    if runbook_url is not None:
        lines.append(f"Runbook: {runbook_url}")
    return lines


def _on_alarm(incidents: Incidents) -> str:
    """What the health signal starts, said in its own description (OpsItems do not resolve)."""
    started = []
    if incidents.ops_item is not None:
        started.append(
            f"OpsItem ({incidents.ops_item._describe()}) opens in OpsCenter, open until "
            "resolved there, not on OK"
        )
    if incidents.chat:
        started.append("chat is told, again on OK")
    if incidents.paging:
        started.append("on-call paged, resolved on OK")
    if incidents.investigation_group_arn is not None:
        started.append("investigation starts")
    if not started:
        return "On ALARM: nothing starts from this alarm (incidents are off)."
    return f"On ALARM: {'; '.join(started)}."


def _route(
    scope: Construct,
    incidents: Incidents,
    *,
    health_alarm: cloudwatch.Alarm,
    key: kms.IKey,
    name: str,
) -> sns.Topic | None:
    """The health signal's actions: the OpsItem, the incident topic (ALARM and OK) with its
    chat channels and paging subscriptions, the investigation. At most three ARNs per action
    list (CloudWatch allows five)."""
    if incidents.ops_item is not None:
        health_alarm.add_alarm_action(incidents.ops_item._alarm_action())
    topic = None
    if incidents._routes_to_people:
        route = Construct(scope, "Incidents")
        topic = encrypted_topic(
            route,
            "Topic",
            key=key,
            emails=(),
            publishers=[cloudwatch_alarms(scope)],
            display_name=f"Incidents of {name}",
        )
        channels = ChatChannels.of(scope)
        for channel in incidents.chat:
            channels.subscribe(channel, topic)
        for endpoint in incidents.paging:
            # Raw message delivery stays off: the paging tools read the SNS envelope (its
            # Subject starts with ALARM: or OK:) to open and resolve the page.
            sns.Subscription(
                route,
                f"Page{endpoint.name}",
                topic=topic,
                endpoint=endpoint._endpoint(),
                protocol=sns.SubscriptionProtocol.HTTPS,
            )
        action = cloudwatch_actions.SnsAction(topic)
        health_alarm.add_alarm_action(action)
        health_alarm.add_ok_action(action)
    if incidents.investigation_group_arn is not None:
        health_alarm.add_alarm_action(_StartInvestigation(incidents.investigation_group_arn))
    if not (incidents.ops_item or incidents._routes_to_people or incidents.investigation_group_arn):
        acknowledge(health_alarm, "health-signal-alarm")
    return topic


@jsii.implements(cloudwatch.IAlarmAction)
class _StartInvestigation:
    """Start an investigation in a CloudWatch investigation group: the alarm action is the
    group's ARN (CloudWatch user guide, "Configure alarms to create investigations"). CDK has no
    action for it."""

    def __init__(self, group_arn: str) -> None:
        self._group_arn = group_arn

    def bind(self, scope: Construct, alarm: cloudwatch.IAlarm) -> cloudwatch.AlarmActionConfig:
        return cloudwatch.AlarmActionConfig(alarm_action_arn=self._group_arn)
