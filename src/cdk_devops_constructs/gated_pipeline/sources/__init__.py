"""Where a GatedPipeline's code comes from: one module per kind of source, each building its own
action, grants and trigger (``PipelineSource``)."""

from .base import PipelineSource, SourceStep
from .codecommit import CodeCommitSource
from .connection import ConnectionSource
from .s3 import S3Source

__all__ = ["CodeCommitSource", "ConnectionSource", "PipelineSource", "S3Source", "SourceStep"]
