"""Every bad ExpressService prop fails at construction with a message naming the construct path,
the prop, the value and what is allowed."""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2

from cdk_devops_constructs import ExpressService

from .scenarios import image
from harness import compliance
from harness.scenarios import imported_platform, new_stack

PATH = "TestStack/Svc: "


def build(stack: cdk.Stack, **props: Any) -> ExpressService:
    return ExpressService(stack, "Svc", image=image(), **props)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"cpu": 256, "memory_limit_mib": 4096},
            "memory_limit_mib must be one of 512, 1024, 2048 MiB when cpu is 256, got 4096",
        ),
        (
            {"cpu": 300},
            "cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384 (Fargate CPU units), "
            "got 300",
        ),
        ({"container_port": 0}, "container_port must be an integer port in [1, 65535], got 0"),
        (
            {"container_port": 4317},
            "container_port 4317 is taken by the OpenTelemetry collector in the same task "
            "(ports 4317, 4318, 13133); pick another port or pass tracing=False",
        ),
        (
            {"health_check_path": "health"},
            "health_check_path must start with '/' and be at most 1024 characters, got 'health'",
        ),
        ({"min_capacity": 0}, "min_capacity must be at least 1, got 0"),
        (
            {"min_capacity": 5, "max_capacity": 3},
            "max_capacity must be at least min_capacity (5), got 3",
        ),
        ({"max_capacity": 2.5}, "max_capacity must be an integer, got 2.5"),
        (
            {"scaling_metric": "CPU"},
            "scaling_metric must be one of 'AVERAGE_CPU', 'AVERAGE_MEMORY', "
            "'REQUEST_COUNT_PER_TARGET', got 'CPU'",
        ),
        ({"scaling_target_value": 0}, "scaling_target_value must be in [1, 100], got 0"),
        (
            {"scaling_metric": "AVERAGE_MEMORY", "scaling_target_value": 120},
            "scaling_target_value must be in [1, 100], got 120",
        ),
        (
            {"scaling_metric": "REQUEST_COUNT_PER_TARGET", "scaling_target_value": 70000},
            "scaling_target_value must be in [1, 65536], got 70000",
        ),
        ({"scaling_target_value": 60.5}, "scaling_target_value must be an integer, got 60.5"),
        (
            {"writable_paths": ["tmp"]},
            "writable_paths[0] must be an absolute path below / of letters, digits, '.', '_' and "
            "'-' (like '/var/cache/nginx'), got 'tmp'",
        ),
        ({"trace_sample_rate": 1.5}, "trace_sample_rate must be in [0, 1], got 1.5"),
        (
            {"alarm_emails": ["not-an-email"]},
            "alarm_emails[0] must be an email address like oncall@example.com, got 'not-an-email'",
        ),
        ({"cpu_alarm_percent": 0}, "cpu_alarm_percent must be in (0, 100], got 0"),
        ({"error_rate_min_requests": 0}, "error_rate_min_requests must be at least 1, got 0"),
        ({"alarm_datapoints": 0}, "alarm_datapoints must be at least 1, got 0"),
        (
            {"alarm_period": cdk.Duration.seconds(90)},
            "alarm_period must be a whole number of minutes, got 90 seconds",
        ),
        (
            {"latency_alarm_threshold": cdk.Duration.minutes(2)},
            "latency_alarm_threshold must be between 1 millisecond and 1 minute, got 2 minutes",
        ),
    ],
)
def test_invalid_props_raise_with_the_prop_the_value_and_what_is_allowed(
    props: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(PATH + message)}$"):
        build(new_stack(), **props)


def private_only_vpc(stack: cdk.Stack) -> ec2.IVpc:
    return ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0a1b2c3d4e5f60718",
        availability_zones=["us-east-1a", "us-east-1b"],
        private_subnet_ids=["subnet-0bbb0000000000001", "subnet-0bbb0000000000002"],
    )


def test_internet_facing_needs_public_subnets_in_two_zones() -> None:
    stack = new_stack()
    message = (
        "internet_facing=True must find public subnets in at least two availability zones of "
        "the VPC (TestStack/Vpc), got 0"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(PATH + message)}$"):
        build(stack, vpc=private_only_vpc(stack))
    build(new_stack(), vpc=private_only_vpc(new_stack()), internet_facing=False)


def test_a_cluster_in_another_vpc_than_vpc_is_refused() -> None:
    stack = new_stack()
    platform = imported_platform(stack)
    other = ec2.Vpc.from_vpc_attributes(
        stack,
        "Other",
        vpc_id="vpc-0ffffffffffffffff",
        availability_zones=["us-east-1a", "us-east-1b"],
        public_subnet_ids=["subnet-0ccc0000000000001", "subnet-0ccc0000000000002"],
    )
    with pytest.raises(ValueError, match=r"^TestStack/Svc: vpc \(TestStack/Other\) and cluster"):
        build(stack, vpc=other, cluster=platform.cluster)


def test_a_stack_without_a_region_is_refused() -> None:
    stack = cdk.Stack(compliance.compliance_app(), "TestStack")
    with pytest.raises(ValueError, match=r"^TestStack/Svc: the stack must have an explicit region"):
        build(stack)


def test_tokens_are_not_validated() -> None:
    stack = new_stack()
    port = cdk.CfnParameter(stack, "Port", type="Number").value_as_number
    target = cdk.CfnParameter(stack, "Target", type="Number").value_as_number
    service = build(stack, container_port=port, scaling_target_value=target)
    scaling = stack.resolve(service.service.scaling_target)
    assert scaling["autoScalingTargetValue"] == {"Ref": "Target"}
