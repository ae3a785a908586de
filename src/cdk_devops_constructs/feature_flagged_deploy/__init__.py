"""FeatureFlaggedDeploy, its flag model and its rollout presets."""

from .deploy import FeatureFlaggedDeploy
from .flags import Attribute, Flag, Variant
from .strategy import Rollout

__all__ = ["Attribute", "FeatureFlaggedDeploy", "Flag", "Rollout", "Variant"]
