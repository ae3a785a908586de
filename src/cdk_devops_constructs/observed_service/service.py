"""ObservedService: a Fargate service born monitored, traced, alerting and safe to deploy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Annotations, CfnOutput, Duration, Fn, Names, Stack, Token
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct, IConstruct

from .. import _validation as check
from .._alarms import AlarmFactory, AlarmSpec
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
from .._shared import SharedInfrastructure, cluster_name, named_cluster
from .._targets import EcsTarget
from .._task_memory import application_limit
from .dashboard import build_dashboard, dashboard_url
from .deployed_image import pin_deployed_image
from .deployment import Deployment
from .metrics import ServiceMetrics
from .tracing import COLLECTOR_PORTS, add_collector, otel_environment
from .writable_paths import DEFAULT_WRITABLE_PATHS, add_writable_paths, check_writable_paths

APP_CONTAINER_NAME = "app"
CRITICAL_ALARMS = ("errors", "latency", "unhealthy_hosts", "running_tasks")
# ECS documents the deployment circuit breaker for these strategies only ("Both methods only
# support rolling update deployment and blue/green deployment types", ECS developer guide,
# "How the Amazon ECS deployment failure detection works"); canary and linear deployments roll
# back on the health alarm, which ECS documents for every strategy.
CIRCUIT_BREAKER_STRATEGIES = (ecs.DeploymentStrategy.ROLLING, ecs.DeploymentStrategy.BLUE_GREEN)

# Load balancer health check and draining, tuned for fast and safe deployments: a new task takes
# traffic after 2 passing checks (about 20 s), a failing one leaves after 3 (about 30 s), and a
# stopping task gets 30 s to finish its requests (the ALB default of 300 s slows every deploy).
HEALTH_CHECK_INTERVAL = Duration.seconds(10)
HEALTH_CHECK_TIMEOUT = Duration.seconds(5)
HEALTHY_THRESHOLD = 2
UNHEALTHY_THRESHOLD = 3
DEREGISTRATION_DELAY = Duration.seconds(30)
HEALTH_CHECK_GRACE = Duration.seconds(60)
MAX_RULE_CONDITION_VALUES = 5


class ObservedService(Construct):
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

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        image: ecs.ContainerImage,
        vpc: ec2.IVpc | None = None,
        cluster: ecs.ICluster | None = None,
        task_subnets: ec2.SubnetSelection | None = None,
        container_port: int = 8080,
        cpu: int = 512,
        memory_limit_mib: int = 1024,
        cpu_architecture: ecs.CpuArchitecture | None = None,
        environment: Mapping[str, str] | None = None,
        secrets: Mapping[str, ecs.Secret] | None = None,
        command: Sequence[str] | None = None,
        user: str | None = None,
        readonly_root_filesystem: bool = True,
        writable_paths: Sequence[str] = DEFAULT_WRITABLE_PATHS,
        health_check_path: str = "/",
        service_name: str | None = None,
        min_capacity: int = 2,
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
        trace_sample_rate: float = 0.05,
        alarm_emails: Sequence[str] = (),
        alarm_topic: sns.ITopic | None = None,
        cpu_alarm_percent: float = 80,
        memory_alarm_percent: float = 80,
        error_rate_alarm_percent: float = 5,
        error_rate_min_requests: int = 10,
        latency_alarm_threshold: Duration | None = None,
        alarm_period: Duration | None = None,
        alarm_datapoints: int = 3,
        deployment: Deployment | None = None,
        rollback_on_alarm: bool = True,
    ) -> None:
        """
        :param image: the application's container image.
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
        """
        super().__init__(scope, id)
        deployment = deployment or Deployment.rolling()
        latency_alarm_threshold = latency_alarm_threshold or Duration.seconds(2)
        alarm_period = alarm_period or Duration.minutes(1)
        log_retention = log_retention or logs.RetentionDays.ONE_YEAR
        alarm_emails = check.emails(self, "alarm_emails", alarm_emails)
        self._validate(
            tracing=tracing,
            container_port=container_port,
            cpu=cpu,
            memory_limit_mib=memory_limit_mib,
            health_check_path=health_check_path,
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            cpu_scaling_target_percent=cpu_scaling_target_percent,
            requests_per_target=requests_per_target,
            trace_sample_rate=trace_sample_rate,
            cpu_alarm_percent=cpu_alarm_percent,
            memory_alarm_percent=memory_alarm_percent,
            error_rate_alarm_percent=error_rate_alarm_percent,
            error_rate_min_requests=error_rate_min_requests,
            latency_alarm_threshold=latency_alarm_threshold,
            alarm_period=alarm_period,
            alarm_datapoints=alarm_datapoints,
            deployment=deployment,
            vpc=vpc,
            cluster=cluster,
            load_balancer=load_balancer,
            listener=listener,
            listener_priority=listener_priority,
            host_headers=host_headers,
            path_patterns=path_patterns,
            certificate=certificate,
            web_acl_arn=web_acl_arn,
            writable_paths=writable_paths,
        )
        self._warn_on_weakened_defaults(
            readonly_root_filesystem=readonly_root_filesystem,
            deletion_protection=deletion_protection,
            rollback_on_alarm=rollback_on_alarm,
            shared=listener is not None,
        )
        self.service_name: str = service_name or id
        self.deployment: Deployment = deployment
        if deletion_protection is None:
            deletion_protection = Stack.of(self).termination_protection
        cluster = cluster or self._default_cluster(vpc)
        vpc = cluster.vpc

        # --- Encryption, logs, notifications ---------------------------------------------
        self.encryption_key: kms.IKey = encryption_key or customer_managed_key(
            self, "Key", description=f"Logs and alarm notifications of {self.node.path}"
        )
        allow_log_groups(self.encryption_key)
        self.log_group: logs.LogGroup = encrypted_log_group(
            self, "Logs", retention=log_retention, key=self.encryption_key
        )
        if alarm_topic is None:
            alarm_topic = encrypted_topic(
                self,
                "AlarmTopic",
                key=self.encryption_key,
                emails=alarm_emails,
                publishers=[cloudwatch_alarms(self)],
                display_name=f"Alarms of {self.service_name}",
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
        self.alarm_topic: sns.ITopic = alarm_topic

        # --- Task definition and containers -------------------------------------------------
        self.task_definition: ecs.FargateTaskDefinition = ecs.FargateTaskDefinition(
            self,
            "TaskDefinition",
            cpu=cpu,
            memory_limit_mib=memory_limit_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=cpu_architecture or ecs.CpuArchitecture.X86_64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        app_environment = {
            **(otel_environment(self.service_name, trace_sample_rate) if tracing else {}),
            **(environment or {}),
        }
        self._has_environment = bool(app_environment)
        self.container: ecs.ContainerDefinition = self.task_definition.add_container(
            "App",
            container_name=APP_CONTAINER_NAME,
            image=image,
            essential=True,
            environment=app_environment or None,
            secrets=dict(secrets) if secrets else None,
            command=list(command) if command else None,
            user=user,
            memory_limit_mib=application_limit(self.task_definition, memory_limit_mib),
            readonly_root_filesystem=readonly_root_filesystem,
            port_mappings=[ecs.PortMapping(container_port=container_port, name="http")],
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="app",
                log_group=self.log_group,
                mode=ecs.AwsLogDriverMode.NON_BLOCKING,
            ),
        )
        permissions = add_writable_paths(
            self.task_definition, self.container, self.log_group, writable_paths
        )
        self._runs_as_root_or_image_user = permissions is not None or not _is_non_root(user)
        if tracing:
            collector = add_collector(self.task_definition, self.log_group)
            self.container.add_container_dependencies(
                ecs.ContainerDependency(
                    container=collector, condition=ecs.ContainerDependencyCondition.HEALTHY
                )
            )

        # --- Load balancer ------------------------------------------------------------------
        if load_balancer is None or listener is None:
            load_balancer, listener = self._own_load_balancer(
                vpc, internet_facing, certificate, deletion_protection, web_acl_arn
            )
            listener_priority = listener_priority or 100
        self.load_balancer: elbv2.IApplicationLoadBalancer = load_balancer
        self.listener: elbv2.IApplicationListener = listener
        self.target_group: elbv2.ApplicationTargetGroup = self._target_group(
            vpc, "TargetGroup", container_port, health_check_path
        )
        # Blue/green, canary and linear deployments shift traffic between two target groups by
        # changing the weights of this rule; rolling deployments use one target group.
        self.alternate_target_group: elbv2.ApplicationTargetGroup | None = (
            self._target_group(vpc, "AlternateTargetGroup", container_port, health_check_path)
            if deployment.shifts_traffic
            else None
        )
        assert listener_priority is not None  # checked by _validate for shared listeners
        self.listener_rule: elbv2.ApplicationListenerRule = elbv2.ApplicationListenerRule(
            self,
            "ListenerRule",
            listener=listener,
            priority=listener_priority,
            conditions=self._conditions(host_headers, path_patterns),
            action=self._forward(),
        )

        # --- Names, known before anything is created ----------------------------------------
        # The service and its alarms have literal names: the service refers to its alarms by
        # name, the alarms find the service by name (so they exist, and have been evaluated,
        # by the time the service is stable), and a pipeline in another stack names them
        # without a cross-stack export that would block their replacement.
        prefix = Names.unique_resource_name(self, max_length=180, separator="-")
        alarm_names = {
            key: f"{prefix}-{key.replace('_', '-')}"
            for key in ("cpu", "memory", *CRITICAL_ALARMS, "health")
        }

        # --- Service ------------------------------------------------------------------------
        self.service: ecs.FargateService = ecs.FargateService(
            self,
            "Service",
            service_name=prefix,
            cluster=cluster,
            task_definition=self.task_definition,
            vpc_subnets=task_subnets
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
            # is stable, see metrics below), which ECS does not count as a failure.
            deployment_alarms=ecs.DeploymentAlarmConfig(
                alarm_names=[alarm_names["health"]],
                behavior=ecs.AlarmBehavior.ROLLBACK_ON_ALARM,
            )
            if rollback_on_alarm
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
        if deployment.strategy not in CIRCUIT_BREAKER_STRATEGIES:
            # CDK's advice to turn the circuit breaker on, which ECS does not offer for canary
            # and linear deployments; the health signal rolls those back.
            Annotations.of(self.service).acknowledge_warning(
                "@aws-cdk/aws-ecs:shouldUseCircuitBreaker",
                "ECS documents the circuit breaker for rolling and blue/green deployments only; "
                "canary and linear deployments roll back on the health alarm.",
            )
        shared = SharedInfrastructure.of(self)
        if shared.owns(vpc):
            _cfn(self.service).node.add_dependency(shared.shared_vpc.private_routes)
        self.service.connections.allow_from(
            load_balancer, ec2.Port.tcp(container_port), "Traffic from the load balancer"
        )
        alternate = None
        if self.alternate_target_group is not None:
            alternate = ecs.AlternateTarget(
                "AlternateTarget",
                alternate_target_group=self.alternate_target_group,
                production_listener=ecs.ListenerRuleConfiguration.application_listener_rule(
                    self.listener_rule
                ),
            )
        self.service.load_balancer_target(
            container_name=APP_CONTAINER_NAME,
            container_port=container_port,
            alternate_target=alternate,
        ).attach_to_application_target_group(self.target_group)

        # --- Autoscaling -------------------------------------------------------------------
        scaling = self.service.auto_scale_task_count(
            min_capacity=min_capacity, max_capacity=max_capacity
        )
        scaling.scale_on_cpu_utilization(
            "CpuScaling",
            target_utilization_percent=cpu_scaling_target_percent,
            scale_in_cooldown=Duration.seconds(300),
            scale_out_cooldown=Duration.seconds(60),
        )
        self.metrics: ServiceMetrics = ServiceMetrics(
            load_balancer_full_name=_full_name(load_balancer),
            target_group_full_names=[
                tg.target_group_full_name
                for tg in (self.target_group, self.alternate_target_group)
                if tg is not None
            ],
            cluster_name=cluster_name(cluster),
            service_name=prefix,
            period=alarm_period,
        )
        if requests_per_target is not None:
            _scale_on_requests(scaling, self.metrics.requests_per_target(), requests_per_target)

        # --- Alarms, health signal, dashboard ------------------------------------------------
        specs, health = self._alarm_specs(
            alarm_datapoints=alarm_datapoints,
            cpu_alarm_percent=cpu_alarm_percent,
            memory_alarm_percent=memory_alarm_percent,
            error_rate_alarm_percent=error_rate_alarm_percent,
            error_rate_min_requests=error_rate_min_requests,
            latency_alarm_threshold=latency_alarm_threshold,
            min_capacity=min_capacity,
        )
        alarms_scope = Construct(self, "Alarms")
        factory = AlarmFactory(alarms_scope, self.alarm_topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {
            key: factory.metric_alarm(_pascal(key), spec, name=alarm_names[key])
            for key, spec in specs.items()
        }
        self.critical_alarms: list[cloudwatch.IAlarm] = [self.alarms[k] for k in CRITICAL_ALARMS]
        # The health signal: one metric alarm over the critical signals, without actions of its
        # own (each critical alarm already notifies, saying which signal broke).
        self.health_alarm: cloudwatch.Alarm = AlarmFactory(alarms_scope, None).metric_alarm(
            "Health", health, name=alarm_names["health"]
        )
        acknowledge(self.health_alarm, "health-signal-alarm")
        self.health_alarm_name: str = alarm_names["health"]
        self._image_secret: str | None = None
        self._target = EcsTarget(
            cluster_name=cluster_name(cluster),
            service_name=prefix,
            container_name=APP_CONTAINER_NAME,
            task_role_name=self._role_name(self.task_definition.task_role),
            execution_role_name=self._role_name(self.task_definition.obtain_execution_role()),
            cpu_architecture=self._cpu_architecture(),
        )
        self.dashboard: cloudwatch.Dashboard = build_dashboard(
            self,
            "Dashboard",
            title=f"{self.service_name}: golden signals",
            metrics=self.metrics,
            alarms=self.alarms,
            thresholds={
                key: (spec.threshold, _threshold_label(spec)) for key, spec in specs.items()
            },
            health_alarm=self.health_alarm,
            log_group=self.log_group,
        )

        self._acknowledge_inherent_findings()

        # --- Outputs ------------------------------------------------------------------------
        self.url: str = self._url(certificate, host_headers, path_patterns)
        CfnOutput(self, "Url", value=self.url, description=f"URL of {self.service_name}")
        CfnOutput(
            self,
            "DashboardUrl",
            value=dashboard_url(self.dashboard),
            description=f"CloudWatch dashboard of {self.service_name}",
        )

    # --- What a pipeline reads (see _targets) -------------------------------------------------

    @property
    def _ecs_target(self) -> EcsTarget:
        return self._target

    def _deployed_by_pipeline(self) -> str:
        """A pipeline deploys this service from now on: read the image from the secret the
        pipeline keeps up to date (``deployed_image``), and return the secret's name."""
        if self._image_secret is None:
            self._image_secret = pin_deployed_image(self, self.task_definition, self.container)
        return self._image_secret

    # ------------------------------------------------------------------------------------------

    def _validate(
        self,
        *,
        tracing: bool,
        container_port: int,
        cpu: int,
        memory_limit_mib: int,
        health_check_path: str,
        min_capacity: int,
        max_capacity: int,
        cpu_scaling_target_percent: float,
        requests_per_target: int | None,
        trace_sample_rate: float,
        cpu_alarm_percent: float,
        memory_alarm_percent: float,
        error_rate_alarm_percent: float,
        error_rate_min_requests: int,
        latency_alarm_threshold: Duration,
        alarm_period: Duration,
        alarm_datapoints: int,
        deployment: Deployment,
        vpc: ec2.IVpc | None,
        cluster: ecs.ICluster | None,
        load_balancer: elbv2.IApplicationLoadBalancer | None,
        listener: elbv2.IApplicationListener | None,
        listener_priority: int | None,
        host_headers: Sequence[str],
        path_patterns: Sequence[str],
        certificate: acm.ICertificate | None,
        web_acl_arn: str | None,
        writable_paths: Sequence[str],
    ) -> None:
        if Token.is_unresolved(Stack.of(self).region):
            check.fail(
                self,
                "the stack must have an explicit region (Stack(..., env=Environment(region=...))):"
                " load balancer access logs are delivered by a region-specific principal",
            )
        check.port(self, "container_port", container_port)
        if tracing and container_port in COLLECTOR_PORTS:
            check.fail(
                self,
                f"container_port {container_port} is taken by the OpenTelemetry collector in the "
                f"same task (ports {', '.join(map(str, sorted(COLLECTOR_PORTS)))}); pick another "
                "port or pass tracing=False",
            )
        check.fargate_size(self, cpu, memory_limit_mib)
        check_writable_paths(self, writable_paths)
        if not check.is_token(health_check_path) and (
            not isinstance(health_check_path, str)
            or not health_check_path.startswith("/")
            or len(health_check_path) > 1024
        ):
            check.fail(
                self,
                "health_check_path must start with '/' and be at most 1024 characters, "
                f"got {health_check_path!r}",
            )
        check.integer(self, "min_capacity", min_capacity)
        check.integer(self, "max_capacity", max_capacity)
        check.at_least(self, "min_capacity", min_capacity, 1)
        tokens = check.is_token(min_capacity) or check.is_token(max_capacity)
        if not tokens and max_capacity < min_capacity:
            check.fail(
                self,
                f"max_capacity must be at least min_capacity ({min_capacity}), "
                f"got {max_capacity!r}",
            )
        for prop, value in (
            ("cpu_scaling_target_percent", cpu_scaling_target_percent),
            ("cpu_alarm_percent", cpu_alarm_percent),
            ("memory_alarm_percent", memory_alarm_percent),
            ("error_rate_alarm_percent", error_rate_alarm_percent),
        ):
            check.percent(self, prop, value)
        if requests_per_target is not None:
            check.at_least(self, "requests_per_target", requests_per_target, 1)
        check.in_range(self, "trace_sample_rate", trace_sample_rate, 0, 1)
        check.at_least(self, "error_rate_min_requests", error_rate_min_requests, 1)
        check.duration_in(
            self,
            "latency_alarm_threshold",
            latency_alarm_threshold,
            Duration.millis(1),
            Duration.seconds(60),
        )
        check.minutes_in(self, "alarm_period", alarm_period, Duration.minutes(1), Duration.days(1))
        check.integer(self, "alarm_datapoints", alarm_datapoints)
        check.at_least(self, "alarm_datapoints", alarm_datapoints, 1)
        if not check.is_token(alarm_period) and not check.is_token(alarm_datapoints):
            window = alarm_period.to_seconds() * alarm_datapoints
            if window > 86400:
                check.fail(
                    self,
                    "alarm_period x alarm_datapoints must be at most 1 day (CloudWatch's "
                    f"evaluation limit), got {window} seconds",
                )
        if not isinstance(deployment, Deployment):
            check.fail(
                self,
                "deployment must be a Deployment (Deployment.rolling(), .blue_green(), "
                f".canary() or .linear()), got {deployment!r}",
            )
        deployment.validate(self)

        if vpc is not None and cluster is not None and not _same_vpc(vpc, cluster.vpc):
            check.fail(
                self,
                f"vpc ({vpc.node.path}) and cluster ({cluster.node.path}) conflict: the "
                "cluster is in another VPC; pass only cluster, or a cluster in vpc",
            )
        if (load_balancer is None) != (listener is None):
            check.fail(
                self,
                "load_balancer and listener must be passed together to share a load balancer "
                "(e.g. load_balancer=other.load_balancer, listener=other.listener)",
            )
        if listener is not None:
            if listener_priority is None:
                check.fail(self, "listener_priority is required with a shared listener")
            if not host_headers and not path_patterns:
                check.fail(
                    self,
                    "host_headers or path_patterns is required with a shared listener, so that "
                    "requests can be routed to this service",
                )
            for own_prop, own_value in (("certificate", certificate), ("web_acl_arn", web_acl_arn)):
                if own_value is not None:
                    check.fail(
                        self,
                        f"{own_prop} configures a load balancer this service creates; set it "
                        "where the shared load balancer is created",
                    )
        if listener_priority is not None:
            check.integer(self, "listener_priority", listener_priority)
            check.in_range(self, "listener_priority", listener_priority, 1, 50000)
        values = len(host_headers) + len(path_patterns)
        if values > MAX_RULE_CONDITION_VALUES:
            check.fail(
                self,
                f"host_headers and path_patterns may hold at most {MAX_RULE_CONDITION_VALUES} "
                f"values together (a listener rule's limit), got {values}",
            )
        for index, path in enumerate(path_patterns):
            if not check.is_token(path) and (not path.startswith("/") or len(path) > 128):
                check.fail(
                    self,
                    f"path_patterns[{index}] must start with '/' and be at most 128 "
                    f"characters, got {path!r}",
                )
        for index, host in enumerate(host_headers):
            if not check.is_token(host) and (not host or len(host) > 128 or " " in host):
                check.fail(
                    self,
                    f"host_headers[{index}] must be a host name of 1-128 characters, got {host!r}",
                )

    def _warn_on_weakened_defaults(
        self,
        *,
        readonly_root_filesystem: bool,
        deletion_protection: bool | None,
        rollback_on_alarm: bool,
        shared: bool,
    ) -> None:
        weakened = []
        if not readonly_root_filesystem:
            weakened.append("readonly_root_filesystem=False lets the application rewrite its image")
        if deletion_protection is False and not shared:
            weakened.append("deletion_protection=False lets the load balancer be deleted")
        if not rollback_on_alarm:
            weakened.append("rollback_on_alarm=False keeps deployments that break the service")
        check.warn_weakened(self, weakened)

    def _acknowledge_inherent_findings(self) -> None:
        """Findings that come with what the user asked for (see _compliance.ACKNOWLEDGMENTS)."""
        roles = (
            (self.task_definition.task_role, "task-role-default-policy"),
            (self.task_definition.execution_role, "execution-role-default-policy"),
        )
        for role, key in roles:
            policy = role.node.try_find_child("DefaultPolicy") if role else None
            if policy is not None:
                acknowledge(policy, key)
        if self._has_environment:
            acknowledge(self.task_definition, "task-definition-environment")
        if self._runs_as_root_or_image_user:
            acknowledge(self.task_definition, "task-definition-users")
        if self.alternate_target_group is not None:
            infrastructure_role = self.service.node.try_find_child("AlternateTargetRole")
            if infrastructure_role is not None:
                acknowledge(infrastructure_role, "ecs-load-balancer-infrastructure-role")
            acknowledge(self.service, "traffic-shifting-service")

    def _default_cluster(self, vpc: ec2.IVpc | None) -> ecs.ICluster:
        if vpc is None:
            return SharedInfrastructure.of(self).cluster
        return named_cluster(self, "Cluster", vpc)

    def _cpu_architecture(self) -> str:
        """``X86_64`` or ``ARM64``, read back from the task definition (CDK's
        ``CpuArchitecture`` does not expose its name)."""
        cfn = self.task_definition.node.default_child
        assert isinstance(cfn, ecs.CfnTaskDefinition)
        platform = Stack.of(self).resolve(cfn.runtime_platform) or {}
        return str(platform.get("cpuArchitecture", "X86_64"))

    def _role_name(self, role: iam.IRole) -> str:
        """Give a role of the task definition a literal name, and return it. IAM names are
        global to the account, so the region is part of the name."""
        cfn = role.node.default_child
        assert isinstance(cfn, iam.CfnRole)
        region = Stack.of(self).region
        name = f"{region}-{Names.unique_resource_name(role, max_length=63 - len(region))}"
        cfn.role_name = name
        return name

    def _own_load_balancer(
        self,
        vpc: ec2.IVpc,
        internet_facing: bool,
        certificate: acm.ICertificate | None,
        deletion_protection: bool,
        web_acl_arn: str | None,
    ) -> tuple[elbv2.ApplicationLoadBalancer, elbv2.ApplicationListener]:
        load_balancer = elbv2.ApplicationLoadBalancer(
            self,
            "LoadBalancer",
            vpc=vpc,
            internet_facing=internet_facing,
            drop_invalid_header_fields=True,
            desync_mitigation_mode=elbv2.DesyncMitigationMode.DEFENSIVE,
            deletion_protection=deletion_protection,
        )
        shared = SharedInfrastructure.of(self)
        if internet_facing and shared.owns(vpc):
            _cfn(load_balancer).node.add_dependency(shared.shared_vpc.public_routes)
        load_balancer.log_access_logs(
            SharedInfrastructure.of(self).log_bucket,
            prefix=f"alb/{Names.unique_id(self)}",
        )
        not_found = elbv2.ListenerAction.fixed_response(
            404, content_type="text/plain", message_body="Not found"
        )
        if certificate is None:
            listener = load_balancer.add_listener(
                "Listener",
                port=80,
                protocol=elbv2.ApplicationProtocol.HTTP,
                open=internet_facing,
                default_action=not_found,
            )
            acknowledge(listener, "http-only-listener")
            ports = [80]
        else:
            listener = load_balancer.add_listener(
                "Listener",
                port=443,
                protocol=elbv2.ApplicationProtocol.HTTPS,
                certificates=[certificate],
                ssl_policy=elbv2.SslPolicy.RECOMMENDED_TLS,
                open=internet_facing,
                default_action=not_found,
            )
            redirect = load_balancer.add_listener(
                "RedirectListener",
                port=80,
                protocol=elbv2.ApplicationProtocol.HTTP,
                open=internet_facing,
                default_action=elbv2.ListenerAction.redirect(
                    protocol="HTTPS", port="443", permanent=True
                ),
            )
            acknowledge(redirect, "https-redirect-listener")
            ports = [80, 443]
        if internet_facing:
            acknowledge(load_balancer.connections.security_groups[0], _public_sg_key(certificate))
        else:
            for port in ports:
                load_balancer.connections.allow_from(
                    ec2.Peer.ipv4(_cidr(vpc)),
                    ec2.Port.tcp(port),
                    "Clients inside the VPC",
                )
        if web_acl_arn is not None:
            wafv2.CfnWebACLAssociation(
                self,
                "WebAclAssociation",
                resource_arn=load_balancer.load_balancer_arn,
                web_acl_arn=web_acl_arn,
            )
        else:
            acknowledge(load_balancer, "load-balancer-without-waf")
        if not deletion_protection:
            acknowledge(load_balancer, "load-balancer-without-deletion-protection")
        return load_balancer, listener

    def _target_group(
        self, vpc: ec2.IVpc, id: str, port: int, health_check_path: str
    ) -> elbv2.ApplicationTargetGroup:
        return elbv2.ApplicationTargetGroup(
            self,
            id,
            vpc=vpc,
            port=port,
            protocol=elbv2.ApplicationProtocol.HTTP,
            target_type=elbv2.TargetType.IP,
            deregistration_delay=DEREGISTRATION_DELAY,
            health_check=elbv2.HealthCheck(
                path=health_check_path,
                interval=HEALTH_CHECK_INTERVAL,
                timeout=HEALTH_CHECK_TIMEOUT,
                healthy_threshold_count=HEALTHY_THRESHOLD,
                unhealthy_threshold_count=UNHEALTHY_THRESHOLD,
                healthy_http_codes="200-399",
            ),
        )

    def _forward(self) -> elbv2.ListenerAction:
        if self.alternate_target_group is None:
            return elbv2.ListenerAction.forward([self.target_group])
        return elbv2.ListenerAction.weighted_forward(
            [
                elbv2.WeightedTargetGroup(target_group=self.target_group, weight=100),
                elbv2.WeightedTargetGroup(target_group=self.alternate_target_group, weight=0),
            ]
        )

    @staticmethod
    def _conditions(
        host_headers: Sequence[str], path_patterns: Sequence[str]
    ) -> list[elbv2.ListenerCondition]:
        conditions = []
        if host_headers:
            conditions.append(elbv2.ListenerCondition.host_headers(list(host_headers)))
        if path_patterns or not host_headers:
            conditions.append(elbv2.ListenerCondition.path_patterns(list(path_patterns) or ["/*"]))
        return conditions

    def _alarm_specs(
        self,
        *,
        alarm_datapoints: int,
        cpu_alarm_percent: float,
        memory_alarm_percent: float,
        error_rate_alarm_percent: float,
        error_rate_min_requests: int,
        latency_alarm_threshold: Duration,
        min_capacity: int,
    ) -> tuple[dict[str, AlarmSpec], AlarmSpec]:
        """The alarms that notify, by key, and the health signal."""
        m = self.metrics
        greater = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        quiet = cloudwatch.TreatMissingData.NOT_BREACHING
        window = f"for {alarm_datapoints} consecutive periods of {m.period.to_human_string()}"
        specs: dict[str, AlarmSpec] = {
            "cpu": AlarmSpec(
                m.cpu(),
                cpu_alarm_percent,
                greater,
                f"{self.service_name}: CPU above {cpu_alarm_percent}% {window}.",
                quiet,
                alarm_datapoints,
            ),
            "memory": AlarmSpec(
                m.memory(),
                memory_alarm_percent,
                greater,
                f"{self.service_name}: memory above {memory_alarm_percent}% {window}.",
                quiet,
                alarm_datapoints,
            ),
            "errors": AlarmSpec(
                m.error_rate(error_rate_min_requests),
                error_rate_alarm_percent,
                greater,
                f"{self.service_name}: more than {error_rate_alarm_percent}% of requests "
                f"answered 5xx {window} (minutes under {error_rate_min_requests} requests "
                "are ignored).",
                quiet,
                alarm_datapoints,
            ),
            "latency": AlarmSpec(
                m.latency("p99"),
                latency_alarm_threshold.to_seconds(integral=False),
                greater,
                f"{self.service_name}: p99 latency above "
                f"{latency_alarm_threshold.to_human_string()} {window}.",
                quiet,
                alarm_datapoints,
            ),
            "unhealthy_hosts": AlarmSpec(
                m.unhealthy_hosts(),
                0,
                greater,
                f"{self.service_name}: at least one target failing load balancer health "
                f"checks {window}.",
                quiet,
                alarm_datapoints,
            ),
            "running_tasks": AlarmSpec(
                m.tasks_up(min_capacity),
                min_capacity,
                cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                f"{self.service_name}: fewer than {min_capacity} tasks running or starting "
                f"{window}.",
                quiet,
                alarm_datapoints,
            ),
        }
        latency = latency_alarm_threshold.to_seconds(integral=False)
        health = AlarmSpec(
            m.unhealthy(
                error_rate_percent=error_rate_alarm_percent,
                min_requests=error_rate_min_requests,
                latency_seconds=latency,
                min_running_tasks=min_capacity,
            ),
            1,
            cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            f"{self.service_name} is unhealthy {window}: more than {error_rate_alarm_percent}% "
            f"of requests answered 5xx (minutes under {error_rate_min_requests} requests are "
            f"ignored), p99 latency above {latency_alarm_threshold.to_human_string()}, a target "
            f"failing health checks, or fewer than {min_capacity} tasks running or starting. "
            "ECS deployments, pipeline stages and feature-flag rollouts roll back on this alarm.",
            quiet,
            alarm_datapoints,
        )
        return specs, health

    def _url(
        self,
        certificate: acm.ICertificate | None,
        host_headers: Sequence[str],
        path_patterns: Sequence[str],
    ) -> str:
        scheme = "https" if certificate is not None or _is_https(self.listener) else "http"
        host = next(
            (h for h in host_headers if "*" not in h and "?" not in h),
            self.load_balancer.load_balancer_dns_name,
        )
        path = path_patterns[0].split("*")[0] if path_patterns else "/"
        return f"{scheme}://{host}{path}"


