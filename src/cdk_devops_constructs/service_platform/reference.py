"""A platform as a service stack sees it: SSM parameters read at deploy time, and the VPC,
cluster, load balancer and listener built from them, once per stack."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

from aws_cdk import Annotations, CfnRule, Fn, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_ssm as ssm
from constructs import Construct, IConstruct

from .. import _validation as check
from . import schema


@dataclass(frozen=True)
class PlatformReference:
    """A ``ServicePlatform`` another app published under ``namespace``; made by
    ``ServicePlatform.from_namespace``. Nothing is read until a service uses it, and then at
    deploy time."""

    namespace: str
    _made_by: ClassVar[str] = "ServicePlatform.from_namespace(namespace)"

    def check(self, scope: IConstruct, prop: str) -> None:
        schema.check_namespace(scope, f"{prop}.namespace", self.namespace)


def import_platform(
    scope: Construct,
    platform: PlatformReference | None,
    **platforms_own: object,
) -> ImportedPlatform | None:
    """The platform's resources in ``scope``'s stack, once ``platform`` passes its checks and
    none of ``platforms_own`` (the props of a service the platform decides) is set."""
    if platform is None:
        return None
    platform.check(scope, "platform")
    for prop, value in platforms_own.items():
        if value is not None and not (prop == "internet_facing" and value is True):
            check.fail(
                scope,
                f"{prop} is the platform's ({platform.namespace}); a service on a platform "
                f"uses its VPC, cluster and load balancer: remove {prop}={value!r}",
            )
    return ImportedPlatform.of(scope, platform)


class ImportedPlatform(Construct):
    """The platform's resources in a service stack, created on first use (one per stack)."""

    ID = "DevOpsPlatform"

    @classmethod
    def of(cls, scope: IConstruct, reference: PlatformReference) -> ImportedPlatform:
        """The stack's imported platform; one stack uses one platform."""
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(cls.ID)
        if isinstance(existing, ImportedPlatform):
            if existing.namespace != reference.namespace:
                check.fail(
                    scope,
                    f"platform {reference.namespace!r} differs from the platform of another "
                    f"service of this stack ({existing.namespace!r}); a stack is deployed to one "
                    "environment, and uses its one platform",
                )
            return existing
        return cls(stack, cls.ID, reference.namespace)

    def __init__(self, scope: Construct, id: str, namespace: str) -> None:
        super().__init__(scope, id)
        self.namespace = namespace
        version = self._value(schema.SCHEMA_VERSION)
        rule = CfnRule(self, "SchemaVersion")
        rule.add_assertion(
            Fn.condition_contains(schema.accepted_versions(), version),
            f"The platform {namespace} publishes a schema this library does not read: it reads "
            f"v{schema.MAJOR} schemas {schema.accepted_versions()[0]} and later. Upgrade the "
            "platform, or use a library release of the platform's major version.",
        )

    # Everything below is made on first use: what a service uses becomes a CloudFormation
    # parameter of an SSM type (re-read on every deployment; the typed ones validated), and a
    # parameter a template does not use is a warning ("not referenced anywhere in the
    # template"). What CDK's imports require but a service's template never shows is given
    # otherwise: the zones are the region's first two, as the platform's VPC has them
    # (``Fn::GetAZs``, the same in every stack of the region); the subnets' route tables are the
    # platform's and never read here; the load balancer's ARN is built from its full name
    # (``app/<name>/<id>``, which the metrics read anyway).

    @functools.cached_property
    def vpc(self) -> ec2.IVpc:
        """The platform's VPC, with its private subnets."""
        vpc = ec2.Vpc.from_vpc_attributes(
            self,
            "Vpc",
            vpc_id=self._value(schema.VPC_ID),
            availability_zones=[
                Fn.select(index, Fn.get_azs()) for index in range(schema.AVAILABILITY_ZONES)
            ],
            private_subnet_ids=self._items(self.subnet_ids(public=False)),
        )
        Annotations.of(vpc).acknowledge_warning(
            "@aws-cdk/aws-ec2:noSubnetRouteTableId",
            "The platform's subnets: their route tables belong to the platform, services never "
            "read or change them.",
        )
        return vpc

    @functools.cached_property
    def cluster_name(self) -> str:
        """The platform's cluster's name, as read at deploy time."""
        return self._value(schema.CLUSTER_NAME)

    @functools.cached_property
    def cluster(self) -> ecs.ICluster:
        return ecs.Cluster.from_cluster_attributes(
            self, "Cluster", cluster_name=self.cluster_name, vpc=self.vpc
        )

    @functools.cached_property
    def load_balancer_full_name(self) -> str:
        """``app/<name>/<id>``, the LoadBalancer dimension of the load balancer's metrics."""
        return self._value(schema.LOAD_BALANCER_FULL_NAME)

    @functools.cached_property
    def load_balancer(self) -> elbv2.IApplicationLoadBalancer:
        return elbv2.ApplicationLoadBalancer.from_application_load_balancer_attributes(
            self,
            "LoadBalancer",
            load_balancer_arn=Stack.of(self).format_arn(
                service="elasticloadbalancing",
                resource="loadbalancer",
                resource_name=self.load_balancer_full_name,
            ),
            security_group_id=self._value(schema.LOAD_BALANCER_SECURITY_GROUP),
            # The platform's group already reaches every target in the VPC: no egress rule per
            # service (they would count against its 60 outbound rules).
            security_group_allows_all_outbound=True,
            vpc=self.vpc,
        )

    @functools.cached_property
    def listener(self) -> elbv2.IApplicationListener:
        return elbv2.ApplicationListener.from_application_listener_attributes(
            self,
            "Listener",
            listener_arn=self._value(schema.LISTENER_ARN),
            # The load balancer's own group object: the service's ingress rule from it is then
            # written once (two objects for one group would write it twice, and the second
            # would fail at deploy as a duplicate).
            security_group=self.load_balancer.connections.security_groups[0],
        )

    @functools.cached_property
    def scheme(self) -> str:
        """``https`` or ``http``: the shared listener's."""
        return self._value(schema.LISTENER_SCHEME)

    @property
    def dns_name(self) -> str:
        """The load balancer's DNS name."""
        return self._value(schema.LOAD_BALANCER_DNS_NAME)

    def subnet_ids(self, *, public: bool) -> list[str]:
        """The public or the private subnets' IDs, as one list (the whole parameter)."""
        field = schema.PUBLIC_SUBNETS if public else schema.PRIVATE_SUBNETS
        return ssm.StringListParameter.value_for_typed_list_parameter(
            Stack.of(self), schema.parameter_name(self.namespace, field), field.type
        )

    def _value(self, field: schema.Field) -> str:
        """The field, read at deploy time (one CloudFormation parameter per name and stack)."""
        assert not field.list
        return ssm.StringParameter.value_for_typed_string_parameter_v2(
            Stack.of(self), schema.parameter_name(self.namespace, field), field.type
        )

    @staticmethod
    def _items(values: list[str]) -> list[str]:
        """A list field's items, by index: their number is part of the schema's major."""
        return [Fn.select(index, values) for index in range(schema.AVAILABILITY_ZONES)]
