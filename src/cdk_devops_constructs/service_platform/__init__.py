"""ServicePlatform: one VPC, cluster and load balancer per environment, found by services of other
apps through SSM parameters at deploy time."""

from .platform import ServicePlatform
from .reference import PlatformReference

__all__ = ["PlatformReference", "ServicePlatform"]
