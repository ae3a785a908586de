"""Logical IDs of stateful resources are public API: a refactor that changes one makes
CloudFormation replace the resource (losing logs, keys, images, artifacts, or every email
subscription's confirmation) in every user's stack. Changing this list is a breaking change.
Stateful resources that hold data are also retained when removed from a stack. An Express
service is pinned too: replacing it would collide with itself on its literal name."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import ScenarioResult

PINNED: dict[str, dict[str, set[str]]] = {
    "observed_service/defaults": {
        "AWS::Logs::LogGroup": {"CheckoutLogs93FA7FDB"},
        "AWS::S3::Bucket": {"DevOpsSharedLogBucketD329824E"},
        "AWS::KMS::Key": {"CheckoutKey8B2D8A42"},
        "AWS::SNS::Topic": {"CheckoutAlarmTopic887F0361"},
        "AWS::EC2::VPC": {"DevOpsSharedVpc9D56820E"},
        "AWS::ECS::Cluster": {"DevOpsSharedCluster0EB2B0EF"},
    },
    "express_service/defaults": {
        "AWS::Logs::LogGroup": {"OrdersLogs63C9E25A"},
        "AWS::S3::Bucket": {"DevOpsSharedLogBucketD329824E"},
        "AWS::KMS::Key": {"OrdersKey6C690DD2"},
        "AWS::SNS::Topic": {"OrdersAlarmTopic44B1C3F7"},
        "AWS::EC2::VPC": {"DevOpsSharedVpc9D56820E"},
        "AWS::ECS::Cluster": {"DevOpsSharedCluster0EB2B0EF"},
        "AWS::ECS::ExpressGatewayService": {"OrdersServiceD1EFC0D6"},
    },
    "observed_service/incidents": {
        # Paging subscriptions are confirmed by the paging tool: a new topic needs it again.
        "AWS::SNS::Topic": {
            "CartAlarmTopic4EA92D1F",
            "CartIncidentsTopic987C2F95",
            "CheckoutAlarmTopic887F0361",
            "CheckoutIncidentsTopic754B3ABC",
        },
    },
    "gated_pipeline/defaults": {
        "AWS::Logs::LogGroup": {
            "DeliveryBuildLogs0D039A59",
            "DeliveryDeliveryEvents09531231",
            "ProductionLogs0F1E42D6",
            "StagingLogs77A183FE",
        },
        "AWS::S3::Bucket": {"DeliveryArtifactBucket4CF61278", "DevOpsSharedLogBucketD329824E"},
        "AWS::KMS::Key": {"DeliveryKey9B966447", "ProductionKey7FE39456", "StagingKey1A9D4FB3"},
        "AWS::SNS::Topic": {
            "DeliveryNotificationTopic55839818",
            "DeliveryStagesProductionApprovalTopic84BBE53A",
            "ProductionAlarmTopicA46B6CD8",
            "StagingAlarmTopic8138DFB1",
        },
        "AWS::ECR::Repository": {"DeliveryRepository526789E8"},
        "AWS::CodeBuild::ReportGroup": {"DeliveryTestsUnitReportsA8642DEE"},
        "AWS::CodePipeline::Pipeline": {"DeliveryPipelineE8584D71"},
    },
    "service_platform/defaults": {
        "AWS::S3::Bucket": {"DevOpsSharedLogBucketD329824E"},
        "AWS::EC2::VPC": {"DevOpsSharedVpc9D56820E"},
        "AWS::ECS::Cluster": {"PlatformCluster6842C9C4"},
        # Every service's listener rule lives on this listener: replacing it deletes them.
        "AWS::ElasticLoadBalancingV2::LoadBalancer": {"PlatformLoadBalancerB032D48C"},
        "AWS::ElasticLoadBalancingV2::Listener": {"PlatformLoadBalancerListenerA196632A"},
    },
    "service_platform/services": {
        "AWS::Logs::LogGroup": {"CheckoutLogs93FA7FDB", "SearchLogsEC27CE1D"},
        "AWS::KMS::Key": {"CheckoutKey8B2D8A42", "SearchKey7A8E5EE4"},
        "AWS::SNS::Topic": {"CheckoutAlarmTopic887F0361", "SearchAlarmTopicAFA42F4B"},
    },
    "feature_flagged_deploy/defaults": {
        "AWS::AppConfig::Application": {"FlagsApplication639FE066"},
        "AWS::AppConfig::Environment": {
            "FlagsEnvironmentsproduction06C58F28",
            "FlagsEnvironmentsstagingE154F1DF",
        },
        "AWS::AppConfig::ConfigurationProfile": {"FlagsConfigurationConfigurationProfileA5C243C6"},
    },
}
# Resources that hold data nobody can recreate from the code.
RETAINED = (
    "AWS::Logs::LogGroup",
    "AWS::S3::Bucket",
    "AWS::KMS::Key",
    "AWS::ECR::Repository",
    "AWS::CodeBuild::ReportGroup",
)


def resources(results: dict[str, ScenarioResult], name: str) -> dict[str, Any]:
    return dict(results[name].normal.template["Resources"])


@pytest.mark.parametrize("name", sorted(PINNED))
def test_stateful_logical_ids_do_not_change(
    scenario_results: dict[str, ScenarioResult], name: str
) -> None:
    template = resources(scenario_results, name)
    actual = {
        kind: {logical_id for logical_id, r in template.items() if r["Type"] == kind}
        for kind in PINNED[name]
    }
    assert actual == PINNED[name]


@pytest.mark.parametrize("name", sorted(PINNED))
def test_stateful_resources_keep_their_data_when_removed(
    scenario_results: dict[str, ScenarioResult], name: str
) -> None:
    template = resources(scenario_results, name)
    for kind in RETAINED:
        for logical_id in PINNED[name].get(kind, ()):
            assert template[logical_id]["DeletionPolicy"] == "Retain", logical_id
            assert template[logical_id]["UpdateReplacePolicy"] == "Retain", logical_id
