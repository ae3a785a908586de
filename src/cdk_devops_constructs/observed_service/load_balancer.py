"""How requests reach an ObservedService: its load balancer (owned or shared), listener rule and
target groups, and the checks on the props that describe them."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aws_cdk import Duration, Fn
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from constructs import Construct

from .. import _validation as check
from .._load_balancer import check_web_acl, own_load_balancer

# Load balancer health check and draining, tuned for fast and safe deployments: a new task takes
# traffic after 2 passing checks (about 20 s), a failing one leaves after 3 (about 30 s), and a
# stopping task gets 30 s to finish its requests (the ALB default of 300 s slows every deploy).
HEALTH_CHECK_INTERVAL = Duration.seconds(10)
HEALTH_CHECK_TIMEOUT = Duration.seconds(5)
HEALTHY_THRESHOLD = 2
UNHEALTHY_THRESHOLD = 3
DEREGISTRATION_DELAY = Duration.seconds(30)
MAX_RULE_CONDITION_VALUES = 5
DEFAULT_LISTENER_PRIORITY = 100
# Listener rule conditions (ELB user guide, "Condition types for listener rules"): a host name
# has at most 128 of a-z A-Z 0-9 - _ . and the wildcards * ?, at least one ".", and only
# letters after the last one; a path pattern starts with "/" here and has at most 128 of
# a-z A-Z 0-9 _ - . $ / ~ " ' @ : + & and the wildcards.
HOST_HEADER = re.compile(r"(?=.{1,128}\Z)[A-Za-z0-9_*?.-]*\.[A-Za-z]+")
HOST_HEADER_RULE = (
    "a host name of at most 128 letters, digits, '-', '_', '.', '*' or '?', with at least one "
    "'.' and only letters after the last one"
)
PATH_PATTERN = re.compile(r"/[A-Za-z0-9_.$/~\"'@:+&*?-]{0,127}")
PATH_PATTERN_RULE = (
    "a path starting with '/', at most 128 letters, digits and _ - . $ / ~ \" ' @ : + & * ?"
)


@dataclass(frozen=True)
class Routing:
    """The load-balancing props of an ObservedService; see it for each value."""

    internet_facing: bool
    certificate: acm.ICertificate | None
    load_balancer: elbv2.IApplicationLoadBalancer | None
    listener: elbv2.IApplicationListener | None
    listener_priority: int | None
    host_headers: Sequence[str]
    path_patterns: Sequence[str]
    web_acl_arn: str | None
    health_check_path: str

    @property
    def shared(self) -> bool:
        """True when the service adds its rule to a listener it does not own."""
        return self.listener is not None

    def check(self, scope: Construct) -> None:
        """Raise ``ValueError`` for props that cannot route requests to the service."""
        check.http_path(scope, "health_check_path", self.health_check_path)
        if (self.load_balancer is None) != (self.listener is None):
            check.fail(
                scope,
                "load_balancer and listener must be passed together to share a load balancer "
                "(e.g. load_balancer=other.load_balancer, listener=other.listener)",
            )
        if self.shared:
            if self.listener_priority is None:
                check.fail(scope, "listener_priority is required with a shared listener")
            if not self.host_headers and not self.path_patterns:
                check.fail(
                    scope,
                    "host_headers or path_patterns is required with a shared listener, so "
                    "that requests can be routed to this service",
                )
            for prop, value in (
                ("certificate", self.certificate),
                ("web_acl_arn", self.web_acl_arn),
            ):
                if value is not None:
                    check.fail(
                        scope,
                        f"{prop} configures a load balancer this service creates; set it "
                        "where the shared load balancer is created",
                    )
        if self.listener_priority is not None:
            check.in_range(scope, "listener_priority", self.listener_priority, 1, 50000)
        if self.web_acl_arn is not None:
            check_web_acl(scope, self.web_acl_arn)
        values = len(self.host_headers) + len(self.path_patterns)
        if values > MAX_RULE_CONDITION_VALUES:
            check.fail(
                scope,
                f"host_headers and path_patterns may hold at most {MAX_RULE_CONDITION_VALUES} "
                f"values together (a listener rule's limit), got {values}",
            )
        for index, pattern in enumerate(self.path_patterns):
            check.matches(
                scope, f"path_patterns[{index}]", pattern, PATH_PATTERN, PATH_PATTERN_RULE
            )
        for index, host in enumerate(self.host_headers):
            check.matches(scope, f"host_headers[{index}]", host, HOST_HEADER, HOST_HEADER_RULE)

    def build(
        self,
        scope: Construct,
        *,
        vpc: ec2.IVpc,
        container_port: int,
        deletion_protection: bool,
        two_target_groups: bool,
    ) -> RoutedService:
        """The load balancer (``LoadBalancer`` unless shared), the target group(s) and the
        listener rule ``ListenerRule``, under ``scope``."""
        load_balancer, listener = self.load_balancer, self.listener
        priority = self.listener_priority
        if load_balancer is None or listener is None:
            load_balancer, listener = own_load_balancer(
                scope,
                vpc,
                internet_facing=self.internet_facing,
                certificate=self.certificate,
                deletion_protection=deletion_protection,
                web_acl_arn=self.web_acl_arn,
            )
            priority = priority or DEFAULT_LISTENER_PRIORITY
        target_group = _target_group(
            scope, vpc, "TargetGroup", container_port, self.health_check_path
        )
        # Blue/green, canary and linear deployments shift traffic between two target groups by
        # changing the weights of this rule; rolling deployments use one target group.
        alternate = (
            _target_group(
                scope, vpc, "AlternateTargetGroup", container_port, self.health_check_path
            )
            if two_target_groups
            else None
        )
        assert priority is not None  # checked for shared listeners
        rule = elbv2.ApplicationListenerRule(
            scope,
            "ListenerRule",
            listener=listener,
            priority=priority,
            conditions=_conditions(self.host_headers, self.path_patterns),
            action=_forward(target_group, alternate),
        )
        return RoutedService(load_balancer, listener, target_group, alternate, rule)

    def url(
        self,
        listener: elbv2.IApplicationListener,
        dns_name: Callable[[], str],
        *,
        scheme: str | None = None,
    ) -> str:
        """The service's URL: the first literal host header, else the load balancer's name
        (``dns_name`` is asked only then); ``scheme`` when known (a platform's, at deploy
        time), else the listener's."""
        if scheme is None:
            scheme = "https" if self.certificate is not None or _is_https(listener) else "http"
        host = next((h for h in self.host_headers if "*" not in h and "?" not in h), None)
        host = host or dns_name()
        path = self.path_patterns[0].split("*")[0] if self.path_patterns else "/"
        return f"{scheme}://{host}{path}"


