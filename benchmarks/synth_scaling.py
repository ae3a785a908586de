"""Synthesis time, resources and idle monthly cost: ObservedService and ExpressService against
what a team writes today, for N services in one stack. Prints figures; asserts nothing.

    ./dev bench                       # N = 1, 10, 25; best of 3 runs each
    ./dev bench -- --sizes 1 5 --repeat 1

The peer, per service: aws_ecs_patterns.ApplicationLoadBalancedFargateService plus
cdk-monitoring-constructs alarms on CPU, memory, running tasks and unhealthy tasks, notifying an
SNS topic with an email subscription. Both sides use one VPC (2 AZs, 1 NAT gateway) and one
cluster (Container Insights on) from a network stack, and put their services in stacks of at
most SERVICES_PER_STACK (an ObservedService is about 30 resources; CloudFormation allows 500 per
stack), so both synthesize the same layout.

Costs are list prices in us-east-1 (Linux/x86 Fargate, no free tier, 730 hours a month) applied
to the synthesized templates: what runs and bills while the service receives no traffic. Express
Mode creates its load balancer outside the template: one per 25 Express services of a VPC and
scheme, internet-facing when the services run in public subnets, where each task also holds a
public IPv4 address. Not counted on either side: the alarms Application Auto Scaling's target
tracking creates, and Express Mode's own rollback alarm (about $0.10 each per metric).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

import aws_cdk as cdk
import cdk_monitoring_constructs as monitoring
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_ecs_patterns as patterns
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions

from cdk_devops_constructs import ExpressService, ObservedService

ENV = cdk.Environment(account="123456789012", region="us-east-1")
IMAGE = "public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine"  # listens on 8080
EMAIL = "oncall@example.com"
HOURS = 730
SERVICES_PER_STACK = 12

# USD, us-east-1 list prices.
PRICE = {
    "alb_hour": 0.0225,
    "ipv4_hour": 0.005,
    "nat_hour": 0.045,
    "kms_key_month": 1.00,
    "alarm_metric_month": 0.10,
    "composite_alarm_month": 0.50,
    "dashboard_month": 3.00,
    "vcpu_hour": 0.04048,
    "gb_hour": 0.004445,
    # Container Insights bills its metrics as custom metrics ($0.30 each): about ten per service
    # and ten per cluster (an estimate: the exact set depends on the cluster's workload).
    "container_insights_service_month": 3.00,
    "container_insights_cluster_month": 3.00,
}


class Network(cdk.Stack):
    """The VPC and cluster both sides share, as a platform team's network stack."""

    def __init__(self, app: cdk.App) -> None:
        super().__init__(app, "Network", env=ENV)
        self.vpc = ec2.Vpc(self, "Vpc", max_azs=2, nat_gateways=1)
        self.cluster = ecs.Cluster(
            self,
            "Cluster",
            vpc=self.vpc,
            container_insights_v2=ecs.ContainerInsights.ENABLED,
            # Named, as the library names the clusters it creates: the services' stacks refer to
            # it by name (an unnamed cluster in another stack fails the services' alarms at
            # synthesis, with "dimensions ... value: required but missing").
            cluster_name="benchmark",
        )


