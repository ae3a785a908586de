"""What every service kind of the library builds the same way, and how it honours the service
contract (``service_contract``).

A service kind (``ObservedService`` on Fargate behind its own load balancer, ``ExpressService``
on ECS Express Mode) subclasses ``ServiceBase``, validates its props, and calls these steps in
its constructor: keys and logs, the alarm topic, the task, then its own compute and load
balancing, then ``_observe`` for the alarms, the health signal, the dashboard and the outputs,
and last ``_respond_to_incidents`` for where the health signal's incidents go and what every
alarm's description says.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from aws_cdk import CfnOutput, Duration, Names, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from .. import _validation as check
from .._compliance import acknowledge
from .._encryption import allow_log_groups, customer_managed_key
from .._logs import encrypted_log_group
from .._notifications import (
    allow_to_publish,
    cloudwatch_alarms,
    encrypted_topic,
    subscribe_emails,
    warn_if_unsubscribed,
)
from .._shared import SharedInfrastructure, check_container_insights, named_cluster
from ..incidents.service import respond_to_incidents
from ..incidents.settings import Incidents, check_incidents
from ..service_contract import DeployMethod, DeployTarget, ImagePull, SidecarHost
from .alarms import AlarmThresholds, ServiceAlarms, build_alarms, threshold_label
from .dashboard import build_dashboard, dashboard_name, dashboard_url
from .deployed_image import pin_deployed_image
from .metrics import ServiceMetrics
from .task import AppTask

# The alarm topic's display name is "Alarms of <service_name>", and SNS allows display names of
# at most 100 characters (SNS API reference, SetTopicAttributes, DisplayName).
ALARM_TOPIC_PREFIX = "Alarms of "
MAX_SERVICE_NAME = 100 - len(ALARM_TOPIC_PREFIX)


class ServiceBase(Construct):
    """The parts every service kind shares; see ``ObservedService`` for the attributes."""

    # Set by the steps below, in this order.
    service_name: str
    """The name people know the service by: traces, dashboard, alarm descriptions."""
    encryption_key: kms.IKey
    """The key of the log group and the alarm topic."""
    log_group: logs.LogGroup
    """The log group of every container of the task."""
    alarm_topic: sns.ITopic
    """The topic the alarms notify on ALARM and on OK."""
    task_definition: ecs.FargateTaskDefinition
    """The task: the application, and the containers beside it."""
    container: ecs.ContainerDefinition
    """The application's container."""
    metrics: ServiceMetrics
    """The service's golden-signal metrics, shared by alarms and dashboard."""
    alarms: dict[str, cloudwatch.Alarm]
    """Alarm by key: cpu, memory, errors, latency, unhealthy_hosts, running_tasks."""
    critical_alarms: list[cloudwatch.IAlarm]
    """The alarms the health signal combines: errors, latency, unhealthy_hosts, running_tasks."""
    health_alarm: cloudwatch.Alarm
    """The health signal: one metric alarm over the critical signals (see README)."""
    health_alarm_name: str
    """The health alarm's literal name, by which other stacks refer to it."""
    dashboard: cloudwatch.Dashboard
    """The golden-signals dashboard, named ``<resource prefix>-<region>``."""
    url: str
    """Where the service answers."""
    incident_topic: sns.ITopic | None
    """The health signal's incident topic, on ALARM and OK, that chat channels and paging
    endpoints subscribe to; None when ``incidents`` names neither."""

    # How a pipeline deploys an image to this kind of service (``service_contract``).
    _deploy_method: DeployMethod = "ecs"

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self._image_secret: str | None = None

    # --- Steps -----------------------------------------------------------------------------

    def _require_region(
        self, why: str = "load balancer access logs are delivered by a region-specific principal"
    ) -> None:
        if Token.is_unresolved(Stack.of(self).region):
            check.fail(
                self,
                "the stack must have an explicit region (Stack(..., env=Environment(region=...))):"
                f" {why}",
            )

    def _check_service_name(self) -> None:
        name = self.service_name
        if not 1 <= len(name) <= MAX_SERVICE_NAME:
            check.fail(
                self,
                f"service_name must be 1-{MAX_SERVICE_NAME} characters (it names the alarm "
                f"topic, whose display name SNS limits to 100; default: the construct id), got "
                f"{check.shown(name)}",
            )

    def _keys_and_logs(
        self, encryption_key: kms.IKey | None, log_retention: logs.RetentionDays
    ) -> None:
        """The key of the logs and the alarm topic, and the service's log group ``Logs``."""
        self.encryption_key = encryption_key or customer_managed_key(
            self, "Key", description=f"Logs and alarm notifications of {self.node.path}"
        )
        allow_log_groups(self.encryption_key)
        self.log_group = encrypted_log_group(
            self, "Logs", retention=log_retention, key=self.encryption_key
        )

    def _notifications(self, alarm_topic: sns.ITopic | None, alarm_emails: Sequence[str]) -> None:
        """The topic the alarms notify: ``alarm_topic``, or a new encrypted ``AlarmTopic``."""
        if alarm_topic is None:
            alarm_topic = encrypted_topic(
                self,
                "AlarmTopic",
                key=self.encryption_key,
                emails=alarm_emails,
                publishers=[cloudwatch_alarms(self)],
                display_name=f"{ALARM_TOPIC_PREFIX}{self.service_name}",
            )
            warn_if_unsubscribed(
                alarm_topic,
                self,
                f"The alarm topic of {self.node.path}",
                "pass alarm_emails, or subscribe alarm_topic to your paging tool (an HTTPS "
                "endpoint, Amazon Q Developer in chat applications)",
            )
        else:
            allow_to_publish(alarm_topic, cloudwatch_alarms(self))
            subscribe_emails(alarm_topic, alarm_emails)
        self.alarm_topic = alarm_topic

    def _run(self, task: AppTask) -> None:
        self._task = task
        self.task_definition = task.task_definition
        self.container = task.container

    def _observe(
        self,
        *,
        metrics: ServiceMetrics,
        thresholds: AlarmThresholds,
        names: dict[str, str],
    ) -> ServiceAlarms:
        """The alarms, the health signal, the dashboard and the outputs."""
        self.metrics = metrics
        built = build_alarms(
            self,
            service_name=self.service_name,
            metrics=metrics,
            thresholds=thresholds,
            topic=self.alarm_topic,
            names=names,
        )
        self.alarms = built.alarms
        self.critical_alarms = built.critical
        self.health_alarm = built.health_alarm
        self.health_alarm_name = built.health_alarm_name
        self._alarm_specs = {**built.specs, "health": built.health_spec}
        return built

    def _dashboard_and_outputs(self, built: ServiceAlarms, url: str) -> None:
        self.dashboard = build_dashboard(
            self,
            "Dashboard",
            name=dashboard_name(self),
            title=f"{self.service_name}: golden signals",
            metrics=self.metrics,
            alarms=built.alarms,
            thresholds={
                key: (spec.threshold, threshold_label(spec)) for key, spec in built.specs.items()
            },
            health_alarm=built.health_alarm,
            log_group=self.log_group,
        )
        self.url = url
        CfnOutput(self, "Url", value=url, description=f"URL of {self.service_name}")
        CfnOutput(
            self,
            "DashboardUrl",
            value=dashboard_url(self.dashboard),
            description=f"CloudWatch dashboard of {self.service_name}",
        )

    def _check_incidents(self, incidents: Incidents | None) -> Incidents:
        """``incidents`` checked with the other props, before anything is built; default
        ``Incidents()``: an OpsItem."""
        return check_incidents(self, "incidents", Incidents() if incidents is None else incidents)

    def _respond_to_incidents(self, settings: Incidents) -> None:
        """Where the health signal's incidents go (``settings``, from ``_check_incidents``),
        and every alarm's full description (what fired, first check, where, the dashboard, the
        runbook). The last step: it reads the alarms and the dashboard."""
        alarms = {**self.alarms, "health": self.health_alarm}
        self.incident_topic = respond_to_incidents(
            self,
            settings,
            service_name=self.service_name,
            alarms={key: (alarm, self._alarm_specs[key]) for key, alarm in alarms.items()},
            health_alarm=self.health_alarm,
            key=self.encryption_key,
            dashboard_name=dashboard_name(self),
        )

    def _acknowledge_task_findings(self) -> None:
        """Findings that come with what the user asked for (see _compliance.ACKNOWLEDGMENTS)."""
        roles = (
            (self.task_definition.task_role, "task-role-default-policy"),
            (self.task_definition.execution_role, "execution-role-default-policy"),
        )
        for role, key in roles:
            policy = role.node.try_find_child("DefaultPolicy") if role else None
            if policy is not None:
                acknowledge(policy, key)
        if self._task.has_environment:
            acknowledge(self.task_definition, "task-definition-environment")
        if self._task.runs_as_root_or_image_user:
            acknowledge(self.task_definition, "task-definition-users")

    def _pipeline_names(self, cluster_name: str, service_name: str) -> None:
        """Literal names of what a pipeline deploys to (``deploy_target``)."""
        self._cluster_name = cluster_name
        self._ecs_service_name = service_name
        self._task_role_name = _role_name(self.task_definition.task_role)
        self._execution_role_name = _role_name(self.task_definition.obtain_execution_role())

    # --- The service contract ----------------------------------------------------------------

    @cached_property
    def deploy_target(self) -> DeployTarget:
        """How a pipeline stage deploys a new image to this service (``service_contract``).
        Fixed once the service is built; a pipeline asks for it many times."""
        stack = Stack.of(self)
        return DeployTarget(
            account=None if Token.is_unresolved(stack.account) else stack.account,
            region=None if Token.is_unresolved(stack.region) else stack.region,
            cluster_name=self._cluster_name,
            service_name=self._ecs_service_name,
            container_name=self.container.container_name,
            task_role_name=self._task_role_name,
            execution_role_name=self._execution_role_name,
            cpu_architecture=self._task.cpu_architecture,
            bake_minutes=self._bake_minutes(),
            method=self._deploy_method,
        )

    def bind_to_pipeline(self, pull: ImagePull) -> str:
        """A pipeline deploys this service from now on (``service_contract``).

        :param pull: what the execution role needs to pull the pipeline's images.
        :returns: the name of the secret the pipeline writes the deployed image to.
        """
        role = self.task_definition.obtain_execution_role()
        for statement in pull.statements:
            role.add_to_principal_policy(statement)
        policy = role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            for key, details in pull.acknowledgments:
                acknowledge(policy, key, **details)
        if self._image_secret is None:
            self._image_secret = pin_deployed_image(self, self.task_definition, self.container)
        return self._image_secret

    @property
    def sidecar_host(self) -> SidecarHost:
        """Where containers beside the application go (``service_contract``)."""
        return SidecarHost(
            task_definition=self.task_definition,
            app_container=self.container,
            log_group=self.log_group,
            rollout=self._rollout_resource(),
        )

    def _bake_minutes(self) -> int | None:
        """Minutes the service's own deployments spend in bake times."""
        raise NotImplementedError

    def _rollout_resource(self) -> IConstruct:
        """The resource that starts tasks of a new task definition revision."""
        raise NotImplementedError


