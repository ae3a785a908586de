"""An Application Load Balancer with the library's security defaults, owned by a service or by
a platform: HTTP on 80, or HTTPS on 443 with a redirect from 80; invalid headers dropped,
desync mitigation defensive, access logs to the stack's log bucket, a WAFv2 web ACL when given,
deletion protection when asked."""

from __future__ import annotations

import re

from aws_cdk import Names, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct, IConstruct

from . import _validation as check
from ._compliance import acknowledge
from ._shared import SharedInfrastructure

# A regional WAFv2 web ACL (WAF Classic and CloudFront-scoped ACLs cannot protect an ALB).
WEB_ACL_ARN = re.compile(
    r"arn:aws(?:-cn|-us-gov)?:wafv2:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d):\d{12}:regional/webacl/"
    r"[A-Za-z0-9_-]{1,128}/[0-9a-f]{8}-(?:[0-9a-f]{4}-){3}[0-9a-f]{12}"
)
WEB_ACL_ARN_RULE = (
    "a WAFv2 regional web ACL ARN like "
    "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/<name>/<id>"
)


def check_web_acl(scope: IConstruct, arn: str) -> None:
    """``arn`` is a WAFv2 regional web ACL of the load balancer's region."""
    check.matches(scope, "web_acl_arn", arn, WEB_ACL_ARN, WEB_ACL_ARN_RULE)
    found = WEB_ACL_ARN.fullmatch(arn) if isinstance(arn, str) else None
    region = Stack.of(scope).region
    if found and found["region"] != region:
        check.fail(
            scope,
            f"web_acl_arn must name a web ACL in the load balancer's region ({region}), "
            f"got {arn!r}",
        )


def own_load_balancer(
    scope: Construct,
    vpc: ec2.IVpc,
    *,
    internet_facing: bool,
    certificate: acm.ICertificate | None,
    deletion_protection: bool,
    web_acl_arn: str | None,
) -> tuple[elbv2.ApplicationLoadBalancer, elbv2.ApplicationListener]:
    load_balancer = elbv2.ApplicationLoadBalancer(
        scope,
        "LoadBalancer",
        vpc=vpc,
        internet_facing=internet_facing,
        drop_invalid_header_fields=True,
        desync_mitigation_mode=elbv2.DesyncMitigationMode.DEFENSIVE,
        deletion_protection=deletion_protection,
    )
    shared = SharedInfrastructure.of(scope)
    if internet_facing and shared.owns(vpc):
        cfn(load_balancer).node.add_dependency(shared.shared_vpc.public_routes)
    load_balancer.log_access_logs(shared.log_bucket, prefix=f"alb/{Names.unique_id(scope)}")
    not_found = elbv2.ListenerAction.fixed_response(
        404, content_type="text/plain", message_body="Not found"
    )
    if certificate is None:
        listener = load_balancer.add_listener(
            "Listener",
            port=80,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=internet_facing,
            default_action=not_found,
        )
        acknowledge(listener, "http-only-listener")
        ports = [80]
    else:
        listener = load_balancer.add_listener(
            "Listener",
            port=443,
            protocol=elbv2.ApplicationProtocol.HTTPS,
            certificates=[certificate],
            ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
            open=internet_facing,
            default_action=not_found,
        )
        redirect = load_balancer.add_listener(
            "RedirectListener",
            port=80,
            protocol=elbv2.ApplicationProtocol.HTTP,
            open=internet_facing,
            default_action=elbv2.ListenerAction.redirect(
                protocol="HTTPS", port="443", permanent=True
            ),
        )
        acknowledge(redirect, "https-redirect-listener")
        ports = [80, 443]
    if internet_facing:
        acknowledge(
            load_balancer.connections.security_groups[0],
            "public-http-load-balancer-security-group"
            if certificate is None
            else "public-https-load-balancer-security-group",
        )
    else:
        for port in ports:
            load_balancer.connections.allow_from(
                ec2.Peer.ipv4(vpc_cidr(vpc)), ec2.Port.tcp(port), "Clients inside the VPC"
            )
    if web_acl_arn is not None:
        wafv2.CfnWebACLAssociation(
            scope,
            "WebAclAssociation",
            resource_arn=load_balancer.load_balancer_arn,
            web_acl_arn=web_acl_arn,
        )
    else:
        acknowledge(load_balancer, "load-balancer-without-waf")
    if not deletion_protection:
        acknowledge(load_balancer, "load-balancer-without-deletion-protection")
    return load_balancer, listener


def vpc_cidr(vpc: ec2.IVpc) -> str:
    """The VPC's CIDR, as a literal when the template states it (tools can then read it)."""
    cfn_vpc = vpc.node.default_child
    if isinstance(cfn_vpc, ec2.CfnVPC) and isinstance(cfn_vpc.cidr_block, str):
        return cfn_vpc.cidr_block
    return vpc.vpc_cidr_block


def cfn(construct: Construct) -> IConstruct:
    """The CloudFormation resource of an L2 (a dependency on the L2 would make every one of
    its resources wait)."""
    child = construct.node.default_child
    assert child is not None
    return child
