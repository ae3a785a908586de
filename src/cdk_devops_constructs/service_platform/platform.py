"""ServicePlatform: what every service of an environment shares, deployed once per account and
region, and published for service repositories to find at deploy time."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from .. import _validation as check
from .._boundary import Known, boundary
from .._load_balancer import check_web_acl, own_load_balancer, vpc_cidr
from .._shared import SharedInfrastructure, named_cluster
from . import schema
from .reference import PlatformReference


class ServicePlatform(Construct):
    """One VPC, cluster and load balancer per environment, shared by services that live in other
    repositories and other CDK apps.

    Deploy it once per account and region (a platform team's app). It creates what an
    ObservedService otherwise creates in every stack: a VPC with flow logs (2 AZs, 1 NAT
    gateway), an ECS cluster with Container Insights, the log bucket, and an Application Load
    Balancer with the library's security defaults; and it publishes what services need as SSM
    parameters under ``<namespace>/v1/`` (see ``schema``). A service repository then passes
    ``platform=ServicePlatform.from_namespace(namespace)`` to ObservedService: its stack reads
    those parameters at deploy time (no lookup, no AWS call at synthesis) and adds only its own
    target groups and listener rule to the shared listener.

    Example::

        ServicePlatform(
            stack, "Platform",
            namespace="/acme/platform/production",
            certificate=certificate,
        )
    """

    @boundary
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        namespace: Known[str],
        certificate: acm.ICertificate | None = None,
        internet_facing: bool = True,
        web_acl_arn: str | None = None,
        deletion_protection: bool | None = None,
    ) -> None:
        """
        :param namespace: the SSM path the platform publishes under, unique per platform in its
            account and region, e.g. ``/acme/platform/production``; services name it.
        :param certificate: ACM certificate of the shared HTTPS listener (443, TLS 1.2+, HTTP
            on 80 redirected). Default: one HTTP listener on 80.
        :param internet_facing: public load balancer, or internal to the VPC. Default: True.
        :param web_acl_arn: a WAFv2 regional web ACL for the load balancer. Default: none.
        :param deletion_protection: protect the load balancer from deletion. Default: the
            stack's ``termination_protection``.
        """
        super().__init__(scope, id)
        schema.check_namespace(self, "namespace", namespace)
        if web_acl_arn is not None:
            check_web_acl(self, web_acl_arn)
        if deletion_protection is False:
            check.warn_weakened(
                self, ["deletion_protection=False lets the load balancer be deleted"]
            )
        if deletion_protection is None:
            deletion_protection = Stack.of(self).termination_protection
        shared = SharedInfrastructure.of(self)
        self.namespace: str = namespace
        """The SSM path the platform publishes under."""
        self.vpc: ec2.IVpc = shared.vpc
        """The environment's VPC (the stack's shared VPC)."""
        self.cluster: ecs.Cluster = named_cluster(
            self, "Cluster", self.vpc, name=schema.cluster_name(namespace)
        )
        """The environment's cluster, Container Insights on, named after the namespace, with
        the Fargate capacity providers associated (ExpressService's tasks run with them)."""
        self.cluster.enable_fargate_capacity_providers()
        self.log_bucket: s3.IBucket = shared.log_bucket
        """Access logs of the load balancer, flow logs of the VPC."""
        load_balancer, listener = own_load_balancer(
            self,
            self.vpc,
            internet_facing=internet_facing,
            certificate=certificate,
            deletion_protection=deletion_protection,
            web_acl_arn=web_acl_arn,
        )
        # The services' target groups are in the VPC; their stacks may not change this group
        # (they import it immutable), so it reaches the whole VPC on any TCP port once here.
        load_balancer.connections.allow_to(
            ec2.Peer.ipv4(vpc_cidr(self.vpc)), ec2.Port.all_tcp(), "Targets of the services"
        )
        self.load_balancer: elbv2.ApplicationLoadBalancer = load_balancer
        """The shared load balancer."""
        self.listener: elbv2.ApplicationListener = listener
        """The listener services add their rules to (HTTPS with a certificate, else HTTP)."""
        self.parameters: dict[str, ssm.StringParameter | ssm.StringListParameter] = self._publish(
            certificate is not None
        )
        """Published field key (``vpc/id``...) -> its SSM parameter."""

    @staticmethod
    def from_namespace(namespace: str) -> PlatformReference:
        """The platform published under ``namespace``, for a service in another app to use."""
        return PlatformReference(namespace)

    def _publish(self, https: bool) -> dict[str, ssm.StringParameter | ssm.StringListParameter]:
        private = self.vpc.private_subnets
        values: dict[schema.Field, str | list[str]] = {
            schema.SCHEMA_VERSION: schema.VERSION,
            schema.VPC_ID: self.vpc.vpc_id,
            schema.VPC_CIDR: vpc_cidr(self.vpc),
            schema.ZONES: [s.availability_zone for s in private],
            schema.PRIVATE_SUBNETS: [s.subnet_id for s in private],
            schema.PUBLIC_SUBNETS: [s.subnet_id for s in self.vpc.public_subnets],
            schema.PRIVATE_ROUTE_TABLES: [s.route_table.route_table_id for s in private],
            schema.CLUSTER_NAME: self.cluster.cluster_name,
            schema.LOAD_BALANCER_ARN: self.load_balancer.load_balancer_arn,
            schema.LOAD_BALANCER_FULL_NAME: self.load_balancer.load_balancer_full_name,
            schema.LOAD_BALANCER_DNS_NAME: self.load_balancer.load_balancer_dns_name,
            schema.LOAD_BALANCER_SECURITY_GROUP: (
                self.load_balancer.connections.security_groups[0].security_group_id
            ),
            schema.LISTENER_ARN: self.listener.listener_arn,
            schema.LISTENER_SCHEME: "https" if https else "http",
        }
        assert set(values) == set(schema.FIELDS), "every field of the schema is published"
        scope = Construct(self, "Parameters")
        published: dict[str, ssm.StringParameter | ssm.StringListParameter] = {}
        for field, value in values.items():
            id = "".join(part.capitalize() for part in field.key.replace("/", "-").split("-"))
            name = schema.parameter_name(self.namespace, field)
            description = f"Service platform {self.namespace}: {field.key}"
            if isinstance(value, list):
                published[field.key] = ssm.StringListParameter(
                    scope, id, parameter_name=name, string_list_value=value, description=description
                )
            else:
                published[field.key] = ssm.StringParameter(
                    scope, id, parameter_name=name, string_value=value, description=description
                )
        return published
