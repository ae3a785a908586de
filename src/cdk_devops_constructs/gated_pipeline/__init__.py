"""GatedPipeline, its source, tests, deploy stages and gates."""

from .gates import AlarmGate, BakeGate, DeploymentWindowGate, Gate, ManualApprovalGate
from .pipeline import GatedPipeline
from .sources import PipelineSource
from .stages import (
    CloudFormationTarget,
    CodeDeployTarget,
    DeployedStage,
    DeployStage,
    PipelineTest,
)

__all__ = [
    "AlarmGate",
    "BakeGate",
    "CloudFormationTarget",
    "CodeDeployTarget",
    "DeployStage",
    "DeployedStage",
    "DeploymentWindowGate",
    "Gate",
    "GatedPipeline",
    "ManualApprovalGate",
    "PipelineSource",
    "PipelineTest",
]
