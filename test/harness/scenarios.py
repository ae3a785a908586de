"""Named stack configurations shared by snapshot, assertion and compliance tests.

A scenario is a function that adds constructs to a fresh stack. Each one is built once per test
session, in audit mode (every finding acknowledged, no acknowledgment stale), and synthesized
again as in normal mode (snapshots, assertions, zero findings from every tool); see
``build_audited`` and ``conftest.py``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from syrupy.assertion import SnapshotAssertion

from cdk_devops_constructs._encryption import grants_only_for_aws_resources

from . import compliance

Builder = Callable[[cdk.Stack], Any]
SCENARIOS: dict[str, Builder] = {}
STACK_NAME = "TestStack"


def scenario(name: str) -> Callable[[Builder], Builder]:
    """Register ``builder`` under ``name`` (``<construct>/<configuration>``)."""

    def register(builder: Builder) -> Builder:
        if name in SCENARIOS:
            raise ValueError(f"scenario {name!r} is registered twice")
        SCENARIOS[name] = builder
        return builder

    return register


def team_key(stack: cdk.Stack, id: str) -> kms.Key:
    """A key as a team that passes the same checks would create it: rotated, and only AWS
    services may create grants on it (AWS Control Tower control CT.KMS.PR.3)."""
    key = kms.Key(stack, id, enable_key_rotation=True)
    key.add_to_resource_policy(grants_only_for_aws_resources())
    return key


def new_stack(*, audit: bool = False, app: cdk.App | None = None, nag: bool = True) -> cdk.Stack:
    """A stack with the fixed test account and region, in an App that runs cdk-nag (unless
    ``nag`` is False)."""
    app = app or compliance.compliance_app(audit=audit, nag=nag)
    return cdk.Stack(app, STACK_NAME, env=compliance.ENV)


@dataclass
class Built:
    """A scenario's stack, what its builder returned, and its synthesized template."""

    name: str
    stack: cdk.Stack
    value: Any
    synthesized: compliance.Synthesized

    @property
    def template(self) -> dict[str, Any]:
        return self.synthesized.template


@dataclass
class Platform:
    """A platform team's shared network, cluster and alarm topic, imported by ID and ARN."""

    vpc: ec2.IVpc
    cluster: ecs.ICluster
    alarm_topic: sns.ITopic


def imported_platform(stack: cdk.Stack) -> Platform:
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "PlatformVpc",
        vpc_id="vpc-0a1b2c3d4e5f60718",
        vpc_cidr_block="10.20.0.0/16",
        availability_zones=["us-east-1a", "us-east-1b"],
        public_subnet_ids=["subnet-0aaa0000000000001", "subnet-0aaa0000000000002"],
        private_subnet_ids=["subnet-0bbb0000000000001", "subnet-0bbb0000000000002"],
    )
    cluster = ecs.Cluster.from_cluster_attributes(
        stack, "PlatformCluster", cluster_name="platform", vpc=vpc
    )
    topic = sns.Topic.from_topic_arn(
        stack, "PlatformAlarms", f"arn:aws:sns:us-east-1:{compliance.ACCOUNT}:platform-alarms"
    )
    return Platform(vpc, cluster, topic)


def names(construct: str) -> list[str]:
    """The scenarios of one construct (``observed_service``...), sorted."""
    return sorted(n for n in SCENARIOS if n.startswith(f"{construct}/"))


def snapshot_test(construct: str) -> Callable[..., None]:
    """The whole-template snapshot test of every scenario of ``construct``; assign it to
    ``test_template`` in the construct's ``test_snapshots.py``. Snapshots are stored as
    ``__snapshots__/test_snapshots/test_template[<scenario>].json`` next to that module."""
    selected = names(construct)

    @pytest.mark.snapshot
    @pytest.mark.parametrize(
        "built", selected, indirect=True, ids=[n.split("/", 1)[1] for n in selected]
    )
    def test_template(built: Built, snapshot: SnapshotAssertion) -> None:
        assert built.template == snapshot

    return test_template


def build(name: str, *, audit: bool, nag: bool = True) -> Built:
    stack = new_stack(audit=audit, nag=nag)
    value = SCENARIOS[name](stack)
    return Built(name, stack, value, compliance.synthesize(stack))


def build_audited(name: str) -> tuple[Built, Built]:
    """The scenario in audit mode, and in normal mode: the same constructs, synthesized again
    once the acknowledgments they recorded are applied as a user's app applies them. Building
    once costs a third of building twice; test_compliance proves the normal template is what
    a normal-mode build synthesizes."""
    audit = build(name, audit=True)
    synthesized = audit.synthesized
    kept = synthesized.template_file.with_name(f"audit-{synthesized.template_file.name}")
    shutil.copyfile(synthesized.template_file, kept)  # synthesizing again overwrites it
    synthesized.template_file = kept
    compliance.apply_recorded(audit.stack)
    normal = Built(name, audit.stack, audit.value, compliance.resynthesize(audit.stack))
    return audit, normal


def as_text(value: Any) -> str:
    """A template value as text: a Fn::Join of literals and references, each reference as
    ``${Ref:<logical ID>}``."""
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(as_text(p) for p in parts)
    if isinstance(value, dict) and "Ref" in value:
        return "${Ref:" + value["Ref"] + "}"
    return str(value)
