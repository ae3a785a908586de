"""A zip archive in a versioned S3 bucket."""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import Stack
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_s3 as s3
from constructs import IConstruct

from ... import _validation as check
from ..permissions import BUCKET_READ, KMS_DECRYPT, S3_SOURCE_READ, ServiceRole
from .base import SOURCE_NAMESPACE, PipelineSource, SourceStep

S3_KEY = re.compile(r"[^*]{1,1024}")


@dataclass(frozen=True)
class S3Source(PipelineSource):
    """An archive in S3; made by ``PipelineSource.s3``, which documents each field."""

    bucket: s3.IBucket
    key: str

    def _validate(self, scope: IConstruct) -> None:
        check.matches(
            scope,
            "source.key",
            self.key,
            S3_KEY,
            "an S3 object key of 1-1024 characters without '*'",
        )
        _check_source_bucket(scope, self.bucket)

    def _action(self, output: codepipeline.Artifact, role: ServiceRole) -> SourceStep:
        action = actions.S3SourceAction(
            action_name="Source",
            bucket=self.bucket,
            bucket_key=self.key,
            output=output,
            trigger=actions.S3Trigger.NONE,
            role=role.immutable,
            variables_namespace=SOURCE_NAMESPACE,
        )
        role.allow(S3_SOURCE_READ, [self.bucket.arn_for_objects(self.key)])
        role.allow(BUCKET_READ, [self.bucket.bucket_arn])
        role.use_key(self.bucket.encryption_key, KMS_DECRYPT)
        return SourceStep(action, action.variables.version_id)

    def _new_revision(self) -> events.EventPattern:
        """New versions of the object."""
        return events.EventPattern(
            source=["aws.s3"],
            detail_type=["Object Created"],
            detail={
                "bucket": {"name": [self.bucket.bucket_name]},
                "object": {"key": [self.key]},
            },
        )


def _check_source_bucket(scope: IConstruct, bucket: s3.IBucket) -> None:
    """An S3 source starts the pipeline on new object versions, through EventBridge: the bucket
    must be versioned (CodePipeline's S3 source action requires it) and send its events to
    EventBridge. Checked on a bucket of this app; an imported one cannot be seen."""
    resource = bucket.node.default_child
    if not isinstance(resource, s3.CfnBucket):
        return
    stack = Stack.of(resource)
    versioning = stack.resolve(resource.versioning_configuration) or {}
    if versioning.get("status") != "Enabled":
        check.fail(
            scope,
            f"source.bucket ({bucket.node.path}) must be versioned (s3.Bucket(..., "
            "versioned=True)): the S3 source action reads object versions, got versioning "
            f"{versioning.get('status', 'off')}",
        )
    if not _sends_to_eventbridge(bucket, resource):
        check.fail(
            scope,
            f"source.bucket ({bucket.node.path}) must send its events to EventBridge "
            "(s3.Bucket(..., event_bridge_enabled=True)): uploads start the pipeline through "
            "an EventBridge rule, got no EventBridge notifications",
        )


def _sends_to_eventbridge(bucket: s3.IBucket, resource: s3.CfnBucket) -> bool:
    """EventBridge notifications, set on the bucket resource itself or, as ``s3.Bucket`` does,
    by its ``Notifications`` custom resource (read from the resource's properties)."""
    stack = Stack.of(resource)
    own = stack.resolve(resource.notification_configuration) or {}
    if "eventBridgeConfiguration" in own or "EventBridgeConfiguration" in own:
        return True
    notifications = bucket.node.try_find_child("Notifications")
    custom = notifications.node.try_find_child("Resource") if notifications else None
    if custom is None:
        return False
    properties = stack.resolve(getattr(custom, "_cfn_properties", None)) or {}
    return "EventBridgeConfiguration" in (properties.get("NotificationConfiguration") or {})
