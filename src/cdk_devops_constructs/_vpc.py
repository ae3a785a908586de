"""The shared VPC, written resource by resource so that synthesis never asks AWS anything.

``ec2.Vpc`` reads the stack's availability zones even when it is given its zones, and in a stack
with an account and a region that is a context lookup: ``cdk synth`` would need AWS
credentials, and its answer would never reach the template. Here the zones are the region's
first two, chosen by CloudFormation at deploy time (``Fn::GetAZs``), and the resources, their
construct paths and so their logical IDs, are those ``ec2.Vpc`` wrote for the same settings.
"""

from __future__ import annotations

from typing import TypeVar

from aws_cdk import Aws, CustomResource, Duration, Fn, Stack, Tags
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct, DependencyGroup

from ._compliance import acknowledge
from ._deploy_time import deploy_time_function

SubnetT = TypeVar("SubnetT", ec2.PublicSubnet, ec2.PrivateSubnet)

CIDR = "10.0.0.0/16"
PUBLIC_CIDRS = ("10.0.0.0/24", "10.0.1.0/24")
PRIVATE_CIDRS = ("10.0.16.0/20", "10.0.32.0/20")
RESTRICT_DEFAULT_SG_TYPE = "Custom::VpcRestrictDefaultSG"

# Removes the rules every new VPC's default security group starts with ("Inbound: all traffic
# from the security group itself; outbound: all traffic to 0.0.0.0/0", VPC user guide, "Default
# security groups for your VPCs"), so that nothing attached to it by mistake can talk. Nothing
# this library creates uses that group. Run by _deploy_time.source().
CLOSE_DEFAULT_SECURITY_GROUP = """\
import boto3

EC2 = boto3.client("ec2")
DEFAULT_RULES = (
    ("ingress", lambda group: [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": group}]}]),
    ("egress", lambda group: [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]),
)


def act(event, context):
    if event["RequestType"] == "Delete":
        return "the default security group goes with its VPC"
    group = event["ResourceProperties"]["DefaultSecurityGroupId"]
    revoke = {"ingress": EC2.revoke_security_group_ingress,
              "egress": EC2.revoke_security_group_egress}
    for direction, rules in DEFAULT_RULES:
        try:
            revoke[direction](GroupId=group, IpPermissions=rules(group))
        except EC2.exceptions.ClientError as error:
            if error.response["Error"]["Code"] != "InvalidPermission.NotFound":
                raise
    return "the default security group " + group + " has no rules"
"""


