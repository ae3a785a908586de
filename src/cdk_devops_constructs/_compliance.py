"""Every compliance finding this library acknowledges, in one place, each with its reason.

The constructs are checked by cdk-nag (AwsSolutions, NIST 800-53 rev 5), cfn-lint and checkov.
A finding is fixed in the construct, or it is listed here: one entry per kind of resource, one
reason per rule. ``acknowledge(resource, key)`` applies the entry ``key`` to exactly one resource,
in the form each tool reads:

- cdk-nag: ``Validations.of(resource).acknowledge(...)``;
- checkov: ``Metadata.checkov.skip`` on the CloudFormation resource, with the reason as comment;
- cfn-lint: ``Metadata.cfn-lint.config.ignore_checks`` on the CloudFormation resource.

Set the context value ``cdk-devops-constructs:auditAcknowledgments`` to ``true`` to see every
finding the library would otherwise acknowledge: the acknowledgments are then recorded (as
construct metadata ``cdk-devops-constructs:acknowledged``) but not applied. The test suite uses
this to prove that no acknowledgment outlives the finding it was written for.
"""

from __future__ import annotations

import re
from typing import Any

from aws_cdk import Acknowledgment, CfnResource, Validations
from constructs import IConstruct

AUDIT_CONTEXT_KEY = "cdk-devops-constructs:auditAcknowledgments"
METADATA_TYPE = "cdk-devops-constructs:acknowledged"

_X_RAY = (
    "The X-Ray write and sampling actions (PutTraceSegments, PutTelemetryRecords, "
    "GetSamplingRules, GetSamplingTargets, GetSamplingStatisticSummaries) have no resource "
    "types in the Service Authorization Reference, so Resource '*' is the only valid value."
)
_ACCESS_LOG_BUCKET_SSE_S3 = (
    "Elastic Load Balancing delivers access logs only to buckets encrypted with SSE-S3 "
    "(AES256); SSE-KMS makes delivery fail. The bucket is private, SSL-only and versioned."
)
_LOG_BUCKET_NOT_LOGGED = (
    "This bucket is itself the access-log destination; logging it to itself would create a "
    "loop of log objects. Object-level access is recorded by CloudTrail data events if enabled."
)
_LOG_BUCKET_NOT_REPLICATED = (
    "Operational logs with a lifecycle expiry; cross-region replication would double storage "
    "cost for data that is not a system of record. Versioning protects against deletion."
)
_PUBLIC_HTTP_LISTENER = (
    "The service is deliberately internet-facing: its listener must accept 0.0.0.0/0 on the "
    "listener port. Pass certificate= for HTTPS with an HTTP-to-HTTPS redirect, or "
    "internet_facing=False for an internal load balancer (README: how to reach zero findings)."
)
_NO_CERTIFICATE = (
    "No certificate was passed, so the service is HTTP-only by the user's choice; pass "
    "certificate= to get HTTPS with TLS 1.2+ and an HTTP-to-HTTPS redirect."
)

_CDK_INLINE_POLICY = (
    "The AWS::IAM::Policy CDK generates for grants to this one role: created, updated and "
    "deleted with the role, attached to nothing else, and scoped to the resources granted. A "
    "managed policy would hold the same statements with no added control."
)
_CDK_PROVIDER = (
    "Singleton Lambda function that CDK generates to remove the rules of the VPC's default "
    "security group; it runs only during deployment, invoked by CloudFormation."
)

