"""GatedPipeline, deployed: a stage whose bake sees its service's health alarm fire rolls back.

The source is a zip in a versioned bucket (this directory's ``app/``, copied there by the
assertions). A stage can roll back only to an earlier successful execution, so:

1. the first copy starts an execution, which deploys and bakes without an alarm: it succeeds;
2. the second copy starts another; once its bake runs, the health alarm is forced into ALARM;
3. that execution fails, and CodePipeline runs a rollback execution to the first one.
"""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as assets
from aws_cdk.integ_tests_alpha import ExpectedResult, Match
from support import IMAGE, IMAGE_USER, environment, integ_test, nobody_is_paged

from cdk_devops_constructs import (
    DeployStage,
    Gate,
    GatedPipeline,
    ObservedService,
    PipelineSource,
    PipelineTest,
)

SOURCE_KEY = "source.zip"

app = cdk.App()
stack = cdk.Stack(app, "GatedPipelineInteg", env=environment())
service = ObservedService(
    stack,
    "Staging",
    image=ecs.ContainerImage.from_registry(IMAGE),
    user=IMAGE_USER,
    min_capacity=1,
    max_capacity=2,
)
nobody_is_paged(service)
source = s3.Bucket(
    stack,
    "Source",
    versioned=True,
    event_bridge_enabled=True,
    enforce_ssl=True,
    removal_policy=cdk.RemovalPolicy.DESTROY,
    auto_delete_objects=True,
)
archive = assets.Asset(stack, "App", path=str(Path(__file__).parent / "app"))
pipeline = GatedPipeline(
    stack,
    "Delivery",
    source=PipelineSource.s3(source, SOURCE_KEY),
    tests=[PipelineTest(name="Unit", commands=["test -f Dockerfile"])],
    stages=[
        DeployStage(name="Staging", services=[service], gates=[Gate.bake(cdk.Duration.minutes(5))])
    ],
)
nobody_is_paged(pipeline)

integ = integ_test(app, "GatedPipeline", stack)
name = pipeline.pipeline.pipeline_name


def upload() -> object:
    """A new version of the source archive, which starts an execution."""
    copy = integ.assertions.aws_api_call(
        "S3",
        "copyObject",
        {
            "Bucket": source.bucket_name,
            "Key": SOURCE_KEY,
            "CopySource": f"{archive.s3_bucket_name}/{archive.s3_object_key}",
        },
    )
    copy.provider.add_to_role_policy(
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject"],
            "Resource": [archive.bucket.arn_for_objects("*"), source.arn_for_objects("*")],
        }
    )
    return copy


def executions(expected: dict[str, object], minutes: int) -> object:
    """Wait until an execution of the pipeline looks like ``expected``."""
    call = integ.assertions.aws_api_call(
        "CodePipeline", "listPipelineExecutions", {"pipelineName": name}
    )
    call.expect(
        ExpectedResult.object_like(
            {"pipelineExecutionSummaries": Match.array_with([Match.object_like(expected)])}
        )
    )
    return call.wait_for_assertions(
        total_timeout=cdk.Duration.minutes(minutes), interval=cdk.Duration.seconds(30)
    )


first, second = upload(), upload()
first_succeeded = executions({"executionType": "STANDARD", "status": "Succeeded"}, 60)
baking = integ.assertions.aws_api_call("CodePipeline", "getPipelineState", {"name": name})
baking.expect(
    ExpectedResult.object_like(
        {
            "stageStates": Match.array_with(
                [
                    Match.object_like(
                        {
                            "stageName": "Staging",
                            "actionStates": Match.array_with(
                                [
                                    Match.object_like(
                                        {
                                            "actionName": "Release",
                                            "latestExecution": Match.object_like(
                                                {"status": "InProgress"}
                                            ),
                                        }
                                    )
                                ]
                            ),
                        }
                    )
                ]
            )
        }
    )
)
baking.wait_for_assertions(
    total_timeout=cdk.Duration.minutes(60), interval=cdk.Duration.seconds(20)
)
forced = integ.assertions.aws_api_call(
    "CloudWatch",
    "setAlarmState",
    {
        "AlarmName": service.health_alarm_name,
        "StateValue": "ALARM",
        "StateReason": "integration test: forced during the bake",
    },
)
rolled_back = executions({"executionType": "ROLLBACK", "status": "Succeeded"}, 60)

first.next(first_succeeded).next(second).next(baking).next(forced).next(rolled_back)
app.synth()
