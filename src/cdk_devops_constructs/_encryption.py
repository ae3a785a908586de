"""Customer-managed KMS keys, and the key-policy statement CloudWatch Logs needs to use them.

The statements for services publishing to encrypted topics live with the topics
(``_notifications``)."""

from __future__ import annotations

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from ._policies import add_statement

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
    """A symmetric key with yearly rotation, kept when the stack is deleted, on which only AWS
    services may create grants.

    Costs $1/month plus $0.03 per 10,000 requests.
    """
    key = kms.Key(
        scope,
        id,
        description=description,
        enable_key_rotation=True,
        pending_window=Duration.days(30),
        removal_policy=RemovalPolicy.RETAIN,
    )
    key.add_to_resource_policy(grants_only_for_aws_resources())
    return key


def grants_only_for_aws_resources() -> iam.PolicyStatement:
    """The key-policy statement that lets only AWS services create grants on a key, for AWS
    resources (ECR, for one, encrypts images through grants it creates itself): AWS Control
    Tower control CT.KMS.PR.3."""
    return iam.PolicyStatement(
        sid="GrantsOnlyForAwsResources",
        effect=iam.Effect.DENY,
        principals=[iam.AnyPrincipal()],
        actions=["kms:CreateGrant"],
        resources=["*"],
        conditions={
            "BoolIfExists": {
                "kms:GrantIsForAWSResource": "false",
                "aws:PrincipalIsAWSService": "false",
            }
        },
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
