"""The service contract: what GatedPipeline and FeatureFlaggedDeploy ask of a service.

The pipeline and the flags construct never look inside a service. They read its health signal
and its alarm topic, ask it how a new image is deployed to it (``deploy_target``), tell it once
that a pipeline deploys it from now on (``bind_to_pipeline``), and add containers beside its
application (``sidecar_host``). ``ObservedService`` and ``ExpressService`` honour this contract;
so can any construct of yours, and it then works with both consumers unchanged.

Names, not references: a pipeline usually lives in another stack (often another account) than
its services. Had it read the services' tokens (a generated name, a role's ARN, an alarm's
``Ref``), CDK would export each one from the service's stack and import it in the pipeline's,
and CloudFormation refuses to change an export that another stack imports: replacing the
service, a role or an alarm would fail. Names known at synthesis create no such reference; the
consumer turns them into ARNs in its own stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol, TypeGuard

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import IConstruct

from ._boundary import register_protocol

DeployMethod = Literal["ecs", "express"]
"""How a pipeline deploys an image: ``"ecs"``, CodePipeline's Amazon ECS standard deploy action
(a service ECS deploys itself, ``ObservedService``); ``"express"``, a CodeBuild action that
registers a task definition revision and calls UpdateExpressGatewayService (``ExpressService``).
"""
DEPLOY_METHODS: tuple[DeployMethod, ...] = ("ecs", "express")


@dataclass(frozen=True)
class DeployTarget:
    """How a pipeline stage deploys a new image to a service: an ECS service, by name, whose
    application container gets the image, by ``method``.

    :param cluster_name: the cluster's name (a token only for a cluster the user created
        without a name).
    :param service_name: the ECS service's name.
    :param container_name: the container that gets the new image.
    :param task_role_name: the task role, which a new task definition revision passes on.
    :param execution_role_name: the execution role, likewise; it also pulls the image.
    :param cpu_architecture: what the image must be built for: ``X86_64`` or ``ARM64``.
    :param bake_minutes: minutes the service's own deployment waits in bake times once the new
        tasks run (the pipeline's deploy action waits for them); None when a value is a token.
    :param method: ``"ecs"`` or ``"express"`` (``DeployMethod``). Default: ``"ecs"``.
    :param account: the service's account, when its stack states one. Default: None, the
        consumer's (the pipeline's) account.
    :param region: the service's region. Default: None, the consumer's region.
    """

    cluster_name: str
    service_name: str
    container_name: str
    task_role_name: str
    execution_role_name: str
    cpu_architecture: str
    bake_minutes: int | None = 0
    method: DeployMethod = "ecs"
    account: str | None = None
    region: str | None = None

    def service_arn(self, scope: IConstruct) -> str:
        """The service's ARN, written in ``scope``'s stack."""
        return self._arn(
            scope, "ecs", "service", f"{self.cluster_name}/{self.service_name}", self.region
        )

    def cluster_arn(self, scope: IConstruct) -> str:
        """The cluster's ARN, written in ``scope``'s stack."""
        return self._arn(scope, "ecs", "cluster", self.cluster_name, self.region)

    def role_arns(self, scope: IConstruct) -> list[str]:
        """The task role's and the execution role's ARNs, written in ``scope``'s stack."""
        return [
            self._arn(scope, "iam", "role", name, "")
            for name in (self.task_role_name, self.execution_role_name)
        ]

    def _arn(
        self, scope: IConstruct, service: str, resource: str, name: str, region: str | None
    ) -> str:
        return Stack.of(scope).format_arn(
            service=service,
            resource=resource,
            resource_name=name,
            account=self.account,
            region=region,
        )


@dataclass(frozen=True)
class ImagePull:
    """What a service's execution role needs, by its own policy, to pull a pipeline's images.

    :param statements: the identity-policy statements, built from names and ARNs known at
        synthesis (they refer to nothing of the pipeline's stack).
    :param acknowledgments: the compliance acknowledgments the statements need, as
        (``_compliance.ACKNOWLEDGMENTS`` key, placeholder values), for the policy that holds
        them.
    """

    statements: tuple[iam.PolicyStatement, ...]
    acknowledgments: tuple[tuple[str, Mapping[str, str]], ...] = ()


@dataclass(frozen=True)
class SidecarHost:
    """Where containers beside a service's application go (an AppConfig agent, say).

    :param task_definition: the task definition the service runs.
    :param app_container: the application's container, which may wait for a sidecar and read
        its settings from environment variables.
    :param log_group: the service's log group, for the sidecars' logs.
    :param rollout: the resource that starts tasks of a new task definition revision; whatever
        must wait until the application's new code runs depends on it.
    """

    task_definition: ecs.TaskDefinition
    app_container: ecs.ContainerDefinition
    log_group: logs.ILogGroup
    rollout: IConstruct


class IObservedService(IConstruct, Protocol):
    """A deployable, observed service, as GatedPipeline and FeatureFlaggedDeploy use it: a
    construct (its path names it in errors) with these members."""

    @property
    def service_name(self) -> str:
        """The name people know the service by (dashboards, action names, traces)."""

    @property
    def url(self) -> str:
        """Where the service answers."""

    @property
    def health_alarm(self) -> cloudwatch.IAlarm:
        """The health signal: one CloudWatch *metric* alarm, in ALARM while the service is
        unhealthy. ECS deployments, pipeline gates and feature-flag rollouts roll back on it."""

    @property
    def health_alarm_name(self) -> str:
        """The health alarm's name, known at synthesis (other stacks refer to it by name)."""

    @property
    def alarm_topic(self) -> sns.ITopic:
        """The topic the service's alarms notify; deployment notices go there too."""

    @property
    def deploy_target(self) -> DeployTarget:
        """How a pipeline stage deploys a new image to the service."""

    def bind_to_pipeline(self, pull: ImagePull) -> str:
        """A pipeline deploys this service from now on: keep the image the pipeline last
        deployed when a later stack update registers a new task definition revision, and let
        the execution role pull the pipeline's images. Called once per service by each
        pipeline that deploys it.

        :param pull: what the execution role must be allowed, by its own policy, to pull the
            pipeline's images.
        :returns: the name of the Secrets Manager secret the pipeline writes each deployed
            image URI to.
        """

    @property
    def sidecar_host(self) -> SidecarHost:
        """Where containers beside the application go."""


# The members a service offers; ``is_observed_service`` checks them.
CONTRACT_MEMBERS = (
    "node",
    "service_name",
    "url",
    "health_alarm",
    "health_alarm_name",
    "alarm_topic",
    "deploy_target",
    "bind_to_pipeline",
    "sidecar_host",
)


def is_observed_service(value: object) -> TypeGuard[IObservedService]:
    """True when ``value`` offers every member of ``IObservedService`` (its types are the
    implementer's promise: Python cannot check a protocol's attribute types at run time)."""
    return all(hasattr(value, member) for member in CONTRACT_MEMBERS)


def role_arn(scope: IConstruct, name: str) -> str:
    """The ARN of the IAM role ``name`` in ``scope``'s account."""
    return Stack.of(scope).format_arn(service="iam", region="", resource="role", resource_name=name)


def alarm_arn(scope: IConstruct, name: str) -> str:
    """The ARN of the CloudWatch alarm ``name`` in ``scope``'s account and region."""
    return Stack.of(scope).format_arn(
        service="cloudwatch",
        resource="alarm",
        resource_name=name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


register_protocol(
    IObservedService,
    is_observed_service,
    "a service (ObservedService, ExpressService or another IObservedService)",
    "services",
)
