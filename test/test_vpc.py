"""The shared VPC: no context lookup, the resources ec2.Vpc wrote, a closed default group."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2

from cdk_devops_constructs import ObservedService, _deploy_time, _shared, _vpc

from harness import compliance
from harness.scenarios import STACK_NAME
from observed_service.scenarios import image

NETWORK_TYPES = {
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::RouteTable",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::Route",
    "AWS::EC2::EIP",
    "AWS::EC2::NatGateway",
    "AWS::EC2::InternetGateway",
    "AWS::EC2::VPCGatewayAttachment",
    "AWS::EC2::VPCEndpoint",
    "AWS::EC2::FlowLog",
}


def _network(stack: cdk.Stack) -> dict[str, Any]:
    template = cdk.assertions.Template.from_stack(stack).to_json()
    return {k: v for k, v in template["Resources"].items() if v["Type"] in NETWORK_TYPES}


def test_a_stack_with_an_account_and_region_synthesizes_without_asking_aws() -> None:
    """ec2.Vpc would record an availability-zones context lookup here, which the CDK CLI can
    only answer with AWS credentials."""
    app = cdk.App()
    stack = cdk.Stack(app, STACK_NAME, env=compliance.ENV)
    ObservedService(stack, "Checkout", image=image())
    assembly = app.synth()
    manifest = json.loads((Path(assembly.directory) / "manifest.json").read_text())
    assert "missing" not in manifest
    subnets = [r for r in _network(stack).values() if r["Type"] == "AWS::EC2::Subnet"]
    zones = {json.dumps(s["Properties"]["AvailabilityZone"]) for s in subnets}
    assert zones == {json.dumps({"Fn::Select": [i, {"Fn::GetAZs": ""}]}) for i in range(2)}, (
        "the region's first two zones, chosen at deploy time"
    )


def test_its_network_resources_and_logical_ids_are_those_ec2_vpc_wrote() -> None:
    """Stacks that deployed the ec2.Vpc version keep every network resource: same logical IDs,
    same properties (ec2.Vpc is built in an environment-agnostic stack, where it asks nothing)."""
    ours = cdk.Stack(cdk.App(), STACK_NAME, env=compliance.ENV)
    _shared.SharedInfrastructure.of(ours).vpc  # noqa: B018 - created on first use
    theirs = cdk.Stack(cdk.App(), STACK_NAME)
    shared = _shared.SharedInfrastructure.of(theirs)
    vpc = ec2.Vpc(
        shared,
        "Vpc",
        availability_zones=[cdk.Fn.select(0, cdk.Fn.get_azs()), cdk.Fn.select(1, cdk.Fn.get_azs())],
        ip_addresses=ec2.IpAddresses.cidr(_vpc.CIDR),
        nat_gateways=1,
        subnet_configuration=[
            ec2.SubnetConfiguration(
                name="Public",
                subnet_type=ec2.SubnetType.PUBLIC,
                cidr_mask=24,
                map_public_ip_on_launch=False,
            ),
            ec2.SubnetConfiguration(
                name="Private", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20
            ),
        ],
        gateway_endpoints={
            "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3)
        },
    )
    _shared._allow_flow_log_delivery(shared.log_bucket, _shared.FLOW_LOG_PREFIX)
    vpc.add_flow_log(
        "FlowLog",
        destination=ec2.FlowLogDestination.to_s3(shared.log_bucket, _shared.FLOW_LOG_PREFIX),
        traffic_type=ec2.FlowLogTrafficType.ALL,
        max_aggregation_interval=ec2.FlowLogMaxAggregationInterval.TEN_MINUTES,
    )
    mine, cdks = _network(ours), _network(theirs)
    for resource in mine.values():
        resource.pop("Metadata", None)  # the library's acknowledgments
    for resource in cdks.values():
        resource.pop("Metadata", None)
    assert mine == cdks
    assert len(mine) == 23


def test_the_default_security_group_is_closed_by_a_function_allowed_only_that(
    stack: cdk.Stack,
) -> None:
    shared = _shared.SharedInfrastructure.of(stack)
    shared.vpc  # noqa: B018 - created on first use
    template = cdk.assertions.Template.from_stack(stack)
    (restrict,) = template.find_resources(_vpc.RESTRICT_DEFAULT_SG_TYPE).values()
    assert restrict["Properties"]["DefaultSecurityGroupId"] == {
        "Fn::GetAtt": ["DevOpsSharedVpc9D56820E", "DefaultSecurityGroup"]
    }
    (policy,) = template.find_resources("AWS::IAM::ManagedPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == [
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
    ]
    assert json.dumps(statement["Resource"]).endswith(
        ':security-group/", {"Fn::GetAtt": ["DevOpsSharedVpc9D56820E", "DefaultSecurityGroup"]}]]}'
    )
    compliance.assert_compliant(stack)


class _ClientError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.response = {"Error": {"Code": code}}


def _run(event: dict[str, Any], ec2_client: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    monkeypatch.setitem(sys.modules, "boto3", types.SimpleNamespace(client=lambda _: ec2_client))
    namespace: dict[str, Any] = {}
    exec(_deploy_time.source(_vpc.CLOSE_DEFAULT_SECURITY_GROUP), namespace)
    sent: list[dict[str, Any]] = []
    namespace["urllib"] = types.SimpleNamespace(
        request=types.SimpleNamespace(
            Request=lambda url, data, method, headers: json.loads(data),
            urlopen=lambda body, timeout: sent.append(body),
        )
    )
    namespace["handler"](
        {
            "ResponseURL": "https://example.invalid/response",
            "StackId": "stack",
            "RequestId": "request",
            "LogicalResourceId": "Restrict",
            "ResourceProperties": {"DefaultSecurityGroupId": "sg-0123"},
            **event,
        },
        None,
    )
    (answer,) = sent
    return answer


class _FakeEc2:
    def __init__(self, *, ingress_error: str | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.ingress_error = ingress_error
        self.exceptions = types.SimpleNamespace(ClientError=_ClientError)

    def revoke_security_group_ingress(self, **kwargs: Any) -> None:
        self.calls.append(("ingress", kwargs))
        if self.ingress_error:
            raise _ClientError(self.ingress_error)

    def revoke_security_group_egress(self, **kwargs: Any) -> None:
        self.calls.append(("egress", kwargs))


def test_the_function_revokes_the_two_rules_every_default_group_starts_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = _FakeEc2()
    answer = _run({"RequestType": "Create"}, fake, monkeypatch)
    assert answer["Status"] == "SUCCESS"
    assert fake.calls == [
        (
            "ingress",
            {
                "GroupId": "sg-0123",
                "IpPermissions": [
                    {"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": "sg-0123"}]}
                ],
            },
        ),
        (
            "egress",
            {
                "GroupId": "sg-0123",
                "IpPermissions": [{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
            },
        ),
    ]


def test_a_rule_already_gone_is_success_and_any_other_error_fails_the_deploy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    gone = _run(
        {"RequestType": "Update"}, _FakeEc2(ingress_error="InvalidPermission.NotFound"), monkeypatch
    )
    assert gone["Status"] == "SUCCESS"
    denied = _run(
        {"RequestType": "Create"}, _FakeEc2(ingress_error="UnauthorizedOperation"), monkeypatch
    )
    assert denied["Status"] == "FAILED"
    assert denied["Reason"] == "UnauthorizedOperation"


def test_deleting_touches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = _FakeEc2()
    answer = _run({"RequestType": "Delete", "PhysicalResourceId": "Restrict"}, fake, monkeypatch)
    assert answer["Status"] == "SUCCESS"
    assert fake.calls == []
