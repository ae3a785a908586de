"""What ObservedService promises, one behaviour per test, on the scenarios' templates."""

from __future__ import annotations

import json
import re
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Match, Template

from cdk_devops_constructs import Deployment, ObservedService
from cdk_devops_constructs._service.tracing import ADOT_COLLECTOR_IMAGE, X_RAY_ACTIONS
from cdk_devops_constructs._service.writable_paths import PERMISSIONS_IMAGE

from .scenarios import image
from conftest import template_of
from harness import compliance
from harness.scenarios import SCENARIOS, Built


def scenario(name: str) -> Any:
    return pytest.mark.parametrize("built", [f"observed_service/{name}"], indirect=True)


def resources(built: Built, kind: str) -> dict[str, Any]:
    return {k: v for k, v in built.template["Resources"].items() if v["Type"] == kind}


def only(built: Built, kind: str) -> dict[str, Any]:
    (resource,) = resources(built, kind).values()
    return resource["Properties"]


def containers(built: Built) -> dict[str, Any]:
    task = only(built, "AWS::ECS::TaskDefinition")
    return {c["Name"]: c for c in task["ContainerDefinitions"]}


# --- Safe deployments -------------------------------------------------------------------------


@scenario("defaults")
def test_deployments_roll_back_on_circuit_breaker_and_on_the_health_signal(built: Built) -> None:
    config = only(built, "AWS::ECS::Service")["DeploymentConfiguration"]
    assert config["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}
    assert config["Alarms"]["Enable"] is True
    assert config["Alarms"]["Rollback"] is True
    health = built.template["Resources"]["CheckoutAlarmsHealth64ED0BD7"]
    assert health["Type"] == "AWS::CloudWatch::Alarm", "a metric alarm, as ECS documents"
    assert config["Alarms"]["AlarmNames"] == [health["Properties"]["AlarmName"]]


@pytest.mark.parametrize(
    "built", ["observed_service/linear", "observed_service/all_options"], indirect=True
)
def test_canary_and_linear_deployments_have_no_circuit_breaker(built: Built) -> None:
    """ECS documents the circuit breaker for rolling and blue/green deployments only; canary
    and linear ones roll back on the health signal."""
    config = only(built, "AWS::ECS::Service")["DeploymentConfiguration"]
    assert config["Strategy"] in ("CANARY", "LINEAR")
    assert "DeploymentCircuitBreaker" not in config
    assert config["Alarms"]["Rollback"] is True


@scenario("defaults")
def test_rolling_deployments_keep_full_capacity(built: Built) -> None:
    service = only(built, "AWS::ECS::Service")
    assert service["DeploymentConfiguration"]["MinimumHealthyPercent"] == 100
    assert service["DeploymentConfiguration"]["Strategy"] == "ROLLING"
    assert service["DeploymentController"] == {"Type": "ECS"}
    assert "AlternateTargetGroupArn" not in json.dumps(service)


@scenario("blue_green")
def test_blue_green_shifts_traffic_between_two_target_groups(built: Built) -> None:
    service = only(built, "AWS::ECS::Service")
    assert service["DeploymentConfiguration"]["Strategy"] == "BLUE_GREEN"
    assert service["DeploymentConfiguration"]["BakeTimeInMinutes"] == 15
    advanced = service["LoadBalancers"][0]["AdvancedConfiguration"]
    assert set(advanced) == {"AlternateTargetGroupArn", "ProductionListenerRule", "RoleArn"}
    rule = only(built, "AWS::ElasticLoadBalancingV2::ListenerRule")
    weights = [g["Weight"] for g in rule["Actions"][0]["ForwardConfig"]["TargetGroups"]]
    assert weights == [100, 0]
    assert len(resources(built, "AWS::ElasticLoadBalancingV2::TargetGroup")) == 2


@scenario("blue_green")
def test_traffic_shifting_alarms_watch_both_target_groups(built: Built) -> None:
    """After a blue/green deployment the other target group serves production: an alarm on one
    target group alone would go quiet."""
    by_name = {
        a["Properties"]["AlarmName"].rsplit("-", 1)[-1]: a["Properties"]
        for a in resources(built, "AWS::CloudWatch::Alarm").values()
    }
    for key in ("errors", "latency", "hosts"):
        groups = {
            json.dumps(dimension["Value"])
            for metric in by_name[key]["Metrics"]
            if "MetricStat" in metric
            for dimension in metric["MetricStat"]["Metric"]["Dimensions"]
            if dimension["Name"] == "TargetGroup"
        }
        assert len(groups) == 2, key


@scenario("all_options")
def test_canary_sends_a_share_of_traffic_first(built: Built) -> None:
    config = only(built, "AWS::ECS::Service")["DeploymentConfiguration"]
    assert config["Strategy"] == "CANARY"
    assert config["CanaryConfiguration"] == {"CanaryPercent": 10, "CanaryBakeTimeInMinutes": 5}
    assert config["BakeTimeInMinutes"] == 10


@scenario("linear")
def test_linear_shifts_traffic_in_steps(built: Built) -> None:
    config = only(built, "AWS::ECS::Service")["DeploymentConfiguration"]
    assert config["Strategy"] == "LINEAR"
    assert config["LinearConfiguration"] == {"StepPercent": 24.9, "StepBakeTimeInMinutes": 2}


# --- Compute and network ----------------------------------------------------------------------


@scenario("defaults")
def test_tasks_run_in_private_subnets_without_public_ips(built: Built) -> None:
    network = only(built, "AWS::ECS::Service")["NetworkConfiguration"]["AwsvpcConfiguration"]
    assert network["AssignPublicIp"] == "DISABLED"
    assert all("Private" in s["Ref"] for s in network["Subnets"])


@scenario("shared_load_balancer")
def test_services_of_a_stack_share_one_vpc_cluster_and_log_bucket(built: Built) -> None:
    for kind in ("AWS::EC2::VPC", "AWS::ECS::Cluster", "AWS::S3::Bucket", "AWS::EC2::NatGateway"):
        assert len(resources(built, kind)) == 1, kind
    assert len(resources(built, "AWS::ECS::Service")) == 2


@scenario("defaults")
def test_the_shared_vpc_has_flow_logs_and_the_cluster_container_insights(built: Built) -> None:
    flow_log = only(built, "AWS::EC2::FlowLog")
    assert flow_log["LogDestinationType"] == "s3"
    assert flow_log["TrafficType"] == "ALL"
    settings = only(built, "AWS::ECS::Cluster")["ClusterSettings"]
    assert settings == [{"Name": "containerInsights", "Value": "enabled"}]
    vpc = only(built, "AWS::EC2::VPC")
    assert vpc["CidrBlock"] == "10.0.0.0/16"
    subnets = resources(built, "AWS::EC2::Subnet").values()
    assert all("Fn::Select" in s["Properties"]["AvailabilityZone"] for s in subnets)


@scenario("bring_your_own")
def test_bring_your_own_vpc_cluster_and_topic_creates_none_of_them(built: Built) -> None:
    for kind in ("AWS::EC2::VPC", "AWS::ECS::Cluster", "AWS::SNS::Topic"):
        assert resources(built, kind) == {}, kind
    subscription = only(built, "AWS::SNS::Subscription")
    assert subscription["TopicArn"] == "arn:aws:sns:us-east-1:123456789012:platform-alarms"
    assert subscription["Endpoint"] == "inventory@example.com"
    assert only(built, "AWS::ECS::Service")["Cluster"] == "platform"


@scenario("shared_load_balancer")
def test_a_second_service_joins_the_first_services_load_balancer(built: Built) -> None:
    assert len(resources(built, "AWS::ElasticLoadBalancingV2::LoadBalancer")) == 1
    assert len(resources(built, "AWS::ElasticLoadBalancingV2::Listener")) == 1
    rules = sorted(
        (r["Priority"], r["Conditions"][0]["PathPatternConfig"]["Values"])
        for r in (
            v["Properties"]
            for v in resources(built, "AWS::ElasticLoadBalancingV2::ListenerRule").values()
        )
    )
    assert rules == [(10, ["/api/*"]), (100, ["/*"])]
    web, api = built.value
    assert api.url.endswith("/api/")
    assert api.load_balancer is web.load_balancer


# --- Container --------------------------------------------------------------------------------


@scenario("defaults")
def test_the_app_container_is_read_only_with_a_writable_tmp(built: Built) -> None:
    app = containers(built)["app"]
    assert app["ReadonlyRootFilesystem"] is True
    assert app["MountPoints"] == [
        {"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"}
    ]
    assert app["LogConfiguration"]["Options"]["mode"] == "non-blocking"


@scenario("all_options")
def test_container_options_reach_the_task_definition(built: Built) -> None:
    task = only(built, "AWS::ECS::TaskDefinition")
    assert (task["Cpu"], task["Memory"]) == ("1024", "3072")
    assert task["RuntimePlatform"]["CpuArchitecture"] == "ARM64"
    app = containers(built)["app"]
    assert app["User"] == "1000:1000"
    assert app["Command"] == ["serve", "--port", "8443"]
    assert app["Secrets"][0]["Name"] == "DB_PASSWORD"
    env = {e["Name"]: e["Value"] for e in app["Environment"]}
    assert env["LOG_LEVEL"] == "info"
    assert env["OTEL_SERVICE_NAME"] == "payments"


# --- Tracing ----------------------------------------------------------------------------------


@scenario("defaults")
def test_tracing_runs_a_pinned_collector_the_app_waits_for(built: Built) -> None:
    collector = containers(built)["otel-collector"]
    assert collector["Image"] == ADOT_COLLECTOR_IMAGE
    assert not collector["Image"].endswith(":latest")
    assert re.search(r":v\d+\.\d+\.\d+$", collector["Image"])
    assert collector["HealthCheck"]["Command"] == ["CMD", "/healthcheck"]
    assert collector["Essential"] is False
    assert collector["RestartPolicy"] == {"Enabled": True}
    assert collector["User"] == "10001:10001"  # a static binary on an empty base image
    app = containers(built)["app"]
    assert {"Condition": "HEALTHY", "ContainerName": "otel-collector"} in app["DependsOn"]
    env = {e["Name"]: e["Value"] for e in app["Environment"]}
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://localhost:4317"
    assert env["OTEL_SERVICE_NAME"] == "Checkout"
    assert env["OTEL_PROPAGATORS"].startswith("xray")


@scenario("defaults")
def test_the_task_role_may_only_write_traces(built: Built) -> None:
    policies = [
        p for p in resources(built, "AWS::IAM::Policy").values() if "TaskRole" in json.dumps(p)
    ]
    statements = [s for p in policies for s in p["Properties"]["PolicyDocument"]["Statement"]]
    assert statements == [
        {
            "Action": list(X_RAY_ACTIONS),
            "Effect": "Allow",
            "Resource": "*",
            "Sid": "WriteTracesToXRay",
        }
    ]


@scenario("bring_your_own")
def test_tracing_off_means_no_sidecar_and_no_otel_settings(built: Built) -> None:
    assert set(containers(built)) == {"app", "writable-paths"}
    assert "Environment" not in containers(built)["app"]


@pytest.mark.parametrize("name", ["defaults", "all_options", "blue_green", "shared_load_balancer"])
def test_no_iam_statement_uses_a_wildcard_action(scenario_results: Any, name: str) -> None:
    template = scenario_results[f"observed_service/{name}"].normal.template
    for logical_id, resource in template["Resources"].items():
        documents = [resource["Properties"].get("PolicyDocument")]
        documents += [p["PolicyDocument"] for p in resource["Properties"].get("Policies", [])]
        if resource["Type"] == "AWS::KMS::Key":
            # The key policy's first statement is AWS's documented default: the account root
            # may use the key, so that IAM policies (never wildcards here) decide who can.
            statements = resource["Properties"]["KeyPolicy"]["Statement"]
            assert statements[0]["Principal"]["AWS"]["Fn::Join"][1][-1].endswith(":root")
            documents.append({"Statement": statements[1:]})
        for document in filter(None, documents):
            # Deny statements (e.g. "s3:*" unless over TLS) restrict; only grants must be exact.
            for statement in (s for s in document["Statement"] if s["Effect"] == "Allow"):
                actions = statement["Action"]
                for action in [actions] if isinstance(actions, str) else actions:
                    assert "*" not in action, f"{logical_id}: {action}"


# --- Load balancer ----------------------------------------------------------------------------


@scenario("defaults")
def test_the_load_balancer_is_hardened_and_logged(built: Built) -> None:
    attributes = {
        a["Key"]: a["Value"]
        for a in only(built, "AWS::ElasticLoadBalancingV2::LoadBalancer")["LoadBalancerAttributes"]
    }
    assert attributes["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert attributes["routing.http.desync_mitigation_mode"] == "defensive"
    assert attributes["access_logs.s3.enabled"] == "true"
    # Not termination-protected: a test stack, whose failed create or cdk destroy must not
    # stop at a load balancer CloudFormation cannot delete.
    assert attributes["deletion_protection.enabled"] == "false"


def test_a_termination_protected_stack_protects_its_load_balancer() -> None:
    stack = cdk.Stack(
        compliance.compliance_app(), "Prod", env=compliance.ENV, termination_protection=True
    )
    ObservedService(stack, "Checkout", image=image())
    attributes = {
        a["Key"]: a["Value"]
        for r in template_of(stack)
        .find_resources("AWS::ElasticLoadBalancingV2::LoadBalancer")
        .values()
        for a in r["Properties"]["LoadBalancerAttributes"]
    }
    assert attributes["deletion_protection.enabled"] == "true"


@scenario("defaults")
def test_the_log_bucket_is_private_ssl_only_versioned_and_expires(built: Built) -> None:
    bucket = only(built, "AWS::S3::Bucket")
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 365
    sse = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    policy = json.dumps(only(built, "AWS::S3::BucketPolicy"))
    assert '"aws:SecureTransport": "false"' in policy


@scenario("defaults")
def test_health_checks_and_draining_are_tuned_for_fast_deploys(built: Built) -> None:
    group = only(built, "AWS::ElasticLoadBalancingV2::TargetGroup")
    assert (group["HealthCheckIntervalSeconds"], group["HealthyThresholdCount"]) == (10, 2)
    assert group["UnhealthyThresholdCount"] == 3
    attributes = {a["Key"]: a["Value"] for a in group["TargetGroupAttributes"]}
    assert attributes["deregistration_delay.timeout_seconds"] == "30"
    assert only(built, "AWS::ECS::Service")["HealthCheckGracePeriodSeconds"] == 60


@scenario("all_options")
def test_a_certificate_gives_https_with_tls12_and_a_redirect(built: Built) -> None:
    listeners = [
        v["Properties"] for v in resources(built, "AWS::ElasticLoadBalancingV2::Listener").values()
    ]
    https = next(listener for listener in listeners if listener["Port"] == 443)
    assert https["Protocol"] == "HTTPS"
    assert https["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    redirect = next(listener for listener in listeners if listener["Port"] == 80)
    assert redirect["DefaultActions"][0]["RedirectConfig"] == {
        "Port": "443",
        "Protocol": "HTTPS",
        "StatusCode": "HTTP_301",
    }
    assert built.value.url.startswith("https://")


@scenario("all_options")
def test_an_internal_load_balancer_admits_only_the_vpc(built: Built) -> None:
    assert only(built, "AWS::ElasticLoadBalancingV2::LoadBalancer")["Scheme"] == "internal"
    groups = resources(built, "AWS::EC2::SecurityGroup")
    balancer_group = next(g for k, g in groups.items() if "LoadBalancer" in k)
    ingress = balancer_group["Properties"]["SecurityGroupIngress"]
    assert {i["CidrIp"] for i in ingress} == {"10.0.0.0/16"}
    assert only(built, "AWS::WAFv2::WebACLAssociation")["WebACLArn"].startswith("arn:aws:wafv2:")


# --- Autoscaling ------------------------------------------------------------------------------


@scenario("all_options")
def test_autoscaling_tracks_cpu_and_requests_per_task(built: Built) -> None:
    target = only(built, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert (target["MinCapacity"], target["MaxCapacity"]) == (3, 12)
    configs = [
        p["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        for p in resources(built, "AWS::ApplicationAutoScaling::ScalingPolicy").values()
    ]
    cpu = next(c for c in configs if "PredefinedMetricSpecification" in c)
    assert cpu["TargetValue"] == 50
    requests = next(c for c in configs if "CustomizedMetricSpecification" in c)
    assert requests["TargetValue"] == 500
    expression = requests["CustomizedMetricSpecification"]["Metrics"][-1]["Expression"]
    assert expression.count("FILL(") == 2, "both target groups of a canary deployment"


# --- Alarms and notifications -----------------------------------------------------------------


@scenario("defaults")
def test_only_tmp_is_writable_by_default(built: Built) -> None:
    app = containers(built)["app"]
    assert app["ReadonlyRootFilesystem"] is True
    assert app["MountPoints"] == [
        {"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"}
    ]
    assert only(built, "AWS::ECS::TaskDefinition")["Volumes"] == [{"Name": "tmp"}]


@scenario("all_options")
def test_an_init_container_makes_the_writable_paths_writable_by_any_user(built: Built) -> None:
    """Fargate creates the volumes owned by root, mode 0755: before the application starts, a
    root container gives each the mode of /tmp, touching nothing else."""
    task = containers(built)
    init = task["writable-paths"]
    assert init["User"] == "0"
    assert init["Command"] == ["chmod", "1777", "/tmp", "/var/cache/payments"]
    assert init["MountPoints"] == task["app"]["MountPoints"]
    assert init["Essential"] is False
    assert init["ReadonlyRootFilesystem"] is True
    assert init["Image"] == PERMISSIONS_IMAGE
    assert re.search(r":\d+\.\d+\.\d+$", init["Image"]), "pinned"
    assert {"Condition": "SUCCESS", "ContainerName": "writable-paths"} in task["app"]["DependsOn"]
    assert task["app"]["User"] == "1000:1000"


def test_without_writable_paths_there_is_no_init_container_and_nothing_runs_as_root(
    stack: cdk.Stack,
) -> None:
    """No root container and a named user: nothing is acknowledged to the non-root control."""
    service = ObservedService(
        stack, "Api", image=image(), user="1000:1000", writable_paths=[], tracing=False
    )
    task = Template.from_stack(stack).find_resources("AWS::ECS::TaskDefinition")
    (definition,) = task.values()
    assert [c["Name"] for c in definition["Properties"]["ContainerDefinitions"]] == ["app"]
    assert "Volumes" not in definition["Properties"] or not definition["Properties"]["Volumes"]
    acknowledged = [
        m.data
        for m in service.task_definition.node.default_child.node.metadata  # type: ignore[union-attr]
        if m.type == compliance.ACKNOWLEDGED_RULES
    ]
    assert not any("nonroot" in rule for rules in acknowledged for rule in rules)
    compliance.assert_compliant(stack)


@pytest.mark.parametrize("name", sorted(n for n in SCENARIOS if "service" in n or "flag" in n))
def test_containers_share_the_task_memory_without_overcommitting(
    scenario_results: Any, name: str
) -> None:
    """Every container has a hard limit (AWS Control Tower control CT.ECS.PR.7); what they
    reserve adds up to the task's memory (ECS rejects more), the application taking the rest."""
    template = scenario_results[name].normal.template
    for task in (
        r for r in template["Resources"].values() if r["Type"] == "AWS::ECS::TaskDefinition"
    ):
        memory = int(task["Properties"]["Memory"])
        reserved = 0
        for container in task["Properties"]["ContainerDefinitions"]:
            assert container["Memory"] >= container.get("MemoryReservation", 0), container["Name"]
            reserved += container.get("MemoryReservation", container["Memory"])
        assert reserved == memory


@scenario("all_options")
def test_each_writable_path_gets_an_ephemeral_volume(built: Built) -> None:
    """An image that writes elsewhere than /tmp at start declares it; each path is an empty
    directory on the task's storage, the rest of the root stays read-only."""
    app = containers(built)["app"]
    assert app["ReadonlyRootFilesystem"] is True
    assert app["MountPoints"] == [
        {"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"},
        {
            "ContainerPath": "/var/cache/payments",
            "ReadOnly": False,
            "SourceVolume": "var-cache-payments",
        },
    ]
    volumes = only(built, "AWS::ECS::TaskDefinition")["Volumes"]
    assert {"Name": "var-cache-payments"} in volumes
    assert all(set(v) == {"Name"} for v in volumes), "task storage, not a host or EFS volume"


@scenario("defaults")
def test_every_alarm_notifies_on_alarm_and_ok_within_three_minutes(built: Built) -> None:
    alarms = resources(built, "AWS::CloudWatch::Alarm")
    del alarms["CheckoutAlarmsHealth64ED0BD7"]  # the signal, below
    assert len(alarms) == 6
    for alarm in (a["Properties"] for a in alarms.values()):
        assert (
            alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": "CheckoutAlarmTopic887F0361"}]
        )
        periods = {m["MetricStat"]["Period"] for m in alarm["Metrics"] if "MetricStat" in m}
        assert max(periods) * alarm["EvaluationPeriods"] <= 180
        assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]
        assert alarm["TreatMissingData"] == "notBreaching", "an idle service must not page"


@scenario("defaults")
def test_the_error_alarm_is_a_rate_that_ignores_nearly_idle_minutes(built: Built) -> None:
    alarm = next(
        a["Properties"]
        for a in resources(built, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"].endswith("-errors")
    )
    (expression,) = [m["Expression"] for m in alarm["Metrics"] if "Expression" in m]
    assert expression == "IF(requests >= 10, 100 * FILL(errors, 0) / requests, 0)"
    assert alarm["Threshold"] == 5


@scenario("defaults")
def test_the_health_signal_is_one_metric_alarm_over_the_critical_signals(built: Built) -> None:
    """A metric alarm (every consumer documents reading those; DescribeAlarms returns
    composite alarms only when asked) over one expression: 5xx rate, p99 latency, unhealthy
    targets, and tasks running or starting, with the thresholds of the critical alarms."""
    assert resources(built, "AWS::CloudWatch::CompositeAlarm") == {}
    health = built.template["Resources"]["CheckoutAlarmsHealth64ED0BD7"]["Properties"]
    (expression,) = [m for m in health["Metrics"] if m.get("ReturnData")]
    assert expression["Expression"] == (
        "IF(FILL(errorRate, 0) > 5, 1, 0) + IF(FILL(p99, 0) > 2, 1, 0)"
        " + IF(FILL(unhealthyTargets, 0) > 0, 1, 0) + IF(tasksUp < 2, 1, 0)"
    )
    stats = {m["Id"]: m["MetricStat"] for m in health["Metrics"] if "MetricStat" in m}
    assert {s["Metric"]["MetricName"] for s in stats.values()} == {
        "HTTPCode_Target_5XX_Count",
        "RequestCount",
        "TargetResponseTime",
        "UnHealthyHostCount",
        "RunningTaskCount",
        "PendingTaskCount",
    }
    assert len(stats) <= 10, "CloudWatch's limit of metrics in one alarm"
    assert health["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert health["Threshold"] == 1
    assert health["EvaluationPeriods"] == health["DatapointsToAlarm"] == 3
    assert health["TreatMissingData"] == "notBreaching"
    # The critical alarms notify the alarm topic; the signal starts the incident (an OpsItem).
    (action,) = health["AlarmActions"]
    assert action["Fn::Join"][1][-1].endswith(":opsitem:2#CATEGORY=Availability")
    assert "OKActions" not in health
    service = built.value
    assert service.health_alarm_name == health["AlarmName"]
    assert len(service.critical_alarms) == 4


@scenario("blue_green")
def test_the_health_signal_reads_both_target_groups_within_the_metric_limit(built: Built) -> None:
    (health,) = [
        r["Properties"]
        for k, r in resources(built, "AWS::CloudWatch::Alarm").items()
        if k.startswith("SearchAlarmsHealth")
    ]
    stats = [m for m in health["Metrics"] if "MetricStat" in m]
    assert len(stats) == 10  # 5xx, requests, p99, unhealthy per target group; running, pending
    groups = {
        json.dumps(d["Value"])
        for m in stats
        for d in m["MetricStat"]["Metric"]["Dimensions"]
        if d["Name"] == "TargetGroup"
    }
    assert len(groups) == 2


@scenario("defaults")
def test_the_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(built: Built) -> None:
    topic = only(built, "AWS::SNS::Topic")
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["CheckoutKey8B2D8A42", "Arn"]}
    key = only(built, "AWS::KMS::Key")
    assert key["EnableKeyRotation"] is True
    cloudwatch = next(
        s
        for s in key["KeyPolicy"]["Statement"]
        if s.get("Principal", {}).get("Service") == "cloudwatch.amazonaws.com"
    )
    assert cloudwatch["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    policy = json.dumps(only(built, "AWS::SNS::TopicPolicy"))
    assert '"aws:SecureTransport": "false"' in policy
    subscription = only(built, "AWS::SNS::Subscription")
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("email", "oncall@example.com")


@scenario("all_options")
def test_thresholds_and_windows_are_props(built: Built) -> None:
    by_name = {
        a["Properties"]["AlarmName"].rsplit("-", 1)[-1]: a["Properties"]
        for a in resources(built, "AWS::CloudWatch::Alarm").values()
    }
    assert by_name["cpu"]["Threshold"] == 70
    assert by_name["memory"]["Threshold"] == 75
    assert by_name["errors"]["Threshold"] == 1
    assert by_name["latency"]["Threshold"] == 0.8
    assert by_name["tasks"]["Threshold"] == 3
    assert {a["EvaluationPeriods"] for a in by_name.values()} == {2}
    assert len(resources(built, "AWS::SNS::Subscription")) == 2


@scenario("defaults")
def test_logs_are_kept_a_year_encrypted_and_retained(built: Built) -> None:
    (log_group,) = resources(built, "AWS::Logs::LogGroup").values()
    assert log_group["Properties"]["RetentionInDays"] == 365
    assert log_group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["CheckoutKey8B2D8A42", "Arn"]}
    assert log_group["DeletionPolicy"] == "Retain"


# --- Dashboard and outputs --------------------------------------------------------------------


@scenario("defaults")
def test_the_dashboard_shows_golden_signals_alarms_and_recent_errors(built: Built) -> None:
    parts = only(built, "AWS::CloudWatch::Dashboard")["DashboardBody"]["Fn::Join"][1]
    body = "".join(p for p in parts if isinstance(p, str))
    for text in (
        "Latency p50",
        "Latency p90",
        "Latency p99",
        "Requests",
        "5xx error rate",
        "CPU utilization",
        "Memory utilization",
        "Running tasks",
        '"type":"alarm"',
        "Recent errors",
        "filter @message like",
    ):
        assert text in body, text


@scenario("defaults")
def test_the_url_and_dashboard_link_are_stack_outputs(built: Built) -> None:
    outputs = built.template["Outputs"]
    url = next(v for k, v in outputs.items() if k.startswith("CheckoutUrl"))
    assert "Fn::Join" in url["Value"]
    dashboard = next(v for k, v in outputs.items() if k.startswith("CheckoutDashboardUrl"))
    assert "#dashboards:name=" in json.dumps(dashboard)


# --- Defaults that weaken security warn ------------------------------------------------------


def test_weakening_a_security_default_adds_a_warning() -> None:
    # Deliberately weakened, so synthesized without cdk-nag.
    stack = cdk.Stack(cdk.App(), "TestStack", env=compliance.ENV)
    ObservedService(
        stack,
        "Legacy",
        image=image(),
        readonly_root_filesystem=False,
        deletion_protection=False,
        rollback_on_alarm=False,
    )
    warnings = cdk.assertions.Annotations.from_stack(stack).find_warning(
        "/TestStack/Legacy", Match.string_like_regexp(".*")
    )
    text = " ".join(str(w.entry.data) for w in warnings)
    for prop in ("readonly_root_filesystem", "deletion_protection", "rollback_on_alarm"):
        assert prop in text


def test_turning_rollback_off_stops_watching_alarms_during_deployments() -> None:
    # Deliberately weakened, so synthesized without cdk-nag.
    stack = cdk.Stack(cdk.App(), "TestStack", env=compliance.ENV)
    ObservedService(stack, "Batch", image=image(), rollback_on_alarm=False, tracing=False)
    Template.from_stack(stack).has_resource_properties(
        "AWS::ECS::Service",
        {
            "DeploymentConfiguration": Match.object_like(
                {"Alarms": Match.object_like({"Enable": False, "Rollback": False})}
            )
        },
    )


def test_public_attributes_are_typed_children(stack: cdk.Stack) -> None:
    service = ObservedService(stack, "Api", image=image(), deployment=Deployment.rolling())
    assert isinstance(service.service, ecs.FargateService)
    assert isinstance(service.task_definition, ecs.FargateTaskDefinition)
    assert service.container.container_name == "app"
    assert set(service.alarms) == {
        "cpu",
        "memory",
        "errors",
        "latency",
        "unhealthy_hosts",
        "running_tasks",
    }
    for attribute in (
        "load_balancer",
        "listener",
        "target_group",
        "log_group",
        "alarm_topic",
        "dashboard",
    ):
        assert getattr(service, attribute) is not None, attribute
    assert service.url.startswith("http://")
    assert isinstance(template_of(stack), Template)


def test_an_imported_key_says_which_statements_it_needs() -> None:
    """CDK cannot add to an imported key's policy; the warning says what to add where."""
    stack = cdk.Stack(cdk.App(), "TestStack", env=compliance.ENV)
    key = cdk.aws_kms.Key.from_key_arn(
        stack,
        "TeamKey",
        f"arn:aws:kms:us-east-1:{compliance.ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    )
    ObservedService(stack, "Api", image=image(), encryption_key=key)
    messages = [
        str(w.entry.data)
        for w in cdk.assertions.Annotations.from_stack(stack).find_warning(
            "/TestStack/TeamKey", Match.string_like_regexp(".*")
        )
    ]
    assert any("logs.us-east-1.amazonaws.com to kms:Encrypt" in m for m in messages), messages
    assert any("cloudwatch.amazonaws.com to kms:Decrypt" in m for m in messages), messages
