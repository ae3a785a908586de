"""AWS CDK v2 constructs for DevOps on AWS: one health signal, many safety nets.

- :class:`ObservedService`: a Fargate service born monitored, traced, alerting and safe to deploy.
"""

from .observed_service import Deployment, ObservedService

__all__ = ["Deployment", "ObservedService"]
