"""Property-based: any valid combination of stages and gates gives a template every compliance
tool accepts; any invalid one raises a ValueError that says what is wrong."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_codepipeline as codepipeline
from hypothesis import given
from hypothesis import strategies as st

from cdk_devops_constructs import (
    DeployStage,
    Gate,
    GatedPipeline,
    ObservedService,
    PipelineSource,
    PipelineTest,
)

from .scenarios import CONNECTION_ARN, service
from harness import compliance, scenarios
from harness.generated import count, examples

CRONS = ("* * 9-16 ? * MON-FRI *", "* 0 22 ? * SUN", "* 0/30 * L * ? *", "* * 8-18 ? * 2-6")
ZONES = ("UTC", "Europe/Berlin", "America/New_York", "UTC+05:30", "EST")
NAMES = st.from_regex(r"[A-Z][a-z]{2,8}", fullmatch=True).filter(
    lambda n: n not in ("Source", "Build")
)
emails = st.lists(st.from_regex(r"[a-z]{1,8}@example\.com", fullmatch=True), max_size=2)


@dataclass
class StageSpec:
    """A deploy stage before its service exists (the service is created in the test's stack)."""

    name: str
    gates: list[str] = field(default_factory=list)
    bake: int = 10
    wait: int | None = None
    cron: str = CRONS[0]
    zone: str = "UTC"
    approvers: list[str] = field(default_factory=list)
    rollback_on_failure: bool = True
    bake_alarms: list[Any] = field(default_factory=list)
    healthy_alarms: list[Any] = field(default_factory=list)


@st.composite
def stage_specs(draw: st.DrawFn) -> list[StageSpec]:
    names = draw(st.lists(NAMES, min_size=1, max_size=3, unique=True))
    specs = []
    for index, name in enumerate(names):
        kinds = ["approval", "bake", "window"] + (["healthy"] if index else [])
        gates = draw(st.lists(st.sampled_from(kinds), unique=True))
        specs.append(
            StageSpec(
                name=name,
                gates=gates,
                bake=draw(st.integers(1, 60)),
                wait=draw(st.one_of(st.none(), st.integers(1, 60))),
                cron=draw(st.sampled_from(CRONS)),
                zone=draw(st.sampled_from(ZONES)),
                approvers=draw(emails),
                # A bake rolls back through the stage's on-failure rollback.
                rollback_on_failure=draw(st.booleans()) or "bake" in gates,
            )
        )
    return specs


def gates_of(spec: StageSpec) -> list[Gate]:
    made: dict[str, Gate] = {
        "approval": Gate.manual_approval(emails=spec.approvers),
        "bake": Gate.bake(cdk.Duration.minutes(spec.bake), alarms=spec.bake_alarms),
        "window": Gate.deployment_window(spec.cron, time_zone=spec.zone),
        "healthy": Gate.healthy_before_entry(
            alarms=spec.healthy_alarms,
            wait=cdk.Duration.minutes(spec.wait) if spec.wait else None,
        ),
    }
    return [made[kind] for kind in spec.gates]


def build(
    stack: cdk.Stack,
    id: str,
    specs: list[StageSpec],
    svc: ObservedService,
    **props: Any,
) -> GatedPipeline:
    return GatedPipeline(
        stack,
        id,
        source=PipelineSource.connection(connection_arn=CONNECTION_ARN, owner="acme", repo="app"),
        stages=[
            DeployStage(
                name=s.name,
                services=[svc],
                gates=gates_of(s),
                rollback_on_failure=s.rollback_on_failure,
            )
            for s in specs
        ],
        **props,
    )


@pytest.mark.generated
def test_valid_stage_and_gate_combinations_synthesize_compliant_templates() -> None:
    stacks: list[cdk.Stack] = []

    @examples(6, sample=1)
    @given(
        stage_specs(),
        st.sampled_from([codepipeline.ExecutionMode.QUEUED, codepipeline.ExecutionMode.SUPERSEDED]),
        st.integers(0, 2),
    )
    def build_one(
        specs: list[StageSpec], mode: codepipeline.ExecutionMode, test_count: int
    ) -> None:
        stack = scenarios.new_stack()
        tests = [PipelineTest(name=f"T{n}", commands=["true"]) for n in range(test_count)]
        build(stack, "Pipeline", specs, service(stack, "Svc"), execution_mode=mode, tests=tests)
        stacks.append(stack)

    build_one()
    assert len(stacks) == count(6, sample=1)
    # cfn-lint and checkov run once over the batch, in the background workers. cfn-guard is
    # left to the scenarios: its rules read each resource on its own (the bucket, the key, the
    # build project), which no stage or gate combination changes, and it takes about 2 s per
    # pipeline template.
    compliance.assert_compliant(*stacks, tools=("cfn-lint", "checkov"))


# --- Invalid combinations ---------------------------------------------------------------------

_ids = itertools.count(1)


@pytest.fixture(scope="module")
def shared() -> tuple[cdk.Stack, ObservedService]:
    """Invalid combinations fail before the pipeline creates anything: one stack serves all."""
    stack = scenarios.new_stack()
    return stack, service(stack, "Svc")


def breaking(specs: list[StageSpec], svc: ObservedService) -> st.SearchStrategy[Any]:
    """(what to change, the message it must raise): one invalid change to valid specs."""
    first = specs[0]
    alarms = list(svc.alarms.values())
    return st.sampled_from(
        [
            ("bake", st.one_of(st.just(0), st.integers(61, 100_000)), "duration"),
            ("cron", st.sampled_from(["* * 25 ? * *", "0 9 * * MON", "* * 9 1 * MON"]), "cron"),
            ("zone", st.sampled_from(["berlin", "UTC+5", "Mars/Olympus Mons"]), "time_zone"),
            ("approvers", st.just(["not an email"]), "emails[0]"),
            ("first_stage_healthy", st.just(True), "watches no alarm"),
            ("duplicate_name", st.just(first.name), "must not repeat a name"),
            ("too_many_rules", st.just(alarms), "CodePipeline allows at most 5 rules"),
            ("bake_without_rollback", st.just(False), "rollback_on_failure=False turns off"),
        ]
    )


@pytest.mark.generated
@examples(40, sample=8)
@given(stage_specs(), st.data())
def test_an_invalid_combination_raises_a_clear_value_error(
    shared: tuple[cdk.Stack, ObservedService], specs: list[StageSpec], data: st.DataObject
) -> None:
    stack, svc = shared
    change, values, expected = data.draw(breaking(specs, svc))
    value = data.draw(values)
    first = specs[0]
    if change == "bake":
        first.gates, first.bake = ["bake"], value
    elif change == "cron":
        first.gates, first.cron = ["window"], value
    elif change == "zone":
        first.gates, first.zone = ["window"], value
    elif change == "approvers":
        first.gates, first.approvers = ["approval"], value
    elif change == "first_stage_healthy":
        first.gates = ["healthy"]
    elif change == "duplicate_name":
        specs.append(StageSpec(name=value))
    elif change == "too_many_rules":
        specs.append(StageSpec(name="ZzzLast", gates=["healthy"], healthy_alarms=value))
    elif change == "bake_without_rollback":
        first.gates, first.bake, first.rollback_on_failure = ["bake"], 5, value
    id = f"P{next(_ids)}"
    with pytest.raises(ValueError, match=rf"^TestStack/{id}: ") as failure:
        build(stack, id, specs, svc)
    assert re.search(re.escape(expected), str(failure.value)), str(failure.value)
