"""What ExpressService promises, one behaviour per test, on the scenarios' templates."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest

from cdk_devops_constructs import ExpressService
from cdk_devops_constructs.express_service.service import INFRASTRUCTURE_POLICY

from .scenarios import image
from harness.scenarios import Built, new_stack

EXPRESS = "AWS::ECS::ExpressGatewayService"
ACCOUNT_REGION = "us-east-1:123456789012"
LOAD_BALANCER_ARN = (
    f"arn:aws:elasticloadbalancing:{ACCOUNT_REGION}:loadbalancer/app/ecs-express-gateway-alb/"
    "50dc6c495c0c9188"
)
PRIMARY_ARN = f"arn:aws:elasticloadbalancing:{ACCOUNT_REGION}:targetgroup/ecs-gateway-tg-a/73e2d6bc"
ALTERNATE_ARN = (
    f"arn:aws:elasticloadbalancing:{ACCOUNT_REGION}:targetgroup/ecs-gateway-tg-b/943f017f"
)


def scenario(name: str) -> Any:
    return pytest.mark.parametrize("built", [f"express_service/{name}"], indirect=True)


def resources(built: Built, kind: str) -> dict[str, Any]:
    return {k: v for k, v in built.template["Resources"].items() if v["Type"] == kind}


def express(built: Built) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = resources(built, EXPRESS).items()
    return logical_id, resource


def task_definition(built: Built) -> tuple[str, dict[str, Any]]:
    ((logical_id, resource),) = resources(built, "AWS::ECS::TaskDefinition").items()
    return logical_id, resource["Properties"]


def alarms(built: Built) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["AlarmName"]: r["Properties"]
        for r in resources(built, "AWS::CloudWatch::Alarm").values()
    }


# --- The task: ours, run by Express Mode ------------------------------------------------------


@scenario("defaults")
def test_the_service_runs_the_constructs_task_definition_and_states_nothing_it_forbids(
    built: Built,
) -> None:
    """Express Mode refuses PrimaryContainer, Cpu, Memory and the roles beside
    TaskDefinitionArn: the task definition brings them."""
    task_id, task = task_definition(built)
    _, service = express(built)
    properties = service["Properties"]
    assert properties["TaskDefinitionArn"] == {"Ref": task_id}
    for forbidden in ("PrimaryContainer", "Cpu", "Memory", "ExecutionRoleArn", "TaskRoleArn"):
        assert forbidden not in properties
    assert (task["Cpu"], task["Memory"]) == ("256", "512")
    assert task["RequiresCompatibilities"] == ["FARGATE"]
    assert task["NetworkMode"] == "awsvpc"
    assert "ExecutionRoleArn" in task
    assert "TaskRoleArn" in task


@pytest.mark.parametrize(
    "built", ["express_service/defaults", "express_service/all_options"], indirect=True
)
def test_traffic_reaches_the_container_named_main_through_one_named_tcp_port(
    built: Built,
) -> None:
    _, task = task_definition(built)
    main, *sidecars = task["ContainerDefinitions"]
    assert main["Name"] == "Main"
    (mapping,) = main["PortMappings"]
    assert mapping["Name"]
    assert mapping["Protocol"] == "tcp"
    assert all("PortMappings" not in c for c in sidecars)


@scenario("defaults")
def test_the_task_keeps_what_observed_service_gives_a_task(built: Built) -> None:
    _, task = task_definition(built)
    containers = {c["Name"]: c for c in task["ContainerDefinitions"]}
    assert set(containers) == {"Main", "otel-collector", "writable-paths"}
    main = containers["Main"]
    assert main["ReadonlyRootFilesystem"] is True
    assert main["MountPoints"][0]["ContainerPath"] == "/tmp"
    assert main["LogConfiguration"]["Options"]["mode"] == "non-blocking"
    assert main["Environment"][0]["Name"].startswith("OTEL_")
    # The hard limit is what the sidecars leave: 512 - 64 (collector) - 16 (writable paths).
    assert main["Memory"] == 432


@scenario("defaults")
def test_health_check_path_and_every_scaling_field_are_stated(built: Built) -> None:
    """The documented defaults disagree (health path /ping or /, max tasks 1 or 20)."""
    _, service = express(built)
    properties = service["Properties"]
    assert properties["HealthCheckPath"] == "/"
    assert properties["ScalingTarget"] == {
        "AutoScalingMetric": "AVERAGE_CPU",
        "AutoScalingTargetValue": 60,
        "MaxTaskCount": 4,
        "MinTaskCount": 2,
    }


@scenario("all_options")
def test_scaling_on_requests_per_task(built: Built) -> None:
    _, service = express(built)
    assert service["Properties"]["ScalingTarget"] == {
        "AutoScalingMetric": "REQUEST_COUNT_PER_TARGET",
        "AutoScalingTargetValue": 500,
        "MaxTaskCount": 12,
        "MinTaskCount": 3,
    }
    assert service["Properties"]["HealthCheckPath"] == "/healthz?deep=1"


# --- Roles, cluster, network ------------------------------------------------------------------


@scenario("defaults")
def test_the_infrastructure_role_is_for_ecs_with_the_express_managed_policy(built: Built) -> None:
    _, service = express(built)
    role_id = service["Properties"]["InfrastructureRoleArn"]["Fn::GetAtt"][0]
    role = built.template["Resources"][role_id]["Properties"]
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ecs.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"
    (policy,) = role["ManagedPolicyArns"]
    assert policy["Fn::Join"][1][-1] == f":iam::aws:policy/{INFRASTRUCTURE_POLICY}"
    assert "Policies" not in role


@scenario("defaults")
def test_the_service_is_created_after_and_deleted_before_its_role_and_capacity_providers(
    built: Built,
) -> None:
    _, service = express(built)
    role_id = service["Properties"]["InfrastructureRoleArn"]["Fn::GetAtt"][0]
    (association_id,) = resources(built, "AWS::ECS::ClusterCapacityProviderAssociations")
    assert {role_id, association_id} <= set(service["DependsOn"])


@scenario("defaults")
def test_the_shared_cluster_gets_the_fargate_capacity_provider_and_container_insights(
    built: Built,
) -> None:
    ((cluster_id, cluster),) = resources(built, "AWS::ECS::Cluster").items()
    (association,) = resources(built, "AWS::ECS::ClusterCapacityProviderAssociations").values()
    assert "FARGATE" in association["Properties"]["CapacityProviders"]
    assert association["Properties"]["Cluster"] == {"Ref": cluster_id}
    assert {"Name": "containerInsights", "Value": "enabled"} in cluster["Properties"][
        "ClusterSettings"
    ]
    _, service = express(built)
    assert service["Properties"]["Cluster"] == cluster["Properties"]["ClusterName"]


@scenario("bring_your_own")
def test_an_imported_cluster_is_used_as_it_is(built: Built) -> None:
    _, service = express(built)
    assert service["Properties"]["Cluster"] == "platform"
    assert resources(built, "AWS::ECS::ClusterCapacityProviderAssociations") == {}
    assert service["Properties"]["NetworkConfiguration"]["Subnets"] == [
        "subnet-0aaa0000000000001",
        "subnet-0aaa0000000000002",
    ]


def subnets_routed_to_the_internet_gateway(built: Built) -> list[str]:
    """Express Mode's public subnets: a route table with a route to an internet gateway."""
    routed = {
        r["Properties"]["RouteTableId"]["Ref"]
        for r in resources(built, "AWS::EC2::Route").values()
        if "GatewayId" in r["Properties"]
    }
    return sorted(
        a["Properties"]["SubnetId"]["Ref"]
        for a in resources(built, "AWS::EC2::SubnetRouteTableAssociation").values()
        if a["Properties"]["RouteTableId"]["Ref"] in routed
    )