def _public_sg_key(certificate: acm.ICertificate | None) -> str:
    return (
        "public-http-load-balancer-security-group"
        if certificate is None
        else "public-https-load-balancer-security-group"
    )


def _cidr(vpc: ec2.IVpc) -> str:
    """The VPC's CIDR, as a literal when the template states it (tools can then read it)."""
    cfn = vpc.node.default_child
    if isinstance(cfn, ec2.CfnVPC) and isinstance(cfn.cidr_block, str):
        return cfn.cidr_block
    return vpc.vpc_cidr_block


def _full_name(load_balancer: elbv2.IApplicationLoadBalancer) -> str:
    """``app/<name>/<id>``, the LoadBalancer dimension of its metrics."""
    if isinstance(load_balancer, elbv2.ApplicationLoadBalancer):
        return load_balancer.load_balancer_full_name
    # arn:<partition>:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>
    parts = Fn.split("/", load_balancer.load_balancer_arn)
    return Fn.join("/", [Fn.select(1, parts), Fn.select(2, parts), Fn.select(3, parts)])


def _same_vpc(vpc: ec2.IVpc, other: ec2.IVpc) -> bool:
    return vpc is other or vpc.vpc_id == other.vpc_id


def _is_https(listener: elbv2.IApplicationListener) -> bool:
    child = listener.node.default_child
    return isinstance(child, elbv2.CfnListener) and child.protocol == "HTTPS"


