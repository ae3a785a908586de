"""Private, SSL-only, versioned buckets with a lifecycle, kept when the stack is deleted."""

from __future__ import annotations

import jsii
from aws_cdk import Aspects, Duration, IAspect, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from ._compliance import acknowledge
from ._encryption import grants_only_for_aws_resources

# Log objects are kept one year, then expire; overwritten versions are kept 30 days.
LOG_RETENTION = Duration.days(365)
NONCURRENT_RETENTION = Duration.days(30)


def secure_bucket(
    scope: Construct,
    id: str,
    *,
    encryption_key: kms.IKey | None,
    expiration: Duration,
    server_access_logs: s3.IBucket | None = None,
    server_access_logs_prefix: str | None = None,
) -> s3.Bucket:
    """The one bucket shape of the library.

    With ``encryption_key`` the bucket uses SSE-KMS with an S3 Bucket Key (fewer KMS requests);
    without, SSE-S3. Objects expire after ``expiration``, old versions after 30 days and
    incomplete uploads after 7 days.
    """
    bucket = s3.Bucket(
        scope,
        id,
        encryption=s3.BucketEncryption.KMS if encryption_key else s3.BucketEncryption.S3_MANAGED,
        encryption_key=encryption_key,
        bucket_key_enabled=True if encryption_key else None,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        versioned=True,
        server_access_logs_bucket=server_access_logs,
        server_access_logs_prefix=server_access_logs_prefix,
        lifecycle_rules=[
            s3.LifecycleRule(
                id="Expire",
                expiration=expiration,
                noncurrent_version_expiration=NONCURRENT_RETENTION,
                abort_incomplete_multipart_upload_after=Duration.days(7),
            )
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )
    # Object events on EventBridge's default bus, free of charge, for whoever wants to react to
    # them (AWS Control Tower control CT.S3.PR.4). Set on the CloudFormation resource:
    # ``event_bridge_enabled=True`` would add CDK's notifications custom resource, a Lambda
    # function per stack.
    cfn = bucket.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    cfn.add_property_override(
        "NotificationConfiguration.EventBridgeConfiguration", {"EventBridgeEnabled": True}
    )
    return bucket


def harden_replication_bucket(bucket: s3.IBucket, expiration: Duration) -> None:
    """Give the artifact bucket CodePipeline's support stack makes in another region (and its
    key) the shape of ``secure_bucket``: a rotated key, versioning, the same lifecycle, owner
    enforced, events on EventBridge. It gets no access logs: a log bucket in every region
    of a stage would cost more than the artifacts it watches (``_compliance``)."""
    cfn = bucket.node.default_child
    assert isinstance(cfn, s3.CfnBucket)
    cfn.versioning_configuration = s3.CfnBucket.VersioningConfigurationProperty(status="Enabled")
    cfn.lifecycle_configuration = s3.CfnBucket.LifecycleConfigurationProperty(
        rules=[
            s3.CfnBucket.RuleProperty(
                id="Expire",
                status="Enabled",
                expiration_in_days=int(expiration.to_days()),
                noncurrent_version_expiration=s3.CfnBucket.NoncurrentVersionExpirationProperty(
                    noncurrent_days=int(NONCURRENT_RETENTION.to_days())
                ),
                abort_incomplete_multipart_upload=s3.CfnBucket.AbortIncompleteMultipartUploadProperty(
                    days_after_initiation=7
                ),
            )
        ]
    )
    cfn.ownership_controls = s3.CfnBucket.OwnershipControlsProperty(
        rules=[s3.CfnBucket.OwnershipControlsRuleProperty(object_ownership="BucketOwnerEnforced")]
    )
    cfn.add_property_override(
        "NotificationConfiguration.EventBridgeConfiguration", {"EventBridgeEnabled": True}
    )
    cfn.add_property_override(
        "BucketEncryption.ServerSideEncryptionConfiguration.0.BucketKeyEnabled", True
    )
    acknowledge(cfn, "pipeline-replication-bucket")
    # The bucket's key is given to it as an alias; the key is the bucket's sibling.
    assert bucket.node.scope is not None
    for key in bucket.node.scope.node.find_all():
        if isinstance(key, kms.Key):
            key.add_to_resource_policy(grants_only_for_aws_resources())
        if isinstance(key, kms.CfnKey):
            key.enable_key_rotation = True


def log_bucket(scope: Construct, id: str) -> s3.Bucket:
    """A destination for load balancer access logs, VPC flow logs and S3 server access logs.

    SSE-S3, because Elastic Load Balancing cannot deliver to a KMS-encrypted bucket.
    """
    bucket = secure_bucket(scope, id, encryption_key=None, expiration=LOG_RETENTION)
    acknowledge(bucket, "access-log-bucket")
    Aspects.of(bucket).add(_AcknowledgeWhileNoLogSources())
    return bucket


@jsii.implements(IAspect)
class _AcknowledgeWhileNoLogSources:
    """At synthesis, when no bucket of the stack sends its server access logs to this one,
    acknowledge that this one is not logged (cdk-nag counts a log destination as logged)."""

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, s3.CfnBucket):
            return
        stack = Stack.of(node)
        ref = {"Ref": stack.get_logical_id(node)}
        for other in stack.node.find_all():
            if isinstance(other, s3.CfnBucket) and other is not node:
                logging = stack.resolve(other.logging_configuration) or {}
                if logging.get("destinationBucketName") == ref:
                    return
        acknowledge(node, "access-log-bucket-without-log-sources")