@scenario("defaults")
def test_internet_facing_runs_in_every_subnet_routed_to_the_internet(built: Built) -> None:
    _, service = express(built)
    subnets = service["Properties"]["NetworkConfiguration"]["Subnets"]
    public = subnets_routed_to_the_internet_gateway(built)
    assert sorted(s["Ref"] for s in subnets) == public
    assert len(public) == 2
    assert "SecurityGroups" not in service["Properties"]["NetworkConfiguration"]


@scenario("all_options")
def test_internal_runs_in_every_private_subnet_once_the_nat_routes_exist(built: Built) -> None:
    _, service = express(built)
    subnets = [s["Ref"] for s in service["Properties"]["NetworkConfiguration"]["Subnets"]]
    assert len(subnets) == 2
    assert not set(subnets) & set(subnets_routed_to_the_internet_gateway(built))
    assert any("Private" in d and "DefaultRoute" in d for d in service["DependsOn"])


@scenario("defaults")
def test_the_service_name_and_alarm_names_are_literal(built: Built) -> None:
    _, service = express(built)
    name = service["Properties"]["ServiceName"]
    assert isinstance(name, str)
    assert name.startswith("TestStack-Orders-")
    assert set(alarms(built)) == {
        f"{name}-{key}"
        for key in ("cpu", "memory", "errors", "latency", "unhealthy-hosts", "running-tasks")
    } | {f"{name}-health"}


