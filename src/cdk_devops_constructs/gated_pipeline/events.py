"""EventBridge rules on the pipeline's events: people are told, and the metrics are recorded.

CodePipeline publishes three detail types to the default event bus, on an at-least-once basis:
"CodePipeline Pipeline Execution State Change" (STARTED, STOPPING, STOPPED, SUCCEEDED,
SUPERSEDED, FAILED, CANCELED, RESUMED), "CodePipeline Stage Execution State Change" and
"CodePipeline Action Execution State Change". A stage rollback runs as a new pipeline execution
whose STARTED event carries ``execution-trigger.trigger-type`` AutomatedRollback (on-failure or
on-success condition) or ManualRollback.
"""

from __future__ import annotations

from typing import Any

import jsii
from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk.interfaces import aws_events as events_refs
from constructs import Construct

from .dora import PIPELINE_EVENT, STAGE_EVENT

ACTION_EVENT = "CodePipeline Action Execution State Change"
ROLLBACK_TRIGGERS = ("AutomatedRollback", "ManualRollback")


def _field(path: str) -> str:
    return events.EventField.from_path(path)


def notify(
    scope: Construct, *, pipeline_arn: str, pipeline_name: str, topic: sns.ITopic
) -> list[events.Rule]:
    """Email-friendly messages on the topic: an execution failed or succeeded, a stage is being
    rolled back, an approval is waiting. The topic's policies must let EventBridge publish
    (``_notifications.eventbridge_rules``)."""
    console = (
        f"https://console.aws.amazon.com/codesuite/codepipeline/pipelines/{pipeline_name}/"
        f"executions/{_field('$.detail.execution-id')}/timeline?region={Stack.of(scope).region}"
    )
    rules: list[tuple[str, str, dict[str, Any], str]] = [
        (
            "ExecutionFinished",
            PIPELINE_EVENT,
            {"state": ["FAILED", "SUCCEEDED", "STOPPED"]},
            f"Pipeline {pipeline_name}: execution {_field('$.detail.execution-id')} "
            f"{_field('$.detail.state')}. {console}",
        ),
        (
            "RollbackStarted",
            PIPELINE_EVENT,
            {
                "state": ["STARTED"],
                "execution-trigger": {"trigger-type": list(ROLLBACK_TRIGGERS)},
            },
            f"Pipeline {pipeline_name}: ROLLBACK started "
            f"({_field('$.detail.execution-trigger.trigger-type')}), execution "
            f"{_field('$.detail.execution-id')}. {console}",
        ),
        (
            "StageFailed",
            STAGE_EVENT,
            {"state": ["FAILED"]},
            f"Pipeline {pipeline_name}: stage {_field('$.detail.stage')} FAILED in execution "
            f"{_field('$.detail.execution-id')}. {console}",
        ),
        (
            "ApprovalNeeded",
            ACTION_EVENT,
            {"state": ["STARTED"], "type": {"category": ["Approval"]}},
            f"Pipeline {pipeline_name}: approval {_field('$.detail.action')} in stage "
            f"{_field('$.detail.stage')} is waiting for a decision. {console}",
        ),
    ]
    created = []
    for id, detail_type, detail, message in rules:
        rule = events.Rule(
            scope,
            id,
            description=f"{detail_type} of {pipeline_name} to its notification topic"[:512],
            event_pattern=events.EventPattern(
                source=["aws.codepipeline"],
                detail_type=[detail_type],
                resources=[pipeline_arn],
                detail=detail,
            ),
        )
        rule.add_target(_TopicTarget(topic, events.RuleTargetInput.from_text(message)))
        created.append(rule)
    return created


@jsii.implements(events.IRuleTarget)
class _TopicTarget:
    """An SNS topic as rule target. ``targets.SnsTopic`` would grant ``events.amazonaws.com``
    on the topic and ``kms:GenerateDataKey*`` on its key; GatedPipeline writes both statements
    itself, with explicit actions (``_notifications.allow_to_publish``)."""

    def __init__(self, topic: sns.ITopic, message: events.RuleTargetInput) -> None:
        self._topic = topic
        self._message = message

    def bind(self, rule: events_refs.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self._topic.topic_arn, input=self._message)


@jsii.implements(events.IRuleTarget)
class _LogGroupTarget:
    """A log group as rule target, without the custom resource ``targets.CloudWatchLogGroup``
    creates to write the log group's resource policy (``record`` writes it as a plain
    ``AWS::Logs::ResourcePolicy``)."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._log_group = log_group

    def bind(self, rule: events_refs.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self._arn(rule))

    def _arn(self, rule: events_refs.IRuleRef) -> str:
        # EventBridge wants the log group ARN without the ":*" suffix GetAtt Arn carries.
        return Stack.of(rule).format_arn(
            service="logs",
            resource="log-group",
            resource_name=self._log_group.log_group_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )


def record(
    scope: Construct, *, pipeline_arn: str, pipeline_name: str, log_group: logs.LogGroup
) -> events.Rule:
    """Store the pipeline's execution and stage events in ``log_group`` for the dashboard."""
    rule = events.Rule(
        scope,
        "RecordDeliveryEvents",
        description=f"Execution and stage events of {pipeline_name} for delivery metrics"[:512],
        event_pattern=events.EventPattern(
            source=["aws.codepipeline"],
            detail_type=[PIPELINE_EVENT, STAGE_EVENT],
            resources=[pipeline_arn],
        ),
    )
    rule.add_target(_LogGroupTarget(log_group))
    logs.ResourcePolicy(
        scope,
        "EventsWriteDeliveryEvents",
        policy_statements=[
            iam.PolicyStatement(
                sid="EventBridgeWritesPipelineEvents",
                principals=[
                    iam.ServicePrincipal("events.amazonaws.com"),
                    iam.ServicePrincipal("delivery.logs.amazonaws.com"),
                ],
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[log_group.log_group_arn],
                # Only this account's EventBridge deliveries: the condition of the CloudWatch
                # Events user guide's example for this policy ("CloudWatch Logs permissions").
                # The current EventBridge guide's example has none, so the key is checked when
                # the request carries it (EventBridge cannot target another account's log
                # group anyway).
                conditions={
                    "ArnLikeIfExists": {
                        "aws:SourceArn": Stack.of(scope).format_arn(service="events", resource="*")
                    }
                },
            )
        ],
    )
    return rule