class SharedVpc(Construct):
    """Two AZs, a public and a private subnet in each, one NAT gateway in the first public
    subnet, an S3 gateway endpoint, flow logs to ``flow_log_bucket``, and a closed default
    security group. ``vpc`` is the ``IVpc`` the constructs use."""

    def __init__(
        self, scope: Construct, id: str, *, flow_log_bucket: s3.IBucket, flow_log_prefix: str
    ) -> None:
        super().__init__(scope, id)
        Tags.of(self).add("Name", self.node.path)
        resource = ec2.CfnVPC(
            self,
            "Resource",
            cidr_block=CIDR,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            instance_tenancy="default",
        )
        zones = [Fn.select(index, Fn.get_azs()) for index in range(len(PUBLIC_CIDRS))]
        gateway = ec2.CfnInternetGateway(self, "IGW")
        attachment = ec2.CfnVPCGatewayAttachment(
            self, "VPCGW", vpc_id=resource.ref, internet_gateway_id=gateway.ref
        )
        public = [
            self._subnet(
                kind=ec2.PublicSubnet,
                name="Public",
                index=index,
                zone=zone,
                cidr=cidr,
                vpc=resource,
            )
            for index, (zone, cidr) in enumerate(zip(zones, PUBLIC_CIDRS, strict=True))
        ]
        for subnet in public:
            subnet.add_default_internet_route(gateway.ref, attachment)
            acknowledge(subnet.node.find_child("DefaultRoute"), "public-subnet-default-route")
        # One NAT gateway: see SharedInfrastructure.vpc for the cost and the trade-off.
        nat = public[0].add_nat_gateway()
        private = [
            self._subnet(
                kind=ec2.PrivateSubnet,
                name="Private",
                index=index,
                zone=zone,
                cidr=cidr,
                vpc=resource,
            )
            for index, (zone, cidr) in enumerate(zip(zones, PRIVATE_CIDRS, strict=True))
        ]
        for private_subnet in private:
            private_subnet.add_default_nat_route(nat.ref)
        ec2.CfnVPCEndpoint(
            Construct(self, "S3"),
            "Resource",
            vpc_id=resource.ref,
            service_name=Fn.join("", ["com.amazonaws.", Aws.REGION, ".s3"]),
            vpc_endpoint_type="Gateway",
            route_table_ids=[s.route_table.route_table_id for s in (*private, *public)],
        )
        self.vpc: ec2.IVpc = ec2.Vpc.from_vpc_attributes(
            self,
            "Attributes",
            vpc_id=resource.ref,
            vpc_cidr_block=CIDR,
            availability_zones=zones,
            public_subnet_ids=[s.subnet_id for s in public],
            public_subnet_route_table_ids=[s.route_table.route_table_id for s in public],
            private_subnet_ids=[s.subnet_id for s in private],
            private_subnet_route_table_ids=[s.route_table.route_table_id for s in private],
        )
        # An imported VPC cannot say when its subnets reach the internet: these can. Load
        # balancers wait for the public routes, services for the routes to the NAT gateway
        # (their tasks pull images through it).
        self.public_routes = DependencyGroup(*(s.internet_connectivity_established for s in public))
        self.private_routes = DependencyGroup(
            *(s.internet_connectivity_established for s in private)
        )
        ec2.FlowLog(
            self,
            "FlowLog",
            resource_type=ec2.FlowLogResourceType.from_vpc(self.vpc),
            destination=ec2.FlowLogDestination.to_s3(flow_log_bucket, flow_log_prefix),
            traffic_type=ec2.FlowLogTrafficType.ALL,
            max_aggregation_interval=ec2.FlowLogMaxAggregationInterval.TEN_MINUTES,
        )
        self._close_default_security_group(resource)

    def _subnet(
        self,
        *,
        kind: type[SubnetT],
        name: str,
        index: int,
        zone: str,
        cidr: str,
        vpc: ec2.CfnVPC,
    ) -> SubnetT:
        subnet = kind(
            self,
            f"{name}Subnet{index + 1}",
            availability_zone=zone,
            cidr_block=cidr,
            vpc_id=vpc.ref,
            map_public_ip_on_launch=False,
        )
        only_subnets = [ec2.CfnSubnet.CFN_RESOURCE_TYPE_NAME]
        Tags.of(subnet).add("aws-cdk:subnet-name", name, include_resource_types=only_subnets)
        Tags.of(subnet).add("aws-cdk:subnet-type", name, include_resource_types=only_subnets)
        return subnet

    def _close_default_security_group(self, resource: ec2.CfnVPC) -> None:
        stack = Stack.of(self)
        group = resource.attr_default_security_group
        role = iam.Role(
            self,
            "RestrictDefaultSecurityGroupRole",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Removes the rules of the shared VPC's default security group",
        )
        policy = iam.ManagedPolicy(
            self,
            "RestrictDefaultSecurityGroupPolicy",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    actions=["ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"],
                    resources=[
                        stack.format_arn(
                            service="ec2", resource="security-group", resource_name=group
                        )
                    ],
                )
            ],
        )
        function = deploy_time_function(
            self,
            "RestrictDefaultSecurityGroupFunction",
            act=CLOSE_DEFAULT_SECURITY_GROUP,
            role=role,
            timeout=Duration.minutes(1),
            description="Removes the rules of the shared VPC's default security group",
        )
        # The name and type cdk-nag's VPCDefaultSecurityGroupClosed rule looks for.
        restrict = CustomResource(
            self,
            "RestrictDefaultSecurityGroupCustomResource",
            service_token=function.function_arn,
            resource_type=RESTRICT_DEFAULT_SG_TYPE,
            properties={"DefaultSecurityGroupId": group},
        )
        restrict.node.add_dependency(policy)