# --- Observability ----------------------------------------------------------------------------


@scenario("defaults")
def test_url_and_dashboard_are_stack_outputs(built: Built) -> None:
    outputs = built.template["Outputs"]
    service_id, _ = express(built)
    (url,) = [o for k, o in outputs.items() if k.startswith("OrdersUrl")]
    assert url["Value"] == {
        "Fn::Join": ["", ["https://", {"Fn::GetAtt": [service_id, "Endpoint"]}]]
    }
    assert any(k.startswith("OrdersDashboardUrl") for k in outputs)
    assert len(resources(built, "AWS::CloudWatch::Dashboard")) == 1


@scenario("defaults")
def test_every_alarm_notifies_the_topic_and_the_health_signal_reads_at_most_ten_metrics(
    built: Built,
) -> None:
    ((topic_id, _),) = resources(built, "AWS::SNS::Topic").items()
    by_name = alarms(built)
    for name, alarm in by_name.items():
        if name.endswith("-health"):
            # It does not notify the alarm topic: its one action opens an OpsItem (incidents).
            (action,) = alarm["AlarmActions"]
            assert action["Fn::Join"][1][-1].endswith(":opsitem:2#CATEGORY=Availability")
            assert "OKActions" not in alarm
            stats = [m for m in alarm["Metrics"] if "MetricStat" in m]
            assert len(stats) == 10, "CloudWatch allows 10 metrics in one alarm"
        else:
            assert alarm["AlarmActions"] == [{"Ref": topic_id}]
            assert alarm["OKActions"] == [{"Ref": topic_id}]


@scenario("all_options")
def test_alarm_thresholds_and_windows_follow_the_props(built: Built) -> None:
    by_key = {name.rsplit("-", 1)[-1]: a for name, a in alarms(built).items()}
    assert by_key["cpu"]["Threshold"] == 70
    assert by_key["memory"]["Threshold"] == 75
    assert by_key["errors"]["Threshold"] == 1
    assert by_key["latency"]["Threshold"] == 0.8
    assert by_key["tasks"]["Threshold"] == 3  # running-tasks: min_capacity
    for alarm in by_key.values():
        assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == 2


@scenario("defaults")
def test_the_error_rate_floor_reads_the_busier_target_group(built: Built) -> None:
    """Both target-group entries may be one target group: the sums count its requests twice,
    so the minimum-request floor reads the larger of the two, which is the total then."""
    errors = next(a for n, a in alarms(built).items() if n.endswith("-errors"))
    (rate,) = [m for m in errors["Metrics"] if m.get("ReturnData", True)]
    assert rate["Expression"] == "IF(busiest >= 10, 100 * FILL(errors, 0) / requests, 0)"


# --- Metric dimensions, evaluated on sample ARNs ----------------------------------------------


