"""Property-based: any valid combination of ExpressService props gives a template every
compliance tool accepts; any invalid value raises a ValueError that names the prop."""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
import pytest
from hypothesis import given
from hypothesis import strategies as st

from cdk_devops_constructs import ExpressService
from cdk_devops_constructs._validation import FARGATE_SIZES

from .scenarios import image
from harness import compliance, scenarios
from harness.generated import assert_refused, count, draw_invalid, examples

scaling = st.one_of(
    st.tuples(st.sampled_from(["AVERAGE_CPU", "AVERAGE_MEMORY"]), st.integers(1, 100)),
    st.tuples(st.just("REQUEST_COUNT_PER_TARGET"), st.integers(1, 65536)),
)


@st.composite
def valid_props(draw: st.DrawFn) -> dict[str, Any]:
    cpu = draw(st.sampled_from(sorted(FARGATE_SIZES)))
    low = draw(st.integers(1, 4))
    metric, target = draw(scaling)
    return {
        "cpu": cpu,
        "memory_limit_mib": draw(st.sampled_from(FARGATE_SIZES[cpu])),
        "container_port": draw(
            st.integers(1, 65535).filter(lambda p: p not in (4317, 4318, 13133))
        ),
        "health_check_path": draw(st.from_regex(r"/[a-z0-9_/-]{0,20}", fullmatch=True)),
        "min_capacity": low,
        "max_capacity": draw(st.integers(low, 20)),
        "scaling_metric": metric,
        "scaling_target_value": target,
        "internet_facing": draw(st.booleans()),
        "tracing": draw(st.booleans()),
        "user": draw(st.sampled_from([None, "1000:1000", "app"])),
        "writable_paths": draw(st.sampled_from([[], ["/tmp"], ["/tmp", "/var/cache/app"]])),
        "trace_sample_rate": draw(st.floats(0, 1)),
        "alarm_emails": draw(
            st.lists(st.from_regex(r"[a-z]{1,8}@example\.com", fullmatch=True), max_size=2)
        ),
        "cpu_alarm_percent": draw(st.floats(1, 100)),
        "error_rate_alarm_percent": draw(st.floats(0.1, 100)),
        "alarm_datapoints": draw(st.integers(1, 5)),
    }


@pytest.mark.generated
def test_valid_props_synthesize_compliant_templates() -> None:
    stacks: list[cdk.Stack] = []

    @examples(6, sample=1)
    @given(valid_props())
    def build_one(props: dict[str, Any]) -> None:
        stack = scenarios.new_stack()
        ExpressService(stack, "Svc", image=image(), **props)
        stacks.append(stack)

    build_one()
    assert len(stacks) == count(6, sample=1)
    compliance.assert_compliant(*stacks)


INVALID = {
    "container_port": st.one_of(st.integers(max_value=0), st.integers(min_value=65536)),
    "min_capacity": st.integers(max_value=0),
    "scaling_metric": st.text(max_size=12).filter(
        lambda m: m not in ("AVERAGE_CPU", "AVERAGE_MEMORY", "REQUEST_COUNT_PER_TARGET")
    ),
    "scaling_target_value": st.one_of(st.integers(max_value=0), st.integers(min_value=65537)),
    "cpu_alarm_percent": st.one_of(st.floats(max_value=0), st.floats(min_value=100.001)),
    "health_check_path": st.from_regex(r"[a-z][a-z/]{0,10}", fullmatch=True),
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
    assert_refused(
        prop,
        lambda: ExpressService(scenarios.new_stack(), "Svc", image=image(), **{**props, prop: bad}),
    )