# key -> {rule id -> reason}. Keys name the kind of resource an entry is applied to.
ACKNOWLEDGMENTS: dict[str, dict[str, str]] = {
    "task-role-default-policy": {
        "AwsSolutions-IAM5[Resource::*]": _X_RAY,
        "NIST.800.53.R5-IAMNoInlinePolicy": _CDK_INLINE_POLICY,
    },
    "execution-role-default-policy": {
        "NIST.800.53.R5-IAMNoInlinePolicy": _CDK_INLINE_POLICY,
    },
    "task-definition-environment": {
        "AwsSolutions-ECS2": (
            "Plain environment variables hold non-secret configuration only (the OpenTelemetry "
            "endpoint and service name, the user's settings); secrets are passed through "
            "`secrets=`, read from Secrets Manager or SSM Parameter Store at task start."
        ),
    },
    "access-log-bucket": {
        "AwsSolutions-S1": _LOG_BUCKET_NOT_LOGGED,
        "NIST.800.53.R5-S3BucketLoggingEnabled": _LOG_BUCKET_NOT_LOGGED,
        "CKV_AWS_18": _LOG_BUCKET_NOT_LOGGED,
        "NIST.800.53.R5-S3DefaultEncryptionKMS": _ACCESS_LOG_BUCKET_SSE_S3,
        "NIST.800.53.R5-S3BucketReplicationEnabled": _LOG_BUCKET_NOT_REPLICATED,
    },
    "public-http-load-balancer-security-group": {
        "AwsSolutions-EC23": _PUBLIC_HTTP_LISTENER,
        "CKV_AWS_260": _PUBLIC_HTTP_LISTENER,
    },
    "public-https-load-balancer-security-group": {
        "AwsSolutions-EC23": _PUBLIC_HTTP_LISTENER,
    },
    "load-balancer-without-waf": {
        "NIST.800.53.R5-ALBWAFEnabled": (
            "A web ACL is an organization-wide edge decision (AWS Firewall Manager, CloudFront) "
            "and costs at least $5/month per ACL plus $1 per rule; pass web_acl_arn= to "
            "associate one with this load balancer."
        ),
    },
    "http-only-listener": {
        "NIST.800.53.R5-ALBHttpToHttpsRedirection": _NO_CERTIFICATE,
        "NIST.800.53.R5-ELBv2ACMCertificateRequired": _NO_CERTIFICATE,
        "CKV_AWS_2": _NO_CERTIFICATE,
        "CKV_AWS_103": _NO_CERTIFICATE,
    },
    "https-redirect-listener": {
        "NIST.800.53.R5-ELBv2ACMCertificateRequired": (
            "This port-80 listener only answers a permanent redirect to HTTPS on 443; it serves "
            "no content, so there is nothing for a certificate to protect."
        ),
    },
    "ecs-load-balancer-infrastructure-role": {
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
        "AmazonECSInfrastructureRolePolicyForLoadBalancers]": (
            "The AWS-managed policy ECS documents for blue/green, canary and linear deployments: "
            "it lets ECS shift listener-rule weights between the two target groups. AWS "
            "maintains it as ECS gains features; the role is assumable by ECS only."
        ),
    },
    "traffic-shifting-service": {
        "W3005": (
            "CDK adds a DependsOn from the service to its production listener rule that the "
            "Ref in AdvancedConfiguration already implies; the redundant ordering is harmless."
        ),
    },
    "public-subnet-default-route": {
        "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW": (
            "Public subnets hold only the internet-facing load balancers and the NAT gateway; "
            "they need a route to the internet gateway. Tasks run in private subnets."
        ),
    },
    "cdk-default-security-group-handler": {
        "W3005": (
            "CDK writes both a DependsOn and a GetAtt from its provider function to the "
            "provider role; the redundant DependsOn is harmless."
        ),
        "CKV_AWS_115": _CDK_PROVIDER,
        "CKV_AWS_116": _CDK_PROVIDER,
        "CKV_AWS_117": _CDK_PROVIDER,
    },
}

_CDK_NAG = re.compile(r"^(AwsSolutions|NIST\.800\.53\.R5|HIPAA\.Security|PCI\.DSS\.321)-")
_CHECKOV = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")
_CFN_LINT = re.compile(r"^[EWI]\d{4}$")


def acknowledge(resource: IConstruct, key: str) -> None:
    """Apply the acknowledgments listed under ``key`` to ``resource`` (an L1 or its L2)."""
    rules = ACKNOWLEDGMENTS[key]
    target = _cfn_resource(resource)
    if any(e.type == METADATA_TYPE and e.data["key"] == key for e in target.node.metadata):
        return  # already applied: acknowledging twice changes nothing
    target.node.add_metadata(METADATA_TYPE, {"key": key, "rules": sorted(rules)})
    if target.node.try_get_context(AUDIT_CONTEXT_KEY) in (True, "true"):
        return
    for rule, reason in rules.items():
        if _CDK_NAG.match(rule):
            Validations.of(target).acknowledge(Acknowledgment(id=rule, reason=reason))
        elif _CHECKOV.match(rule):
            _append_metadata(target, "checkov", "skip", {"id": rule, "comment": reason})
        elif _CFN_LINT.match(rule):
            _append_metadata(target, "cfn-lint", "config", rule)
        else:  # pragma: no cover - guarded by test_acknowledgment_rules_are_known
            raise ValueError(f"unknown rule id format in acknowledgment {key!r}: {rule!r}")


def _cfn_resource(construct: IConstruct) -> CfnResource:
    if isinstance(construct, CfnResource):
        return construct
    child = construct.node.default_child
    if isinstance(child, CfnResource):
        return child
    raise TypeError(f"{construct.node.path} has no CloudFormation resource to acknowledge on")


def _append_metadata(resource: CfnResource, tool: str, section: str, entry: Any) -> None:
    metadata: dict[str, Any] = dict(resource.get_metadata(tool) or {})
    if tool == "cfn-lint":
        config = dict(metadata.get(section, {}))
        config["ignore_checks"] = [*config.get("ignore_checks", []), entry]
        metadata[section] = config
    else:
        metadata[section] = [*metadata.get(section, []), entry]
    resource.add_metadata(tool, metadata)
