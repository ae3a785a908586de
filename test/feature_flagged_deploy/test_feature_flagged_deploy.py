"""One assertion per behaviour of FeatureFlaggedDeploy: what each resource must say, and why."""

from __future__ import annotations

import json
import sys
import types
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Annotations, Match, Template

from cdk_devops_constructs import Attribute, FeatureFlaggedDeploy, Flag, ObservedService
from cdk_devops_constructs.feature_flagged_deploy import readiness
from cdk_devops_constructs.feature_flagged_deploy.agent import AGENT_IMAGE

from conftest import ScenarioResult
from feature_flagged_deploy.scenarios import IMAGE, quickstart_flags
from harness import compliance, scenarios

Results = dict[str, ScenarioResult]
QUICKSTART = "feature_flagged_deploy/staging_and_production"
ALL_OPTIONS = "feature_flagged_deploy/all_options"
BRING_YOUR_OWN = "feature_flagged_deploy/bring_your_own"
DEFAULTS = "feature_flagged_deploy/defaults"


def template(results: Results, name: str) -> Template:
    return Template.from_json(results[name].normal.template)


def resources(results: Results, name: str, type: str) -> dict[str, dict[str, Any]]:
    return {
        k: v for k, v in results[name].normal.template["Resources"].items() if v["Type"] == type
    }


def one(results: Results, name: str, type: str, path: str) -> tuple[str, dict[str, Any]]:
    """The logical ID and body of the resource of ``type`` whose logical ID starts with the
    construct path ``path`` (without slashes)."""
    matches = [(k, v) for k, v in resources(results, name, type).items() if k.startswith(path)]
    assert len(matches) == 1, matches
    return matches[0]


def containers(results: Results, name: str, task_definition: str) -> dict[str, dict[str, Any]]:
    _, body = one(results, name, "AWS::ECS::TaskDefinition", task_definition)
    return {c["Name"]: c for c in body["Properties"]["ContainerDefinitions"]}


def environment(container: dict[str, Any]) -> dict[str, Any]:
    return {e["Name"]: e["Value"] for e in container.get("Environment", [])}


# --- The flags: document, validator, versions ----------------------------------------------


def test_the_hosted_version_holds_the_rendered_document(scenario_results: Results) -> None:
    flags: FeatureFlaggedDeploy = scenario_results[DEFAULTS].normal.value
    _, version = one(
        scenario_results, DEFAULTS, "AWS::AppConfig::HostedConfigurationVersion", "Flags"
    )
    assert version["Properties"]["Content"] == flags.flags_document
    assert version["Properties"]["ContentType"] == "application/json"
    assert json.loads(flags.flags_document)["values"]["search-results"] == {
        "enabled": True,
        "page-size": 20,
    }


def test_the_profile_is_a_feature_flag_profile_without_a_json_schema_validator(
    scenario_results: Results,
) -> None:
    """AppConfig takes JSON Schema validators for free-form configurations only."""
    _, profile = one(
        scenario_results, DEFAULTS, "AWS::AppConfig::ConfigurationProfile", "FlagsConfiguration"
    )
    assert profile["Properties"]["Type"] == "AWS.AppConfig.FeatureFlags"
    assert profile["Properties"]["LocationUri"] == "hosted"
    assert profile["Properties"]["Name"] == "flags"
    assert "Validators" not in profile["Properties"]


def test_replaced_versions_are_deleted_so_the_stack_can_be_deleted(
    scenario_results: Results,
) -> None:
    """AppConfig refuses to delete a profile that still has versions."""
    template(scenario_results, DEFAULTS).has_resource(
        "AWS::AppConfig::HostedConfigurationVersion",
        {"DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete"},
    )


def synthesize(flags: list[Flag]) -> dict[str, Any]:
    stack = scenarios.new_stack()
    FeatureFlaggedDeploy(stack, "Flags", flags=flags)
    return compliance.synthesize(stack).template