def service_stacks(app: cdk.App, n: int) -> list[cdk.Stack]:
    count = -(-n // SERVICES_PER_STACK)
    return [cdk.Stack(app, f"Services{i}", env=ENV) for i in range(count)]


def build_ours(kind: type[ObservedService | ExpressService]) -> Callable[[int], cdk.App]:
    def build(n: int) -> cdk.App:
        app = cdk.App()
        network = Network(app)
        stacks = service_stacks(app, n)
        for index in range(n):
            kind(
                stacks[index // SERVICES_PER_STACK],
                f"Service{index}",
                image=ecs.ContainerImage.from_registry(IMAGE),
                container_port=8080,
                alarm_emails=[EMAIL],
                cluster=network.cluster,
            )
        return app

    return build


def build_peer(n: int) -> cdk.App:
    app = cdk.App()
    network = Network(app)
    for stack_index, stack in enumerate(service_stacks(app, n)):
        topic = sns.Topic(stack, "Alarms")
        topic.add_subscription(subscriptions.EmailSubscription(EMAIL))
        facade = monitoring.MonitoringFacade(
            stack,
            "Monitoring",
            alarm_factory_defaults=monitoring.AlarmFactoryDefaults(
                actions_enabled=True,
                alarm_name_prefix=f"peer{stack_index}",
                action=monitoring.SnsAlarmActionStrategy(on_alarm_topic=topic),
            ),
        )
        first = stack_index * SERVICES_PER_STACK
        for index in range(first, min(n, first + SERVICES_PER_STACK)):
            peer_service(stack, facade, network.cluster, index)
    return app


def peer_service(
    stack: cdk.Stack, facade: monitoring.MonitoringFacade, cluster: ecs.ICluster, index: int
) -> None:
    service = patterns.ApplicationLoadBalancedFargateService(
        stack,
        f"Service{index}",
        cluster=cluster,
        task_image_options=patterns.ApplicationLoadBalancedTaskImageOptions(
            image=ecs.ContainerImage.from_registry(IMAGE), container_port=8080
        ),
        min_healthy_percent=100,
    )
    facade.monitor_fargate_service(
        fargate_service=service,
        alarm_friendly_name=f"Service{index}",
        add_cpu_usage_alarm={"Warning": monitoring.UsageThreshold(max_usage_percent=80)},
        add_memory_usage_alarm={"Warning": monitoring.UsageThreshold(max_usage_percent=80)},
        add_running_task_count_alarm={
            "Warning": monitoring.RunningTaskCountThreshold(max_running_tasks=10)
        },
        add_unhealthy_task_count_alarm={
            "Warning": monitoring.UnhealthyTaskCountThreshold(max_unhealthy_tasks=0)
        },
    )


def timed(build: Callable[[int], cdk.App], n: int) -> tuple[float, list[dict[str, Any]]]:
    """Seconds to build and synthesize the app of ``n`` services; every stack's template."""
    gc.collect()
    start = time.perf_counter()
    assembly = build(n).synth()
    seconds = time.perf_counter() - start
    return seconds, [stack.template for stack in assembly.stacks]


EXPRESS = "AWS::ECS::ExpressGatewayService"
SERVICES_PER_EXPRESS_LOAD_BALANCER = 25


def monthly_cost(templates: list[dict[str, Any]]) -> float:
    return sum(stack_cost(t) for t in templates) + express_load_balancers_cost(templates)


def express_load_balancers_cost(templates: list[dict[str, Any]]) -> float:
    """The load balancers Express Mode makes: one per 25 services of a VPC and scheme. Services
    whose subnets are the same are in the same VPC: the same imported subnets, or the same
    subnets of their own template's VPC."""
    groups: Counter[str] = Counter()
    for index, template in enumerate(templates):
        for r in template["Resources"].values():
            if r["Type"] == EXPRESS:
                subnets = json.dumps(r["Properties"]["NetworkConfiguration"], sort_keys=True)
                local = '"Ref"' in subnets  # this template's own VPC
                groups[(str(index) if local else "") + subnets] += 1
    cost = 0.0
    for subnets, count in groups.items():
        balancers = -(-count // SERVICES_PER_EXPRESS_LOAD_BALANCER)
        public = "PublicSubnet" in subnets
        hourly = PRICE["alb_hour"] + (2 * PRICE["ipv4_hour"] if public else 0)
        cost += balancers * hourly * HOURS
    return cost


def is_public(express_service: dict[str, Any]) -> bool:
    """Whether an Express service runs in public subnets, read from the subnets' logical IDs
    (CDK names a VPC's subnets after their type)."""
    return "PublicSubnet" in json.dumps(express_service["Properties"]["NetworkConfiguration"])


def stack_cost(template: dict[str, Any]) -> float:
    resources = template["Resources"].values()
    kinds = Counter(r["Type"] for r in resources)
    cost = 0.0
    for r in resources:
        props = r.get("Properties", {})
        if r["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer":
            cost += PRICE["alb_hour"] * HOURS
            if props.get("Scheme") == "internet-facing":
                cost += 2 * PRICE["ipv4_hour"] * HOURS  # one address per AZ
        elif r["Type"] == "AWS::CloudWatch::Alarm":
            metrics = [m for m in props.get("Metrics", []) if "MetricStat" in m] or [props]
            cost += len(metrics) * PRICE["alarm_metric_month"]
    cost += kinds["AWS::EC2::NatGateway"] * (PRICE["nat_hour"] + PRICE["ipv4_hour"]) * HOURS
    cost += kinds["AWS::KMS::Key"] * PRICE["kms_key_month"]
    cost += kinds["AWS::CloudWatch::CompositeAlarm"] * PRICE["composite_alarm_month"]
    cost += kinds["AWS::CloudWatch::Dashboard"] * PRICE["dashboard_month"]
    services = kinds["AWS::ECS::Service"] + kinds[EXPRESS]
    cost += services * PRICE["container_insights_service_month"]
    cost += kinds["AWS::ECS::Cluster"] * PRICE["container_insights_cluster_month"]
    cost += tasks_cost(template)
    return cost


def tasks_cost(template: dict[str, Any]) -> float:
    """Fargate for the minimum number of tasks every service keeps running."""
    resources = template["Resources"]
    minimum = [
        r["Properties"]["MinCapacity"]
        for r in resources.values()
        if r["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget"
    ]
    services = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::ECS::Service"]
    cost = 0.0
    for i, service in enumerate(services):
        count = minimum[i] if len(minimum) == len(services) else service.get("DesiredCount", 1)
        task = resources[service["TaskDefinition"]["Ref"]]["Properties"]
        cost += count * task_hourly(task) * HOURS
    for r in resources.values():
        if r["Type"] == EXPRESS:
            express, task = r["Properties"], resources[r["Properties"]["TaskDefinitionArn"]["Ref"]]
            count = express["ScalingTarget"]["MinTaskCount"]
            public_ips = count * PRICE["ipv4_hour"] if is_public(r) else 0
            cost += (count * task_hourly(task["Properties"]) + public_ips) * HOURS
    return cost


def task_hourly(task: dict[str, Any]) -> float:
    return (
        int(task["Cpu"]) / 1024 * PRICE["vcpu_hour"] + int(task["Memory"]) / 1024 * PRICE["gb_hour"]
    )


def resources(templates: list[dict[str, Any]]) -> int:
    return sum(len(t["Resources"]) for t in templates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 25])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for build in BUILDERS.values():  # warm jsii up once for every side
        timed(build, 1)

    rows = []
    results: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for n in args.sizes:
        for name, build in BUILDERS.items():
            runs = []
            for _ in range(args.repeat):
                seconds, templates = timed(build, n)
                runs.append(seconds)
            results[name, n] = templates
            rows.append((name, n, min(runs), statistics.median(runs), resources(templates)))

    print(f"Synthesis of one app, N services (stacks of {SERVICES_PER_STACK} services sharing a")
    print(f"network stack); best of {args.repeat}, median in brackets")
    print(f"{'':16}{'N':>4}{'seconds':>16}{'s/service':>11}{'resources':>11}")
    per_service = {}
    for name, n, best, median, count in rows:
        per_service[name, n] = best / n
        print(f"{name:16}{n:>4}{best:>8.2f} ({median:5.2f}){best / n:>11.3f}{count:>11}")
    print()
    print("Against the peer, seconds per service:")
    print(f"  {'':6}{'ObservedService':>16}{'ExpressService':>16}")
    for n in args.sizes:
        ratios = [per_service[name, n] / per_service["peer", n] for name in OURS]
        print(f"  N={n:<4}" + "".join(f"{r:>16.2f}" for r in ratios))
    print()
    low, high = min(args.sizes), max(args.sizes)
    print(f"Per service, from N={low} and N={high} (USD per month, us-east-1 list prices, idle):")
    for name in BUILDERS:
        marginal = (resources(results[name, high]) - resources(results[name, low])) / (high - low)
        service_stack = results[name, low][-1]  # N=low services in one service stack
        per_stack = len(service_stack["Resources"]) - marginal * low
        fits = int((500 - per_stack) // marginal)
        cost_low, cost_high = monthly_cost(results[name, low]), monthly_cost(results[name, high])
        cost_next = (cost_high - cost_low) / (high - low)
        cost_first = cost_low - cost_next * (low - 1)
        print(
            f"  {name:16} {marginal:5.1f} resources/service; {fits} services fit in a "
            f"stack under 500 resources; first service ${cost_first:,.2f}, "
            f"each additional ${cost_next:,.2f}"
        )


OURS = ("ObservedService", "ExpressService")
BUILDERS: dict[str, Callable[[int], cdk.App]] = {
    "ObservedService": build_ours(ObservedService),
    "ExpressService": build_ours(ExpressService),
    "peer": build_peer,
}


if __name__ == "__main__":
    main()
