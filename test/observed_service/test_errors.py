"""Every bad ObservedService prop fails at construction with a message naming the construct path,
the prop, the value and what is allowed."""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs

from cdk_devops_constructs import Deployment, ObservedService

from .scenarios import CERTIFICATE_ARN, image
from harness import compliance

PATH = "TestStack/Svc: "


def build(stack: cdk.Stack, id: str = "Svc", **props: Any) -> ObservedService:
    return ObservedService(stack, id, image=image(), **props)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"cpu": 256, "memory_limit_mib": 4096},
            "memory_limit_mib must be one of 512, 1024, 2048 MiB when cpu is 256, got 4096",
        ),
        (
            {"cpu": 512, "memory_limit_mib": 512},
            "memory_limit_mib must be one of 1024-4096 in steps of 1024 MiB when cpu is 512, got 512",
        ),
        (
            {"cpu": 300},
            "cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384 (Fargate CPU units), got 300",
        ),
        ({"container_port": 0}, "container_port must be an integer port in [1, 65535], got 0"),
        (
            {"container_port": 70000},
            "container_port must be an integer port in [1, 65535], got 70000",
        ),
        (
            {"health_check_path": "health"},
            "health_check_path must start with '/' and be at most 1024 characters, got 'health'",
        ),
        ({"min_capacity": 0}, "min_capacity must be at least 1, got 0"),
        ({"writable_paths": "/tmp"}, "writable_paths must be a list of absolute paths, got '/tmp'"),
        (
            {"writable_paths": ["tmp"]},
            "writable_paths[0] must be an absolute path below / of letters, digits, '.', '_' and "
            "'-' (like '/var/cache/nginx'), got 'tmp'",
        ),
        (
            {"writable_paths": ["/"]},
            "writable_paths[0] must be an absolute path below / of letters, digits, '.', '_' and "
            "'-' (like '/var/cache/nginx'), got '/'",
        ),
        (
            {"writable_paths": ["/var/../etc"]},
            "writable_paths[0] must not contain '.' or '..', got '/var/../etc'",
        ),
        (
            {"writable_paths": ["/var/cache", "/var-cache"]},
            "writable_paths[1] ('/var-cache') and '/var/cache' are the same volume; list each "
            "directory once",
        ),
        (
            {"writable_paths": [f"/d{i}" for i in range(11)]},
            "writable_paths must hold at most 10 paths, got 11",
        ),
        (
            {"min_capacity": 5, "max_capacity": 3},
            "max_capacity must be at least min_capacity (5), got 3",
        ),
        ({"cpu_alarm_percent": 0}, "cpu_alarm_percent must be in (0, 100], got 0"),
        ({"memory_alarm_percent": 101}, "memory_alarm_percent must be in (0, 100], got 101"),
        ({"error_rate_alarm_percent": -1}, "error_rate_alarm_percent must be in (0, 100], got -1"),
        (
            {"cpu_scaling_target_percent": 150},
            "cpu_scaling_target_percent must be in (0, 100], got 150",
        ),
        ({"requests_per_target": 0}, "requests_per_target must be at least 1, got 0"),
        ({"trace_sample_rate": 1.5}, "trace_sample_rate must be in [0, 1], got 1.5"),
        ({"error_rate_min_requests": 0}, "error_rate_min_requests must be at least 1, got 0"),
        (
            {"alarm_emails": ["not-an-email"]},
            "alarm_emails[0] must be an email address like oncall@example.com, got 'not-an-email'",
        ),
        (
            {"alarm_emails": "oncall@example.com"},
            "alarm_emails must be a list of email addresses, got the string 'oncall@example.com'",
        ),
        ({"alarm_datapoints": 0}, "alarm_datapoints must be at least 1, got 0"),
        (
            {"alarm_period": cdk.Duration.seconds(90)},
            "alarm_period must be a whole number of minutes, got 90 seconds",
        ),
        (
            {"alarm_period": cdk.Duration.hours(12), "alarm_datapoints": 3},
            "alarm_period x alarm_datapoints must be at most 1 day (CloudWatch's evaluation limit), got 129600 seconds",
        ),
        (
            {"latency_alarm_threshold": cdk.Duration.minutes(2)},
            "latency_alarm_threshold must be between 1 millisecond and 1 minute, got 2 minutes",
        ),
        ({"listener_priority": 0}, "listener_priority must be in [1, 50000], got 0"),
        (
            {"path_patterns": ["api/*"]},
            "path_patterns[0] must start with '/' and be at most 128 characters, got 'api/*'",
        ),
        (
            {"host_headers": ["a b"]},
            "host_headers[0] must be a host name of 1-128 characters, got 'a b'",
        ),
        (
            {"path_patterns": ["/a", "/b", "/c"], "host_headers": ["x.io", "y.io", "z.io"]},
            "host_headers and path_patterns may hold at most 5 values together (a listener rule's limit), got 6",
        ),
        (
            {"deployment": Deployment.canary(percent=0.05)},
            "deployment.percent must be in [0.1, 100], got 0.05",
        ),
        (
            {"deployment": Deployment.canary(percent=12.34)},
            "deployment.percent must be a multiple of 0.1, got 12.34",
        ),
        (
            {"deployment": Deployment.linear(step_percent=2)},
            "deployment.step_percent must be in [3, 100], got 2",
        ),
        (
            {"deployment": Deployment.blue_green(bake_time=cdk.Duration.minutes(2000))},
            "deployment.bake_time must be between 0 minutes and 1440 minutes, got 2000 minutes",
        ),
        (
            {"deployment": Deployment.linear(step_bake_time=cdk.Duration.seconds(30))},
            "deployment.step_bake_time must be a whole number of minutes, got 30 seconds",
        ),
        (
            {"deployment": Deployment.canary(canary_bake_time=cdk.Duration.days(2))},
            "deployment.canary_bake_time must be between 0 minutes and 1440 minutes, got 2880 minutes",
        ),
    ],
)
def test_bad_values_are_named_with_what_is_allowed(
    stack: cdk.Stack, props: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(PATH + message)}$"):
        build(stack, **props)