def test_unchanged_flags_synthesize_the_same_template() -> None:
    """Same flags, same template: CloudFormation changes nothing, no deployment starts. The
    flags are declared in another order the second time."""
    first = synthesize(quickstart_flags())
    second = synthesize(list(reversed(quickstart_flags())))
    assert first == second


def test_changed_flags_replace_the_version_and_every_deployment() -> None:
    """Logical IDs stay (construct IDs never derive from input); the version's content, which
    only replacement can change, does, and each deployment refers to the version, so
    CloudFormation replaces them, which starts the new deployments."""
    before = synthesize(quickstart_flags())
    changed = quickstart_flags()
    changed[1] = Flag(
        "search-results",
        enabled=True,
        attributes={"page-size": Attribute.number(minimum=10, maximum=100, required=True)},
        values={"page-size": 50},
    )
    after = synthesize(changed)
    assert before["Resources"].keys() == after["Resources"].keys()
    versions = [
        k
        for k, v in after["Resources"].items()
        if v["Type"] == "AWS::AppConfig::HostedConfigurationVersion"
    ]
    assert len(versions) == 1
    version = versions[0]
    assert (
        before["Resources"][version]["Properties"]["Content"]
        != after["Resources"][version]["Properties"]["Content"]
    )
    for body in after["Resources"].values():
        if body["Type"] == "AWS::AppConfig::Deployment":
            assert body["Properties"]["ConfigurationVersion"] == {"Ref": version}
    changed_resources = {
        k for k in after["Resources"] if before["Resources"][k] != after["Resources"][k]
    }
    assert changed_resources == {version} | {
        k for k, v in after["Resources"].items() if v["Type"] == "AWS::AppConfig::Deployment"
    }


# --- Environments, rollout, ordering -----------------------------------------------------------


def test_one_environment_per_stage_staging_first(scenario_results: Results) -> None:
    names = [
        v["Properties"]["Name"]
        for v in resources(scenario_results, DEFAULTS, "AWS::AppConfig::Environment").values()
    ]
    assert sorted(names) == ["production", "staging"]


def test_the_default_rollout_is_awss_predefined_canary(scenario_results: Results) -> None:
    t = template(scenario_results, QUICKSTART)
    t.resource_count_is("AWS::AppConfig::DeploymentStrategy", 0)
    t.all_resources_properties(
        "AWS::AppConfig::Deployment", {"DeploymentStrategyId": "AppConfig.Canary10Percent20Minutes"}
    )


def test_a_custom_rollout_creates_one_strategy_with_its_values(
    scenario_results: Results,
) -> None:
    t = template(scenario_results, ALL_OPTIONS)
    t.resource_count_is("AWS::AppConfig::DeploymentStrategy", 1)
    t.has_resource_properties(
        "AWS::AppConfig::DeploymentStrategy",
        {
            "GrowthType": "LINEAR",
            "GrowthFactor": 25,
            "DeploymentDurationInMinutes": 20,
            "FinalBakeTimeInMinutes": 15,
            "ReplicateTo": "NONE",
        },
    )


def test_each_environment_deploys_after_the_previous_one(scenario_results: Results) -> None:
    """CloudFormation waits for an AppConfig deployment to finish (bake included): production
    starts only after staging baked without an alarm."""
    dev, _ = one(scenario_results, ALL_OPTIONS, "AWS::AppConfig::Deployment", "FlagsDeploymentsdev")
    staging, staging_body = one(
        scenario_results, ALL_OPTIONS, "AWS::AppConfig::Deployment", "FlagsDeploymentsstaging"
    )
    _, production_body = one(
        scenario_results, ALL_OPTIONS, "AWS::AppConfig::Deployment", "FlagsDeploymentsproduction"
    )
    assert dev in staging_body["DependsOn"]
    assert staging in production_body["DependsOn"]


