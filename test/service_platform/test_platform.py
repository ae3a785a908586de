"""What ServicePlatform promises, and what a service of another app gets from it: one behaviour
per test, on the scenarios' templates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs

from cdk_devops_constructs import (
    DeployStage,
    GatedPipeline,
    ObservedService,
    PipelineSource,
    ServicePlatform,
)
from cdk_devops_constructs.observed_service.priorities import BANDS, derived_priority
from cdk_devops_constructs.service_platform import schema

from .scenarios import IMAGE, NAMESPACE
from harness.scenarios import Built

CONTRACTS = Path(__file__).parent / "contracts"


def scenario(name: str) -> Any:
    return pytest.mark.parametrize("built", [f"service_platform/{name}"], indirect=True)


def of_type(built: Built, kind: str) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in built.template["Resources"].items() if r["Type"] == kind}


def published(template: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    """SSM parameter name -> (String or StringList, value) the platform template writes."""
    return {
        r["Properties"]["Name"]: (r["Properties"]["Type"], r["Properties"]["Value"])
        for r in template["Resources"].values()
        if r["Type"] == "AWS::SSM::Parameter"
    }


def read(template: dict[str, Any]) -> dict[str, str]:
    """SSM parameter name -> CloudFormation parameter type a service template reads it as."""
    return {
        p["Default"]: p["Type"]
        for p in template.get("Parameters", {}).values()
        if p["Type"].startswith("AWS::SSM::Parameter::Value<") and p["Default"].startswith("/acme")
    }


# --- The platform ------------------------------------------------------------------------------


@scenario("defaults")
def test_every_field_is_published_under_the_namespace_and_major(built: Built) -> None:
    names = published(built.template)
    expected = {schema.parameter_name(NAMESPACE, f): f for f in schema.FIELDS}
    assert set(names) == set(expected)
    for name, field in expected.items():
        kind, _ = names[name]
        assert kind == ("StringList" if field.list else "String"), name
    assert names[f"{NAMESPACE}/v1/schema-version"][1] == schema.VERSION
    assert names[f"{NAMESPACE}/v1/listener/scheme"][1] == "http"


@scenario("https")
def test_an_https_platform_says_so_to_its_services(built: Built) -> None:
    assert published(built.template)[f"{NAMESPACE}/v1/listener/scheme"][1] == "https"
    (https,) = [
        r for r in of_type(built, "AWS::ElasticLoadBalancingV2::Listener").values()
        if r["Properties"]["Port"] == 443
    ]  # fmt: skip
    assert https["Properties"]["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    (association,) = of_type(built, "AWS::WAFv2::WebACLAssociation").values()
    assert "webacl/platform" in association["Properties"]["WebACLArn"]


@scenario("defaults")
def test_the_cluster_is_named_after_the_namespace(built: Built) -> None:
    """A pipeline names a platform service's cluster literally: the name is the contract's."""
    (cluster,) = of_type(built, "AWS::ECS::Cluster").values()
    assert cluster["Properties"]["ClusterName"] == "acme-platform-production"
    assert cluster["Properties"]["ClusterSettings"] == [
        {"Name": "containerInsights", "Value": "enabled"}
    ]
    _, value = published(built.template)[f"{NAMESPACE}/v1/cluster/name"]
    assert value == {"Ref": next(iter(of_type(built, "AWS::ECS::Cluster")))}


@scenario("defaults")
def test_the_load_balancer_reaches_targets_anywhere_in_the_vpc_and_nothing_else(
    built: Built,
) -> None:
    """Services import its group immutable, so they add no rule to it: it reaches the VPC."""
    groups = of_type(built, "AWS::EC2::SecurityGroup")
    (group,) = [g for g in groups.values() if "ELB" in g["Properties"]["GroupDescription"]]
    assert group["Properties"]["SecurityGroupEgress"] == [
        {
            "CidrIp": "10.0.0.0/16",
            "Description": "Targets of the services",
            "FromPort": 0,
            "IpProtocol": "tcp",
            "ToPort": 65535,
        }
    ]


@scenario("defaults")
def test_the_platform_keeps_the_library_security_defaults(built: Built) -> None:
    (lb,) = of_type(built, "AWS::ElasticLoadBalancingV2::LoadBalancer").values()
    attributes = {a["Key"]: a["Value"] for a in lb["Properties"]["LoadBalancerAttributes"]}
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["access_logs.s3.enabled"] == "true"
    assert attributes["deletion_protection.enabled"] == "false"  # no termination protection
    assert of_type(built, "AWS::EC2::FlowLog")


# --- A service on the platform ------------------------------------------------------------------


@pytest.mark.parametrize(
    "built", ["service_platform/services", "service_platform/express"], indirect=True
)
def test_a_service_reads_the_platform_at_deploy_time_and_nothing_at_synthesis(
    built: Built,
) -> None:
    text = json.dumps(built.template)
    assert "Fn::ImportValue" not in text
    reads = read(built.template)
    assert reads[f"{NAMESPACE}/v1/vpc/private-subnet-ids"] == (
        "AWS::SSM::Parameter::Value<List<AWS::EC2::Subnet::Id>>"
    )
    manifest = json.loads((Path(built.stack.node.root.outdir) / "manifest.json").read_text())  # type: ignore[attr-defined]
    assert "missing" not in manifest, "a context lookup would ask AWS at synthesis"
    # It creates no network, cluster or load balancer of its own.
    for kind in (
        "AWS::EC2::VPC",
        "AWS::ECS::Cluster",
        "AWS::ECS::ClusterCapacityProviderAssociations",
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
    ):
        assert of_type(built, kind) == {}, kind


@scenario("services")
def test_a_service_refuses_a_platform_of_a_schema_it_does_not_read(built: Built) -> None:
    """The template's rule fails the deployment before any resource changes."""
    rules = {k: v for k, v in built.template["Rules"].items() if k != "CheckBootstrapVersion"}
    ((_, rule),) = rules.items()
    (assertion,) = rule["Assertions"]
    accepted, _ = assertion["Assert"]["Fn::Contains"]
    assert schema.VERSION in accepted
    assert "1.7" in accepted, "a newer platform of the same major"
    assert "2.0" not in accepted
    assert "Upgrade the platform" in assertion["AssertDescription"]


