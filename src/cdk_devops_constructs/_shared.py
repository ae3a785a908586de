"""Infrastructure shared by every construct of a stack: one VPC, one cluster, one log bucket."""

from __future__ import annotations

from typing import TypeVar

from aws_cdk import Names, Reference, Stack, Token, Tokenization
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct, IConstruct

from . import _validation as check
from ._buckets import log_bucket
from ._vpc import SharedVpc

T = TypeVar("T", bound=IConstruct)

FLOW_LOG_PREFIX = "vpc-flow-logs/"
# ClusterSettings containerInsights values that turn it on (ECS API reference, ClusterSetting).
CONTAINER_INSIGHTS_ON = ("enabled", "enhanced")


class SharedInfrastructure(Construct):
    """Created once per stack, under the stack, the first time a construct needs it.

    Its children (``Vpc``, ``Cluster``, ``LogBucket``) are created on first use only, so a stack
    whose services all bring their own VPC and cluster pays for none of them.
    """

    ID = "DevOpsShared"

    @classmethod
    def of(cls, scope: IConstruct) -> SharedInfrastructure:
        return once(Stack.of(scope), cls, cls.ID)

    @property
    def log_bucket(self) -> s3.Bucket:
        """Access logs of every load balancer and the flow logs of the shared VPC."""
        existing = self._child("LogBucket", s3.Bucket)
        return existing or log_bucket(self, "LogBucket")

    @property
    def vpc(self) -> ec2.IVpc:
        """Two AZs, public subnets for load balancers, private subnets for tasks, one NAT.

        One NAT gateway (about $33/month plus $0.045/GB) instead of one per AZ (about $66):
        tasks in the second AZ lose outbound internet if the first AZ fails, while serving
        traffic continues. An S3 gateway endpoint (free) keeps image-layer pulls off the NAT.
        """
        return self.shared_vpc.vpc

    @property
    def shared_vpc(self) -> SharedVpc:
        existing = self._child("Vpc", SharedVpc)
        if existing:
            return existing
        _allow_flow_log_delivery(self.log_bucket, FLOW_LOG_PREFIX)
        return SharedVpc(
            self, "Vpc", flow_log_bucket=self.log_bucket, flow_log_prefix=FLOW_LOG_PREFIX
        )

    def owns(self, vpc: ec2.IVpc) -> bool:
        """True when ``vpc`` is this stack's shared VPC."""
        existing = self._child("Vpc", SharedVpc)
        return existing is not None and existing.vpc.vpc_id == vpc.vpc_id

    @property
    def cluster(self) -> ecs.Cluster:
        """A cluster in the shared VPC with Container Insights on."""
        existing = self._child("Cluster", ecs.Cluster)
        return existing or named_cluster(self, "Cluster", self.vpc)

    def _child(self, id: str, kind: type[T]) -> T | None:
        child = self.node.try_find_child(id)
        return child if isinstance(child, kind) else None


C = TypeVar("C", bound=Construct)


def once(parent: Construct, kind: type[C], id: str) -> C:
    """The child ``id`` of ``parent``, a ``kind(parent, id)`` created on first use."""
    existing = parent.node.try_find_child(id)
    return existing if isinstance(existing, kind) else kind(parent, id)


def named_cluster(scope: Construct, id: str, vpc: ec2.IVpc, name: str | None = None) -> ecs.Cluster:
    """A cluster with Container Insights on and a literal name (``name``, else one unique to
    its path), by which pipelines in other stacks deploy to its services
    (``service_contract.DeployTarget``)."""
    cluster = ecs.Cluster(scope, id, vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENABLED)
    cfn = cluster.node.default_child
    assert isinstance(cfn, ecs.CfnCluster)
    cfn.cluster_name = name or Names.unique_resource_name(cluster, max_length=255, separator="-")
    return cluster


def cluster_name(cluster: ecs.ICluster) -> str:
    """The cluster's name as a literal when the app states it (a ``named_cluster``, or a
    cluster imported by name), else its token (a cluster the user created unnamed)."""
    cfn = cluster.node.default_child
    if isinstance(cfn, ecs.CfnCluster) and isinstance(cfn.cluster_name, str):
        return cfn.cluster_name
    return cluster.cluster_name


def check_container_insights(scope: IConstruct, cluster: ecs.ICluster) -> None:
    """Refuse a cluster defined in this app without Container Insights: the running-tasks alarm
    and the health signal read its RunningTaskCount, and would stay silent. A cluster imported
    from outside the app cannot be seen, and is trusted."""
    resource = _cluster_resource(cluster)
    if resource is None:
        return
    settings = Stack.of(resource).resolve(resource.cluster_settings) or []
    value = next(
        (
            s.get("value")
            for s in settings
            if isinstance(s, dict) and s.get("name") == "containerInsights"
        ),
        None,
    )
    if value in CONTAINER_INSIGHTS_ON or (value is not None and Token.is_unresolved(value)):
        return
    owner = resource.node.scope
    defined = owner.node.path if owner is not None else resource.node.path
    check.fail(
        scope,
        "cluster must have Container Insights on (ecs.Cluster(..., container_insights_v2="
        "ecs.ContainerInsights.ENABLED)): the running-tasks alarm and the health signal read "
        f"its RunningTaskCount, got {defined} with containerInsights "
        f"{'not set' if value is None else repr(value)}",
    )


def _cluster_resource(cluster: ecs.ICluster) -> ecs.CfnCluster | None:
    """The ``AWS::ECS::Cluster`` of this app that ``cluster`` is or refers to, if any: its own
    resource, the resource its name is a reference to, or one with its literal name."""
    own = cluster.node.default_child
    if isinstance(own, ecs.CfnCluster):
        return own
    name = cluster.cluster_name
    if Token.is_unresolved(name):
        reference = Tokenization.reverse(name)
        target = reference.target if isinstance(reference, Reference) else None
        return target if isinstance(target, ecs.CfnCluster) else None
    return next(
        (
            c
            for c in cluster.node.root.node.find_all()
            if isinstance(c, ecs.CfnCluster) and c.cluster_name == name
        ),
        None,
    )


def _allow_flow_log_delivery(bucket: s3.IBucket, prefix: str) -> None:
    """The bucket-policy statements VPC Flow Logs needs to deliver to ``bucket``, written here.

    Without them, CreateFlowLogs appends them to the policy outside CloudFormation, and the next
    change of this ``AWS::S3::BucketPolicy`` (another load balancer's access-log statement, say)
    erases them: delivery stops silently. Statements as in the VPC user guide, "Amazon S3
    bucket permissions for flow logs".
    """
    stack = Stack.of(bucket)
    source = {
        "StringEquals": {"aws:SourceAccount": stack.account},
        "ArnLike": {"aws:SourceArn": stack.format_arn(service="logs", resource="*")},
    }
    delivery = iam.ServicePrincipal("delivery.logs.amazonaws.com")
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="FlowLogDeliveryWrite",
            principals=[delivery],
            actions=["s3:PutObject"],
            resources=[bucket.arn_for_objects(f"{prefix}AWSLogs/{stack.account}/*")],
            conditions={
                **source,
                "StringEquals": {
                    **source["StringEquals"],
                    "s3:x-amz-acl": "bucket-owner-full-control",
                },
            },
        )
    )
    bucket.add_to_resource_policy(
        iam.PolicyStatement(
            sid="FlowLogDeliveryAclCheck",
            principals=[delivery],
            actions=["s3:GetBucketAcl", "s3:ListBucket"],
            resources=[bucket.bucket_arn],
            conditions=source,
        )
    )
