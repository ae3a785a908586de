"""GatedPipeline, its source, tests, deploy stages and gates."""

from .gates import AlarmGate, BakeGate, DeploymentWindowGate, Gate, ManualApprovalGate
from .pipeline import GatedPipeline
from .source import PipelineSource
from .stages import CloudFormationTarget, DeployedStage, DeployStage, PipelineTest

__all__ = [
    "AlarmGate",
    "BakeGate",
    "CloudFormationTarget",
    "DeployStage",
    "DeployedStage",
    "DeploymentWindowGate",
    "Gate",
    "GatedPipeline",
    "ManualApprovalGate",
    "PipelineSource",
    "PipelineTest",
]