def test_a_deployment_waits_for_its_services_and_its_notifications(
    scenario_results: Results,
) -> None:
    """Code that reads a flag ships before the flag changes; the start notice is not lost."""
    _, staging = one(
        scenario_results, QUICKSTART, "AWS::AppConfig::Deployment", "FlagsDeploymentsstaging"
    )
    service, _ = one(scenario_results, QUICKSTART, "AWS::ECS::Service", "CheckoutStaging")
    notification, _ = one(
        scenario_results,
        QUICKSTART,
        "AWS::AppConfig::ExtensionAssociation",
        "FlagsNotificationsstaging",
    )
    assert service in staging["DependsOn"]
    assert notification in staging["DependsOn"]


# --- Automatic rollback ------------------------------------------------------------------------


def test_each_environment_is_rolled_back_by_its_services_health_signal(
    scenario_results: Results,
) -> None:
    """The one health signal, a metric alarm, as ECS and the pipeline read it."""
    _, staging = one(
        scenario_results, QUICKSTART, "AWS::AppConfig::Environment", "FlagsEnvironmentsstaging"
    )
    role, _ = one(scenario_results, QUICKSTART, "AWS::IAM::Role", "FlagsAlarmRole")
    health, _ = one(
        scenario_results, QUICKSTART, "AWS::CloudWatch::Alarm", "CheckoutStagingAlarmsHealth"
    )
    monitors = staging["Properties"]["Monitors"]
    assert [m["AlarmArn"]["Fn::GetAtt"][0] for m in monitors] == [health]
    assert {m["AlarmRoleArn"]["Fn::GetAtt"][0] for m in monitors} == {role}


def test_more_services_than_appconfig_monitors_share_one_composite_monitor() -> None:
    """AppConfig takes 5 monitors per environment and documents reading composite alarms
    (with DescribeAlarms on '*')."""
    stack = scenarios.new_stack()
    services = [
        ObservedService(
            stack, f"Service{i}", image=ecs.ContainerImage.from_registry(IMAGE), tracing=False
        )
        for i in range(6)
    ]
    FeatureFlaggedDeploy(
        stack,
        "Flags",
        flags=quickstart_flags(),
        environments=["production"],
        services={"production": services},
    )
    t = compliance.synthesize(stack).template["Resources"]
    [environment] = [r for r in t.values() if r["Type"] == "AWS::AppConfig::Environment"]
    [monitor] = environment["Properties"]["Monitors"]
    composite = t[monitor["AlarmArn"]["Fn::GetAtt"][0]]
    assert composite["Type"] == "AWS::CloudWatch::CompositeAlarm"
    rule = json.dumps(composite["Properties"]["AlarmRule"])
    assert rule.count("ALARM(") == 6
    [policy] = [r for k, r in t.items() if k.startswith("FlagsAlarmRolePolicy")]
    assert policy["Properties"]["PolicyDocument"]["Statement"][0]["Resource"] == "*"


def test_deployments_start_once_the_rollback_alarms_have_been_evaluated(
    scenario_results: Results,
) -> None:
    """New alarms are INSUFFICIENT_DATA, which AppConfig treats as a rollback signal: each
    deployment waits for a resource that exists once its environment's alarms are OK."""
    t = scenario_results[QUICKSTART].normal.template["Resources"]
    for name in ("staging", "production"):
        deployment_id, deployment = one(
            scenario_results, QUICKSTART, "AWS::AppConfig::Deployment", f"FlagsDeployments{name}"
        )
        gate_id, gate = one(
            scenario_results, QUICKSTART, "Custom::AlarmsEvaluated", f"FlagsAlarmReadiness{name}"
        )
        assert gate_id in deployment["DependsOn"], deployment_id
        health, _ = one(
            scenario_results,
            QUICKSTART,
            "AWS::CloudWatch::Alarm",
            f"Checkout{name.capitalize()}AlarmsHealth",
        )
        assert gate["Properties"]["AlarmNames"] == [{"Ref": health}]
        function = t[gate["Properties"]["ServiceToken"]["Fn::GetAtt"][0]]
        assert function["Properties"]["Timeout"] == 900