@dataclass(frozen=True)
class RoutedService:
    """What ``Routing.build`` made or found."""

    load_balancer: elbv2.IApplicationLoadBalancer
    listener: elbv2.IApplicationListener
    target_group: elbv2.ApplicationTargetGroup
    alternate_target_group: elbv2.ApplicationTargetGroup | None
    listener_rule: elbv2.ApplicationListenerRule

    @property
    def target_groups(self) -> list[elbv2.ApplicationTargetGroup]:
        return [tg for tg in (self.target_group, self.alternate_target_group) if tg is not None]

    @property
    def load_balancer_full_name(self) -> str:
        """``app/<name>/<id>``, the LoadBalancer dimension of its metrics."""
        if isinstance(self.load_balancer, elbv2.ApplicationLoadBalancer):
            return self.load_balancer.load_balancer_full_name
        # arn:<partition>:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>
        parts = Fn.split("/", self.load_balancer.load_balancer_arn)
        return Fn.join("/", [Fn.select(1, parts), Fn.select(2, parts), Fn.select(3, parts)])


def _target_group(
    scope: Construct, vpc: ec2.IVpc, id: str, port: int, health_check_path: str
) -> elbv2.ApplicationTargetGroup:
    return elbv2.ApplicationTargetGroup(
        scope,
        id,
        vpc=vpc,
        port=port,
        protocol=elbv2.ApplicationProtocol.HTTP,
        target_type=elbv2.TargetType.IP,
        deregistration_delay=DEREGISTRATION_DELAY,
        health_check=elbv2.HealthCheck(
            path=health_check_path,
            interval=HEALTH_CHECK_INTERVAL,
            timeout=HEALTH_CHECK_TIMEOUT,
            healthy_threshold_count=HEALTHY_THRESHOLD,
            unhealthy_threshold_count=UNHEALTHY_THRESHOLD,
            healthy_http_codes="200-399",
        ),
    )


def _forward(
    target_group: elbv2.ApplicationTargetGroup, alternate: elbv2.ApplicationTargetGroup | None
) -> elbv2.ListenerAction:
    if alternate is None:
        return elbv2.ListenerAction.forward([target_group])
    return elbv2.ListenerAction.weighted_forward(
        [
            elbv2.WeightedTargetGroup(target_group=target_group, weight=100),
            elbv2.WeightedTargetGroup(target_group=alternate, weight=0),
        ]
    )


def _conditions(
    host_headers: Sequence[str], path_patterns: Sequence[str]
) -> list[elbv2.ListenerCondition]:
    conditions = []
    if host_headers:
        conditions.append(elbv2.ListenerCondition.host_headers(list(host_headers)))
    if path_patterns or not host_headers:
        conditions.append(elbv2.ListenerCondition.path_patterns(list(path_patterns) or ["/*"]))
    return conditions


def _is_https(listener: elbv2.IApplicationListener) -> bool:
    child = listener.node.default_child
    return isinstance(child, elbv2.CfnListener) and child.protocol == "HTTPS"
