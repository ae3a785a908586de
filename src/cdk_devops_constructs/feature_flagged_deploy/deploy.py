"""FeatureFlaggedDeploy: typed feature flags rolled out by AWS AppConfig, environment by
environment, rolled back by the services' own alarms."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, Names, RemovalPolicy, Stack
from aws_cdk import aws_appconfig as appconfig
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from .. import _validation as check
from .._alarms import AlarmFactory
from .._boundary import Known, Text, boundary
from .._compliance import acknowledge
from .._notifications import allow_to_publish, appconfig_deployment_notices
from ..service_contract import IObservedService
from .agent import (
    AGENT_CONTAINER_NAME,
    AGENT_IMAGE,
    AGENT_PORT,
    DEFAULT_POLL_INTERVAL,
    FlagsLocation,
    add_agent,
    application_environment,
    default_health_check,
)
from .flags import Flag, render_document, to_json
from .readiness import AlarmReadiness
from .strategy import Rollout

# Names end up in the agent's URL path (/applications/<name>/environments/<name>/...), so
# they are kept to characters that need no escaping there.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_MONITORS = 5  # CloudWatch alarms per AppConfig environment
MAX_DESCRIPTION = 1024  # an AppConfig application's and configuration profile's description
APPCONFIG = "appconfig.amazonaws.com"
# The AWS-authored extension that publishes deployment start, completion and rollback to SNS.
# https://docs.aws.amazon.com/appconfig/latest/userguide/working-with-appconfig-extensions-about-predefined-notification-sns.html
SNS_EXTENSION = "AWS.AppConfig.DeploymentNotificationsToSns/1"
# The agent's two data-plane actions; both have the configuration as resource type.
READ_ACTIONS = ("appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration")


class FeatureFlaggedDeploy(Construct):
    """Feature flags declared in code, validated, and rolled out by AWS AppConfig to each
    environment in turn, each rollout rolled back by the alarms of the services it feeds.

    About fifteen lines give: an AppConfig application with one environment per stage; a
    feature-flag configuration profile whose document carries the constraints declared in
    code, to which AppConfig holds every value, console edits included; a hosted version that
    changes, and deploys, only when the flags do; deployments that run one environment after
    the other (staging first), after the services they feed are updated and once their
    rollback alarms have been evaluated; automatic rollback on the services' health signal;
    deployment start, completion and rollback notices on the services' alarm topics; and, in
    each attached service, the AppConfig Agent sidecar, the variables that say where the flags
    are, and read access to that one configuration.

    Example::

        FeatureFlaggedDeploy(
            stack, "Flags",
            flags=[
                Flag("new-checkout", enabled=True),
                Flag("search-results", attributes={"limit": Attribute.number(minimum=1,
                     maximum=100)}, values={"limit": 20}),
            ],
            services={"staging": [staging], "production": [production]},
        )
    """

    @boundary
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        flags: Known[Sequence[Flag]],
        environments: Known[Sequence[str]] = ("staging", "production"),
        services: Mapping[str, Sequence[IObservedService]] | None = None,
        rollout: Known[Rollout] | None = None,
        rollback_alarms: Mapping[str, Sequence[cloudwatch.IAlarm]] | None = None,
        notification_topic: sns.ITopic | None = None,
        application_name: Known[str] | None = None,
        configuration_name: Known[str] = "flags",
        description: Text | None = None,
        agent_image: ecs.ContainerImage | None = None,
        agent_poll_interval: Known[Duration] | None = None,
        agent_health_check: Sequence[str] | None = None,
    ) -> None:
        """
        :param flags: the flags, checked against AppConfig's rules when the construct is
            created; the first rule broken raises ``ValueError``.
        :param environments: AppConfig environments, in rollout order: a flag change reaches
            the second only after the first completed its bake time without an alarm.
            Letters, digits, ``.``, ``_``, ``-``; 1-64 characters. The name is the
            environment's identity: renaming one replaces it. Default: staging, production.
        :param services: environment -> the services that read it (in this stack):
            ``ObservedService``, ``ExpressService`` or any ``IObservedService``.
            Each gets the AppConfig Agent sidecar, the ``APPCONFIG_*`` and
            ``FEATURE_FLAGS_URL`` variables and read access to that environment's flags; the
            environment's deployments start after those services are updated, are rolled back
            by their ``health_alarm`` and are announced on their alarm topic. Any number of
            services: more than AppConfig's 5 monitors per environment share one composite
            alarm. Default: none.
        :param rollout: how fast a change reaches an environment, and how long alarms are then
            watched. Default: ``Rollout.canary()`` (AWS's Canary10Percent20Minutes: 30 minutes
            per environment).
        :param rollback_alarms: environment -> the alarms whose ALARM state rolls a deployment
            back there (at most 5), replacing the default. Default: the ``health_alarm`` of
            each of the environment's services (5xx rate, p99 latency, unhealthy targets,
            tasks running).
        :param notification_topic: topic that receives deployment start, completion and
            rollback notices of every environment. Default: the ``alarm_topic`` of each
            environment's first service; none for environments without a service.
        :param application_name: the AppConfig application's name (1-64 characters: letters,
            digits, ``.``, ``_``, ``-``). Default: a name unique to this construct's path.
        :param configuration_name: the configuration profile's name (1-128 characters, same
            alphabet). Default: ``flags``.
        :param description: description of the application and the configuration profile.
            Default: one naming this construct.
        :param agent_image: the AppConfig Agent image. Default:
            ``public.ecr.aws/aws-appconfig/aws-appconfig-agent:2.0.16331`` (pinned).
        :param agent_poll_interval: how often each agent asks AppConfig for changes, whole
            seconds (every poll is a billed request). Default: 45 seconds.
        :param agent_health_check: the agent container's health check command, ``CMD`` or
            ``CMD-SHELL`` form. The application starts once it passes. An empty list runs no
            check and starts the application as soon as the agent starts. Default:
            ``["CMD", "curl", "-s", "-o", "/dev/null", "http://localhost:2772/ping"]``, which
            passes on any HTTP answer and needs ``curl`` in the image (README: the agent's
            health check).
        """
        super().__init__(scope, id)
        rollout = rollout or Rollout.canary()
        poll_interval = agent_poll_interval or DEFAULT_POLL_INTERVAL
        health_check = default_health_check() if agent_health_check is None else agent_health_check
        environments = self._environments(environments)
        attached = self._services(services, environments)
        alarms = self._rollback_alarms(rollback_alarms, attached, environments)
        self._validate(
            rollout=rollout,
            application_name=application_name,
            configuration_name=configuration_name,
            description=description,
            poll_interval=poll_interval,
            health_check=health_check,
        )
        document = self._render(flags)
        self._warn(rollout, alarms)

        self.flags_document: str = to_json(document)
        """The feature-flag document deployed: compact JSON, keys sorted, ASCII only."""
        digest = hashlib.sha256(self.flags_document.encode()).hexdigest()
        description = description or f"Feature flags of {self.node.path}"
        application_name = application_name or Names.unique_resource_name(
            self, max_length=64, separator="-"
        )

        # --- Application, rollout strategy, rollback alarms, environments -------------------
        self.application = appconfig.Application(
            self, "Application", application_name=application_name, description=description
        )
        """The AppConfig application."""
        self.deployment_strategy: appconfig.IDeploymentStrategy = rollout.deployment_strategy(
            self, "DeploymentStrategy"
        )
        """AWS's predefined strategy matching ``rollout``, or the strategy created for it."""
        monitored = {name: self._monitored(name, alarms[name]) for name in environments}
        self.alarm_role: iam.IRole | None = self._alarm_role(monitored)
        """The role AppConfig assumes to read the rollback alarms (None when none is watched)."""
        environments_scope = Construct(self, "Environments")
        self.environments: dict[str, appconfig.Environment] = {
            name: appconfig.Environment(
                environments_scope,
                name,
                application=self.application,
                environment_name=name,
                description=_environment_description(environments, i, len(alarms[name])),
                monitors=[
                    appconfig.Monitor.from_cloud_watch_alarm(alarm, self.alarm_role)
                    for alarm in monitored[name]
                ],
            )
            for i, name in enumerate(environments)
        }
        """Environment name -> AppConfig environment, in rollout order."""
        if self._alarm_policy is not None:
            # AppConfig may read the alarms from the environment's creation on (the role's
            # policy is a resource of its own, which a Ref to the role does not wait for).
            for environment in self.environments.values():
                environment.node.add_dependency(self._alarm_policy)

        # --- Configuration profile, validator, hosted version -------------------------------
        # The L2 HostedConfiguration renders the profile and the version. Its content is the
        # document validated above, never raw text; its deployments are not used (see below).
        self.configuration = appconfig.HostedConfiguration(
            self,
            "Configuration",
            application=self.application,
            name=configuration_name,
            type=appconfig.ConfigurationType.FEATURE_FLAGS,
            content=appconfig.ConfigurationContent.from_inline_json(self.flags_document),
            # No validator: AppConfig takes Lambda validators for feature flags, and JSON
            # Schema validators only for free-form configurations ("AWS AppConfig
            # automatically validates feature flags against a JSON Schema", AppConfig user
            # guide, "Understanding validators"). The constraints declared in code are part
            # of the document, and AppConfig holds every value, console edits included, to
            # them.
            deployment_strategy=self.deployment_strategy,
            description=description,
        )
        """The feature-flag configuration profile and its hosted version."""
        version = self.configuration.node.default_child
        assert isinstance(version, appconfig.CfnHostedConfigurationVersion)
        # Every property of a hosted version is create-only: the same flags render the same
        # template and CloudFormation leaves the version (and the deployments that refer to
        # it) alone; changed flags replace it and, with it, every deployment. The L2 retains
        # replaced versions, and AppConfig refuses to delete a profile that still has versions
        # ("Cannot delete configuration profile ... hosted configuration versions existing"),
        # so a retained version would block deleting the stack. Old versions are deleted once
        # the new one is deployed; the flags' history is the code's history.
        version.apply_removal_policy(RemovalPolicy.DESTROY)
        version.description = f"Flags document sha256:{digest[:16]}"

        # --- Notifications --------------------------------------------------------------------
        self.notifications: dict[str, appconfig.CfnExtensionAssociation] = {}
        """Environment name -> association of the SNS notification extension, for the
        environments whose deployments are announced."""
        notifications_scope = Construct(self, "Notifications")
        allowed: list[sns.ITopic] = []
        for name in environments:
            topic = notification_topic or (
                attached[name][0].alarm_topic if attached[name] else None
            )
            if topic is None:
                continue
            if not any(topic is t for t in allowed):
                allow_to_publish(topic, appconfig_deployment_notices())
                allowed.append(topic)
            association = appconfig.CfnExtensionAssociation(
                notifications_scope,
                name,
                extension_identifier=Stack.of(self).format_arn(
                    service="appconfig",
                    account="",
                    resource="extension",
                    resource_name=SNS_EXTENSION,
                ),
                resource_identifier=self.environments[name].environment_arn,
                parameters={"topicArn": topic.topic_arn},
            )
            policy = topic.node.try_find_child("Policy")
            if policy is not None:  # it lets AppConfig publish
                association.node.add_dependency(policy)
            self.notifications[name] = association

        # --- Deployments, one environment after the other ---------------------------------
        # L1 deployments: the L2's (HostedConfiguration deploy_to) start in every environment
        # at once and know nothing of the services. Here each waits for the previous
        # environment's deployment (CloudFormation waits for an AppConfig deployment to finish,
        # bake time included, or fail on rollback), for its services' update (code that reads a
        # flag ships before the flag changes) and for its notifications. One deployment per
        # environment, so none ever conflicts with another on the same environment.
        self.deployments: dict[str, appconfig.CfnDeployment] = {}
        """Environment name -> deployment of the current hosted version."""
        deployments_scope = Construct(self, "Deployments")
        watched = [a for name in environments for a in monitored[name]]
        readiness = AlarmReadiness(self, "AlarmReadiness", alarms=watched) if watched else None
        previous: appconfig.CfnDeployment | None = None
        for name in environments:
            deployment = appconfig.CfnDeployment(
                deployments_scope,
                name,
                application_id=self.application.application_id,
                configuration_profile_id=self.configuration.configuration_profile_id,
                configuration_version=version.ref,
                deployment_strategy_id=self.deployment_strategy.deployment_strategy_id,
                environment_id=self.environments[name].environment_id,
                description=f"Flags sha256:{digest[:16]} to {name} ({rollout.describe()})",
            )
            if previous is not None:
                deployment.node.add_dependency(previous)
            for service in attached[name]:
                deployment.node.add_dependency(service.sidecar_host.rollout)
            if name in self.notifications:
                deployment.node.add_dependency(self.notifications[name])
            if readiness is not None and monitored[name]:
                # New alarms are INSUFFICIENT_DATA, a rollback signal to AppConfig: the
                # deployment starts once they have been evaluated (readiness.py).
                deployment.node.add_dependency(
                    readiness.wait_for(name, monitored[name]), self._alarm_policy
                )
            self.deployments[name] = deployment
            previous = deployment

        # --- Services: agent sidecar, variables, read access ------------------------------
        for name in environments:
            location = FlagsLocation(application_name, name, configuration_name)
            for service in attached[name]:
                self._attach(
                    service,
                    environment=self.environments[name],
                    location=location,
                    image=agent_image or ecs.ContainerImage.from_registry(AGENT_IMAGE),
                    poll_interval=poll_interval,
                    health_check=health_check,
                )

    # ------------------------------------------------------------------------------------------

    def _render(self, flags: Sequence[Flag]) -> dict[str, Any]:
        try:
            return render_document(flags)
        except ValueError as error:
            message = str(error)
        check.fail(self, message)

    def _attach(
        self,
        service: IObservedService,
        *,
        environment: appconfig.Environment,
        location: FlagsLocation,
        image: ecs.ContainerImage,
        poll_interval: Duration,
        health_check: Sequence[str],
    ) -> None:
        key = Names.unique_id(service)
        host = service.sidecar_host
        agent = add_agent(
            _child(self, "Agents"),
            key,
            task_definition=host.task_definition,
            log_group=host.log_group,
            location=location,
            region=Stack.of(self).region,
            image=image,
            poll_interval=poll_interval,
            health_check=health_check,
        )
        host.app_container.add_container_dependencies(
            ecs.ContainerDependency(
                container=agent,
                condition=ecs.ContainerDependencyCondition.HEALTHY
                if health_check
                else ecs.ContainerDependencyCondition.START,
            )
        )
        for variable, value in application_environment(location).items():
            host.app_container.add_environment(variable, value)
        # The agent's settings and the flags' address are plain, non-secret variables.
        acknowledge(host.task_definition, "task-definition-environment")
        # The agent runs as its image's user (see agent.py).
        acknowledge(host.task_definition, "task-definition-users")
        # A managed policy of its own: the task role's default policy belongs to the service.
        # The service does not wait for it (the environment waits for the service's alarms,
        # so the other order would be a cycle); until it exists the agent's first requests
        # are denied and the application uses its defaults.
        iam.ManagedPolicy(
            _child(self, "ReadAccess"),
            key,
            description=f"Read the feature flags of {location.prefetch}",
            roles=[host.task_definition.task_role],
            statements=[
                iam.PolicyStatement(
                    sid="ReadFeatureFlags",
                    actions=list(READ_ACTIONS),
                    resources=[
                        Stack.of(self).format_arn(
                            service="appconfig",
                            resource="application",
                            resource_name=f"{self.application.application_id}"
                            f"/environment/{environment.environment_id}"
                            f"/configuration/{self.configuration.configuration_profile_id}",
                        )
                    ],
                )
            ],
        )

    def _monitored(
        self, environment: str, alarms: Sequence[cloudwatch.IAlarm]
    ) -> list[cloudwatch.IAlarm]:
        """The monitors of ``environment``: its alarms, or, for more than AppConfig's 5, one
        composite alarm over them. AppConfig's guide names CloudWatch alarms without saying
        which kinds; AWS's own AppConfig construct library models composite monitors and gives
        their role DescribeAlarms on every alarm (aws-cdk, ``aws-appconfig/lib/environment.ts``,
        ``createAlarmRole``: ``monitor.isCompositeAlarm``), and its README's monitor example
        passes a ``CompositeAlarm``. The health signals themselves stay metric alarms: a
        composite is used only past 5 services, where no metric alarm can combine them (each
        health signal already reads up to 10 metrics, CloudWatch's limit for one alarm)."""
        if len(alarms) <= MAX_MONITORS:
            return list(alarms)
        health = AlarmFactory(_child(self, "EnvironmentHealth"), None).any_of(
            environment,
            alarms,
            description=f"A service that reads the {environment} flags is unhealthy",
        )
        return [health]

    def _alarm_role(self, alarms: Mapping[str, Sequence[cloudwatch.IAlarm]]) -> iam.IRole | None:
        """One role AppConfig assumes to read the state of every rollback alarm."""
        watched: list[cloudwatch.IAlarm] = []
        for environment_alarms in alarms.values():
            watched.extend(a for a in environment_alarms if not any(a is w for w in watched))
        self._alarm_policy: iam.ManagedPolicy | None = None
        if not watched:
            return None
        role = iam.Role(
            self,
            "AlarmRole",
            assumed_by=iam.ServicePrincipal(APPCONFIG),
            description="Lets AppConfig read the alarms that roll back feature-flag deployments",
        )
        # CloudWatch answers DescribeAlarms for a composite alarm only to a caller allowed on
        # every alarm ("*"); metric alarms can be named one by one. Alarms of unknown kind
        # (imported by ARN) may be composite, so they get "*" too.
        metric_only = all(isinstance(a, cloudwatch.Alarm) for a in watched)
        policy = iam.ManagedPolicy(
            self,
            "AlarmRolePolicy",
            description="Read the state of the alarms that roll back feature-flag deployments",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    sid="ReadRollbackAlarms",
                    actions=["cloudwatch:DescribeAlarms"],
                    resources=[a.alarm_arn for a in watched] if metric_only else ["*"],
                )
            ],
        )
        if not metric_only:
            acknowledge(policy, "appconfig-composite-alarm-monitor-policy")
        self._alarm_policy = policy
        return role

    # --- Validation -------------------------------------------------------------------------

    def _environments(self, environments: Sequence[str]) -> list[str]:
        if not environments:
            check.fail(self, "environments must name at least one environment, got none")
        for index, name in enumerate(environments):
            _name(self, f"environments[{index}]", name, 64)
        check.unique(self, "environments", environments)
        return list(environments)

    def _services(
        self,
        services: Mapping[str, Sequence[IObservedService]] | None,
        environments: Sequence[str],
    ) -> dict[str, list[IObservedService]]:
        attached: dict[str, list[IObservedService]] = {name: [] for name in environments}
        seen: dict[int, str] = {}
        for name, group in (services or {}).items():
            _known(self, "services", name, environments)
            for service in group:
                if id(service) in seen:
                    check.fail(
                        self,
                        f"services: {service.node.path} is attached to {seen[id(service)]!r} "
                        f"and {name!r}; a service reads one environment",
                    )
                if Stack.of(service) is not Stack.of(self):
                    check.fail(
                        self,
                        f"services[{name!r}]: {service.node.path} must be in this construct's "
                        f"stack ({Stack.of(self).node.path}): its task definition gains a "
                        "sidecar here and its alarms roll back this environment",
                    )
                host = service.sidecar_host
                if host.task_definition.find_container(AGENT_CONTAINER_NAME) is not None:
                    check.fail(
                        self,
                        f"services[{name!r}]: {service.node.path} already runs an AppConfig "
                        "agent (another FeatureFlaggedDeploy attached it); a service reads the "
                        "flags of one FeatureFlaggedDeploy",
                    )
                if host.app_container.container_port == AGENT_PORT:
                    check.fail(
                        self,
                        f"services[{name!r}]: {service.node.path} listens on {AGENT_PORT}, the "
                        "AppConfig agent's port in the same task; pick another container_port",
                    )
                seen[id(service)] = name
                attached[name].append(service)
        return attached

    def _rollback_alarms(
        self,
        rollback_alarms: Mapping[str, Sequence[cloudwatch.IAlarm]] | None,
        attached: Mapping[str, Sequence[IObservedService]],
        environments: Sequence[str],
    ) -> dict[str, list[cloudwatch.IAlarm]]:
        alarms: dict[str, list[cloudwatch.IAlarm]] = {}
        for name in rollback_alarms or {}:
            _known(self, "rollback_alarms", name, environments)
        for name in environments:
            given = (rollback_alarms or {}).get(name)
            if given is None:
                # Any number: more than AppConfig's 5 are combined (_monitored).
                alarms[name] = [s.health_alarm for s in attached[name]]
                continue
            alarms[name] = list(given)
            if len(alarms[name]) > MAX_MONITORS:
                check.fail(
                    self,
                    f"rollback_alarms[{name!r}] must be at most {MAX_MONITORS} alarms "
                    f"(AppConfig's limit per environment), got {len(alarms[name])}; combine "
                    "them in one metric alarm over a metric-math expression",
                )
        return alarms

    def _validate(
        self,
        *,
        rollout: Rollout,
        application_name: str | None,
        configuration_name: str,
        description: str | None,
        poll_interval: Duration,
        health_check: Sequence[str],
    ) -> None:
        rollout.validate(self)
        if application_name is not None:
            _name(self, "application_name", application_name, 64)
        _name(self, "configuration_name", configuration_name, 128)
        if description is not None and len(description) > MAX_DESCRIPTION:
            check.fail(
                self,
                f"description must be at most {MAX_DESCRIPTION} characters, "
                f"got {check.shown(description)}",
            )
        check.duration_in(
            self, "agent_poll_interval", poll_interval, Duration.seconds(1), Duration.days(1)
        )
        check.whole(self, "agent_poll_interval", poll_interval, "second")
        if health_check and (len(health_check) < 2 or health_check[0] not in ("CMD", "CMD-SHELL")):
            check.fail(
                self,
                "agent_health_check must start with 'CMD' or 'CMD-SHELL' followed by the "
                f"command, got {list(health_check)!r}",
            )

    def _warn(self, rollout: Rollout, alarms: Mapping[str, Sequence[Any]]) -> None:
        unwatched = [name for name, watched in alarms.items() if not watched]
        weakened = [
            f"environment {name!r} watches no alarm: a bad flag there is not rolled back "
            "automatically (attach a service or pass rollback_alarms)"
            for name in unwatched
        ]
        if len(unwatched) < len(alarms) and rollout.bake_time.to_seconds() == 0:
            weakened.append(
                "rollout bake_time is 0: alarms that fire after the last step no longer roll "
                "the change back"
            )
        check.warn_weakened(self, weakened)


def _name(scope: Construct, prop: str, value: str, longest: int) -> None:
    if len(value) > longest or not NAME.fullmatch(value):
        check.fail(
            scope,
            f"{prop} must be 1-{longest} letters, digits, '.', '_' or '-', starting with a "
            f"letter or digit, got {value!r}",
        )


def _known(scope: Construct, prop: str, name: str, environments: Sequence[str]) -> None:
    if name not in environments:
        known = ", ".join(repr(e) for e in environments)
        check.fail(scope, f"{prop} keys must be environments ({known}), got {name!r}")


def _environment_description(environments: Sequence[str], index: int, alarms: int) -> str:
    order = (
        "first to receive flag changes"
        if index == 0
        else f"receives flag changes after {environments[index - 1]}"
    )
    rollback = f"rolled back by {alarms} CloudWatch alarm(s)" if alarms else "no rollback alarm"
    return f"{environments[index]}: {order}; {rollback}"


def _child(scope: Construct, id: str) -> Construct:
    """The child ``id`` of ``scope``, created on first use."""
    existing = scope.node.try_find_child(id)
    return existing if isinstance(existing, Construct) else Construct(scope, id)