def test_a_cluster_in_another_vpc_conflicts_with_vpc(stack: cdk.Stack) -> None:
    one = ec2.Vpc.from_vpc_attributes(
        stack, "One", vpc_id="vpc-11111111", availability_zones=["us-east-1a"]
    )
    two = ec2.Vpc.from_vpc_attributes(
        stack, "Two", vpc_id="vpc-22222222", availability_zones=["us-east-1a"]
    )
    cluster = ecs.Cluster.from_cluster_attributes(stack, "Cluster", cluster_name="c", vpc=two)
    with pytest.raises(
        ValueError,
        match=re.escape(PATH + "vpc (TestStack/One) and cluster (TestStack/Cluster) conflict"),
    ):
        build(stack, vpc=one, cluster=cluster)


def test_sharing_needs_the_load_balancer_and_its_listener(stack: cdk.Stack) -> None:
    first = ObservedService(stack, "First", image=image())
    shared = {"load_balancer": first.load_balancer, "listener": first.listener}
    certificate = acm.Certificate.from_certificate_arn(stack, "Cert", CERTIFICATE_ARN)
    cases = [
        (
            {"load_balancer": first.load_balancer},
            "load_balancer and listener must be passed together",
        ),
        (
            {**shared, "path_patterns": ["/x/*"]},
            "listener_priority is required with a shared listener",
        ),
        ({**shared, "listener_priority": 5}, "host_headers or path_patterns is required"),
        (
            {
                **shared,
                "listener_priority": 5,
                "path_patterns": ["/x/*"],
                "certificate": certificate,
            },
            "certificate configures a load balancer this service creates",
        ),
    ]
    for index, (props, message) in enumerate(cases):
        with pytest.raises(ValueError, match=re.escape(f"TestStack/Svc{index}: {message}")):
            build(stack, f"Svc{index}", **props)


def test_a_region_agnostic_stack_is_refused_with_the_fix() -> None:
    stack = cdk.Stack(compliance.compliance_app(), "TestStack")
    with pytest.raises(
        ValueError, match=re.escape(PATH + "the stack must have an explicit region")
    ):
        build(stack)


def test_the_collectors_ports_are_free_without_tracing(stack: cdk.Stack) -> None:
    assert build(stack, container_port=4317, tracing=False).container.container_port == 4317


def test_tokens_are_not_validated(stack: cdk.Stack) -> None:
    port = cdk.Token.as_number(cdk.CfnParameter(stack, "Port", type="Number"))
    service = build(stack, container_port=port, min_capacity=1, max_capacity=1)
    assert service.container.container_port == port


def test_the_message_is_a_value_error_not_a_jsii_trace(stack: cdk.Stack) -> None:
    with pytest.raises(ValueError, match="memory_limit_mib") as failure:
        build(stack, cpu=256, memory_limit_mib=4096)
    assert "jsii" not in str(failure.value)
    assert failure.value.__cause__ is None