def check_network(scope: Construct, vpc: ec2.IVpc | None, cluster: ecs.ICluster | None) -> None:
    """``vpc`` and ``cluster``, when both are passed, must be the same network."""
    if vpc is not None and cluster is not None and not _same_vpc(vpc, cluster.vpc):
        check.fail(
            scope,
            f"vpc ({vpc.node.path}) and cluster ({cluster.node.path}) conflict: the "
            "cluster is in another VPC; pass only cluster, or a cluster in vpc",
        )
    if cluster is not None:
        check_container_insights(scope, cluster)


def default_cluster(scope: Construct, vpc: ec2.IVpc | None) -> ecs.Cluster:
    """The stack's shared cluster, or a new named cluster ``Cluster`` in ``vpc`` (Container
    Insights on either way)."""
    if vpc is None:
        return SharedInfrastructure.of(scope).cluster
    return named_cluster(scope, "Cluster", vpc)


def _same_vpc(vpc: ec2.IVpc, other: ec2.IVpc) -> bool:
    return vpc is other or vpc.vpc_id == other.vpc_id


def default_log_retention(value: logs.RetentionDays | None) -> logs.RetentionDays:
    return value or logs.RetentionDays.ONE_YEAR


def default_period(value: Duration | None) -> Duration:
    return value or Duration.minutes(1)


def _role_name(role: iam.IRole) -> str:
    """Give a role of the task definition a literal name, and return it. IAM names are global
    to the account, so the region is part of the name."""
    cfn = role.node.default_child
    assert isinstance(cfn, iam.CfnRole)
    region = Stack.of(role).region
    name = f"{region}-{Names.unique_resource_name(role, max_length=63 - len(region))}"
    cfn.role_name = name
    return name
