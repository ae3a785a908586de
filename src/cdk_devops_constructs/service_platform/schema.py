"""What a platform publishes, where, and the rule that keeps service repositories on other library
versions working.

A platform writes one SSM String or StringList parameter per field under
``<namespace>/v<major>/<key>``; a service stack reads the ones it needs as CloudFormation
parameters of the SSM types (``AWS::SSM::Parameter::Value<...>``), which CloudFormation
resolves, and for the typed ones validates, on every create and update of the service stack:
no lookup at synthesis, no ``Fn::ImportValue``, and a replaced platform resource reaches each
service on its next deployment. (Unversioned ``{{resolve:ssm:...}}`` references would not: a
template that did not change is "not updated".)

Compatibility, within a major version (the ``v1`` of every parameter name):

- a platform release only ever **adds** fields; it never removes, renames, retypes or reorders
  one, and it writes its ``schema-version`` as ``"<major>.<minor>"``;
- a service reads only the fields of ``<major>.0`` unless the user asks for a feature that needs a
  newer one, and asserts, in a template rule that fails before any resource changes, that the
  platform's schema version is one it knows (``<major>.<minor it needs>`` or later);

so a service pinned to an older library works with a newer platform (the fields it reads are
still there) and a service on a newer library works with an older platform of the same major
(it reads nothing the older platform lacks). A new major is published beside the old one
(``v2`` next to ``v1``) until every service has moved.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import aws_ssm as ssm
from constructs import IConstruct

from .. import _validation as check

MAJOR = 1
# The schema this library's platform writes.
VERSION = f"{MAJOR}.0"
# The oldest schema of the major that services of this library accept.
OLDEST_ACCEPTED_MINOR = 0
# Minors a service accepts: everything of the major from the oldest it needs on. CloudFormation
# rule functions compare strings only, so the accepted versions are listed.
MAX_MINOR = 99
# The VPC's zones and subnets are read by index: their number is part of the major.
AVAILABILITY_ZONES = 2

NAMESPACE = re.compile(r"/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+){0,10}")
NAMESPACE_RULE = (
    "an SSM parameter path like '/acme/platform/production': '/'-separated names of letters, "
    "digits, '_', '.', '-', at most 11 levels, not starting with 'aws' or 'ssm'"
)
MAX_NAMESPACE = 200


@dataclass(frozen=True)
class Field:
    """One published value.

    :param key: its path below ``<namespace>/v<major>/``.
    :param list: an SSM StringList (read as a list parameter), else a String.
    :param type: the SSM parameter type a service reads it as (CloudFormation validates typed
        values against the account before it changes anything).
    :param since: the schema version that added it.
    """

    key: str
    list: bool = False
    type: ssm.ParameterValueType = ssm.ParameterValueType.STRING
    since: str = f"{MAJOR}.0"


SCHEMA_VERSION = Field("schema-version")
VPC_ID = Field("vpc/id", type=ssm.ParameterValueType.AWS_EC2_VPC_ID)
VPC_CIDR = Field("vpc/cidr")
ZONES = Field(
    "vpc/availability-zones", list=True, type=ssm.ParameterValueType.AWS_EC2_AVAILABILITYZONE_NAME
)
PRIVATE_SUBNETS = Field(
    "vpc/private-subnet-ids", list=True, type=ssm.ParameterValueType.AWS_EC2_SUBNET_ID
)
PUBLIC_SUBNETS = Field(
    "vpc/public-subnet-ids", list=True, type=ssm.ParameterValueType.AWS_EC2_SUBNET_ID
)
PRIVATE_ROUTE_TABLES = Field("vpc/private-route-table-ids", list=True)
CLUSTER_NAME = Field("cluster/name")
LOAD_BALANCER_ARN = Field("load-balancer/arn")
LOAD_BALANCER_FULL_NAME = Field("load-balancer/full-name")
LOAD_BALANCER_DNS_NAME = Field("load-balancer/dns-name")
LOAD_BALANCER_SECURITY_GROUP = Field(
    "load-balancer/security-group-id", type=ssm.ParameterValueType.AWS_EC2_SECURITYGROUP_ID
)
LISTENER_ARN = Field("listener/arn")
LISTENER_SCHEME = Field("listener/scheme")

FIELDS = (
    SCHEMA_VERSION,
    VPC_ID,
    VPC_CIDR,
    ZONES,
    PRIVATE_SUBNETS,
    PUBLIC_SUBNETS,
    PRIVATE_ROUTE_TABLES,
    CLUSTER_NAME,
    LOAD_BALANCER_ARN,
    LOAD_BALANCER_FULL_NAME,
    LOAD_BALANCER_DNS_NAME,
    LOAD_BALANCER_SECURITY_GROUP,
    LISTENER_ARN,
    LISTENER_SCHEME,
)


def cluster_name(namespace: str) -> str:
    """The platform's cluster name, derived from its namespace (part of the major's contract):
    a pipeline in another stack deploys to a platform's services by this literal name, which it
    could not read from SSM without referring to the service stack."""
    return "-".join(re.split(r"[/.]+", namespace.strip("/")))


def parameter_name(namespace: str, field: Field) -> str:
    """The SSM parameter name of ``field`` under ``namespace``."""
    return f"{namespace}/v{MAJOR}/{field.key}"


def accepted_versions(oldest_minor: int = OLDEST_ACCEPTED_MINOR) -> list[str]:
    """The schema versions a service accepts: the major's, from ``oldest_minor`` on."""
    return [f"{MAJOR}.{minor}" for minor in range(oldest_minor, MAX_MINOR + 1)]


def check_namespace(scope: IConstruct, prop: str, namespace: str) -> None:
    """``namespace`` is a literal SSM path that leaves room for the fields below it."""
    if check.is_token(namespace):
        check.fail(scope, f"{prop} must be known at synthesis (it names SSM parameters)")
    check.matches(scope, prop, namespace, NAMESPACE, NAMESPACE_RULE)
    if len(namespace) > MAX_NAMESPACE:
        check.fail(scope, f"{prop} must be at most {MAX_NAMESPACE} characters, got {namespace!r}")
    if namespace.split("/")[1].lower().startswith(("aws", "ssm")):
        check.fail(
            scope,
            f"{prop} must not start with 'aws' or 'ssm' (names SSM reserves), got {namespace!r}",
        )
