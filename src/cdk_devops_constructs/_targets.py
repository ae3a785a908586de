"""What a pipeline needs to know of a service it deploys to, as literal names.

A pipeline usually lives in another stack than its services. Had it read the services' tokens
(the service's generated name, its roles' ARNs, its alarm's ``Ref``), CDK would export each one
from the service stack and import it in the pipeline stack, and CloudFormation refuses to change
an export that another stack imports: replacing the service, a role or an alarm would fail, and
so would a later library release that stops reading one of them. Names known at synthesis
create no such reference; the consumer turns them into ARNs in its own stack.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import ArnFormat, Stack
from constructs import IConstruct


@dataclass(frozen=True)
class EcsTarget:
    """An ECS service by name, with what deploying a new image to it involves.

    :param cluster_name: the cluster's name (a token only for a cluster the user passed).
    :param service_name: the ECS service's name.
    :param container_name: the container that gets the new image.
    :param task_role_name: the task role, which a new task definition revision passes on.
    :param execution_role_name: the execution role, likewise; it also pulls the image.
    :param cpu_architecture: what the image must be built for: ``X86_64`` or ``ARM64``.
    """

    cluster_name: str
    service_name: str
    container_name: str
    task_role_name: str
    execution_role_name: str
    cpu_architecture: str

    def service_arn(self, scope: IConstruct) -> str:
        return Stack.of(scope).format_arn(
            service="ecs",
            resource="service",
            resource_name=f"{self.cluster_name}/{self.service_name}",
        )

    def cluster_arn(self, scope: IConstruct) -> str:
        return Stack.of(scope).format_arn(
            service="ecs", resource="cluster", resource_name=self.cluster_name
        )

    def role_arns(self, scope: IConstruct) -> list[str]:
        return [role_arn(scope, name) for name in (self.task_role_name, self.execution_role_name)]


def role_arn(scope: IConstruct, name: str) -> str:
    return Stack.of(scope).format_arn(service="iam", region="", resource="role", resource_name=name)


def alarm_arn(scope: IConstruct, name: str) -> str:
    return Stack.of(scope).format_arn(
        service="cloudwatch",
        resource="alarm",
        resource_name=name,
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )
