"""AWS CDK v2 constructs for DevOps on AWS: one health signal, many safety nets.

- :class:`ObservedService`: a Fargate service born monitored, traced, alerting and safe to deploy.
- :class:`ExpressService`: the same promises on Amazon ECS Express Mode, which manages the load
  balancer, its HTTPS domain and autoscaling.
- :class:`FeatureFlaggedDeploy`: typed feature flags rolled out by AWS AppConfig, environment by
  environment, and rolled back by the services' alarms.
- :class:`GatedPipeline`: a CodePipeline (V2) that builds, tests and ships an image to
  services through gated stages that roll themselves back, with DORA metrics.
- :class:`ServicePlatform`: one VPC, cluster and load balancer per environment, which services
  of other apps find through SSM parameters at deploy time.
- :class:`Incidents`: what happens when a service's health signal fails: an OpsItem, the
  team's chat channels, a paging tool, an investigation, a runbook in every alarm.
- :class:`IObservedService`: the service contract the pipeline and the flags construct use;
  any construct that honours it works with both.
"""

from .express_service import ExpressService
from .feature_flagged_deploy import Attribute, FeatureFlaggedDeploy, Flag, Rollout, Variant
from .gated_pipeline import (
    CloudFormationTarget,
    CodeDeployTarget,
    DeployedStage,
    DeployStage,
    Gate,
    GatedPipeline,
    PipelineSource,
    PipelineTest,
)
from .incidents import Incidents, OpsItem, PagingEndpoint, SlackChannel, TeamsChannel
from .observed_service import Deployment, ObservedService
from .service_contract import DeployTarget, ImagePull, IObservedService, SidecarHost
from .service_platform import PlatformReference, ServicePlatform

__all__ = [
    "Attribute",
    "CloudFormationTarget",
    "CodeDeployTarget",
    "DeployStage",
    "DeployTarget",
    "DeployedStage",
    "Deployment",
    "ExpressService",
    "FeatureFlaggedDeploy",
    "Flag",
    "Gate",
    "GatedPipeline",
    "IObservedService",
    "ImagePull",
    "Incidents",
    "ObservedService",
    "OpsItem",
    "PagingEndpoint",
    "PipelineSource",
    "PipelineTest",
    "PlatformReference",
    "Rollout",
    "ServicePlatform",
    "SidecarHost",
    "SlackChannel",
    "TeamsChannel",
    "Variant",
]