def _scale_on_requests(
    scaling: ecs.ScalableTaskCount,
    per_target_group: Mapping[str, cloudwatch.IMetric],
    requests_per_target: int,
) -> None:
    """Target tracking on requests per task per minute.

    With two target groups (traffic-shifting deployments) the policy tracks their sum with metric
    math, which Application Auto Scaling supports but the CDK L2 does not: the L1 is completed by
    hand.
    """
    metrics = list(per_target_group.values())
    scaling.scale_to_track_custom_metric(
        "RequestScaling",
        metric=metrics[0],
        target_value=requests_per_target,
        scale_in_cooldown=Duration.seconds(300),
        scale_out_cooldown=Duration.seconds(60),
    )
    if len(metrics) == 1:
        return
    cfn = next(
        c
        for c in scaling.node.find_all()
        if isinstance(c, appscaling.CfnScalingPolicy)
        and c.node.path.endswith("/RequestScaling/Resource")
    )
    spec = "TargetTrackingScalingPolicyConfiguration.CustomizedMetricSpecification"
    for key in ("MetricName", "Namespace", "Statistic", "Dimensions", "Unit"):
        cfn.add_deletion_override(f"Properties.{spec}.{key}")
    queries: list[dict[str, object]] = []
    for key, metric in per_target_group.items():
        config = metric.to_metric_config().metric_stat
        assert config is not None
        queries.append(
            {
                "Id": key,
                "ReturnData": False,
                "MetricStat": {
                    "Metric": {
                        "Namespace": config.namespace,
                        "MetricName": config.metric_name,
                        "Dimensions": [
                            {"Name": d.name, "Value": d.value} for d in config.dimensions or []
                        ],
                    },
                    "Stat": config.statistic,
                },
            }
        )
    queries.append(
        {
            "Id": "requests_per_target",
            "Expression": " + ".join(f"FILL({key}, 0)" for key in per_target_group),
            "Label": "Requests per task (both target groups)",
            "ReturnData": True,
        }
    )
    cfn.add_property_override(f"{spec}.Metrics", queries)


def _threshold_label(spec: AlarmSpec) -> str:
    below = spec.comparison == cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD
    return f"Alarm: {'<' if below else '>'} {spec.threshold:g} for {spec.datapoints} periods"


def _is_non_root(user: str | None) -> bool:
    """True for a user (``"uid"``, ``"uid:gid"``, ``"name"``, ``"name:group"``) that is not
    root, as AWS Control Tower control CT.ECS.PR.3 reads it; False for ``None`` (the image's
    user, unknown here)."""
    if user is None or check.is_token(user):
        return False
    return user.split(":", 1)[0] not in ("0", "root")


def _cfn(construct: Construct) -> IConstruct:
    """The CloudFormation resource of an L2 (a dependency on the L2 would make every one of
    its resources wait)."""
    child = construct.node.default_child
    assert child is not None
    return child


def _pascal(key: str) -> str:
    return "".join(part.capitalize() for part in key.split("_"))
