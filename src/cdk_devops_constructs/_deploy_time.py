"""Functions that run only while CloudFormation deploys a stack, behind a custom resource.

Each is inline Python (the runtime's standard library and boto3): no asset to build or upload,
no bootstrap bucket to read it from. Each answers CloudFormation itself, in the form the
CloudFormation user guide gives for custom resource responses, and has no permission to write
logs: its result, and the reason of a failure, is what CloudFormation shows in the stack's
events.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ._compliance import acknowledge

# Appended to every handler: handler(event, context) returns (status, reason), and this
# reports it to CloudFormation.
RESPOND = """

def respond(event, status, reason):
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


def handler(event, context):
    try:
        status, reason = "SUCCESS", act(event, context)
    except Exception as error:
        status, reason = "FAILED", str(error) or type(error).__name__
    respond(event, status, reason)
"""


def source(act: str) -> str:
    """The whole inline source of a function whose ``act(event, context)`` does the work and
    returns what it did (raising says why it failed)."""
    return "import json\nimport urllib.request\n\n" + act + RESPOND


def deploy_time_function(
    scope: Construct,
    id: str,
    *,
    act: str,
    role: iam.IRole,
    description: str,
    timeout: Duration,
) -> lambda_.Function:
    function = lambda_.Function(
        scope,
        id,
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=lambda_.Code.from_inline(source(act)),
        role=role,
        timeout=timeout,
        memory_size=128,
        description=description,
    )
    acknowledge(function, "deployment-time-function")
    return function
