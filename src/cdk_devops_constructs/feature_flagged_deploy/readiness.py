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

The function has no permission to write logs: its one result, and the reason of a failure, is
what it reports to CloudFormation, which shows it in the stack's events.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from .._compliance import acknowledge

RESOURCE_TYPE = "Custom::AlarmsEvaluated"

# Python standard library and boto3 only (the Lambda runtime's), inline: no asset to build.
HANDLER = """\
import json
import time
import urllib.request

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


def handler(event, context):
    status, reason = "SUCCESS", "nothing to wait for when deleting"
    try:
        if event["RequestType"] != "Delete":
            deadline = time.time() + context.get_remaining_time_in_millis() / 1000 - 60
            reason = wait(event["ResourceProperties"]["AlarmNames"], deadline)
    except Exception as error:
        status, reason = "FAILED", str(error)
    body = {
        "Status": status,
        "Reason": reason[:3000],
        "PhysicalResourceId": event.get("PhysicalResourceId") or event["LogicalResourceId"],
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
    }
    request = urllib.request.Request(
        event["ResponseURL"], data=json.dumps(body).encode(), method="PUT",
        headers={"Content-Type": ""},
    )
    urllib.request.urlopen(request, timeout=30)
"""


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
        self._function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=lambda_.Code.from_inline(HANDLER),
            role=role,
            timeout=Duration.minutes(15),
            memory_size=128,
            description="Waits until feature-flag rollback alarms have been evaluated",
        )
        acknowledge(self._function, "deployment-time-function")

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
