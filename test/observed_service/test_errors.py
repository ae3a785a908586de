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
WAF_ID = "a1b2c3d4-5678-90ab-cdef-0123456789ab"


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
        (
            {"writable_paths": "/tmp"},
            "writable_paths must be a list of strings, got the string '/tmp'",
        ),
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
            "alarm_emails must be a list of strings, got the string 'oncall@example.com'",
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
            "path_patterns[0] must be a path starting with '/', at most 128 letters, digits and "
            "_ - . $ / ~ \" ' @ : + & * ?, got 'api/*'",
        ),
        (
            {"host_headers": ["a b"]},
            "host_headers[0] must be a host name of at most 128 letters, digits, '-', '_', '.', "
            "'*' or '?', with at least one '.' and only letters after the last one, got 'a b'",
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
        # Issue 13: values that used to slip through ("..." ends a message's known start).
        (
            {"web_acl_arn": "arn:aws:waf-regional:us-east-1:123456789012:webacl/a1b2c3d4"},
            "web_acl_arn must be a WAFv2 regional web ACL ARN like "
            "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/<name>/<id>, got "
            "'arn:aws:waf-regional:us-east-1:123456789012:webacl/a1b2c3d4'",
        ),
        (
            {"web_acl_arn": f"arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/{WAF_ID}"},
            "web_acl_arn must be a WAFv2 regional web ACL ARN like "
            "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/<name>/<id>, got "
            "'arn:aws:wafv2:us-east-1:123456789012:global/webacl/edge/a1b2c3d4-5678-90ab-cdef-0123456789ab'",
        ),
        (
            {"web_acl_arn": f"arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/x/{WAF_ID}"},
            "web_acl_arn must name a web ACL in the load balancer's region (us-east-1), "
            "got "
            "'arn:aws:wafv2:eu-west-1:123456789012:regional/webacl/x/a1b2c3d4-5678-90ab-cdef-0123456789ab'",
        ),
        (
            {"web_acl_arn": f"arn:aws:wafv2:us-east-1:123456789012:regional/webacl/x/{WAF_ID}\n"},
            "web_acl_arn must be a string without control characters (line breaks, tabs, "
            "NUL...), got "
            "'arn:aws:wafv2:us-east-1:123456789012:regional/webacl/x/a1b2c3d4-5678-90ab-cdef-0123456789ab\\n'",
        ),
        (
            {"service_name": cdk.Aws.STACK_NAME},
            "service_name must be known at synthesis, not a CDK token (it becomes part of "
            "a name, a description, a URL or a computed value)...",
        ),
        (
            {"service_name": ""},
            "service_name must be 1-90 characters (it names the alarm topic, whose display "
            "name SNS limits to 100; default: the construct id), got ''",
        ),
        (
            {"service_name": "s" * 91},
            "service_name must be 1-90 characters (it names the alarm topic, whose display "
            "name SNS limits to 100; default: the construct id)...",
        ),
        (
            {"readonly_root_filesystem": "no"},
            "readonly_root_filesystem must be True or False, got 'no'",
        ),
        (
            {"cpu_alarm_percent": True},
            "cpu_alarm_percent must be a number, got True",
        ),
        (
            {"min_capacity": "2"},
            "min_capacity must be an integer, got '2'",
        ),
        (
            {"command": "serve"},
            "command must be a list of strings or None, got the string 'serve'",
        ),
        (
            {"alarm_emails": ["oncall@example.com\n"]},
            "alarm_emails[0] must be a string without control characters (line breaks, "
            "tabs, NUL...), got 'oncall@example.com\\n'",
        ),
        (
            {"health_check_path": "/health\n"},
            "health_check_path must be a string without control characters (line breaks, "
            "tabs, NUL...), got '/health\\n'",
        ),
        (
            {"host_headers": ["api.example.com\n"]},
            "host_headers[0] must be a string without control characters (line breaks, "
            "tabs, NUL...), got 'api.example.com\\n'",
        ),
        (
            {"path_patterns": ["/api/*\n"]},
            "path_patterns[0] must be a string without control characters (line breaks, "
            "tabs, NUL...), got '/api/*\\n'",
        ),
        (
            {"host_headers": ["localhost"]},
            "host_headers[0] must be a host name of at most 128 letters, digits, '-', '_', "
            "'.', '*' or '?', with at least one '.' and only letters after the last one, "
            "got 'localhost'",
        ),
        (
            {"path_patterns": ["/a b"]},
            "path_patterns[0] must be a path starting with '/', at most 128 letters, "
            "digits and _ - . $ / ~ \" ' @ : + & * ?, got '/a b'",
        ),
        (
            {"listener_priority": 2**64},
            "listener_priority must be an integer within +-9007199254740991 (a JavaScript "
            "safe integer), got 18446744073709551616",
        ),
        (
            {"user": "root user"},
            "user must be a user like 'app', '1000' or '1000:1000' (user or uid, then "
            "optionally :group or :gid), got 'root user'",
        ),
        (
            {"environment": {"A=B": "x"}},
            "each key of environment must be 1-255 characters without '=', got 'A=B'",
        ),
        (
            {"environment": {"LOG": 5}},
            "environment['LOG'] must be a string, got 5",
        ),
        (
            {"trace_sample_rate": float("nan")},
            "trace_sample_rate must be a finite number, got nan",
        ),
    ],
)
def test_bad_values_are_named_with_what_is_allowed(
    stack: cdk.Stack, props: dict[str, Any], message: str
) -> None:
    start = message.removesuffix("...")
    end = "" if start != message else "$"
    with pytest.raises(ValueError, match=f"^{re.escape(PATH + start)}{end}"):
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


