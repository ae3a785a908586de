"""ExpressService: an Amazon ECS Express Mode service, born monitored, traced and alerting."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import jsii
from aws_cdk import Duration
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from .. import _validation as check
from .._boundary import Known, Text, boundary
from .._compliance import acknowledge
from .._service.alarms import AlarmThresholds, alarm_names, resource_prefix
from .._service.base import (
    ServiceBase,
    check_network,
    default_cluster,
    default_log_retention,
    default_period,
)
from .._service.metrics import ServiceMetrics
from .._service.task import TaskSpec
from .._service.writable_paths import DEFAULT_WRITABLE_PATHS
from .._shared import SharedInfrastructure, cluster_name
from ..incidents import Incidents
from ..service_contract import DeployMethod
from ..service_platform.reference import PlatformReference, import_platform
from ..service_platform.schema import cluster_name as platform_cluster_name
from .dimensions import load_balancer_full_name, target_group_full_names
from .scaling import ExpressScaling

# "The task definition must have a container named Main with a single TCP port mapping that
# includes a container port and port name" (ECS API reference, CreateExpressGatewayService,
# taskDefinitionArn).
TRAFFIC_CONTAINER_NAME = "Main"
# The managed policy ECS documents for the infrastructure role of Express services (ECS
# developer guide, "Amazon ECS infrastructure IAM role"; AWS managed policy reference).
INFRASTRUCTURE_POLICY = "service-role/AmazonECSInfrastructureRoleforExpressGatewayServices"
# Every Express deployment is a canary: 5% of the traffic for 3 minutes of bake time, then all of
# it, then 3 more minutes before the old tasks stop (ECS developer guide, "Updating an Amazon ECS
# Express Mode service"). Not configurable.
EXPRESS_BAKE_MINUTES = 6


class ExpressService(ServiceBase):
    """An Amazon ECS Express Mode service that is monitored, traced and alerting: what
    ``ObservedService`` gives, where Express Mode manages the load balancer, its HTTPS listener,
    certificate and domain, the security groups and autoscaling for you.

    The service runs this construct's task definition (``TaskDefinitionArn``): the application
    container, named ``Main`` as Express Mode requires, with a read-only root filesystem and its
    writable paths, the OpenTelemetry collector, and any sidecar a ``FeatureFlaggedDeploy`` adds.
    The same alarms, health signal, dashboard and alarm topic as ``ObservedService``.

    Deployments: Express Mode always deploys by canary (5% of the traffic, 3 minutes, then all
    of it) and rolls back on its own alarm (4xx and 5xx responses above 1%); it takes no alarm of
    ours, so ``health_alarm`` does not roll back an Express deployment by itself. It does gate
    and roll back ``GatedPipeline`` stages (entry checks, bakes) and feature-flag rollouts.

    Example::

        ExpressService(
            stack, "Orders",
            image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine"),
            alarm_emails=["oncall@example.com"],
        )
    """

    _deploy_method: DeployMethod = "express"

    service: ecs.CfnExpressGatewayService
    """The Express service (L1: CDK has no L2 for it)."""
    infrastructure_role: iam.Role
    """The role Express Mode manages the load balancer, security groups and scaling with."""
    cluster: ecs.ICluster | None
    """The cluster the service runs in; None on a platform (the platform's, by name)."""

    @boundary
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        image: ecs.ContainerImage,
        platform: PlatformReference | None = None,
        vpc: ec2.IVpc | None = None,
        cluster: ecs.ICluster | None = None,
        internet_facing: bool = True,
        container_port: int = 8080,
        cpu: int = 256,
        memory_limit_mib: Known[int] = 512,
        cpu_architecture: ecs.CpuArchitecture | None = None,
        environment: Mapping[str, Text] | None = None,
        secrets: Mapping[str, ecs.Secret] | None = None,
        command: Sequence[Text] | None = None,
        user: str | None = None,
        readonly_root_filesystem: bool = True,
        writable_paths: Known[Sequence[str]] = DEFAULT_WRITABLE_PATHS,
        health_check_path: str = "/",
        service_name: Known[str] | None = None,
        min_capacity: Known[int] = 2,
        max_capacity: int = 4,
        scaling_metric: Known[str] = "AVERAGE_CPU",
        scaling_target_value: int = 60,
        log_retention: logs.RetentionDays | None = None,
        encryption_key: kms.IKey | None = None,
        tracing: bool = True,
        trace_sample_rate: Known[float] = 0.05,
        alarm_emails: Sequence[str] = (),
        alarm_topic: sns.ITopic | None = None,
        cpu_alarm_percent: Known[float] = 80,
        memory_alarm_percent: Known[float] = 80,
        error_rate_alarm_percent: Known[float] = 5,
        error_rate_min_requests: Known[int] = 10,
        latency_alarm_threshold: Known[Duration] | None = None,
        alarm_period: Known[Duration] | None = None,
        alarm_datapoints: Known[int] = 3,
        incidents: Incidents | None = None,
    ) -> None:
        """
        :param image: the application's container image.
        :param platform: as in ObservedService: a ``ServicePlatform`` another app published
            (``ServicePlatform.from_namespace(namespace)``). The service runs in its cluster
            and its public (``internet_facing``) or private subnets, read from SSM parameters
            at deploy time; Express Mode's load balancer is its own, not the platform's. Not
            with ``vpc`` or ``cluster``. Default: none.
        :param vpc: as in ObservedService: the VPC to run in. Default: the VPC of ``cluster``,
            else a VPC shared by every construct of this stack (2 AZs, 1 NAT gateway, flow logs).
        :param cluster: as in ObservedService, with Container Insights on (the running-tasks
            alarm reads it); Express Mode runs the tasks with the ``FARGATE`` capacity provider,
            which a cluster you pass must have associated (a cluster created in your app gets it
            here; an imported one must have it already). Default: the stack's shared cluster
            (Container Insights on) when ``vpc`` is also omitted, else a new cluster in ``vpc``.
        :param internet_facing: run in the VPC's public subnets, where Express Mode makes an
            internet-facing load balancer and gives every task a public IPv4 address ($3.65 a
            month each); False runs in the private subnets with egress, behind an internal load
            balancer reachable from the VPC only. Express Mode derives the load balancer's
            scheme from the subnets, and one load balancer serves up to 25 services of a VPC
            and scheme. Default: True.
        :param container_port: as in ObservedService: the port the application listens on,
            1-65535. Default: 8080.
        :param cpu: as in ObservedService: Fargate CPU units. Default: 256 (0.25 vCPU).
        :param memory_limit_mib: as in ObservedService: task memory, one of the sizes Fargate
            allows for ``cpu``; the application's hard limit is what the sidecars leave.
            Default: 512.
        :param cpu_architecture: as in ObservedService: ``X86_64`` or ``ARM64``.
            Default: X86_64.
        :param environment: as in ObservedService. Default: none.
        :param secrets: as in ObservedService. Default: none.
        :param command: as in ObservedService. Default: the image's.
        :param user: as in ObservedService: the user the application runs as.
            Default: the image's user.
        :param readonly_root_filesystem: as in ObservedService. Default: True.
        :param writable_paths: as in ObservedService. Default: ``["/tmp"]``.
        :param health_check_path: HTTP path the load balancer probes, starting with ``/``
            (Express Mode's own health check settings: every 30 s, healthy after 5 passes).
            Default: ``/``.
        :param service_name: as in ObservedService: the name in traces and on the dashboard.
            Default: this construct's id.
        :param min_capacity: minimum running tasks, at least 1. Default: 2 (one per AZ).
        :param max_capacity: maximum running tasks. Default: 4.
        :param scaling_metric: what Express Mode's target tracking follows: ``AVERAGE_CPU``,
            ``AVERAGE_MEMORY`` or ``REQUEST_COUNT_PER_TARGET``. Default: ``AVERAGE_CPU``.
        :param scaling_target_value: the target of ``scaling_metric``: a percentage (1-100)
            for CPU and memory, requests per task (1-65536) for requests. Default: 60.
        :param log_retention: as in ObservedService. Default: one year.
        :param encryption_key: as in ObservedService: the key of the log group and the alarm
            topic. Default: a new customer-managed key with rotation ($1/month).
        :param tracing: as in ObservedService: the OpenTelemetry collector sidecar.
            Default: True.
        :param trace_sample_rate: as in ObservedService, in [0, 1]. Default: 0.05.
        :param alarm_emails: as in ObservedService. Default: none.
        :param alarm_topic: as in ObservedService. Default: a new topic encrypted with
            ``encryption_key``.
        :param cpu_alarm_percent: as in ObservedService. Default: 80.
        :param memory_alarm_percent: as in ObservedService. Default: 80.
        :param error_rate_alarm_percent: as in ObservedService. Default: 5.
        :param error_rate_min_requests: as in ObservedService. Default: 10.
        :param latency_alarm_threshold: as in ObservedService. Default: 2 seconds.
        :param alarm_period: as in ObservedService. Default: 1 minute.
        :param alarm_datapoints: as in ObservedService. Default: 3.
        :param incidents: as in ObservedService: what happens when the health signal goes into
            ALARM and when it returns to OK. Default: ``Incidents()``, an OpsItem of severity
            HIGH, category Availability, in OpsCenter.
        """
        super().__init__(scope, id)
        self.service_name: str = service_name or id
        alarm_emails = check.emails(self, "alarm_emails", alarm_emails)
        task = TaskSpec(
            image=image,
            container_port=container_port,
            cpu=cpu,
            memory_limit_mib=memory_limit_mib,
            cpu_architecture=cpu_architecture,
            environment=environment,
            secrets=secrets,
            command=command,
            user=user,
            readonly_root_filesystem=readonly_root_filesystem,
            writable_paths=writable_paths,
            tracing=tracing,
            trace_sample_rate=trace_sample_rate,
        )
        scaling = ExpressScaling(min_capacity, max_capacity, scaling_metric, scaling_target_value)
        thresholds = AlarmThresholds(
            cpu_percent=cpu_alarm_percent,
            memory_percent=memory_alarm_percent,
            error_rate_percent=error_rate_alarm_percent,
            error_rate_min_requests=error_rate_min_requests,
            latency=latency_alarm_threshold or Duration.seconds(2),
            period=default_period(alarm_period),
            datapoints=alarm_datapoints,
            min_tasks=min_capacity,
        )
        self._require_region("the log group's key policy names CloudWatch Logs of the region")
        task.check(self)
        check.http_path(self, "health_check_path", health_check_path)
        scaling.check(self)
        thresholds.check(self)
        imported = import_platform(self, platform, vpc=vpc, cluster=cluster)
        incident_settings = self._check_incidents(incidents)
        check_network(self, vpc, cluster)
        check.warn_weakened(self, task.weakened())
        if imported is None:
            self.cluster = cluster or default_cluster(self, vpc)
            running_in = cluster_name(self.cluster)
            subnets = _subnets(self, self.cluster.vpc, internet_facing)
        else:
            # The platform's cluster has the Fargate capacity providers (ServicePlatform).
            self.cluster = None
            running_in = imported.cluster_name
            subnets = imported.subnet_ids(public=internet_facing)

        self._keys_and_logs(encryption_key, default_log_retention(log_retention))
        self._notifications(alarm_topic, alarm_emails)
        self._run(task.build(self, self.service_name, self.log_group, TRAFFIC_CONTAINER_NAME))
        self.infrastructure_role = _infrastructure_role(self)
        prefix = resource_prefix(self)
        self.service = self._express_service(
            name=prefix,
            cluster=running_in,
            subnets=subnets,
            health_check_path=health_check_path,
            scaling=scaling,
            internet_facing=internet_facing,
        )
        metrics = ServiceMetrics(
            load_balancer_full_name=load_balancer_full_name(
                self.service.attr_ecs_managed_resource_arns_ingress_path_load_balancer_arn
            ),
            target_group_full_names=target_group_full_names(
                self.service.attr_ecs_managed_resource_arns_ingress_path_target_group_arns
            ),
            cluster_name=running_in,
            service_name=prefix,
            period=thresholds.period,
            target_groups_may_repeat=True,
        )
        built = self._observe(metrics=metrics, thresholds=thresholds, names=alarm_names(prefix))
        self._pipeline_names(
            platform_cluster_name(imported.namespace) if imported else running_in, prefix
        )
        self._dashboard_and_outputs(built, f"https://{self.service.attr_endpoint}")
        self._acknowledge_task_findings()
        self._respond_to_incidents(incident_settings)

    # --- Steps ------------------------------------------------------------------------------

    def _express_service(
        self,
        *,
        name: str,
        cluster: str,
        subnets: list[str],
        health_check_path: str,
        scaling: ExpressScaling,
        internet_facing: bool,
    ) -> ecs.CfnExpressGatewayService:
        """The Express service, running this construct's task definition.

        The task definition brings the size and the roles: Express Mode refuses ``Cpu``,
        ``Memory``, ``ExecutionRoleArn``, ``TaskRoleArn`` and ``PrimaryContainer`` beside
        ``TaskDefinitionArn``. The health check path and the scaling target are always stated:
        Express Mode's documented defaults disagree with each other.
        """
        service = ecs.CfnExpressGatewayService(
            self,
            "Service",
            infrastructure_role_arn=self.infrastructure_role.role_arn,
            cluster=cluster,
            service_name=name,
            task_definition_arn=self.task_definition.task_definition_arn,
            health_check_path=health_check_path,
            network_configuration=ecs.CfnExpressGatewayService.ExpressGatewayServiceNetworkConfigurationProperty(
                subnets=subnets
            ),
            scaling_target=scaling.target(),
        )
        # Created after, and deleted before, the role and anything attached to it: Express Mode
        # uses the role to delete what it made, and a service whose role lost its policy stays
        # DRAINING.
        service.node.add_dependency(self.infrastructure_role)
        acknowledge(service, "express-service")
        if self.cluster is None:
            return service
        own_cluster = _fargate_capacity_provider(self.cluster)
        if own_cluster is not None:
            service.node.add_dependency(own_cluster)  # and so on its capacity providers
        shared = SharedInfrastructure.of(self)
        if shared.owns(self.cluster.vpc):
            vpc = shared.shared_vpc
            service.node.add_dependency(
                vpc.public_routes if internet_facing else vpc.private_routes
            )
        return service

    # --- The service contract ----------------------------------------------------------------

    def _bake_minutes(self) -> int | None:
        return EXPRESS_BAKE_MINUTES

    def _rollout_resource(self) -> IConstruct:
        return self.service


