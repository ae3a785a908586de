"""ServicePlatform configurations, and services of another app on a platform, each synthesized
once per session (see harness.scenarios)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ecs as ecs

from cdk_devops_constructs import Deployment, ExpressService, ObservedService, ServicePlatform

from harness.scenarios import scenario

NAMESPACE = "/acme/platform/production"
IMAGE = "public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine"
CERTIFICATE_ARN = (
    "arn:aws:acm:us-east-1:123456789012:certificate/0b1f7c2a-5d9e-4c3b-9a7e-1c2d3e4f5a6b"
)
WEB_ACL_ARN = (
    "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/platform/"
    "a1b2c3d4-5678-90ab-cdef-0123456789ab"
)


@scenario("service_platform/defaults")
def defaults(stack: cdk.Stack) -> ServicePlatform:
    """What a platform team writes first: a namespace."""
    return ServicePlatform(stack, "Platform", namespace=NAMESPACE)


@scenario("service_platform/https")
def https(stack: cdk.Stack) -> ServicePlatform:
    """HTTPS with a redirect from HTTP, a WAF web ACL."""
    return ServicePlatform(
        stack,
        "Platform",
        namespace=NAMESPACE,
        certificate=acm.Certificate.from_certificate_arn(stack, "Cert", CERTIFICATE_ARN),
        web_acl_arn=WEB_ACL_ARN,
    )


@scenario("service_platform/services")
def services(stack: cdk.Stack) -> list[ObservedService]:
    """A service repository's app: one service routed by host (blue/green), one by path."""
    platform = ServicePlatform.from_namespace(NAMESPACE)
    image = ecs.ContainerImage.from_registry(IMAGE)
    return [
        ObservedService(
            stack,
            "Checkout",
            image=image,
            platform=platform,
            host_headers=["checkout.example.com"],
            deployment=Deployment.blue_green(),
            alarm_emails=["checkout-oncall@example.com"],
        ),
        ObservedService(
            stack,
            "Search",
            image=image,
            platform=platform,
            path_patterns=["/search/*"],
            alarm_emails=["search-oncall@example.com"],
        ),
    ]


@scenario("service_platform/express")
def express(stack: cdk.Stack) -> list[ExpressService]:
    """Express Mode services of another app on the platform: one public, one internal."""
    platform = ServicePlatform.from_namespace(NAMESPACE)
    image = ecs.ContainerImage.from_registry(IMAGE)
    return [
        ExpressService(
            stack,
            "Storefront",
            image=image,
            user="101",
            platform=platform,
            alarm_emails=["storefront-oncall@example.com"],
        ),
        ExpressService(
            stack,
            "Ledger",
            image=image,
            user="101",
            platform=platform,
            internet_facing=False,
            alarm_emails=["ledger-oncall@example.com"],
        ),
    ]