# --- Issue 13: values that used to slip through ---------------------------------------------------


def test_a_secret_cannot_share_its_name_with_a_plain_variable(stack: cdk.Stack) -> None:
    secret = cdk.aws_secretsmanager.Secret.from_secret_name_v2(stack, "Db", "db")
    with pytest.raises(ValueError, match=re.escape(PATH + "secrets must not name a plain")):
        build(
            stack,
            environment={"DB": "x"},
            secrets={"DB": ecs.Secret.from_secrets_manager(secret)},
        )


def test_two_services_cannot_take_one_priority_on_a_shared_listener(stack: cdk.Stack) -> None:
    first = ObservedService(stack, "First", image=image())
    shared = {"load_balancer": first.load_balancer, "listener": first.listener}
    build(stack, "Second", listener_priority=7, path_patterns=["/b/*"], **shared)
    message = (
        "TestStack/Third: listener_priority 7 (given) is already taken on the same listener by "
        "TestStack/Second; two rules of one listener cannot share a priority: pass another "
        "listener_priority (1-50000) to one of them"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        build(stack, "Third", listener_priority=7, path_patterns=["/c/*"], **shared)
    # The owner's own rule (priority 100) is taken too.
    with pytest.raises(ValueError, match=r"listener_priority 100 .* by TestStack/First;"):
        build(stack, "Fourth", listener_priority=100, path_patterns=["/d/*"], **shared)


def test_a_cluster_of_the_app_needs_container_insights(stack: cdk.Stack) -> None:
    vpc = ec2.Vpc(stack, "Vpc")
    plain = ecs.Cluster(stack, "Plain", vpc=vpc)
    ecs.Cluster(stack, "Named", vpc=vpc, cluster_name="named")
    message = (
        "cluster must have Container Insights on (ecs.Cluster(..., container_insights_v2="
        "ecs.ContainerInsights.ENABLED)): the running-tasks alarm and the health signal read "
        "its RunningTaskCount, got TestStack/{} with containerInsights not set"
    )
    by_reference = ecs.Cluster.from_cluster_attributes(
        stack, "ByReference", cluster_name=plain.cluster_name, vpc=vpc
    )
    by_name = ecs.Cluster.from_cluster_attributes(stack, "ByName", cluster_name="named", vpc=vpc)
    for index, (cluster, defined) in enumerate(
        ((plain, "Plain"), (by_reference, "Plain"), (by_name, "Named"))
    ):
        with pytest.raises(ValueError, match=re.escape(message.format(defined))):
            build(stack, f"Svc{index}", cluster=cluster)
    on = ecs.Cluster(stack, "On", vpc=vpc, container_insights_v2=ecs.ContainerInsights.ENHANCED)
    build(stack, "Fine", cluster=on)
