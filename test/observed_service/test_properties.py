"""Property-based: any valid combination of props gives a template every compliance tool
accepts; any invalid value raises a ValueError that names the prop."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_certificatemanager as acm
from hypothesis import given
from hypothesis import strategies as st

from cdk_devops_constructs import Deployment, ObservedService
from cdk_devops_constructs._validation import FARGATE_SIZES

from .scenarios import CERTIFICATE_ARN, image
from harness import compliance, scenarios
from harness.generated import assert_refused, count, draw_invalid, examples

minutes = st.integers(min_value=0, max_value=60).map(cdk.Duration.minutes)
deployments = st.one_of(
    st.just(Deployment.rolling()),
    st.builds(lambda b: Deployment.blue_green(bake_time=b), minutes),
    st.builds(
        lambda p, c, b: Deployment.canary(percent=p / 10, canary_bake_time=c, bake_time=b),
        st.integers(1, 1000),
        minutes,
        minutes,
    ),
    st.builds(
        lambda p, s, b: Deployment.linear(step_percent=p / 10, step_bake_time=s, bake_time=b),
        st.integers(30, 1000),
        minutes,
        minutes,
    ),
)


@st.composite
def valid_props(draw: st.DrawFn) -> dict[str, Any]:
    cpu = draw(st.sampled_from(sorted(FARGATE_SIZES)))
    low = draw(st.integers(1, 4))
    return {
        "cpu": cpu,
        "memory_limit_mib": draw(st.sampled_from(FARGATE_SIZES[cpu])),
        "container_port": draw(st.integers(1, 65535)),
        "health_check_path": draw(st.from_regex(r"/[a-z0-9_/-]{0,20}", fullmatch=True)),
        "min_capacity": low,
        "max_capacity": draw(st.integers(low, 20)),
        "cpu_scaling_target_percent": draw(st.integers(10, 90)),
        "requests_per_target": draw(st.one_of(st.none(), st.integers(1, 10_000))),
        "internet_facing": draw(st.booleans()),
        "tracing": draw(st.booleans()),
        # With a named user and no writable path, nothing is acknowledged to the non-root
        # control: cfn-guard then checks every container itself.
        "user": draw(st.sampled_from([None, "1000:1000", "app"])),
        "writable_paths": draw(st.sampled_from([[], ["/tmp"], ["/tmp", "/var/cache/app"]])),
        "trace_sample_rate": draw(st.floats(0, 1)),
        "alarm_emails": draw(
            st.lists(st.from_regex(r"[a-z]{1,8}@example\.com", fullmatch=True), max_size=2)
        ),
        "cpu_alarm_percent": draw(st.floats(1, 100)),
        "memory_alarm_percent": draw(st.floats(1, 100)),
        "error_rate_alarm_percent": draw(st.floats(0.1, 100)),
        "alarm_datapoints": draw(st.integers(1, 5)),
        "deployment": draw(deployments),
        "certificate": draw(st.booleans()),
    }


def build(stack: cdk.Stack, props: dict[str, Any]) -> ObservedService:
    props = dict(props)
    if props.pop("certificate", False):
        props["certificate"] = acm.Certificate.from_certificate_arn(stack, "Cert", CERTIFICATE_ARN)
    return ObservedService(stack, "Svc", image=image(), **props)


@pytest.mark.generated
def test_valid_props_synthesize_compliant_templates() -> None:
    stacks: list[cdk.Stack] = []

    @examples(6, sample=1)
    @given(valid_props())
    def build_one(props: dict[str, Any]) -> None:
        stack = scenarios.new_stack()
        build(stack, props)
        stacks.append(stack)

    build_one()
    assert len(stacks) == count(6, sample=1)
    # cfn-lint and checkov run once over the batch, in the background workers.
    compliance.assert_compliant(*stacks)


INVALID = {
    "container_port": st.one_of(st.integers(max_value=0), st.integers(min_value=65536)),
    "min_capacity": st.integers(max_value=0),
    "cpu_alarm_percent": st.one_of(st.floats(max_value=0), st.floats(min_value=100.001)),
    "memory_alarm_percent": st.one_of(st.floats(max_value=0), st.floats(min_value=100.001)),
    "error_rate_alarm_percent": st.floats(max_value=0),
    "health_check_path": st.from_regex(r"[a-z][a-z/]{0,10}", fullmatch=True),
    "alarm_emails": st.lists(
        st.from_regex(r"[a-z]{1,8}(@|\.)[a-z]{0,5}", fullmatch=True), min_size=1
    ),
    "memory_limit_mib": st.integers(1, 511),
    "alarm_datapoints": st.integers(max_value=0),
    "trace_sample_rate": st.floats(min_value=1.001),
}


@pytest.mark.generated
@examples(40, sample=8)
@given(valid_props(), st.sampled_from(sorted(INVALID)), st.data())
def test_an_invalid_value_raises_a_value_error_naming_the_prop(
    props: dict[str, Any], prop: str, data: st.DataObject
) -> None:
    bad = draw_invalid(data, INVALID[prop])
    assert_refused(prop, lambda: build(scenarios.new_stack(), {**props, prop: bad}))
