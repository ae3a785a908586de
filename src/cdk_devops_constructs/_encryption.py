"""Customer-managed KMS keys and the key-policy statements AWS services need to use them."""

from __future__ import annotations

from collections.abc import Iterable

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ._policies import add_statement

# What a service needs to send messages to an SNS topic encrypted with the key.
# https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
PUBLISH_TO_ENCRYPTED_TOPIC = ("kms:Decrypt", "kms:GenerateDataKey")

# What CloudWatch Logs needs to encrypt a log group with the key: the documented wildcards
# spelled out, since this library writes no wildcard actions.
# https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
LOGS_ENCRYPTION = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
)


def customer_managed_key(scope: Construct, id: str, *, description: str) -> kms.Key:
    """A symmetric key with yearly rotation, kept when the stack is deleted.

    Costs $1/month plus $0.03 per 10,000 requests.
    """
    return kms.Key(
        scope,
        id,
        description=description,
        enable_key_rotation=True,
        pending_window=Duration.days(30),
        removal_policy=RemovalPolicy.RETAIN,
    )


def allow_services_to_publish(
    key: kms.IKey,
    service_principals: Iterable[str],
    *,
    sid: str = "AllowServicesToPublishToEncryptedTopics",
) -> None:
    """Let AWS services (``cloudwatch.amazonaws.com``, ``events.amazonaws.com``...) send to an
    SNS topic encrypted with ``key``, on behalf of this account only. A construct that adds a
    publisher to a key another construct already configured passes its own ``sid`` (statement
    IDs are unique within a key policy)."""
    principals = sorted(set(service_principals))
    if not principals:
        return
    add_statement(
        key,
        iam.PolicyStatement(
            sid=sid,
            principals=[iam.ServicePrincipal(p) for p in principals],
            actions=list(PUBLISH_TO_ENCRYPTED_TOPIC),
            # In a key policy, "*" means "this key".
            resources=["*"],
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(key).account}},
        ),
        why=f"publishing to topics encrypted with this key ({', '.join(principals)})",
    )


def allow_log_groups(key: kms.IKey) -> None:
    """Let CloudWatch Logs use ``key`` for the log groups of this account and region."""
    stack = Stack.of(key)
    add_statement(
        key,
        iam.PolicyStatement(
            sid="AllowCloudWatchLogsInThisAccountAndRegion",
            principals=[iam.ServicePrincipal(f"logs.{stack.region}.amazonaws.com")],
            actions=list(LOGS_ENCRYPTION),
            # In a key policy, "*" means "this key".
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                        service="logs",
                        resource="log-group",
                        resource_name="*",
                        arn_format=ArnFormat.COLON_RESOURCE_NAME,
                    )
                }
            },
        ),
        why="encrypting log groups with this key",
    )
