"""The one log-group shape of the library."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct


def encrypted_log_group(
    scope: Construct, id: str, *, retention: logs.RetentionDays, key: kms.IKey
) -> logs.LogGroup:
    """A log group encrypted with ``key`` (whose policy must admit CloudWatch Logs, see
    ``_encryption.allow_log_groups``), kept when the stack is deleted: logs are evidence."""
    return logs.LogGroup(
        scope, id, retention=retention, encryption_key=key, removal_policy=RemovalPolicy.RETAIN
    )