def _infrastructure_role(scope: Construct) -> iam.Role:
    role = iam.Role(
        scope,
        "InfrastructureRole",
        assumed_by=iam.ServicePrincipal("ecs.amazonaws.com"),
        description="Lets ECS Express Mode manage the load balancer, security groups and scaling",
        managed_policies=[iam.ManagedPolicy.from_aws_managed_policy_name(INFRASTRUCTURE_POLICY)],
    )
    acknowledge(role, "express-infrastructure-role")
    return role


def _fargate_capacity_provider(cluster: ecs.ICluster) -> ecs.Cluster | None:
    """Associate the Fargate capacity providers with ``cluster`` when the app defines it, and
    return it (CDK adds the association as a child of the cluster when it synthesizes).

    Express Mode runs its tasks with a ``FARGATE`` capacity provider strategy, and "only capacity
    providers that are already associated with a cluster ... can be used in a capacity provider
    strategy" (ECS API reference, CapacityProviderStrategyItem). Whether Express Mode associates
    it with a cluster it did not create is not documented, so the construct does, which is
    right either way.
    """
    if not isinstance(cluster, ecs.Cluster):
        return None
    cluster.enable_fargate_capacity_providers()
    return cluster


def _subnets(scope: Construct, vpc: ec2.IVpc, internet_facing: bool) -> list[str]:
    """The IDs of the public subnets (internet-facing) or of the private subnets with egress:
    every AZ's, since the first Express service of a VPC fixes the load balancer's AZs."""
    kind = ec2.SubnetType.PUBLIC if internet_facing else ec2.SubnetType.PRIVATE_WITH_EGRESS
    try:
        subnet_ids = vpc.select_subnets(subnet_type=kind).subnet_ids
    except (jsii.errors.JSIIError, RuntimeError):  # CDK: "There are no ... subnet groups"
        subnet_ids = []
    if len(subnet_ids) < 2:
        wanted = "public subnets" if internet_facing else "private subnets with egress"
        check.fail(
            scope,
            f"internet_facing={internet_facing} must find {wanted} in at least two availability "
            f"zones of the VPC ({vpc.node.path}), got {len(subnet_ids)}",
        )
    return subnet_ids
