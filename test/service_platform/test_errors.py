"""Every bad platform prop, and every bad use of a platform by a service, fails at construction with
a message naming the construct path, the prop, the value and what is allowed."""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2

from cdk_devops_constructs import ObservedService, ServicePlatform

from .scenarios import CERTIFICATE_ARN, IMAGE, NAMESPACE, WEB_ACL_ARN
from harness.scenarios import new_stack

LOAD_BALANCER_ARN = (
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/shared/50dc6c495c0c9188"
)
LISTENER_ARN = (
    "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shared/50dc6c495c0c9188/"
    "f2f7dc8efc522ab2"
)


def service(stack: cdk.Stack, id: str = "Svc", **props: Any) -> ObservedService:
    props.setdefault("platform", ServicePlatform.from_namespace(NAMESPACE))
    props.setdefault("host_headers", [f"{id.lower()}.example.com"])
    return ObservedService(stack, id, image=ecs.ContainerImage.from_registry(IMAGE), **props)


@pytest.mark.parametrize(
    ("namespace", "message"),
    [
        (
            "acme/platform",
            "namespace must be an SSM parameter path like '/acme/platform/production'",
        ),
        ("/acme/platform/", "namespace must be an SSM parameter path"),
        ("/acme platform", "namespace must be an SSM parameter path"),
        ("/acme/platform\n", "namespace must be a string without control characters"),
        ("/" + "/".join("abcdefghijkl"), "namespace must be an SSM parameter path"),
        ("/" + "a" * 200, "namespace must be at most 200 characters"),
        ("/aws/platform", "namespace must not start with 'aws' or 'ssm' (names SSM reserves)"),
        ("/SSM-things/platform", "namespace must not start with 'aws' or 'ssm'"),
        pytest.param(
            cdk.Aws.STACK_NAME,
            "namespace must be known at synthesis, not a CDK token",
            id="token",  # a token's text differs between test processes
        ),
    ],
)
def test_a_platform_refuses_a_namespace_ssm_would_refuse(namespace: str, message: str) -> None:
    stack = new_stack(nag=False)
    with pytest.raises(ValueError, match="^" + re.escape(f"TestStack/Platform: {message}")):
        ServicePlatform(stack, "Platform", namespace=namespace)


def test_a_service_refuses_a_bad_namespace_naming_the_prop() -> None:
    stack = new_stack(nag=False)
    with pytest.raises(ValueError, match=re.escape("TestStack/Svc: platform.namespace must be")):
        service(stack, platform=ServicePlatform.from_namespace("no-slash"))


def test_platform_must_be_made_by_from_namespace() -> None:
    stack = new_stack(nag=False)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "TestStack/Svc: platform must be a PlatformReference "
            "(ServicePlatform.from_namespace(namespace)) or None, got '/acme/platform/production'"
        ),
    ):
        service(stack, platform=NAMESPACE)


@pytest.mark.parametrize(
    "prop", ["vpc", "cluster", "load_balancer", "listener", "certificate", "web_acl_arn"]
)
def test_what_the_platform_owns_cannot_be_passed_too(prop: str) -> None:
    stack = new_stack(nag=False)
    vpc = ec2.Vpc.from_vpc_attributes(
        stack, "Vpc", vpc_id="vpc-1", availability_zones=["us-east-1a"], private_subnet_ids=["s-1"]
    )
    sg = ec2.SecurityGroup.from_security_group_id(stack, "Sg", "sg-1")
    values: dict[str, Any] = {
        "vpc": vpc,
        "cluster": ecs.Cluster.from_cluster_attributes(stack, "C", cluster_name="c", vpc=vpc),
        "load_balancer": elbv2.ApplicationLoadBalancer.from_application_load_balancer_attributes(
            stack, "Lb", load_balancer_arn=LOAD_BALANCER_ARN, security_group_id="sg-1"
        ),
        "listener": elbv2.ApplicationListener.from_application_listener_attributes(
            stack, "Listener", listener_arn=LISTENER_ARN, security_group=sg
        ),
        "certificate": acm.Certificate.from_certificate_arn(stack, "Cert", CERTIFICATE_ARN),
        "web_acl_arn": WEB_ACL_ARN,
    }
    with pytest.raises(
        ValueError,
        match="^"
        + re.escape(f"TestStack/Svc: {prop} is the platform's ({NAMESPACE}); a service on"),
    ):
        service(stack, **{prop: values[prop]})


def test_internet_facing_false_is_the_platforms_choice() -> None:
    stack = new_stack(nag=False)
    with pytest.raises(ValueError, match=re.escape("internet_facing is the platform's")):
        service(stack, internet_facing=False)


def test_a_service_on_a_platform_must_say_which_requests_are_its() -> None:
    stack = new_stack(nag=False)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "TestStack/Svc: host_headers or path_patterns is required with a shared listener"
        ),
    ):
        service(stack, host_headers=[])


def test_one_stack_uses_one_platform() -> None:
    stack = new_stack(nag=False)
    service(stack, "First")
    with pytest.raises(
        ValueError,
        match=re.escape(
            "TestStack/Second: platform '/acme/platform/staging' differs from the platform of "
            f"another service of this stack ('{NAMESPACE}')"
        ),
    ):
        service(stack, "Second", platform=ServicePlatform.from_namespace("/acme/platform/staging"))


def test_two_services_of_one_app_cannot_share_a_priority() -> None:
    app = cdk.App()
    env = cdk.Environment(account="123456789012", region="us-east-1")
    first, second = (cdk.Stack(app, name, env=env) for name in ("First", "Second"))
    service(first, "Checkout", listener_priority=20_000)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "Second/Search: listener_priority 20000 (given) is already taken on the same listener "
            "by First/Checkout; two rules of one listener cannot share a priority"
        ),
    ):
        service(second, "Search", listener_priority=20_000)


def test_a_shared_listener_of_the_app_cannot_take_a_priority_twice() -> None:
    stack = new_stack(nag=False)
    owner = ObservedService(stack, "Owner", image=ecs.ContainerImage.from_registry(IMAGE))
    shared = {"load_balancer": owner.load_balancer, "listener": owner.listener}
    ObservedService(
        stack, "A", image=ecs.ContainerImage.from_registry(IMAGE), listener_priority=5,
        path_patterns=["/a/*"], **shared,
    )  # fmt: skip
    with pytest.raises(ValueError, match=re.escape("TestStack/B: listener_priority 5 (given)")):
        ObservedService(
            stack, "B", image=ecs.ContainerImage.from_registry(IMAGE), listener_priority=5,
            path_patterns=["/b/*"], **shared,
        )  # fmt: skip


def test_a_shared_listener_cannot_take_the_owners_priority() -> None:
    stack = new_stack(nag=False)
    owner = ObservedService(stack, "Owner", image=ecs.ContainerImage.from_registry(IMAGE))
    with pytest.raises(ValueError, match=re.escape("TestStack/A: listener_priority 100 (given)")):
        ObservedService(
            stack, "A", image=ecs.ContainerImage.from_registry(IMAGE), listener_priority=100,
            path_patterns=["/a/*"], load_balancer=owner.load_balancer, listener=owner.listener,
        )  # fmt: skip
