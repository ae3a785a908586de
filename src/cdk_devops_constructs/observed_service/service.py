"""ObservedService: a Fargate service born monitored, traced, alerting and safe to deploy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Annotations, Duration, Stack
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct, IConstruct

from .. import _validation as check
from .._boundary import Known, Text, boundary
from .._compliance import acknowledge
from .._load_balancer import cfn
from .._service.alarms import AlarmThresholds, alarm_names, resource_prefix
from .._service.base import (
    ServiceBase,
    check_network,
    default_cluster,
    default_log_retention,
    default_period,
)
from .._service.metrics import ServiceMetrics
from .._service.task import APP_CONTAINER_NAME, TaskSpec
from .._service.writable_paths import DEFAULT_WRITABLE_PATHS
from .._shared import SharedInfrastructure, cluster_name
from ..incidents import Incidents
from ..service_platform.reference import PlatformReference, import_platform
from ..service_platform.schema import cluster_name as platform_cluster_name
from .deployment import Deployment
from .load_balancer import DEFAULT_LISTENER_PRIORITY, RoutedService, Routing
from .priorities import claim, derived_priority, listener_key
from .scaling import Scaling

# ECS documents the deployment circuit breaker for these strategies only ("Both methods only
# support rolling update deployment and blue/green deployment types", ECS developer guide,
# "How the Amazon ECS deployment failure detection works"); canary and linear deployments roll
# back on the health alarm, which ECS documents for every strategy.
CIRCUIT_BREAKER_STRATEGIES = (ecs.DeploymentStrategy.ROLLING, ecs.DeploymentStrategy.BLUE_GREEN)
HEALTH_CHECK_GRACE = Duration.seconds(60)


class ObservedService(ServiceBase):
    """A load-balanced Fargate service that is monitored, traced, alerting and safe to deploy.

    About ten lines give a service behind an Application Load Balancer with: a log group owned by
    the service; OpenTelemetry traces to AWS X-Ray; alarms on CPU, memory, 5xx error rate, p99
    latency, unhealthy targets and running tasks that email the on-call; one ``health_alarm``
    that deployments, pipelines and feature flags watch; a dashboard; autoscaling; and
    deployments that roll back by themselves.

    Example::

        service = ObservedService(
            stack, "Checkout",
            image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine"),
            alarm_emails=["oncall@example.com"],
        )
    """

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
        task_subnets: ec2.SubnetSelection | None = None,
        container_port: int = 8080,
        cpu: int = 512,
        memory_limit_mib: Known[int] = 1024,
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
        cpu_scaling_target_percent: float = 60,
        requests_per_target: int | None = 1000,
        internet_facing: bool = True,
        certificate: acm.ICertificate | None = None,
        load_balancer: elbv2.IApplicationLoadBalancer | None = None,
        listener: elbv2.IApplicationListener | None = None,
        listener_priority: int | None = None,
        host_headers: Sequence[str] = (),
        path_patterns: Sequence[str] = (),
        deletion_protection: bool | None = None,
        web_acl_arn: str | None = None,
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
        deployment: Deployment | None = None,
        rollback_on_alarm: bool = True,
        incidents: Incidents | None = None,
    ) -> None:
        """
        :param image: the application's container image.
        :param platform: a ``ServicePlatform`` another app published:
            ``ServicePlatform.from_namespace("/acme/platform/production")``. The service runs in
            its VPC and cluster and adds its rule to its shared listener, all read from SSM
            parameters at deploy time (no lookup at synthesis); ``host_headers`` and/or
            ``path_patterns`` route requests to it, and its rule's priority is derived from the
            namespace and the service (README: "Listener rule priorities") unless
            ``listener_priority`` is given. Not with ``vpc``, ``cluster``, ``load_balancer``,
            ``listener``, ``certificate``, ``web_acl_arn`` or ``internet_facing=False`` (the
            platform's). Default: none.
        :param vpc: the VPC to run in. Default: the VPC of ``cluster``, else a VPC shared by
            every construct of this stack (2 AZs, 1 NAT gateway, flow logs to S3).
        :param cluster: the ECS cluster. It must have Container Insights on: the running-tasks
            alarm reads its RunningTaskCount, and stays silent without it. Default: a cluster
            shared by this stack (Container Insights on) when ``vpc`` is also omitted, else a new
            cluster in ``vpc`` (Container Insights on).
        :param task_subnets: where tasks run. Default: the private subnets with egress.
        :param container_port: the port the application listens on, 1-65535. Default: 8080.
        :param cpu: Fargate CPU units (256, 512, 1024, 2048, 4096, 8192, 16384). Default: 512.
        :param memory_limit_mib: task memory, one of the sizes Fargate allows for ``cpu``. The
            application may use all of it but what the sidecars reserve (64 MiB for the
            collector, 64 MiB for an AppConfig agent, 16 MiB for the ``writable-paths`` init
            container): that is its hard limit. Default: 1024.
        :param cpu_architecture: ``X86_64`` or ``ARM64`` (about 20% cheaper, needs an arm64
            image). Default: X86_64.
        :param environment: plain environment variables for the application. Default: none.
        :param secrets: environment variables read from Secrets Manager or SSM at start.
            Default: none.
        :param command: overrides the image's command. Default: the image's.
        :param user: user (and group) the application runs as, e.g. ``"1000:1000"``. Set it
            to a non-root user the image has: a security review (and AWS Control Tower control
            CT.ECS.PR.3) expects every container to name one. Default: the image's user.
        :param readonly_root_filesystem: mount the root filesystem read-only, so that a
            compromised process cannot change the image's files; only ``writable_paths`` can be
            written. An image that writes anywhere else at start (the official ``nginx`` image
            writes ``/var/cache/nginx`` and ``/run``) exits: list those paths in
            ``writable_paths``, or use an image built for it (``nginx-unprivileged`` writes
            only ``/tmp``). Default: True.
        :param writable_paths: absolute paths of the app container that stay writable, each an
            empty directory on the task's ephemeral storage (lost when the task stops), at most
            10. Fargate creates them owned by root with mode 0755, so a non-essential init
            container (``writable-paths``, busybox, running as root) first gives them mode
            1777, as ``/tmp`` has, and exits; the application starts once it has succeeded.
            An empty list adds no volume and no init container. Default: ``["/tmp"]``.
        :param health_check_path: HTTP path the load balancer probes, starting with ``/``.
            Default: ``/``.
        :param service_name: name in traces (``OTEL_SERVICE_NAME``) and on the dashboard.
            Default: this construct's id.
        :param min_capacity: minimum running tasks, at least 1. Default: 2 (one per AZ).
        :param max_capacity: maximum running tasks. Default: 4.
        :param cpu_scaling_target_percent: target average CPU for autoscaling, in (0, 100].
            Default: 60.
        :param requests_per_target: target requests per task per minute for autoscaling;
            ``None`` scales on CPU only. Default: 1000.
        :param internet_facing: public load balancer, or internal to the VPC. Default: True.
        :param certificate: ACM certificate; enables HTTPS (TLS 1.2+) on 443 and redirects
            HTTP to HTTPS. Default: HTTP only on port 80.
        :param load_balancer: an existing load balancer to share (with ``listener``).
            Default: a new load balancer for this service (about $16/month plus LCUs).
        :param listener: the listener of ``load_balancer`` to add this service's rule to.
            Default: new listeners.
        :param listener_priority: priority of this service's listener rule, 1-50000; required
            with a shared ``listener``. Default: 100.
        :param host_headers: route only these hosts to the service. Default: any host.
        :param path_patterns: route only these paths to the service, e.g. ``["/api/*"]``.
            Default: every path.
        :param deletion_protection: protect the load balancer from deletion. A protected
            load balancer cannot be deleted by CloudFormation either: a failed first create or
            a ``cdk destroy`` then stops at it until the protection is turned off by hand.
            Default: the stack's ``termination_protection`` (production stacks are created
            with ``termination_protection=True``; test stacks roll back and destroy cleanly).
        :param web_acl_arn: ARN of a WAFv2 web ACL to associate with the load balancer.
            Default: none (README explains the acknowledged finding).
        :param log_retention: how long application logs are kept. Default: one year.
        :param encryption_key: KMS key for the log group and the alarm topic. Default: a new
            customer-managed key with rotation ($1/month).
        :param tracing: run an OpenTelemetry collector sidecar exporting traces to X-Ray and
            point the application at it with ``OTEL_*`` variables. Default: True.
        :param trace_sample_rate: share of root traces recorded, in [0, 1]. Default: 0.05.
        :param alarm_emails: addresses that receive ALARM and OK notifications. Default: none.
        :param alarm_topic: an existing topic for notifications; CloudWatch is allowed in its
            topic and key policies (an imported topic's policies cannot be changed here: the
            construct warns, saying what to add). Default: a new topic encrypted with
            ``encryption_key``.
        :param cpu_alarm_percent: CPU utilization that raises an alarm, in (0, 100].
            Default: 80.
        :param memory_alarm_percent: memory utilization that raises an alarm, in (0, 100].
            Default: 80.
        :param error_rate_alarm_percent: share of 5xx responses that raises an alarm, in
            (0, 100]. Default: 5.
        :param error_rate_min_requests: alarm periods with fewer requests than this never breach
            the error-rate alarm. Default: 10.
        :param latency_alarm_threshold: p99 target response time that raises an alarm.
            Default: 2 seconds.
        :param alarm_period: period of every alarm, a whole number of minutes. Default: 1 minute.
        :param alarm_datapoints: consecutive breaching periods before an alarm fires; an alarm
            fires ``alarm_period x alarm_datapoints`` after the condition starts. Default: 3.
        :param deployment: rolling, canary, linear or blue/green. Default:
            ``Deployment.rolling()``.
        :param rollback_on_alarm: roll a deployment back when the health signal goes into
            ALARM while it runs. Default: True.
        :param incidents: what happens when the health signal goes into ALARM and when it
            returns to OK: an OpsItem, chat channels, paging endpoints, an investigation, and
            the runbook every alarm's description links. ``Incidents(ops_item=None)`` starts
            nothing. Default: ``Incidents()``, an OpsItem of severity HIGH, category
            Availability, in OpsCenter.
        """
        super().__init__(scope, id)
        deployment = deployment or Deployment.rolling()
        self.service_name: str = id if service_name is None else service_name
        self.deployment: Deployment = deployment
        alarm_emails = check.emails(self, "alarm_emails", alarm_emails)
        imported = import_platform(
            self,
            platform,
            vpc=vpc,
            cluster=cluster,
            load_balancer=load_balancer,
            listener=listener,
            certificate=certificate,
            web_acl_arn=web_acl_arn,
            internet_facing=internet_facing,
        )
        prefix = resource_prefix(self)
        priority_source = "given"
        if imported is not None:
            vpc, cluster = imported.vpc, imported.cluster
            load_balancer, listener = imported.load_balancer, imported.listener
            if listener_priority is None:
                listener_priority = derived_priority(
                    imported.namespace, prefix, host_headers, path_patterns
                )
                priority_source = "derived from the platform's namespace and this service"
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
        routing = Routing(
            internet_facing=internet_facing,
            certificate=certificate,
            load_balancer=load_balancer,
            listener=listener,
            listener_priority=listener_priority,
            host_headers=host_headers,
            path_patterns=path_patterns,
            web_acl_arn=web_acl_arn,
            health_check_path=health_check_path,
        )
        scaling = Scaling(
            min_capacity, max_capacity, cpu_scaling_target_percent, requests_per_target
        )
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
        self._require_region()
        self._check_service_name()
        task.check(self)
        routing.check(self)
        if listener is not None and listener_priority is not None:
            claim(
                self,
                imported.namespace if imported else listener_key(listener, listener.listener_arn),
                listener_priority,
                priority_source,
            )
        scaling.check(self)
        thresholds.check(self)
        deployment.validate(self)
        incident_settings = self._check_incidents(incidents)
        check_network(self, vpc, cluster)
        check.warn_weakened(
            self,
            [*task.weakened(), *_weakened(deletion_protection, rollback_on_alarm, routing)],
        )
        if deletion_protection is None:
            deletion_protection = Stack.of(self).termination_protection
        cluster = cluster or default_cluster(self, vpc)
        vpc = cluster.vpc

        self._keys_and_logs(encryption_key, default_log_retention(log_retention))
        self._notifications(alarm_topic, alarm_emails)
        self._run(task.build(self, self.service_name, self.log_group))
        routed = routing.build(
            self,
            vpc=vpc,
            container_port=container_port,
            deletion_protection=deletion_protection,
            two_target_groups=deployment.shifts_traffic,
        )
        if listener is None:  # its own listener, which services of the app may share later
            claim(
                self,
                listener_key(routed.listener, routed.listener.listener_arn),
                DEFAULT_LISTENER_PRIORITY,
                "this service's own rule on its load balancer",
            )
        self.load_balancer: elbv2.IApplicationLoadBalancer = routed.load_balancer
        self.listener: elbv2.IApplicationListener = routed.listener
        self.target_group: elbv2.ApplicationTargetGroup = routed.target_group
        self.alternate_target_group: elbv2.ApplicationTargetGroup | None = (
            routed.alternate_target_group
        )
        self.listener_rule: elbv2.ApplicationListenerRule = routed.listener_rule
        names = alarm_names(prefix)
        self.service: ecs.FargateService = self._fargate_service(
            cluster=cluster,
            name=prefix,
            subnets=task_subnets,
            deployment=deployment,
            health_alarm_name=names["health"] if rollback_on_alarm else None,
        )
        self._connect(routed, container_port, vpc)
        metrics = ServiceMetrics(
            load_balancer_full_name=imported.load_balancer_full_name
            if imported
            else routed.load_balancer_full_name,
            target_group_full_names=[tg.target_group_full_name for tg in routed.target_groups],
            cluster_name=cluster_name(cluster),
            service_name=prefix,
            period=thresholds.period,
        )
        scaling.build(self.service, metrics)
        built = self._observe(metrics=metrics, thresholds=thresholds, names=names)
        self._pipeline_names(
            platform_cluster_name(imported.namespace) if imported else cluster_name(cluster),
            prefix,
        )
        self._dashboard_and_outputs(
            built,
            routing.url(
                routed.listener,
                lambda: (
                    imported.dns_name if imported else routed.load_balancer.load_balancer_dns_name
                ),
                scheme=imported.scheme if imported else None,
            ),
        )
        self._acknowledge_task_findings()
        self._respond_to_incidents(incident_settings)
        if routed.alternate_target_group is not None:
            infrastructure_role = self.service.node.try_find_child("AlternateTargetRole")
            if infrastructure_role is not None:
                acknowledge(infrastructure_role, "ecs-load-balancer-infrastructure-role")
            acknowledge(self.service, "traffic-shifting-service")

    # --- Steps ------------------------------------------------------------------------------

    def _fargate_service(
        self,
        *,
        cluster: ecs.ICluster,
        name: str,
        subnets: ec2.SubnetSelection | None,
        deployment: Deployment,
        health_alarm_name: str | None,
    ) -> ecs.FargateService:
        service = ecs.FargateService(
            self,
            "Service",
            service_name=name,
            cluster=cluster,
            task_definition=self.task_definition,
            vpc_subnets=subnets
            or ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            assign_public_ip=False,
            min_healthy_percent=100,
            max_healthy_percent=200,
            health_check_grace_period=HEALTH_CHECK_GRACE,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True)
            if deployment.strategy in CIRCUIT_BREAKER_STRATEGIES
            else None,
            # ECS watches the health signal while the new tasks start and during every bake
            # time. At creation the alarm does not exist yet (it is created after the service
            # is stable), which ECS does not count as a failure.
            deployment_alarms=ecs.DeploymentAlarmConfig(
                alarm_names=[health_alarm_name],
                behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM,
            )
            if health_alarm_name is not None
            else None,
            deployment_strategy=deployment.strategy,
            bake_time=deployment.bake_time,
            canary_configuration=deployment.traffic_shift()
            if deployment.strategy == ecs.DeploymentStrategy.CANARY
            else None,
            linear_configuration=deployment.traffic_shift()
            if deployment.strategy == ecs.DeploymentStrategy.LINEAR
            else None,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
            enable_ecs_managed_tags=True,
        )
        if deployment._percent_misread_by_cfn_lint():
            acknowledge(service, "ecs-service-traffic-percent")
        if deployment.strategy not in CIRCUIT_BREAKER_STRATEGIES:
            # CDK's advice to turn the circuit breaker on, which ECS does not offer for canary
            # and linear deployments; the health signal rolls those back.
            Annotations.of(service).acknowledge_warning(
                "@aws-cdk/aws-ecs:shouldUseCircuitBreaker",
                "ECS documents the circuit breaker for rolling and blue/green deployments only; "
                "canary and linear deployments roll back on the health alarm.",
            )
        return service

    def _connect(self, routed: RoutedService, container_port: int, vpc: ec2.IVpc) -> None:
        """Let the load balancer reach the tasks, and register them in the target group."""
        shared = SharedInfrastructure.of(self)
        if shared.owns(vpc):
            cfn(self.service).node.add_dependency(shared.shared_vpc.private_routes)
        self.service.connections.allow_from(
            routed.load_balancer, ec2.Port.tcp(container_port), "Traffic from the load balancer"
        )
        alternate = None
        if routed.alternate_target_group is not None:
            alternate = ecs.AlternateTarget(
                "AlternateTarget",
                alternate_target_group=routed.alternate_target_group,
                production_listener=ecs.ListenerRuleConfiguration.application_listener_rule(
                    routed.listener_rule
                ),
            )
        self.service.load_balancer_target(
            container_name=APP_CONTAINER_NAME,
            container_port=container_port,
            alternate_target=alternate,
        ).attach_to_application_target_group(routed.target_group)

    # --- The service contract ----------------------------------------------------------------

    def _bake_minutes(self) -> int | None:
        return self.deployment.bake_minutes()

    def _rollout_resource(self) -> IConstruct:
        return self.service


def _weakened(
    deletion_protection: bool | None, rollback_on_alarm: bool, routing: Routing
) -> list[str]:
    weakened = []
    if deletion_protection is False and not routing.shared:
        weakened.append("deletion_protection=False lets the load balancer be deleted")
    if not rollback_on_alarm:
        weakened.append("rollback_on_alarm=False keeps deployments that break the service")
    return weakened
