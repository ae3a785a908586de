"""Logical IDs of stateful resources are public API: a refactor that changes one makes
CloudFormation replace the resource (losing logs, keys, or every email subscription's
confirmation) in every user's stack. Changing this list is a breaking change."""

from __future__ import annotations

import pytest

from harness.scenarios import Built

PINNED = {
    "AWS::Logs::LogGroup": {"CheckoutLogs93FA7FDB"},
    "AWS::S3::Bucket": {"DevOpsSharedLogBucketD329824E"},
    "AWS::KMS::Key": {"CheckoutKey8B2D8A42"},
    "AWS::SNS::Topic": {"CheckoutAlarmTopic887F0361"},
    "AWS::EC2::VPC": {"DevOpsSharedVpc9D56820E"},
    "AWS::ECS::Cluster": {"DevOpsSharedCluster0EB2B0EF"},
}
RETAINED = ("AWS::Logs::LogGroup", "AWS::S3::Bucket", "AWS::KMS::Key")


@pytest.mark.parametrize("built", ["observed_service/defaults"], indirect=True)
def test_stateful_logical_ids_do_not_change(built: Built) -> None:
    resources = built.template["Resources"]
    actual = {
        kind: {logical_id for logical_id, r in resources.items() if r["Type"] == kind}
        for kind in PINNED
    }
    assert actual == PINNED


@pytest.mark.parametrize("built", ["observed_service/defaults"], indirect=True)
def test_stateful_resources_keep_their_data_when_removed(built: Built) -> None:
    resources = built.template["Resources"]
    for kind in RETAINED:
        for logical_id in PINNED[kind]:
            assert resources[logical_id]["DeletionPolicy"] == "Retain", logical_id
            assert resources[logical_id]["UpdateReplacePolicy"] == "Retain", logical_id