def evaluate(value: Any, attributes: dict[str, Any]) -> Any:
    """Fn::GetAtt (from ``attributes``), Fn::Join, Fn::Split and Fn::Select, as CloudFormation
    evaluates them; Fn::Select past the end of a list fails, as it fails a deployment."""
    if isinstance(value, list):
        return [evaluate(v, attributes) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1 and next(iter(value)) in FUNCTIONS:
        ((name, argument),) = value.items()
        return FUNCTIONS[name](argument, attributes)
    return {k: evaluate(v, attributes) for k, v in value.items()}


def _select(argument: list[Any], attributes: dict[str, Any]) -> Any:
    index, items = int(argument[0]), evaluate(argument[1], attributes)
    if index >= len(items):
        raise IndexError("Fn::Select out of range fails the deployment")
    return items[index]


FUNCTIONS: dict[str, Any] = {
    "Fn::GetAtt": lambda argument, attributes: attributes[argument[1]],
    "Fn::Join": lambda argument, attributes: argument[0].join(evaluate(argument[1], attributes)),
    "Fn::Split": lambda argument, attributes: evaluate(argument[1], attributes).split(argument[0]),
    "Fn::Select": _select,
}


def target_group_dimensions(built: Built, target_groups: list[str]) -> list[dict[str, str]]:
    """The dimensions of the unhealthy-hosts alarm's two metrics, evaluated."""
    unhealthy = next(a for n, a in alarms(built).items() if n.endswith("-unhealthy-hosts"))
    attributes = {
        "ECSManagedResourceArns.IngressPath.LoadBalancerArn": LOAD_BALANCER_ARN,
        "ECSManagedResourceArns.IngressPath.TargetGroupArns": target_groups,
    }
    return [
        {
            d["Name"]: evaluate(d["Value"], attributes)
            for d in m["MetricStat"]["Metric"]["Dimensions"]
        }
        for m in unhealthy["Metrics"]
        if "MetricStat" in m
    ]


@scenario("defaults")
def test_two_target_groups_give_one_metric_each(built: Built) -> None:
    assert target_group_dimensions(built, [PRIMARY_ARN, ALTERNATE_ARN]) == [
        {
            "LoadBalancer": "app/ecs-express-gateway-alb/50dc6c495c0c9188",
            "TargetGroup": "targetgroup/ecs-gateway-tg-a/73e2d6bc",
        },
        {
            "LoadBalancer": "app/ecs-express-gateway-alb/50dc6c495c0c9188",
            "TargetGroup": "targetgroup/ecs-gateway-tg-b/943f017f",
        },
    ]


@scenario("defaults")
def test_one_target_group_is_watched_twice_instead_of_failing_the_deployment(
    built: Built,
) -> None:
    first, second = target_group_dimensions(built, [PRIMARY_ARN])
    assert first == second
    assert first["TargetGroup"] == "targetgroup/ecs-gateway-tg-a/73e2d6bc"


def test_the_evaluator_fails_a_select_past_the_end_like_cloudformation() -> None:
    """Without the padding, a second target group selected from a list of one would fail the
    deployment: the evaluator must show that, or the test above proves nothing."""
    unpadded = {"Fn::Select": [1, {"Fn::GetAtt": ["Service", "TargetGroupArns"]}]}
    with pytest.raises(IndexError):
        evaluate(unpadded, {"TargetGroupArns": [PRIMARY_ARN]})


# --- The service contract ---------------------------------------------------------------------


def test_the_deploy_target_names_the_express_service_and_its_main_container() -> None:
    stack = new_stack()
    service = ExpressService(stack, "Orders", image=image(), cpu_architecture=None)
    target = service.deploy_target
    assert target.method == "express"
    assert target.container_name == "Main"
    assert target.cluster_name.startswith("TestStack-DevOpsShared-Cluster")
    assert target.service_name.startswith("TestStack-Orders-")
    assert target.cpu_architecture == "X86_64"
    assert target.bake_minutes == 6
    resolved = stack.resolve(target.service_arn(stack))
    assert target.service_name in json.dumps(resolved)
    assert service.sidecar_host.rollout is service.service
    assert service.sidecar_host.app_container.container_name == "Main"


def test_moving_from_observed_service_is_a_class_name_change() -> None:
    """Every prop the two kinds share has the same name."""
    import inspect  # noqa: PLC0415

    from cdk_devops_constructs import ObservedService  # noqa: PLC0415

    observed = set(inspect.signature(ObservedService.__init__).parameters)
    express_props = set(inspect.signature(ExpressService.__init__).parameters)
    only_observed = {
        "task_subnets",
        "cpu_scaling_target_percent",
        "requests_per_target",
        "certificate",
        "load_balancer",
        "listener",
        "listener_priority",
        "host_headers",
        "path_patterns",
        "deletion_protection",
        "web_acl_arn",
        "deployment",
        "rollback_on_alarm",
    }
    assert observed - express_props == only_observed
    assert express_props - observed == {"scaling_metric", "scaling_target_value"}


def test_read_only_root_off_is_a_synth_time_warning() -> None:
    stack = new_stack()
    ExpressService(stack, "Orders", image=image(), readonly_root_filesystem=False)
    warnings = cdk.assertions.Annotations.from_stack(stack).find_warning(
        "*", cdk.assertions.Match.string_like_regexp("readonly_root_filesystem=False")
    )
    assert len(warnings) == 1