@scenario("services")
def test_rules_on_the_shared_listener_have_derived_priorities_in_their_band(built: Built) -> None:
    checkout, search = built.value
    rules = {
        r["Properties"]["Priority"]: r
        for r in of_type(built, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
    }
    prefix = {s.node.id: s.deploy_target.service_name for s in (checkout, search)}
    host = derived_priority(NAMESPACE, prefix["Checkout"], ["checkout.example.com"], [])
    path = derived_priority(NAMESPACE, prefix["Search"], [], ["/search/*"])
    assert BANDS["host"][0] <= host <= BANDS["host"][1]
    assert BANDS["path"][0] <= path <= BANDS["path"][1]
    assert sorted(rules) == sorted([host, path])
    listener = rules[host]["Properties"]["ListenerArn"]
    assert (
        built.template["Parameters"][listener["Ref"]]["Default"] == f"{NAMESPACE}/v1/listener/arn"
    )


def test_a_derived_priority_is_the_same_in_every_process() -> None:
    """sha256, not Python's per-process hash(): another repository derives the same value."""
    assert derived_priority(NAMESPACE, "Checkout-Svc-1A2B3C4D", ["a.example.com"], []) == 23621


@scenario("services")
def test_the_service_accepts_traffic_from_the_platform_load_balancer_only(built: Built) -> None:
    ingress = of_type(built, "AWS::EC2::SecurityGroupIngress")
    assert len(ingress) == 2, "one rule per service (a duplicate would fail at deploy)"
    for rule in ingress.values():
        source = rule["Properties"]["SourceSecurityGroupId"]["Ref"]
        assert built.template["Parameters"][source]["Default"] == (
            f"{NAMESPACE}/v1/load-balancer/security-group-id"
        )
        assert rule["Properties"]["FromPort"] == 8080
    assert of_type(built, "AWS::EC2::SecurityGroupEgress") == {}


@scenario("services")
def test_blue_green_works_on_the_shared_listener(built: Built) -> None:
    checkout, _ = built.value
    service = built.template["Resources"][
        built.stack.resolve(checkout.service.node.default_child.logical_id)
    ]
    (target,) = service["Properties"]["LoadBalancers"]
    assert target["AdvancedConfiguration"]["ProductionListenerRule"] == {
        "Ref": built.stack.resolve(checkout.listener_rule.node.default_child.logical_id)
    }


@scenario("services")
def test_a_pipeline_deploys_a_platform_service_by_literal_names(built: Built) -> None:
    checkout, _ = built.value
    target = checkout.deploy_target
    assert target.cluster_name == schema.cluster_name(NAMESPACE) == "acme-platform-production"


def test_a_pipeline_in_another_stack_imports_nothing_from_the_service() -> None:
    app = cdk.App()
    env = cdk.Environment(account="123456789012", region="us-east-1")
    services = cdk.Stack(app, "Services", env=env)
    checkout = ObservedService(
        services,
        "Checkout",
        image=ecs.ContainerImage.from_registry(IMAGE),
        platform=ServicePlatform.from_namespace(NAMESPACE),
        host_headers=["checkout.example.com"],
    )
    delivery = cdk.Stack(app, "Delivery", env=env)
    GatedPipeline(
        delivery,
        "Pipeline",
        source=PipelineSource.connection(
            connection_arn="arn:aws:codeconnections:us-east-1:123456789012:connection/"
            "0f2e8a4c-1b3d-4e5f-8a7b-9c0d1e2f3a4b",
            owner="acme",
            repo="checkout",
        ),
        stages=[DeployStage(name="Production", services=[checkout])],
    )
    assembly = app.synth()
    pipeline = json.dumps(assembly.get_stack_by_name("Delivery").template)
    assert "Fn::ImportValue" not in pipeline
    assert '"ClusterName": "acme-platform-production"' in pipeline


# --- Upgrades across pinned library versions ----------------------------------------------------


def contract(version: str) -> dict[str, Any]:
    """What a service of the library release that published schema ``version`` reads, as
    recorded when it was released (test/service_platform/contracts/)."""
    return dict(json.loads((CONTRACTS / f"service-reads-{version}.json").read_text()))


def platform_of(version: str, fields: dict[str, str]) -> dict[str, str]:
    """A platform of schema ``version`` publishing ``fields`` (name -> SSM type)."""
    return {**fields, "schema-version": "String", "__version__": version}


def works(service: dict[str, Any], platform: dict[str, str]) -> bool:
    """A service deploys on a platform when every field it reads is published with the type it
    reads it as, and its schema rule accepts the platform's version."""
    kinds = {"String": "String", "StringList": "StringList"}
    return platform["__version__"] in service["accepts"] and all(
        key in platform and kinds[platform[key]] == kind for key, kind in service["reads"].items()
    )


def current_platform() -> dict[str, str]:
    return platform_of(
        schema.VERSION, {f.key: "StringList" if f.list else "String" for f in schema.FIELDS}
    )


SERVICE_SCENARIOS = ("service_platform/services", "service_platform/express")


@pytest.fixture
def current_service(scenario_results: dict[str, Any]) -> dict[str, Any]:
    """What services of this release read, from their templates (ObservedService and
    ExpressService, public and internal), and the schema versions they accept."""
    reads: dict[str, str] = {}
    accepted = []
    for name in SERVICE_SCENARIOS:
        template = scenario_results[name].normal.template
        reads.update(
            {
                key.removeprefix(f"{NAMESPACE}/v1/"): "StringList" if "<List<" in kind else "String"
                for key, kind in read(template).items()
            }
        )
        rules = [r for k, r in template["Rules"].items() if k != "CheckBootstrapVersion"]
        (assertion,) = rules[0]["Assertions"]
        accepted.append(assertion["Assert"]["Fn::Contains"][0])
    assert all(a == accepted[0] for a in accepted)
    return {"reads": dict(sorted(reads.items())), "accepts": accepted[0]}


def test_the_recorded_contract_is_this_releases(current_service: dict[str, Any]) -> None:
    """This release is the major's first: what its services read is the recorded 1.0 contract
    (a later release that reads more adds a file, and must not read a field older platforms
    of the major lack unless a feature asks for it)."""
    assert current_service == {k: contract("1.0")[k] for k in ("reads", "accepts")}


def test_this_release_reads_only_what_the_majors_first_schema_has(
    current_service: dict[str, Any],
) -> None:
    """What makes a newer service work on an older platform of its major."""
    assert set(current_service["reads"]) <= {f.key for f in schema.FIELDS if f.since == "1.0"}


@pytest.mark.parametrize(
    ("service", "platform"),
    [
        ("1.0", "current"),  # a service pinned to this release, this platform
        ("1.0", "newer"),  # ... after the platform is upgraded (a minor that adds a field)
        ("current", "oldest"),  # a service on a newer release, on the major's oldest platform
    ],
)
def test_services_and_platforms_of_one_major_work_together(
    service: str, platform: str, current_service: dict[str, Any]
) -> None:
    services = {"1.0": contract("1.0"), "current": current_service}
    oldest_fields = dict(contract("1.0")["reads"])
    platforms = {
        "current": current_platform(),
        "newer": {
            **current_platform(),
            "tracing/collector-endpoint": "String",
            "__version__": "1.7",
        },
        "oldest": platform_of("1.0", oldest_fields),
    }
    assert works(services[service], platforms[platform])


def test_a_platform_of_another_major_is_refused() -> None:
    assert not works(contract("1.0"), {**current_platform(), "__version__": "2.0"})


def test_the_contract_check_can_fail() -> None:
    """A platform that lost a field a service reads is not one it works with."""
    missing = {k: v for k, v in current_platform().items() if k != "listener/arn"}
    assert not works(contract("1.0"), missing)


@scenario("express")
def test_express_services_run_in_the_platforms_cluster_and_subnets(built: Built) -> None:
    services = of_type(built, "AWS::ECS::ExpressGatewayService")
    parameters = built.template["Parameters"]
    seen = set()
    for service in services.values():
        cluster = service["Properties"]["Cluster"]["Ref"]
        assert parameters[cluster]["Default"] == f"{NAMESPACE}/v1/cluster/name"
        subnets = service["Properties"]["NetworkConfiguration"]["Subnets"]["Ref"]
        seen.add(parameters[subnets]["Default"].removeprefix(f"{NAMESPACE}/v1/"))
    assert seen == {"vpc/public-subnet-ids", "vpc/private-subnet-ids"}


@scenario("defaults")
def test_the_platforms_cluster_takes_express_services(built: Built) -> None:
    (associations,) = of_type(built, "AWS::ECS::ClusterCapacityProviderAssociations").values()
    assert "FARGATE" in associations["Properties"]["CapacityProviders"]
