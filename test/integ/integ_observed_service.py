"""ObservedService, deployed: what only a deployment shows.

1. An alarm forced into ALARM notifies the alarm topic, and the notification is delivered (to
   an SQS queue subscribed to the topic: CloudWatch -> encrypted topic -> subscriber).
2. A deployment whose tasks cannot start is rolled back by ECS: the service runs its previous
   task definition again, alone.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk.integ_tests_alpha import ExpectedResult, Match
from support import IMAGE, IMAGE_USER, environment, integ_test

from cdk_devops_constructs import ObservedService

app = cdk.App()
stack = cdk.Stack(app, "ObservedServiceInteg", env=environment())
service = ObservedService(
    stack,
    "Service",
    image=ecs.ContainerImage.from_registry(IMAGE),
    user=IMAGE_USER,
    min_capacity=1,
    max_capacity=2,
)
inbox = sqs.Queue(
    stack,
    "AlarmInbox",
    encryption=sqs.QueueEncryption.SQS_MANAGED,
    enforce_ssl=True,
    retention_period=cdk.Duration.hours(1),
)
service.alarm_topic.add_subscription(
    subscriptions.SqsSubscription(inbox, raw_message_delivery=True)
)
# The same container name and port as the service's, and a command that exits at once.
crashing = ecs.FargateTaskDefinition(stack, "Crashing", cpu=512, memory_limit_mib=1024)
crashing.add_container(
    "App",
    container_name="app",
    image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/busybox:1.37.0"),
    command=["sh", "-c", "exit 1"],
    port_mappings=[ecs.PortMapping(container_port=8080)],
    memory_limit_mib=1024,
)

integ = integ_test(app, "ObservedService", stack)

forced = integ.assertions.aws_api_call(
    "CloudWatch",
    "setAlarmState",
    {
        "AlarmName": service.alarms["errors"].alarm_name,
        "StateValue": "ALARM",
        "StateReason": "integration test: forced",
    },
)
delivered = integ.assertions.aws_api_call(
    "SQS",
    "receiveMessage",
    {"QueueUrl": inbox.queue_url, "WaitTimeSeconds": 20, "MaxNumberOfMessages": 10},
)
delivered.expect(
    ExpectedResult.object_like(
        {
            "Messages": Match.array_with(
                [
                    Match.object_like(
                        {"Body": Match.string_like_regexp(r'"NewStateValue":\s*"ALARM"')}
                    )
                ]
            )
        }
    )
)
delivered.wait_for_assertions(
    total_timeout=cdk.Duration.minutes(5), interval=cdk.Duration.seconds(10)
)

cluster = service.service.cluster.cluster_name
bad_deployment = integ.assertions.aws_api_call(
    "ECS",
    "updateService",
    {
        "cluster": cluster,
        "service": service.service.service_name,
        "taskDefinition": crashing.task_definition_arn,
    },
)
bad_deployment.provider.add_to_role_policy(
    {"Effect": "Allow", "Action": ["iam:PassRole"], "Resource": [crashing.task_role.role_arn]}
)
rolled_back = integ.assertions.aws_api_call(
    "ECS", "describeServices", {"cluster": cluster, "services": [service.service.service_name]}
)
previous = service.task_definition.task_definition_arn
rolled_back.expect(
    ExpectedResult.object_like(
        {
            "services": [
                Match.object_like(
                    {
                        "taskDefinition": previous,
                        # One deployment left, the previous revision, complete.
                        "deployments": [
                            Match.object_like(
                                {"taskDefinition": previous, "rolloutState": "COMPLETED"}
                            )
                        ],
                    }
                )
            ]
        }
    )
)
rolled_back.wait_for_assertions(
    total_timeout=cdk.Duration.minutes(30), interval=cdk.Duration.seconds(30)
)

forced.next(delivered).next(bad_deployment).next(rolled_back)
app.synth()
