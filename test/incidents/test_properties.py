"""Property-based: any valid ``incidents=`` gives a template every compliance tool accepts and
every delivery of which AWS allows; any invalid part raises a ValueError naming it, and never
repeats a paging URL."""

from __future__ import annotations

import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from hypothesis import given
from hypothesis import strategies as st

from cdk_devops_constructs import (
    Incidents,
    ObservedService,
    OpsItem,
    PagingEndpoint,
    SlackChannel,
    TeamsChannel,
)

from harness import compliance, delivery, scenarios
from harness.generated import count, examples
from observed_service.scenarios import SLACK, TEAMS, image

GROUP = (
    f"arn:aws:aiops:{compliance.REGION}:{compliance.ACCOUNT}:investigation-group/sMwwg1IogXdvL7UZ"
)
KEY = "0123456789abcdef0123456789abcdef"

ops_items = st.one_of(
    st.none(),
    st.builds(
        OpsItem,
        severity=st.sampled_from(list(cloudwatch_actions.OpsItemSeverity)),
        category=st.one_of(st.none(), st.sampled_from(list(cloudwatch_actions.OpsItemCategory))),
    ),
)
endpoints = st.lists(
    st.from_regex(r"[A-Z][a-z]{2,8}", fullmatch=True).map(
        lambda name: PagingEndpoint(name, cdk.SecretValue.secrets_manager(f"pager/{name}"))
    ),
    max_size=2,
    unique_by=lambda e: e.name,
)
valid_incidents = st.builds(
    Incidents,
    ops_item=ops_items,
    chat=st.sampled_from([[], [SLACK], [TEAMS], [SLACK, TEAMS]]),
    paging=endpoints,
    investigation_group_arn=st.sampled_from([None, GROUP]),
    runbook_url=st.one_of(
        st.none(), st.from_regex(r"https://wiki\.example\.com/[a-z/-]{0,200}", fullmatch=True)
    ),
)


@pytest.mark.generated
def test_valid_incidents_synthesize_compliant_templates_that_deliver() -> None:
    stacks: list[cdk.Stack] = []

    @examples(6, sample=1)
    @given(valid_incidents)
    def build_one(incidents: Incidents) -> None:
        stack = scenarios.new_stack()
        ObservedService(
            stack, "Svc", image=image(), alarm_emails=["oncall@example.com"], incidents=incidents
        )
        stacks.append(stack)

    build_one()
    assert len(stacks) == count(6, sample=1)
    compliance.assert_compliant(*stacks)
    for stack in stacks:
        template = compliance.synthesize(stack).template
        pairs = delivery.check(
            {"app": template}, environments={"app": (compliance.ACCOUNT, compliance.REGION)}
        )
        assert delivery.denied(pairs) == [], delivery.format_pairs(delivery.denied(pairs))


# prop -> (a strategy of bad values, how to make incidents of one)
INVALID: dict[str, tuple[st.SearchStrategy[Any], Any]] = {
    "chat[0].workspace_id": (
        st.from_regex(r"[a-z0-9#-]{1,12}", fullmatch=True).filter(lambda v: v != v.upper()),
        lambda v: Incidents(chat=[SlackChannel(workspace_id=v, channel_id="C0123")]),
    ),
    "chat[0].channel_id": (
        st.from_regex(r"[#@ .a-z0-9-]{0,12}", fullmatch=True).filter(lambda v: not v.isalnum()),
        lambda v: Incidents(chat=[SlackChannel(workspace_id="T0123", channel_id=v)]),
    ),
    "chat[0].team_id": (
        st.text(min_size=0, max_size=40).filter(
            lambda v: not re.fullmatch(r"[0-9A-Fa-f]{8}(-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12}", v)
        ),
        lambda v: Incidents(chat=[TeamsChannel(TEAMS.tenant_id, v, TEAMS.channel_id)]),
    ),
    "paging[0].url": (
        st.one_of(
            st.from_regex(r"(http|ftp|wss)://[a-z.]{1,20}/", fullmatch=True),
            st.from_regex(r"https://[a-z.]{1,20}/[\t\n ][a-z]{0,5}", fullmatch=True),
        ).map(lambda v: v + KEY),
        lambda v: Incidents(paging=[PagingEndpoint("Pager", v)]),
    ),
    "runbook_url": (
        st.one_of(
            st.from_regex(r"[a-z]{1,10}/[a-z]{0,10}", fullmatch=True),
            st.from_regex(r"https://[a-z]{1,10}\.com/[a-z]{0,5} [a-z]{0,5}", fullmatch=True),
        ),
        lambda v: Incidents(runbook_url=v),
    ),
}


@pytest.mark.generated
@examples(40, sample=8)
@given(st.sampled_from(sorted(INVALID)), st.data())
def test_an_invalid_part_raises_a_value_error_naming_it(prop: str, data: st.DataObject) -> None:
    strategy, make = INVALID[prop]
    bad = data.draw(strategy)
    stack = scenarios.new_stack(nag=False)
    with pytest.raises(
        ValueError, match=rf"^TestStack/Svc: incidents\.{re.escape(prop)} "
    ) as raised:
        ObservedService(stack, "Svc", image=image(), incidents=make(bad))
    assert KEY not in str(raised.value)
