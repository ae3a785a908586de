"""The task a service runs: the application's container and the containers beside it.

Every service kind runs the same task: the application with a read-only root filesystem and its
writable paths, logs to the service's log group in non-blocking mode, and the OpenTelemetry
collector when tracing is on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

from aws_cdk import Stack
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from .. import _validation as check
from .._task_memory import application_limit
from .tracing import COLLECTOR_PORTS, add_collector, otel_environment
from .writable_paths import add_writable_paths, check_writable_paths

APP_CONTAINER_NAME = "app"
# ECS ContainerDefinition.user: "user", "user:group", "uid", "uid:gid", "user:gid" or
# "uid:group"; names as Linux allows them (a trailing "$" for machine accounts).
USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}\$?(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}\$?)?")
USER_RULE = "a user like 'app', '1000' or '1000:1000' (user or uid, then optionally :group or :gid)"
VARIABLE_NAME = re.compile(r"[^=]{1,255}")
VARIABLE_NAME_RULE = "1-255 characters without '='"


@dataclass(frozen=True)
class TaskSpec:
    """What the application's task is made of; see ObservedService for each value."""

    image: ecs.ContainerImage
    container_port: int
    cpu: int
    memory_limit_mib: int
    cpu_architecture: ecs.CpuArchitecture | None
    environment: Mapping[str, str] | None
    secrets: Mapping[str, ecs.Secret] | None
    command: Sequence[str] | None
    user: str | None
    readonly_root_filesystem: bool
    writable_paths: Sequence[str]
    tracing: bool
    trace_sample_rate: float

    def check(self, scope: Construct) -> None:
        """Raise ``ValueError`` for a task Fargate would refuse or that could not start."""
        check.port(scope, "container_port", self.container_port)
        if self.tracing and self.container_port in COLLECTOR_PORTS:
            check.fail(
                scope,
                f"container_port {self.container_port} is taken by the OpenTelemetry collector "
                f"in the same task (ports {', '.join(map(str, sorted(COLLECTOR_PORTS)))}); pick "
                "another port or pass tracing=False",
            )
        check.fargate_size(scope, self.cpu, self.memory_limit_mib)
        check_writable_paths(scope, self.writable_paths)
        check.in_range(scope, "trace_sample_rate", self.trace_sample_rate, 0, 1)
        if self.user is not None:
            check.matches(scope, "user", self.user, USER, USER_RULE)
        self._check_variables(scope)

    def _check_variables(self, scope: Construct) -> None:
        """Variable names ECS can set; a secret's name is not also a plain variable's ("The
        secret name must be unique and not shared with any new or existing environment
        variables set on the container", ECS developer guide, "Pass sensitive data")."""
        plain = set(self.environment or {})
        if self.tracing:
            plain |= set(otel_environment("name", 0))
        for prop, names in (("environment", self.environment), ("secrets", self.secrets)):
            for name in names or {}:
                check.matches(scope, f"each key of {prop}", name, VARIABLE_NAME, VARIABLE_NAME_RULE)
        for name in self.secrets or {}:
            if name in plain:
                check.fail(
                    scope,
                    f"secrets must not name a plain environment variable (in environment, or "
                    f"set by tracing), got {name!r}",
                )

    def weakened(self) -> list[str]:
        """The security defaults these props turn off, for a synth-time warning."""
        if self.readonly_root_filesystem:
            return []
        return ["readonly_root_filesystem=False lets the application rewrite its image"]

    def build(
        self,
        scope: Construct,
        service_name: str,
        log_group: logs.ILogGroup,
        container_name: str = APP_CONTAINER_NAME,
    ) -> AppTask:
        """The task definition ``TaskDefinition`` under ``scope``, with its containers; the
        application's container is named ``container_name`` (ECS Express Mode sends traffic to
        the container named ``Main``)."""
        task_definition = ecs.FargateTaskDefinition(
            scope,
            "TaskDefinition",
            cpu=self.cpu,
            memory_limit_mib=self.memory_limit_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=self.cpu_architecture or ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        environment = {
            **(otel_environment(service_name, self.trace_sample_rate) if self.tracing else {}),
            **(self.environment or {}),
        }
        container = task_definition.add_container(
            "App",
            container_name=container_name,
            image=self.image,
            essential=True,
            environment=environment or None,
            secrets=dict(self.secrets) if self.secrets else None,
            command=list(self.command) if self.command else None,
            user=self.user,
            memory_limit_mib=application_limit(task_definition, self.memory_limit_mib),
            readonly_root_filesystem=self.readonly_root_filesystem,
            port_mappings=[ecs.PortMapping(container_port=self.container_port, name="http")],
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="app",
                log_group=log_group,
                mode=ecs.AwsLogDriverMode.NON_BLOCKING,
            ),
        )
        permissions = add_writable_paths(task_definition, container, log_group, self.writable_paths)
        if self.tracing:
            collector = add_collector(task_definition, log_group)
            container.add_container_dependencies(
                ecs.ContainerDependency(
                    container=collector, condition=ecs.ContainerDependencyCondition.HEALTHY
                )
            )
        return AppTask(
            task_definition,
            container,
            has_environment=bool(environment),
            runs_as_root_or_image_user=permissions is not None or not _is_non_root(self.user),
        )


@dataclass(frozen=True)
class AppTask:
    """A built task definition and its application container.

    :param has_environment: the application gets plain environment variables.
    :param runs_as_root_or_image_user: a container runs as root (the writable-paths init
        container) or as whatever user its image names.
    """

    task_definition: ecs.FargateTaskDefinition
    container: ecs.ContainerDefinition
    has_environment: bool
    runs_as_root_or_image_user: bool

    @cached_property
    def cpu_architecture(self) -> str:
        """``X86_64`` or ``ARM64``, read back from the task definition (CDK's
        ``CpuArchitecture`` does not expose its name); set when the task definition is made."""
        cfn = self.task_definition.node.default_child
        assert isinstance(cfn, ecs.CfnTaskDefinition)
        platform = Stack.of(cfn).resolve(cfn.runtime_platform) or {}
        return str(platform.get("cpuArchitecture", "X86_64"))


def _is_non_root(user: str | None) -> bool:
    """True for a user (``"uid"``, ``"uid:gid"``, ``"name"``, ``"name:group"``) that is not
    root, as AWS Control Tower control CT.ECS.PR.3 reads it; False for ``None`` (the image's
    user, unknown here)."""
    if user is None or check.is_token(user):
        return False
    return user.split(":", 1)[0] not in ("0", "root")
