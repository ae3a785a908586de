"""Flag deployments that start only once their rollback alarms have been evaluated.

AppConfig rolls a deployment back "if one or more CloudWatch alarms go into the ALARM or
INSUFFICIENT_DATA state during a deployment" (AppConfig user guide, "Monitoring deployments for
automatic rollback"), and CloudWatch creates every alarm in INSUFFICIENT_DATA ("When this
operation creates an alarm, the alarm state is immediately set to INSUFFICIENT_DATA",
PutMetricAlarm API reference). A ``cdk deploy`` that creates a service's alarms and deploys its
flags would otherwise roll its own flags back.

So each environment's deployment waits for a custom resource whose function polls the alarms
until every one has left INSUFFICIENT_DATA (CloudWatch evaluates them every minute). It fails,
saying which alarm and why, when one is in ALARM (AppConfig would roll back at once) or still
unevaluated after about 14 minutes. It runs when the watched alarms change (a new stack, a new
service), not on flag changes: the alarms have been evaluated long before.

The function is a ``_deploy_time`` function: inline, no logs, its result in the stack's events.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from constructs import Construct

from .._compliance import acknowledge
from .._deploy_time import deploy_time_function, source

RESOURCE_TYPE = "Custom::AlarmsEvaluated"

# Run by _deploy_time.source(), which adds the answer to CloudFormation.
ACT = """\
import time

import boto3

CLOUDWATCH = boto3.client("cloudwatch")


def states(names):
    found = {}
    for start in range(0, len(names), 100):
        page = CLOUDWATCH.describe_alarms(
            AlarmNames=names[start:start + 100], AlarmTypes=["MetricAlarm", "CompositeAlarm"]
        )
        for alarm in page["MetricAlarms"] + page["CompositeAlarms"]:
            found[alarm["AlarmName"]] = alarm["StateValue"]
    return found


def wait(names, deadline):
    while True:
        found = states(names)
        alarming = [name for name in names if found.get(name) == "ALARM"]
        if alarming:
            raise RuntimeError(
                "in ALARM, so AppConfig would roll the flags back: " + ", ".join(alarming)
            )
        pending = [name for name in names if found.get(name) != "OK"]
        if not pending:
            return "every rollback alarm is OK: " + ", ".join(names)
        if time.time() > deadline:
            raise RuntimeError("not evaluated yet (no state, or INSUFFICIENT_DATA): "
                               + ", ".join(pending))
        time.sleep(10)


def act(event, context):
    if event["RequestType"] == "Delete":
        return "nothing to wait for when deleting"
    deadline = time.time() + context.get_remaining_time_in_millis() / 1000 - 60
    return wait(event["ResourceProperties"]["AlarmNames"], deadline)
"""
SOURCE = source(ACT)


class AlarmReadiness(Construct):
    """The function, and one ``Custom::AlarmsEvaluated`` resource per group of alarms."""

    def __init__(self, scope: Construct, id: str, *, alarms: Sequence[cloudwatch.IAlarm]) -> None:
        super().__init__(scope, id)
        role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Reads the state of the alarms that roll back feature-flag deployments",
        )
        # Composite alarms are returned to DescribeAlarms only for callers allowed on "*".
        metric_only = all(isinstance(a, cloudwatch.Alarm) for a in alarms)
        self._policy = iam.ManagedPolicy(
            self,
            "Policy",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    actions=["cloudwatch:DescribeAlarms"],
                    resources=[a.alarm_arn for a in alarms] if metric_only else ["*"],
                )
            ],
        )
        if not metric_only:
            acknowledge(self._policy, "appconfig-composite-alarm-monitor-policy")
        self._function = deploy_time_function(
            self,
            "Function",
            act=ACT,
            role=role,
            timeout=Duration.minutes(15),
            description="Waits until feature-flag rollback alarms have been evaluated",
        )

    def wait_for(self, id: str, alarms: Sequence[cloudwatch.IAlarm]) -> CustomResource:
        """A resource that exists once every one of ``alarms`` is OK."""
        resource = CustomResource(
            self,
            id,
            service_token=self._function.function_arn,
            resource_type=RESOURCE_TYPE,
            properties={"AlarmNames": [a.alarm_name for a in alarms]},
        )
        # The function may act once its policy exists (the alarms, named by Ref, come first).
        resource.node.add_dependency(self._policy)
        return resource
