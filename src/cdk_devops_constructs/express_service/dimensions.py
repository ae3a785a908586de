"""The CloudWatch dimensions of an Express service's load balancer metrics, derived at deployment
from the ARNs ``AWS::ECS::ExpressGatewayService`` returns.

Express Mode creates the load balancer and the target groups itself, so their names exist only
once the service does; CloudFormation intrinsics turn the ARNs into the dimension values
(``app/<name>/<id>`` and ``targetgroup/<name>/<id>``, the final portions of the ARNs, as the
Application Load Balancer metrics use them).

How many target groups Express Mode lists is not documented: its canary deployments on an
Application Load Balancer need two (a primary and an alternate one), and production traffic moves
between them at every deployment, but the attribute is only "the list of Target Group ARNs". A
``Fn::Select`` past the end of the list fails the deployment, so the list is padded with its first
element before two are selected: two target groups give both, one gives the same one twice. The
metrics then combine both entries (``ServiceMetrics(target_groups_may_repeat=True)``), which stays
correct when they are one target group.
"""

from __future__ import annotations

from aws_cdk import Fn

TARGET_GROUPS = 2


def load_balancer_full_name(load_balancer_arn: str) -> str:
    """``app/<name>/<id>`` from ``arn:<partition>:elasticloadbalancing:<region>:<account>:
    loadbalancer/app/<name>/<id>``."""
    parts = Fn.split("/", load_balancer_arn)
    return Fn.join("/", [Fn.select(1, parts), Fn.select(2, parts), Fn.select(3, parts)])


def target_group_full_names(target_group_arns: list[str]) -> list[str]:
    """``targetgroup/<name>/<id>`` of the first two target groups (the first twice when there
    is one), from ``arn:<partition>:elasticloadbalancing:<region>:<account>:targetgroup/<name>/
    <id>``."""
    padded = Fn.split(
        ",",
        Fn.join(",", [Fn.join(",", target_group_arns), Fn.select(0, target_group_arns)]),
    )
    return [Fn.select(5, Fn.split(":", Fn.select(index, padded))) for index in range(TARGET_GROUPS)]