def test_the_readiness_function_fails_on_an_alarm_in_alarm_and_waits_out_insufficient_data(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The inline handler, run here against a fake CloudWatch: it waits while an alarm has no
    state or INSUFFICIENT_DATA, succeeds once all are OK, and fails on ALARM."""
    sent: list[dict[str, Any]] = []
    answers: list[dict[str, str]] = []

    class FakeCloudWatch:
        def describe_alarms(self, **kwargs: Any) -> dict[str, Any]:
            states = answers.pop(0)
            return {
                "MetricAlarms": [
                    {"AlarmName": n, "StateValue": states[n]}
                    for n in kwargs["AlarmNames"]
                    if n in states
                ],
                "CompositeAlarms": [],
            }

    fake_boto3 = types.SimpleNamespace(client=lambda _: FakeCloudWatch())
    monkeypatch.setitem(sys.modules, "boto3", fake_boto3)
    namespace: dict[str, Any] = {}
    exec(readiness.SOURCE, namespace)
    namespace["time"] = types.SimpleNamespace(time=lambda: 0.0, sleep=lambda _: None)
    namespace["urllib"] = types.SimpleNamespace(
        request=types.SimpleNamespace(
            Request=lambda url, data, method, headers: json.loads(data),
            urlopen=lambda body, timeout: sent.append(body),
        )
    )
    context = types.SimpleNamespace(get_remaining_time_in_millis=lambda: 900_000)
    event = {
        "RequestType": "Create",
        "ResourceProperties": {"AlarmNames": ["a", "b"]},
        "ResponseURL": "https://example.invalid/response",
        "StackId": "stack",
        "RequestId": "request",
        "LogicalResourceId": "Gate",
    }
    answers[:] = [
        {"a": "INSUFFICIENT_DATA"},
        {"a": "OK", "b": "INSUFFICIENT_DATA"},
        {"a": "OK", "b": "OK"},
    ]
    namespace["handler"](event, context)
    assert sent[-1]["Status"] == "SUCCESS"
    assert answers == []  # it asked until every alarm was OK
    answers[:] = [{"a": "OK", "b": "ALARM"}]
    namespace["handler"](event, context)
    assert sent[-1]["Status"] == "FAILED"
    assert sent[-1]["Reason"] == "in ALARM, so AppConfig would roll the flags back: b"


def test_appconfig_reads_exactly_the_rollback_alarms(scenario_results: Results) -> None:
    """Metric alarms are named one by one: no wildcard."""
    t = template(scenario_results, QUICKSTART)
    t.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    {
                        "Action": "sts:AssumeRole",
                        "Effect": "Allow",
                        "Principal": {"Service": "appconfig.amazonaws.com"},
                    }
                ]
            }
        },
    )
    policy_id, policy = one(
        scenario_results, QUICKSTART, "AWS::IAM::ManagedPolicy", "FlagsAlarmRolePolicy"
    )
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "cloudwatch:DescribeAlarms"
    assert len(statement["Resource"]) == 2  # one health signal per service
    assert all("Fn::GetAtt" in r for r in statement["Resource"])
    # AppConfig reads the alarms from the environment's creation on: the policy comes first.
    for kind in ("AWS::AppConfig::Environment", "AWS::AppConfig::Deployment"):
        for logical_id, body in resources(scenario_results, QUICKSTART, kind).items():
            assert policy_id in body["DependsOn"], logical_id


def test_a_composite_rollback_alarm_needs_describe_alarms_on_every_alarm(
    scenario_results: Results,
) -> None:
    """CloudWatch answers DescribeAlarms for a composite alarm only to a caller allowed on
    '*' (acknowledged finding)."""
    _, production = one(
        scenario_results, ALL_OPTIONS, "AWS::AppConfig::Environment", "FlagsEnvironmentsproduction"
    )
    composite, _ = one(
        scenario_results, ALL_OPTIONS, "AWS::CloudWatch::CompositeAlarm", "PaymentsSaturation"
    )
    health, _ = one(scenario_results, ALL_OPTIONS, "AWS::CloudWatch::Alarm", "PaymentsAlarmsHealth")
    monitors = production["Properties"]["Monitors"]
    assert [m["AlarmArn"]["Fn::GetAtt"][0] for m in monitors] == [health, composite]
    _, policy = one(
        scenario_results, ALL_OPTIONS, "AWS::IAM::ManagedPolicy", "FlagsAlarmRolePolicy"
    )
    [statement] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Resource"] == "*"


def test_an_environment_without_alarms_is_reported(scenario_results: Results) -> None:
    stack = scenario_results[DEFAULTS].normal.stack
    Annotations.from_stack(stack).has_warning(
        "/TestStack/Flags",
        Match.string_like_regexp("environment 'staging' watches no alarm"),
    )


# --- Notifications -----------------------------------------------------------------------------


def test_deployment_events_reach_each_services_alarm_topic(scenario_results: Results) -> None:
    _, association = one(
        scenario_results,
        QUICKSTART,
        "AWS::AppConfig::ExtensionAssociation",
        "FlagsNotificationsproduction",
    )
    topic, _ = one(scenario_results, QUICKSTART, "AWS::SNS::Topic", "CheckoutProductionAlarmTopic")
    assert association["Properties"]["Parameters"] == {"topicArn": {"Ref": topic}}
    assert association["Properties"]["ExtensionIdentifier"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":appconfig:us-east-1::extension/AWS.AppConfig.DeploymentNotificationsToSns/1",
            ],
        ]
    }


def test_appconfig_may_publish_to_the_topic_and_use_its_key(scenario_results: Results) -> None:
    t = template(scenario_results, QUICKSTART)
    t.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": "sns:Publish",
                                "Effect": "Allow",
                                "Principal": {"Service": "appconfig.amazonaws.com"},
                                # AppConfig's guide documents the principal only.
                                "Condition": Match.absent(),
                            }
                        )
                    ]
                )
            }
        },
    )
    t.has_resource_properties(
        "AWS::KMS::Key",
        {
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Sid": "AllowAppconfigToPublishToEncryptedTopics",
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                                "Principal": {"Service": "appconfig.amazonaws.com"},
                                # No key policy is documented for AppConfig: no condition that
                                # an undocumented request context could fail.
                                "Condition": Match.absent(),
                            }
                        )
                    ]
                )
            }
        },
    )


def test_an_imported_topic_cannot_be_opened_to_appconfig_and_says_so(
    scenario_results: Results,
) -> None:
    stack = scenario_results[BRING_YOUR_OWN].normal.stack
    Annotations.from_stack(stack).has_warning(
        "/TestStack/PlatformAlarms",
        Match.string_like_regexp(
            "PlatformAlarms is imported.*appconfig.amazonaws.com.*sns:Publish"
        ),
    )


# --- The agent sidecar -------------------------------------------------------------------------


def test_the_agent_runs_next_to_the_application(scenario_results: Results) -> None:
    agent = containers(scenario_results, QUICKSTART, "CheckoutStaging")["appconfig-agent"]
    assert agent["Image"] == AGENT_IMAGE
    assert AGENT_IMAGE in (FeatureFlaggedDeploy.__init__.__doc__ or "")  # the documented default
    assert ":2.x" not in agent["Image"]  # pinned, never floating
    assert agent["Essential"] is False
    assert agent["RestartPolicy"] == {"Enabled": True}
    assert agent["ReadonlyRootFilesystem"] is True
    assert "PortMappings" not in agent  # reached on localhost only
    assert agent["HealthCheck"]["Command"] == [
        "CMD",
        "curl",
        "-s",
        "-o",
        "/dev/null",
        "http://localhost:2772/ping",
    ]
    assert environment(agent) == {
        "SERVICE_REGION": "us-east-1",
        "PREFETCH_LIST": f"{application_name(scenario_results)}:staging:flags",
        "POLL_INTERVAL": "45",
        "HTTP_PORT": "2772",
        "LOG_LEVEL": "info",
    }


def application_name(results: Results) -> str:
    _, app = one(results, QUICKSTART, "AWS::AppConfig::Application", "Flags")
    return str(app["Properties"]["Name"])


def test_the_application_starts_once_the_agent_is_healthy(scenario_results: Results) -> None:
    application = containers(scenario_results, QUICKSTART, "CheckoutProduction")["app"]
    assert {"Condition": "HEALTHY", "ContainerName": "appconfig-agent"} in application["DependsOn"]


def test_without_a_health_check_the_application_starts_with_the_agent(
    scenario_results: Results,
) -> None:
    task = containers(scenario_results, BRING_YOUR_OWN, "Inventory")
    assert "HealthCheck" not in task["appconfig-agent"]
    assert task["app"]["DependsOn"] == [
        {"Condition": "SUCCESS", "ContainerName": "writable-paths"},
        {"Condition": "START", "ContainerName": "appconfig-agent"},
    ]


def test_the_application_is_told_where_its_flags_are(scenario_results: Results) -> None:
    application = containers(scenario_results, QUICKSTART, "CheckoutProduction")["app"]
    name = application_name(scenario_results)
    variables = environment(application)
    assert variables["OTEL_SERVICE_NAME"] == "CheckoutProduction"  # the service's own stay
    assert {k: v for k, v in variables.items() if not k.startswith("OTEL_")} == {
        "APPCONFIG_AGENT_URL": "http://localhost:2772",
        "APPCONFIG_APPLICATION": name,
        "APPCONFIG_ENVIRONMENT": "production",
        "APPCONFIG_CONFIGURATION": "flags",
        "FEATURE_FLAGS_URL": f"http://localhost:2772/applications/{name}/environments/"
        "production/configurations/flags",
    }


def test_the_task_reads_that_one_configuration_only(scenario_results: Results) -> None:
    _, policy = one(
        scenario_results,
        QUICKSTART,
        "AWS::IAM::ManagedPolicy",
        "FlagsReadAccessTestStackCheckoutStaging",
    )
    role = next(
        k
        for k in resources(scenario_results, QUICKSTART, "AWS::IAM::Role")
        if k.startswith("CheckoutStagingTaskDefinitionTaskRole")
    )
    environment_id, _ = one(
        scenario_results, QUICKSTART, "AWS::AppConfig::Environment", "FlagsEnvironmentsstaging"
    )
    profile, _ = one(
        scenario_results, QUICKSTART, "AWS::AppConfig::ConfigurationProfile", "FlagsConfiguration"
    )
    application, _ = one(scenario_results, QUICKSTART, "AWS::AppConfig::Application", "Flags")
    assert policy["Properties"]["Roles"] == [{"Ref": role}]
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {
            "Sid": "ReadFeatureFlags",
            "Effect": "Allow",
            "Action": ["appconfig:StartConfigurationSession", "appconfig:GetLatestConfiguration"],
            "Resource": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":appconfig:us-east-1:123456789012:application/",
                        {"Ref": application},
                        "/environment/",
                        {"Ref": environment_id},
                        "/configuration/",
                        {"Ref": profile},
                    ],
                ]
            },
        }
    ]


def test_services_keep_every_container_they_had(scenario_results: Results) -> None:
    """Containers added after ObservedService was built still reach the template."""
    names = set(containers(scenario_results, QUICKSTART, "CheckoutStaging"))
    assert names == {"app", "writable-paths", "otel-collector", "appconfig-agent"}


@pytest.mark.parametrize("name", [QUICKSTART, ALL_OPTIONS, BRING_YOUR_OWN, DEFAULTS])
def test_public_attributes(scenario_results: Results, name: str) -> None:
    flags: FeatureFlaggedDeploy = scenario_results[name].normal.value
    assert set(flags.environments) == set(flags.deployments)
    assert flags.configuration.node.id == "Configuration"
    assert flags.application.node.id == "Application"
    assert cdk.Token.is_unresolved(flags.deployment_strategy.deployment_strategy_id) == (
        name == ALL_OPTIONS
    )
