"""The delivery checker (``harness.delivery``): IAM evaluation on literal policies, the pairs it
must report on small hand-written templates (and accept once fixed, so a pass means something),
and the real check: AWS would allow every delivery of every scenario."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from conftest import ScenarioResult
from harness import delivery
from harness.compliance import ACCOUNT, REGION
from harness.delivery import Effect, Request, evaluate
from harness.scenarios import SCENARIOS

NAMES = sorted(SCENARIOS)
Results = dict[str, ScenarioResult]

APP = "app"
ENVIRONMENTS = {APP: (ACCOUNT, REGION)}
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms"
ALARM_ARN = f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:errors"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/deployer"
CLOUDWATCH = {"Service": "cloudwatch.amazonaws.com"}
ROLE = {"AWS": ROLE_ARN}


# --- The evaluator, on literal policies ---------------------------------------------------------


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(**statement: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "sns:Publish",
        "Resource": "*",
        **statement,
    }


def deny(**statement: Any) -> dict[str, Any]:
    return {**allow(**statement), "Effect": "Deny"}


def publish(
    context: dict[str, Any] | None = None,
    *,
    principal: dict[str, str] = CLOUDWATCH,
    action: str = "sns:Publish",
    resource: str = TOPIC_ARN,
) -> Request:
    return Request(principal, action, resource, context or {})


def test_a_policy_without_an_applying_allow_denies_implicitly() -> None:
    assert evaluate(policy(), publish()).effect is Effect.IMPLICIT_DENY
    assert evaluate(policy(allow(Action="sns:Subscribe")), publish()).effect is Effect.IMPLICIT_DENY
    assert evaluate(policy(allow()), publish()).effect is Effect.ALLOW


@pytest.mark.parametrize("first_deny", [True, False])
def test_an_explicit_deny_wins_over_any_allow(first_deny: bool) -> None:
    statements = [allow(Sid="Publish"), deny(Sid="NoPublish")]
    decision = evaluate(policy(*(statements[::-1] if first_deny else statements)), publish())
    assert (decision.effect, decision.statement) == (Effect.EXPLICIT_DENY, "'NoPublish'")


@pytest.mark.parametrize(
    ("pattern", "applies"),
    [
        ("sns:Publish", True),
        ("SNS:publish", True),  # actions are case-insensitive
        ("sns:*", True),
        ("sns:Pub*", True),
        ("sns:Publis?", True),
        ("sns:Publish?", False),
        ("s3:*", False),
        ("*", True),
    ],
)
def test_actions_match_case_insensitively_with_wildcards(pattern: str, applies: bool) -> None:
    assert evaluate(policy(allow(Action=pattern)), publish()).allowed is applies


def test_not_action_applies_to_every_other_action() -> None:
    document = policy(
        {"Effect": "Allow", "Principal": "*", "NotAction": "sns:Sub*", "Resource": "*"}
    )
    assert evaluate(document, publish()).allowed
    assert not evaluate(document, publish(action="sns:Subscribe")).allowed


@pytest.mark.parametrize(
    ("pattern", "applies"),
    [
        (TOPIC_ARN, True),
        (f"arn:aws:sns:*:{ACCOUNT}:*", True),
        (f"arn:aws:sns:{REGION}:{ACCOUNT}:alarm?", True),
        (f"arn:aws:sns:{REGION}:{ACCOUNT}:Alarms", False),  # resources are case-sensitive
        (f"arn:aws:sns:{REGION}:{ACCOUNT}:alarms-*", False),
    ],
)
def test_resources_match_with_wildcards(pattern: str, applies: bool) -> None:
    assert evaluate(policy(allow(Resource=pattern)), publish()).allowed is applies


def test_not_resource_applies_to_every_other_resource() -> None:
    document = policy(
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "sns:Publish",
            "NotResource": "arn:aws:sns:*:*:other",
        }
    )
    assert evaluate(document, publish()).allowed
    assert not evaluate(document, publish(resource="arn:aws:sns:r:1:other")).allowed


@pytest.mark.parametrize(
    ("principal_element", "principal", "applies"),
    [
        ("*", CLOUDWATCH, True),
        ({"AWS": "*"}, CLOUDWATCH, True),
        ({"Service": ["events.amazonaws.com", "cloudwatch.amazonaws.com"]}, CLOUDWATCH, True),
        ({"Service": "events.amazonaws.com"}, CLOUDWATCH, False),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, CLOUDWATCH, False),
        ({"AWS": ROLE_ARN}, ROLE, True),
        ({"AWS": [f"arn:aws:iam::{ACCOUNT}:role/other", ROLE_ARN]}, ROLE, True),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/other"}, ROLE, False),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, ROLE, True),  # the account delegates
        ({"AWS": ACCOUNT}, ROLE, True),
        ({"AWS": "arn:aws:iam::111122223333:root"}, ROLE, False),
        ({"Service": "cloudwatch.amazonaws.com"}, ROLE, False),
    ],
)
def test_principals(principal_element: Any, principal: dict[str, str], applies: bool) -> None:
    document = policy(allow(Principal=principal_element))
    assert evaluate(document, publish(principal=principal)).allowed is applies


def test_not_principal_applies_to_every_other_principal() -> None:
    document = policy(
        {"Effect": "Allow", "NotPrincipal": CLOUDWATCH, "Action": "sns:Publish", "Resource": "*"}
    )
    assert not evaluate(document, publish()).allowed
    assert evaluate(document, publish(principal=ROLE)).allowed


SOURCE = {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": ALARM_ARN}


@pytest.mark.parametrize(
    ("condition", "context", "holds"),
    [
        ({"StringEquals": {"aws:SourceAccount": ACCOUNT}}, SOURCE, True),
        ({"StringEquals": {"aws:SourceAccount": "111122223333"}}, SOURCE, False),
        ({"StringEquals": {"aws:SourceAccount": ACCOUNT}}, {}, False),  # missing: false
        ({"StringEquals": {"AWS:SOURCEACCOUNT": ACCOUNT}}, SOURCE, True),  # keys ignore case
        ({"StringEquals": {"aws:SourceAccount": ["111122223333", ACCOUNT]}}, SOURCE, True),
        ({"StringNotEquals": {"aws:SourceAccount": ACCOUNT}}, SOURCE, False),
        ({"StringNotEquals": {"aws:SourceAccount": ACCOUNT}}, {}, True),  # negated, missing: true
        ({"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}}, {}, True),
        ({"StringEqualsIfExists": {"aws:SourceAccount": "111122223333"}}, SOURCE, False),
        ({"StringEqualsIgnoreCase": {"aws:SourceArn": ALARM_ARN.upper()}}, SOURCE, True),
        ({"StringEquals": {"aws:SourceArn": ALARM_ARN.upper()}}, SOURCE, False),
        ({"StringLike": {"aws:SourceArn": "arn:aws:cloudwatch:*:alarm:*"}}, SOURCE, True),
        ({"StringNotLike": {"aws:SourceArn": "arn:aws:events:*"}}, SOURCE, True),
        ({"StringNotLike": {"aws:SourceArn": "arn:aws:cloudwatch:*"}}, SOURCE, False),
        ({"StringNotLike": {"aws:SourceArn": "arn:aws:cloudwatch:*"}}, {}, True),
        ({"ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:*:{ACCOUNT}:alarm:*"}}, SOURCE, True),
        # ArnLike matches each of the six parts on its own: "*" does not span colons there.
        ({"ArnLike": {"aws:SourceArn": "arn:aws:cloudwatch:*:alarm:*"}}, SOURCE, False),
        ({"ArnEquals": {"aws:SourceArn": ALARM_ARN}}, SOURCE, True),
        ({"ArnEquals": {"aws:SourceArn": ALARM_ARN}}, {}, False),
        ({"ArnNotEquals": {"aws:SourceArn": ALARM_ARN}}, SOURCE, False),
        ({"ArnNotLike": {"aws:SourceArn": "arn:aws:events:*"}}, {}, True),
        ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": True}, True),
        ({"Bool": {"aws:SecureTransport": "false"}}, {"aws:SecureTransport": True}, False),
        ({"Bool": {"aws:SecureTransport": "false"}}, {}, False),
        ({"NumericLessThan": {"s3:TlsVersion": 1.2}}, {"s3:TlsVersion": "1.0"}, True),
        ({"NumericLessThan": {"s3:TlsVersion": 1.2}}, {"s3:TlsVersion": "1.3"}, False),
        ({"NumericLessThan": {"s3:TlsVersion": 1.2}}, {}, False),
        ({"NumericGreaterThanEquals": {"s3:TlsVersion": "1.2"}}, {"s3:TlsVersion": "1.2"}, True),
        ({"Null": {"aws:SourceArn": "true"}}, {}, True),
        ({"Null": {"aws:SourceArn": "true"}}, SOURCE, False),
        ({"Null": {"aws:SourceArn": "false"}}, SOURCE, True),
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}, {}, False),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}, {}, True),
        (
            {"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}},
            {"aws:TagKeys": ["a", "team"]},
            True,
        ),
        (
            {"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "a"]}},
            {"aws:TagKeys": ["a", "team"]},
            True,
        ),
        (
            {"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}},
            {"aws:TagKeys": ["a", "team"]},
            False,
        ),
        # Every operator and every key must hold.
        ({"StringEquals": {"aws:SourceAccount": ACCOUNT, "aws:SourceArn": "x"}}, SOURCE, False),
        (
            {
                "StringEquals": {"aws:SourceAccount": ACCOUNT},
                "ArnLike": {"aws:SourceArn": ALARM_ARN},
            },
            SOURCE,
            True,
        ),
    ],
)
def test_condition_operators(
    condition: dict[str, Any], context: dict[str, Any], holds: bool
) -> None:
    assert evaluate(policy(allow(Condition=condition)), publish(context)).allowed is holds


def test_an_unknown_operator_never_allows_and_always_denies() -> None:
    condition = {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
    assert not evaluate(policy(allow(Condition=condition)), publish()).allowed
    decision = evaluate(policy(allow(), deny(Condition=condition)), publish())
    assert decision.effect is Effect.EXPLICIT_DENY
    assert decision.uncertain


def test_a_value_that_did_not_resolve_never_allows_and_always_denies() -> None:
    unresolved = "<unresolved Ref TopicParameter>"
    assert not evaluate(policy(allow(Resource=unresolved)), publish()).allowed
    assert not evaluate(
        policy(allow(Principal={"AWS": unresolved})), publish(principal=ROLE)
    ).allowed
    condition = {"StringEquals": {"aws:SourceAccount": unresolved}}
    decision = evaluate(policy(allow(), deny(Condition=condition)), publish(SOURCE))
    assert decision.effect is Effect.EXPLICIT_DENY
    assert decision.uncertain


# --- Resolving intrinsics -----------------------------------------------------------------------

RESOLVER_TEMPLATE: dict[str, Any] = {
    "Conditions": {
        "InUsEast1": {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]},
        "NotInUsEast1": {"Fn::Not": [{"Condition": "InUsEast1"}]},
        "Unknowable": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
    },
    "Parameters": {"Stage": {"Type": "String", "Default": "prod"}},
    "Resources": {
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
        "NamedTopic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "named"}},
        "Bucket": {"Type": "AWS::S3::Bucket"},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"Path": "/service/"}},
        "Rule": {"Type": "AWS::Events::Rule", "Properties": {"Name": "nightly"}},
        "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {}},
    },
}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"Ref": "AWS::AccountId"}, ACCOUNT),
        ({"Ref": "AWS::URLSuffix"}, "amazonaws.com"),
        ({"Ref": "AWS::StackName"}, APP),
        ({"Ref": "Topic"}, f"arn:aws:sns:{REGION}:{ACCOUNT}:Topic"),
        ({"Fn::GetAtt": ["NamedTopic", "TopicName"]}, "named"),
        ({"Ref": "Bucket"}, "bucket"),
        ({"Fn::GetAtt": "Bucket.Arn"}, "arn:aws:s3:::bucket"),
        ({"Ref": "Key"}, "Key"),
        ({"Fn::GetAtt": ["Key", "Arn"]}, f"arn:aws:kms:{REGION}:{ACCOUNT}:key/Key"),
        ({"Fn::GetAtt": ["Logs", "Arn"]}, f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:Logs:*"),
        ({"Fn::GetAtt": ["Role", "Arn"]}, f"arn:aws:iam::{ACCOUNT}:role/service/Role"),
        ({"Fn::GetAtt": ["Rule", "Arn"]}, f"arn:aws:events:{REGION}:{ACCOUNT}:rule/nightly"),
        ({"Fn::Join": ["-", ["a", {"Ref": "AWS::Region"}, 1]]}, f"a-{REGION}-1"),
        (
            {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}/${!Literal}"},
            "arn:aws:s3:::bucket/${Literal}",
        ),
        ({"Fn::Sub": "${Rule.Arn}"}, f"arn:aws:events:{REGION}:{ACCOUNT}:rule/nightly"),
        ({"Fn::Sub": ["${Name}-${AWS::Region}", {"Name": {"Ref": "Bucket"}}]}, f"bucket-{REGION}"),
        ({"Fn::Select": [4, {"Fn::Split": [":", {"Fn::GetAtt": ["Key", "Arn"]}]}]}, ACCOUNT),
        ({"Fn::Select": [1, {"Fn::GetAZs": ""}]}, f"{REGION}b"),
        ({"Fn::If": ["NotInUsEast1", "elsewhere", "here"]}, "here"),
        (["a", {"Ref": "AWS::NoValue"}, "b"], ["a", "b"]),
        ({"Key": {"Ref": "AWS::NoValue"}, "Other": 1}, {"Other": 1}),
    ],
)
def test_intrinsics_resolve_to_what_cloudformation_makes(value: Any, expected: Any) -> None:
    app = delivery.App({APP: RESOLVER_TEMPLATE}, ENVIRONMENTS)
    assert app.resolve(value, APP) == expected


@pytest.mark.parametrize(
    "value",
    [
        {"Ref": "Stage"},  # a parameter: chosen at deployment
        {"Ref": "Vpc"},  # a type the resolver does not model
        {"Fn::GetAtt": ["Topic", "NoSuchAttribute"]},
        {"Fn::If": ["Unknowable", "a", "b"]},
        {"Fn::Base64": "text"},
        {"Fn::ImportValue": "not-exported"},
        {"Fn::Select": [2, {"Fn::Split": [":", {"Ref": "Vpc"}]}]},
    ],
)
def test_what_cannot_resolve_becomes_a_placeholder(value: Any) -> None:
    app = delivery.App({APP: RESOLVER_TEMPLATE}, ENVIRONMENTS)
    resolved = app.resolve(value, APP)
    assert isinstance(resolved, str)
    assert resolved.startswith("<unresolved")
    assert "*" not in resolved


def test_import_value_reads_another_templates_export() -> None:
    exporter = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {}}},
        "Outputs": {"TopicArn": {"Value": {"Ref": "Topic"}, "Export": {"Name": "platform-topic"}}},
    }
    importer = {"Resources": {}}
    app = delivery.App(
        {"platform": exporter, "team": importer},
        {"platform": ("111122223333", "eu-west-1"), "team": (ACCOUNT, REGION)},
    )
    resolved = app.resolve({"Fn::ImportValue": "platform-topic"}, "team")
    # A generated name carries its stack name, as CloudFormation generates it.
    assert resolved == "arn:aws:sns:eu-west-1:111122223333:platform-Topic"


def test_every_template_needs_an_environment() -> None:
    with pytest.raises(
        ValueError, match=r"environments has no \(account, region\) for templates \['b'\]"
    ):
        delivery.check(
            {"a": {"Resources": {}}, "b": {"Resources": {}}}, environments={"a": (ACCOUNT, REGION)}
        )


# --- Pairs the checker must report, on hand-written templates ---------------------------------

ROOT = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
KEY_ADMINISTRATION = {"Effect": "Allow", "Principal": ROOT, "Action": "kms:*", "Resource": "*"}
IN_THIS_ACCOUNT = {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def arn(logical_id: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def service(name: str) -> dict[str, str]:
    return {"Service": f"{name}.amazonaws.com"}


def statement(principal: Any, actions: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": principal,
        "Action": actions,
        "Resource": resource,
        **extra,
    }


def key(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": policy(*statements)}}


def topic(key_id: Any = None) -> dict[str, Any]:
    return {"Type": "AWS::SNS::Topic", "Properties": {"KmsMasterKeyId": key_id} if key_id else {}}


def topic_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    ssl_only = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "sns:Publish",
        "Resource": ref("Topic"),
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    return {
        "Type": "AWS::SNS::TopicPolicy",
        "Properties": {"Topics": [ref("Topic")], "PolicyDocument": policy(ssl_only, *statements)},
    }


def role(trusted: Any, *policies: dict[str, Any]) -> dict[str, Any]:
    trust = policy({"Effect": "Allow", "Principal": trusted, "Action": "sts:AssumeRole"})
    properties: dict[str, Any] = {"AssumeRolePolicyDocument": trust}
    if policies:
        properties["Policies"] = [
            {"PolicyName": f"Inline{i}", "PolicyDocument": p} for i, p in enumerate(policies)
        ]
    return {"Type": "AWS::IAM::Role", "Properties": properties}


def identity(actions: Any, resource: Any = "*") -> dict[str, Any]:
    return policy({"Effect": "Allow", "Action": actions, "Resource": resource})


ALARM = {
    "Type": "AWS::CloudWatch::Alarm",
    "Properties": {
        "AlarmName": "errors",
        "AlarmActions": [ref("Topic")],
        "OKActions": [ref("Topic")],
    },
}
CLOUDWATCH_PUBLISHES = statement(
    service("cloudwatch"),
    "sns:Publish",
    ref("Topic"),
    Condition={**IN_THIS_ACCOUNT, "ArnLike": {"aws:SourceArn": arn("Alarm")}},
)
# Holds whether or not CloudWatch sends the source keys to KMS (undocumented).
CLOUDWATCH_USES_KEY = statement(
    service("cloudwatch"),
    ["kms:Decrypt", "kms:GenerateDataKey"],
    Condition={"StringEqualsIfExists": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
)


def rule(target: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::Events::Rule",
        "Properties": {
            "EventPattern": {"source": ["aws.codepipeline"]},
            "Targets": [{"Id": "Target0", **target}],
        },
    }


RULE = rule({"Arn": ref("Topic")})
RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/Rule"
# Holds whether or not EventBridge sends the source keys (AWS documents no condition here).
EVENTS_PUBLISH = statement(
    service("events"),
    "sns:Publish",
    ref("Topic"),
    Condition={"StringEqualsIfExists": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
)

LOG_GROUP_ARN = {
    "Fn::Sub": "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:*"
}
LOGS_USE_KEY = statement(
    {"Service": {"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}},
    ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
    Condition={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": LOG_GROUP_ARN}},
)


def events_log_policy(condition: dict[str, Any]) -> dict[str, Any]:
    """A CloudWatch Logs resource policy as CDK writes it: a JSON string joined around the log
    group's ARN (``condition`` is literal text of that string)."""
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    grant = statement(service("events"), actions, "LOG_GROUP_ARN", Condition=condition)
    before, after = json.dumps(policy(grant)).split("LOG_GROUP_ARN")
    document = {"Fn::Join": ["", [before, arn("Logs"), after]]}
    return {
        "Type": "AWS::Logs::ResourcePolicy",
        "Properties": {"PolicyName": "events", "PolicyDocument": document},
    }


def bucket_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {
        "Type": "AWS::S3::BucketPolicy",
        "Properties": {"Bucket": ref("LogBucket"), "PolicyDocument": policy(*statements)},
    }


def objects(path: str) -> dict[str, Any]:
    return {"Fn::Join": ["", [arn("LogBucket"), path]]}


FLOW_LOG = {
    "Type": "AWS::EC2::FlowLog",
    "Properties": {
        "LogDestinationType": "s3",
        "LogDestination": {"Fn::Join": ["", [arn("LogBucket"), "/vpc-flow-logs/"]]},
        "ResourceId": "vpc-0a1b2c3d4e5f60718",
        "ResourceType": "VPC",
        "TrafficType": "ALL",
    },
}
DELIVERY_READS_ACL = statement(service("delivery.logs"), "s3:GetBucketAcl", arn("LogBucket"))
DELIVERY_WRITES = statement(
    service("delivery.logs"),
    "s3:PutObject",
    objects(f"/vpc-flow-logs/AWSLogs/{ACCOUNT}/*"),
    Condition={
        "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceAccount": ACCOUNT}
    },
)


def appconfig(*, environment_depends_on: list[str]) -> dict[str, Any]:
    """An environment rolled back by one alarm, read through a role with a managed policy."""
    return {
        "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmName": "errors"}},
        "AlarmRole": role(service("appconfig")),
        "ReadAlarms": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "PolicyDocument": identity("cloudwatch:DescribeAlarms", arn("Alarm")),
                "Roles": [ref("AlarmRole")],
            },
        },
        "Application": {"Type": "AWS::AppConfig::Application", "Properties": {"Name": "flags"}},
        "Environment": {
            "Type": "AWS::AppConfig::Environment",
            "DependsOn": environment_depends_on,
            "Properties": {
                "ApplicationId": ref("Application"),
                "Name": "production",
                "Monitors": [{"AlarmArn": arn("Alarm"), "AlarmRoleArn": arn("AlarmRole")}],
            },
        },
        "Deployment": {
            "Type": "AWS::AppConfig::Deployment",
            "Properties": {
                "ApplicationId": ref("Application"),
                "EnvironmentId": ref("Environment"),
            },
        },
    }


PIPELINE = {
    "Type": "AWS::CodePipeline::Pipeline",
    "Properties": {
        "RoleArn": arn("PipelineRole"),
        "Stages": [{"Name": "Deploy", "Actions": [{"Name": "Ecs", "RoleArn": arn("ActionRole")}]}],
    },
}


@dataclass(frozen=True)
class Case:
    """A template AWS would refuse a delivery of, and the change that fixes it."""

    name: str
    broken: dict[str, Any]
    fix: dict[str, Any]
    """The resources the fixed template replaces or adds."""
    sender: str
    receiver: str
    problem: str
    """What the report of the broken template says (part of one problem's text)."""

    @property
    def fixed(self) -> dict[str, Any]:
        return {**self.broken, **self.fix}


LOGS = {"Type": "AWS::Logs::LogGroup", "Properties": {}}
LOGS_RULE = rule(
    {"Arn": {"Fn::Sub": "arn:aws:logs:${AWS::Region}:${AWS::AccountId}:log-group:${Logs}"}}
)
ROLE_RULE = rule({"Arn": ref("Topic"), "RoleArn": arn("EventsRole")})
EVENTS_ROLE = role(
    service("events"), identity(["sns:Publish", "kms:Decrypt", "kms:GenerateDataKey"])
)
EVENTS_USE_KEY = statement(service("events"), ["kms:Decrypt", "kms:GenerateDataKey"])
PIPELINE_ROLE = role(service("codepipeline"), identity("sts:AssumeRole", arn("ActionRole")))


def function(role_id: str) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Function", "Properties": {"Role": arn(role_id)}}


EXPRESS_SERVICE = {
    "Type": "AWS::ECS::ExpressGatewayService",
    "Properties": {
        "Cluster": "platform",
        "ServiceName": "orders",
        "InfrastructureRoleArn": arn("Role"),
        "TaskDefinitionArn": ref("Task"),
    },
}
EXPRESS_ARN = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/platform/orders"
EXPRESS_DEPLOY_ACTIONS = [
    "ecs:DescribeExpressGatewayService",
    "ecs:UpdateExpressGatewayService",
    "ecs:ListServiceDeployments",
]


def express_deploy(passed_to: str) -> dict[str, Any]:
    """An Express service, its task definition and roles, and a pipeline whose CodeBuild action
    deploys to it with a role that may pass the task's roles to ``passed_to``."""
    variables = [{"name": "EXPRESS_SERVICE_ARN", "type": "PLAINTEXT", "value": EXPRESS_ARN}]
    action = {
        "Name": "Deploy-orders",
        "ActionTypeId": {"Category": "Build", "Owner": "AWS", "Provider": "CodeBuild"},
        "Configuration": {
            "ProjectName": ref("Deploy"),
            "EnvironmentVariables": json.dumps(variables),
        },
    }
    pass_role = {
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": [arn("TaskRole"), arn("ExecutionRole")],
        "Condition": {"StringEquals": {"iam:PassedToService": passed_to}},
    }
    deploy_policy = policy(
        {"Effect": "Allow", "Action": EXPRESS_DEPLOY_ACTIONS, "Resource": EXPRESS_ARN},
        {
            "Effect": "Allow",
            "Action": ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"],
            "Resource": "*",
        },
        pass_role,
    )
    return {
        "Service": {**EXPRESS_SERVICE, "Properties": {**EXPRESS_SERVICE["Properties"]}},
        "Role": role(service("ecs")),
        "TaskRole": role(service("ecs-tasks")),
        "ExecutionRole": role(service("ecs-tasks")),
        "Task": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "TaskRoleArn": arn("TaskRole"),
                "ExecutionRoleArn": arn("ExecutionRole"),
            },
        },
        "Deploy": {
            "Type": "AWS::CodeBuild::Project",
            "Properties": {"ServiceRole": arn("DeployRole")},
        },
        "DeployRole": role(service("codebuild"), deploy_policy),
        "Pipeline": {
            "Type": "AWS::CodePipeline::Pipeline",
            "Properties": {"Stages": [{"Name": "Production", "Actions": [action]}]},
        },
    }


CASES = [
    Case(
        "alarm to a topic whose policy only denies",
        broken={"Alarm": ALARM, "Topic": topic(), "TopicPolicy": topic_policy()},
        fix={"TopicPolicy": topic_policy(CLOUDWATCH_PUBLISHES)},
        sender="Alarm",
        receiver="Topic",
        problem="sns:Publish by cloudwatch.amazonaws.com on "
        f"arn:aws:sns:{REGION}:{ACCOUNT}:Topic is implicitly denied",
    ),
    Case(
        # Without a TopicPolicy the topic keeps SNS's default policy: same-account publishers.
        "alarm to a topic encrypted with the AWS-managed key",
        broken={"Alarm": ALARM, "Topic": topic("alias/aws/sns")},
        fix={"Topic": topic(arn("Key")), "Key": key(KEY_ADMINISTRATION, CLOUDWATCH_USES_KEY)},
        sender="Alarm",
        receiver="Topic",
        problem="encrypted with the AWS-managed key alias/aws/sns",
    ),
    Case(
        "EventBridge to an encrypted topic whose key policy conditions on aws:SourceAccount",
        broken={
            "Rule": RULE,
            "Topic": topic(arn("Key")),
            "TopicPolicy": topic_policy(EVENTS_PUBLISH),
            "Key": key(KEY_ADMINISTRATION, {**EVENTS_USE_KEY, "Condition": IN_THIS_ACCOUNT}),
        },
        fix={"Key": key(KEY_ADMINISTRATION, EVENTS_USE_KEY)},
        sender="Rule",
        receiver="Topic",
        problem="kms:GenerateDataKey by events.amazonaws.com on "
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/Key is implicitly denied",
    ),
    Case(
        # Same account: the role's identity policy is enough for the topic, not for the key.
        "EventBridge through a role to a topic whose key policy does not allow the account",
        broken={
            "Rule": ROLE_RULE,
            "EventsRole": EVENTS_ROLE,
            "Topic": topic(arn("Key")),
            "TopicPolicy": topic_policy(),
            "Key": key(CLOUDWATCH_USES_KEY),
        },
        fix={"Key": key(KEY_ADMINISTRATION, CLOUDWATCH_USES_KEY)},
        sender="Rule",
        receiver="Topic",
        problem="allows neither the account nor the role",
    ),
    Case(
        "EventBridge to a log group whose resource policy needs aws:SourceAccount",
        broken={
            "Rule": LOGS_RULE,
            "Logs": LOGS,
            "Policy": events_log_policy({"StringEquals": {"aws:SourceAccount": ACCOUNT}}),
        },
        # Holds whether or not EventBridge sends the key.
        fix={"Policy": events_log_policy({"ArnEqualsIfExists": {"aws:SourceArn": RULE_ARN}})},
        sender="Rule",
        receiver="Logs",
        problem="logs:CreateLogStream by events.amazonaws.com on "
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:Logs:log-stream:* is implicitly denied "
        "(no statement allows it) (without aws:SourceAccount, aws:SourceArn)",
    ),
    Case(
        "log group encrypted with a key that lacks the CloudWatch Logs statement",
        broken={
            "Logs": {**LOGS, "Properties": {"KmsKeyId": arn("Key")}},
            "Key": key(KEY_ADMINISTRATION),
        },
        fix={"Key": key(KEY_ADMINISTRATION, LOGS_USE_KEY)},
        sender="Logs",
        receiver="Key",
        problem=f"kms:Encrypt by logs.{REGION}.amazonaws.com on "
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/Key is implicitly denied",
    ),
    Case(
        "VPC flow log to a bucket whose policy lacks the delivery statement",
        broken={
            "FlowLog": FLOW_LOG,
            "LogBucket": {"Type": "AWS::S3::Bucket"},
            "LogBucketPolicy": bucket_policy(DELIVERY_READS_ACL),
        },
        fix={"LogBucketPolicy": bucket_policy(DELIVERY_READS_ACL, DELIVERY_WRITES)},
        sender="FlowLog",
        receiver="LogBucket",
        problem="s3:PutObject by delivery.logs.amazonaws.com on "
        f"arn:aws:s3:::logbucket/vpc-flow-logs/AWSLogs/{ACCOUNT}/* is implicitly denied",
    ),
    Case(
        # The deployment refers to the environment: it depends on the policy through it.
        "AppConfig monitor whose role policy is not a dependency of the environment",
        broken=appconfig(environment_depends_on=[]),
        fix=appconfig(environment_depends_on=["ReadAlarms"]),
        sender="Environment",
        receiver="AlarmRole",
        problem="app/ReadAlarms (a policy of app/AlarmRole) is not a dependency of app/Environment",
    ),
    Case(
        "pipeline action role that trusts CodePipeline instead of the pipeline role",
        broken={
            "Pipeline": PIPELINE,
            "PipelineRole": PIPELINE_ROLE,
            "ActionRole": role(service("codepipeline")),
        },
        fix={"ActionRole": role({"AWS": arn("PipelineRole")})},
        sender="PipelineRole",
        receiver="ActionRole",
        problem="trust policy of app/ActionRole: sts:AssumeRole by "
        f"arn:aws:iam::{ACCOUNT}:role/PipelineRole",
    ),
    Case(
        "Express service whose infrastructure role trusts ECS tasks instead of ECS",
        broken={"Service": EXPRESS_SERVICE, "Role": role(service("ecs-tasks"))},
        fix={"Role": role(service("ecs"))},
        sender="Service",
        receiver="Role",
        problem="sts:AssumeRole by ecs.amazonaws.com",
    ),
    Case(
        "Express deploy role that may pass the task roles to ECS, not to ECS tasks",
        broken=express_deploy("ecs.amazonaws.com"),
        fix={"DeployRole": express_deploy("ecs-tasks.amazonaws.com")["DeployRole"]},
        sender="DeployRole",
        receiver="Service",
        problem=f"iam:PassRole by app/DeployRole on arn:aws:iam::{ACCOUNT}:role/TaskRole",
    ),
    Case(
        "Lambda function whose role trusts another service",
        broken={"Function": function("Role"), "Role": role(service("ecs-tasks"))},
        fix={"Role": role(service("lambda"))},
        sender="Function",
        receiver="Role",
        problem="sts:AssumeRole by lambda.amazonaws.com",
    ),
]


# Incidents: OpsCenter, investigations, chat channels, paging, notification rules.

OPSITEM = f"arn:aws:ssm:{REGION}:{ACCOUNT}:opsitem:2#CATEGORY=Availability"
READ_ONLY = "arn:aws:iam::aws:policy/CloudWatchReadOnlyAccess"


def alarm(
    *, alarm_actions: Sequence[Any] = (), ok_actions: Sequence[Any] = (), kind: str = ""
) -> dict[str, Any]:
    properties: dict[str, Any] = {"AlarmName": "health"}
    if alarm_actions:
        properties["AlarmActions"] = list(alarm_actions)
    if ok_actions:
        properties["OKActions"] = list(ok_actions)
    return {"Type": kind or "AWS::CloudWatch::Alarm", "Properties": properties}


def investigation_group(principal: str) -> dict[str, Any]:
    """A group whose policy lets ``principal`` create investigations, as AWS documents it."""
    grant = statement(
        service(principal),
        ["aiops:CreateInvestigation", "aiops:CreateInvestigationEvent"],
        Condition={
            "StringEquals": {"aws:SourceAccount": ACCOUNT},
            "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:*"},
        },
    )
    return {
        "Type": "AWS::AIOps::InvestigationGroup",
        "Properties": {"Name": "platform", "InvestigationGroupPolicy": json.dumps(policy(grant))},
    }


def chat_channel(*, guardrails: list[str] | None, kind: str = "Slack") -> dict[str, Any]:
    properties: dict[str, Any] = {
        "ConfigurationName": "team",
        "IamRoleArn": arn("ChatRole"),
        "SnsTopicArns": [ref("Topic")],
    }
    if guardrails is not None:
        properties["GuardrailPolicies"] = guardrails
    resource = (
        "SlackChannelConfiguration" if kind == "Slack" else "MicrosoftTeamsChannelConfiguration"
    )
    return {"Type": f"AWS::Chatbot::{resource}", "Properties": properties}


def page(**extra: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::SNS::Subscription",
        "Properties": {
            "TopicArn": ref("Topic"),
            "Protocol": "https",
            "Endpoint": "{{resolve:secretsmanager:pagerduty:SecretString:url::}}",
            **extra,
        },
    }


def notification_rule(target_type: str, target: str) -> dict[str, Any]:
    return {
        "Type": "AWS::CodeStarNotifications::NotificationRule",
        "Properties": {
            "Name": "pipeline",
            "DetailType": "FULL",
            "EventTypeIds": ["codepipeline-pipeline-pipeline-execution-failed"],
            "Resource": f"arn:aws:codepipeline:{REGION}:{ACCOUNT}:checkout",
            "Targets": [{"TargetType": target_type, "TargetAddress": ref(target)}],
        },
    }


CODESTAR_PUBLISHES = statement(
    service("codestar-notifications"),
    "sns:Publish",
    ref("Topic"),
    Condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}},
)
# The Developer Tools console guide's key statement: through SNS in the region only.
CODESTAR_USES_KEY = statement(
    service("codestar-notifications"),
    ["kms:Decrypt", "kms:GenerateDataKey*"],
    Condition={"StringEquals": {"kms:ViaService": f"sns.{REGION}.amazonaws.com"}},
)
PAGED = {"Alarm": alarm(alarm_actions=[ref("Topic")], ok_actions=[ref("Topic")]), "Topic": topic()}

CASES += [
    Case(
        "OpsItem action of another region than the alarm's",
        broken={"Alarm": alarm(alarm_actions=[OPSITEM.replace(REGION, "eu-west-1")])},
        fix={"Alarm": alarm(alarm_actions=[OPSITEM])},
        sender="Alarm",
        receiver=f"OpsCenter of {ACCOUNT} in {REGION}",
        problem=f"the action names {ACCOUNT} in eu-west-1, not the alarm's {ACCOUNT} in {REGION}",
    ),
    Case(
        "OpsItem action with a severity CloudWatch does not know",
        broken={"Alarm": alarm(alarm_actions=[OPSITEM.replace(":opsitem:2", ":opsitem:5")])},
        fix={"Alarm": alarm(alarm_actions=[OPSITEM])},
        sender="Alarm",
        receiver=f"OpsCenter of {ACCOUNT} in {REGION}",
        problem="'5#CATEGORY=Availability' is not a severity 1-4",
    ),
    Case(
        "OpsItem action on a composite alarm's OK transition",
        broken={"Alarm": alarm(ok_actions=[OPSITEM], kind="AWS::CloudWatch::CompositeAlarm")},
        fix={"Alarm": alarm(alarm_actions=[OPSITEM], kind="AWS::CloudWatch::CompositeAlarm")},
        sender="Alarm",
        receiver=f"OpsCenter of {ACCOUNT} in {REGION}",
        problem="OK and INSUFFICIENT_DATA actions may only be SNS or Lambda",
    ),
    Case(
        "investigations in a group whose policy does not let CloudWatch alarms in",
        broken={
            "Alarm": alarm(alarm_actions=[arn("Group")]),
            "Group": investigation_group("cloudwatch"),
        },
        fix={"Group": investigation_group("aiops.alarms.cloudwatch")},
        sender="Alarm",
        receiver="Group",
        problem="aiops:CreateInvestigation by aiops.alarms.cloudwatch.amazonaws.com on "
        f"arn:aws:aiops:{REGION}:{ACCOUNT}:investigation-group/",
    ),
    Case(
        "chat channel without guardrails (AdministratorAccess applies)",
        broken={
            "Topic": topic(),
            "ChatRole": role(service("chatbot")),
            "Chat": chat_channel(guardrails=None),
        },
        fix={"Chat": chat_channel(guardrails=[READ_ONLY])},
        sender="Topic",
        receiver="Chat",
        problem="no GuardrailPolicies: the chat service applies AdministratorAccess",
    ),
    Case(
        "chat channel whose role trusts another service",
        broken={
            "Topic": topic(),
            "ChatRole": role(service("events")),
            "Chat": chat_channel(guardrails=[READ_ONLY]),
        },
        fix={"ChatRole": role(service("chatbot"))},
        sender="Topic",
        receiver="Chat",
        problem="sts:AssumeRole by chatbot.amazonaws.com",
    ),
    Case(
        "paging subscription with raw message delivery",
        broken={**PAGED, "Page": page(RawMessageDelivery=True)},
        fix={"Page": page()},
        sender="Topic",
        receiver="Page (its https endpoint)",
        problem="has RawMessageDelivery on",
    ),
    Case(
        "paging through a topic the alarm does not tell on OK",
        broken={**PAGED, "Alarm": alarm(alarm_actions=[ref("Topic")]), "Page": page()},
        fix={"Alarm": PAGED["Alarm"]},
        sender="Topic",
        receiver="Page (its https endpoint)",
        problem="app/Alarm publishes to app/Topic on ALARM but not on OK: the page never resolves",
    ),
    Case(
        "notification rule to an encrypted topic whose key policy lacks CodeStar Notifications",
        broken={
            "Rule": notification_rule("SNS", "Topic"),
            "Topic": topic(arn("Key")),
            "TopicPolicy": topic_policy(CODESTAR_PUBLISHES),
            "Key": key(KEY_ADMINISTRATION),
        },
        fix={"Key": key(KEY_ADMINISTRATION, CODESTAR_USES_KEY)},
        sender="Rule",
        receiver="Topic",
        problem="kms:GenerateDataKey by codestar-notifications.amazonaws.com on "
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/Key is implicitly denied",
    ),
    Case(
        "notification rule to a topic whose policy does not allow CodeStar Notifications",
        broken={
            "Rule": notification_rule("SNS", "Topic"),
            "Topic": topic(),
            "TopicPolicy": topic_policy(),
        },
        fix={"TopicPolicy": topic_policy(CODESTAR_PUBLISHES)},
        sender="Rule",
        receiver="Topic",
        problem="sns:Publish by codestar-notifications.amazonaws.com on "
        f"arn:aws:sns:{REGION}:{ACCOUNT}:Topic is implicitly denied",
    ),
    Case(
        "notification rule naming a Teams channel as a Slack target",
        broken={
            "Rule": notification_rule("AWSChatbotSlack", "Chat"),
            "ChatRole": role(service("chatbot")),
            "Chat": chat_channel(guardrails=[READ_ONLY], kind="Teams"),
        },
        fix={"Rule": notification_rule("AWSChatbotMicrosoftTeams", "Chat")},
        sender="Rule",
        receiver="Chat",
        problem="the target type AWSChatbotSlack names app/Chat, a "
        "AWS::Chatbot::MicrosoftTeamsChannelConfiguration",
    ),
]


def pair(resources: dict[str, Any], sender: str, receiver: str) -> delivery.Pair:
    pairs = delivery.check({APP: {"Resources": resources}}, environments=ENVIRONMENTS)
    # Receivers outside the app (OpsCenter, say) are named without the template.
    receivers = (f"{APP}/{receiver}", receiver)
    found = [p for p in pairs if p.sender == f"{APP}/{sender}" and p.receiver in receivers]
    assert len(found) == 1, (
        f"no single {sender} -> {receiver} pair in:\n{delivery.format_pairs(pairs)}"
    )
    return found[0]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_checker_reports_the_broken_template(case: Case) -> None:
    problems = [str(p) for p in pair(case.broken, case.sender, case.receiver).problems]
    assert any(case.problem in p for p in problems), "\n".join(problems)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_checker_accepts_the_fixed_template(case: Case) -> None:
    found = pair(case.fixed, case.sender, case.receiver)
    assert found.problems == [], delivery.format_pairs([found])


@pytest.mark.parametrize(
    ("managed_policy_arn", "kinds"),
    [
        # AWS-managed: the checker does not know what it allows, so it cannot show the read is.
        (
            {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/CloudWatchReadOnlyAccess"},
            ["not evaluable"],
        ),
        # The app's own managed policy, attached by ARN rather than through its Roles.
        (ref("ReadAlarms"), []),
    ],
)
def test_managed_policy_arns_of_a_role(managed_policy_arn: Any, kinds: list[str]) -> None:
    resources = appconfig(environment_depends_on=["ReadAlarms"])
    del resources["ReadAlarms"]["Properties"]["Roles"]
    resources["AlarmRole"]["Properties"]["ManagedPolicyArns"] = [managed_policy_arn]
    assert [p.kind for p in pair(resources, "Environment", "AlarmRole").problems] == kinds


def test_a_topic_without_a_topic_policy_keeps_the_default_policy() -> None:
    # SNS's default policy lets the account's publishers (CloudWatch) in, not EventBridge.
    assert pair({"Alarm": ALARM, "Topic": topic()}, "Alarm", "Topic").problems == []
    problems = pair({"Rule": RULE, "Topic": topic()}, "Rule", "Topic").problems
    # Denied with and without the source keys.
    assert [p.message.split(":")[0] for p in problems] == ["default policy of app/Topic"] * 2


def test_an_alarm_action_that_does_not_resolve_is_reported() -> None:
    template = {
        "Parameters": {"TopicArn": {"Type": "String"}},
        "Resources": {"Alarm": {**ALARM, "Properties": {"AlarmActions": [ref("TopicArn")]}}},
    }
    pairs = delivery.denied(delivery.check({APP: template}, environments=ENVIRONMENTS))
    assert [(p.receiver, [x.kind for x in p.problems]) for p in pairs] == [
        ("<unresolved Ref TopicArn>", [delivery.UNRESOLVED_VALUE])
    ]


def test_a_topic_of_another_template_is_checked_through_its_export() -> None:
    platform = {
        "Resources": {"Topic": topic(), "TopicPolicy": topic_policy()},
        "Outputs": {"Arn": {"Value": ref("Topic"), "Export": {"Name": "alarm-topic"}}},
    }
    team = {
        "Resources": {
            "Alarm": {**ALARM, "Properties": {"AlarmActions": [{"Fn::ImportValue": "alarm-topic"}]}}
        }
    }
    pairs = delivery.check(
        {"platform": platform, "team": team},
        environments={"platform": (ACCOUNT, REGION), "team": (ACCOUNT, REGION)},
    )
    assert [(p.sender, p.receiver, bool(p.problems)) for p in pairs] == [
        ("team/Alarm", "platform/Topic", True)
    ]


def bake(alarm: Any) -> dict[str, Any]:
    """A pipeline whose last stage rolls back when ``alarm`` fires after it succeeded."""
    rule = {
        "Name": "Bake",
        "RuleTypeId": {"Category": "Rule", "Owner": "AWS", "Provider": "CloudWatchAlarm"},
        "Configuration": {"AlarmName": alarm, "AlarmStates": "ALARM"},
    }
    stage = {"Name": "Production", "OnSuccess": {"Conditions": [{"Rules": [rule]}]}}
    return {"Type": "AWS::CodePipeline::Pipeline", "Properties": {"Stages": [stage]}}


def release_pipeline(watched: str, secrets: str) -> dict[str, Any]:
    """A pipeline whose stage runs the release project with ``watched`` and ``secrets``."""
    variables = [
        {"name": "WATCHED_ALARMS", "type": "PLAINTEXT", "value": watched},
        {"name": "IMAGE_SECRETS", "type": "PLAINTEXT", "value": secrets},
    ]
    action = {
        "Name": "Release",
        "ActionTypeId": {"Category": "Build", "Owner": "AWS", "Provider": "CodeBuild"},
        "Configuration": {
            "ProjectName": ref("Release"),
            "EnvironmentVariables": json.dumps(variables),
        },
    }
    return {
        "Type": "AWS::CodePipeline::Pipeline",
        "Properties": {"Stages": [{"Name": "Production", "Actions": [action]}]},
    }


def test_the_release_action_must_read_its_alarms_and_write_its_secrets() -> None:
    secret_arn = {
        "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:app/deployed-image-??????"
    }
    resources = {
        "Errors": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmName": "errors"}},
        "Image": {
            "Type": "AWS::SecretsManager::Secret",
            "Properties": {"Name": "app/deployed-image"},
        },
        "Release": {
            "Type": "AWS::CodeBuild::Project",
            "Properties": {"ServiceRole": arn("ReleaseRole")},
        },
        "ReleaseRole": role(
            service("codebuild"), identity(["cloudwatch:DescribeAlarms"], ALARM_ARN)
        ),
        "Pipeline": release_pipeline("errors", "app/deployed-image"),
    }
    alarm = pair(resources, "ReleaseRole", "Errors")
    assert [p.message.split(" by ")[0] for p in alarm.problems] == [
        "cloudwatch:DescribeAlarmHistory"
    ]
    image = pair(resources, "ReleaseRole", "Image")
    assert "secretsmanager:PutSecretValue" in str(image.problems)
    resources["ReleaseRole"] = role(
        service("codebuild"),
        identity(["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"], ALARM_ARN),
        identity(["secretsmanager:PutSecretValue"], secret_arn),
    )
    assert pair(resources, "ReleaseRole", "Errors").problems == []
    assert pair(resources, "ReleaseRole", "Image").problems == []
    consumed = delivery.consumers({APP: {"Resources": resources}}, environments=ENVIRONMENTS)
    assert [(c.how, c.resource, c.type) for c in consumed] == [
        ("CodeBuild action WATCHED_ALARMS", "app/Errors", "AWS::CloudWatch::Alarm")
    ]


def test_consumers_resolve_each_alarm_to_its_type() -> None:
    watched = {"Name": "WATCHED_ALARMS", "Value": "errors health elsewhere"}
    deployment_alarms = {"Alarms": {"AlarmNames": ["errors"], "Enable": True, "Rollback": True}}
    resources = {
        "Errors": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmName": "errors"}},
        "Health": {
            "Type": "AWS::CloudWatch::CompositeAlarm",
            "Properties": {"AlarmName": "health"},
        },
        "Service": {
            "Type": "AWS::ECS::Service",
            "Properties": {"DeploymentConfiguration": deployment_alarms},
        },
        "Pipeline": bake(ref("Health")),
        "Environment": {
            "Type": "AWS::AppConfig::Environment",
            "Properties": {"Monitors": [{"AlarmArn": arn("Errors")}]},
        },
        "Gate": {
            "Type": "AWS::CodeBuild::Project",
            "Properties": {"Environment": {"EnvironmentVariables": [watched]}},
        },
    }
    app = {"templates": {APP: {"Resources": resources}}, "environments": ENVIRONMENTS}
    assert [(c.consumer, c.alarm, c.resource, c.type) for c in delivery.consumers(**app)] == [
        ("app/Service", "errors", "app/Errors", "AWS::CloudWatch::Alarm"),
        ("app/Pipeline", "health", "app/Health", "AWS::CloudWatch::CompositeAlarm"),
        ("app/Environment", ALARM_ARN, "app/Errors", "AWS::CloudWatch::Alarm"),
        ("app/Gate", "errors", "app/Errors", "AWS::CloudWatch::Alarm"),
        ("app/Gate", "health", "app/Health", "AWS::CloudWatch::CompositeAlarm"),
        ("app/Gate", "elsewhere", None, None),
    ]
    assert delivery.monitors_per_environment(**app) == {"app/Environment": 1}


# --- The real check: every scenario -------------------------------------------------------------


def scenario_app(results: Results, name: str) -> dict[str, Any]:
    """The arguments of ``delivery.check`` for the scenario's template."""
    return {
        "templates": {name: results[name].normal.template},
        "environments": {name: (ACCOUNT, REGION)},
    }


@pytest.mark.parametrize("name", NAMES)
def test_scenario_deliveries_are_allowed(scenario_results: Results, name: str) -> None:
    refused = delivery.denied(delivery.check(**scenario_app(scenario_results, name)))
    assert refused == [], f"{name}: AWS would refuse:\n{delivery.format_pairs(refused)}"


@pytest.mark.parametrize("name", NAMES)
def test_scenario_consumers_read_alarms_they_are_documented_to_read(
    scenario_results: Results, name: str
) -> None:
    consumed = delivery.consumers(**scenario_app(scenario_results, name))
    wrong = [
        f"  {c.consumer} ({c.how}) reads {c.alarm}: {c.type or 'not an alarm of the app'}"
        for c in delivery.misread(consumed)
    ]
    assert wrong == [], (
        f"{name}: consumers reading an alarm of a kind AWS does not document:\n" + "\n".join(wrong)
    )


@pytest.mark.parametrize("name", NAMES)
def test_scenario_appconfig_environments_have_at_most_five_monitors(
    scenario_results: Results, name: str
) -> None:
    # AppConfig quota: 5 monitors per environment.
    counts = delivery.monitors_per_environment(**scenario_app(scenario_results, name))
    assert {environment: n for environment, n in counts.items() if n > 5} == {}


# --- The checker finds every pair, and each one can fail ----------------------------------------
#
# A receiver the checker cannot resolve makes no pair at all, so "nothing denied" alone could
# pass with nothing checked. ``expected_pairs`` scans a template for the pairs it must hold, by a
# route independent of the checker (literal Refs only), and ``MUTATIONS`` remove from real
# scenario templates the allow each pair needs: the checker must then report it.

ALARM_TO_TOPIC = "CloudWatch alarm actions publish to the topic"
RULE_TO_TOPIC = "EventBridge rule target publishes to the topic"
RULE_TO_LOGS = "EventBridge rule target writes to the log group"
FLOW_LOGS = "VPC flow logs are delivered to the bucket"
ACCESS_LOGS = "Elastic Load Balancing writes access logs to the bucket"
LOGS_TO_KEY = "CloudWatch Logs encrypts the log group with the key"
NOTICES = "AppConfig deployment notifications publish to the topic"
MONITORS = "AppConfig assumes the monitor's role to read"
INFRASTRUCTURE = "ecs.amazonaws.com assumes the role"
ACTION_ROLES = "CodePipeline assumes the role of"
RELEASE_RECORDS = "the release action records the image in"
RELEASE_WATCHES = "the release action watches"


NAMED = re.compile(r'"(?:Ref|Fn::GetAtt)": \[?"([A-Za-z0-9]+)"')


def _refs(value: Any) -> set[str]:
    """Logical IDs a value names with Ref or Fn::GetAtt."""
    return set(NAMED.findall(json.dumps(value)))


def _text(value: Any) -> str:
    """A string, or an ``Fn::Join`` of strings with a placeholder for each token in it."""
    if isinstance(value, str):
        return value
    separator, parts = value["Fn::Join"]
    return str(separator).join(p if isinstance(p, str) else "TOKEN" for p in parts)


def expected_pairs(template: dict[str, Any]) -> dict[str, int]:
    """The least number of pairs of each kind the template makes."""
    resources = template["Resources"]

    def of(kind: str) -> dict[str, dict[str, Any]]:
        return {k: r.get("Properties", {}) for k, r in resources.items() if r["Type"] == kind}

    topics, buckets, groups, keys = (
        set(of(kind))
        for kind in (delivery.TOPIC, delivery.BUCKET, delivery.LOG_GROUP, delivery.KEY)
    )
    counts: dict[str, int] = {}

    def count(kind: str, n: int) -> None:
        if n:
            counts[kind] = n

    count(
        ALARM_TO_TOPIC,
        len(
            {
                (alarm, topic)
                for alarm, props in of(delivery.ALARM).items()
                for topic in _refs(props.get("AlarmActions", []) + props.get("OKActions", []))
                if topic in topics
            }
        ),
    )
    targets = [
        (rule, t["Arn"]) for rule, p in of(delivery.RULE).items() for t in p.get("Targets", [])
    ]
    count(RULE_TO_TOPIC, len({(r, t) for r, arn in targets for t in _refs(arn) if t in topics}))
    count(RULE_TO_LOGS, len({(r, g) for r, arn in targets for g in _refs(arn) if g in groups}))
    count(
        FLOW_LOGS,
        sum(1 for p in of(delivery.FLOW_LOG).values() if _refs(p.get("LogDestination")) & buckets),
    )
    count(
        ACCESS_LOGS,
        sum(
            1
            for p in of(delivery.LOAD_BALANCER).values()
            for a in p.get("LoadBalancerAttributes", [])
            if a["Key"] == "access_logs.s3.bucket" and _refs(a["Value"]) & buckets
        ),
    )
    count(
        LOGS_TO_KEY,
        sum(1 for p in of(delivery.LOG_GROUP).values() if _refs(p.get("KmsKeyId")) & keys),
    )
    count(
        NOTICES,
        sum(
            1
            for p in of(delivery.EXTENSION_ASSOCIATION).values()
            if _refs(p.get("Parameters", {}).get("topicArn")) & topics
        ),
    )
    monitored = {
        json.dumps(m["AlarmArn"])
        for p in of(delivery.APPCONFIG_ENVIRONMENT).values()
        for m in p.get("Monitors", [])
        if "AlarmRoleArn" in m
    }
    count(MONITORS, len(monitored))
    count(
        INFRASTRUCTURE,
        len(
            {
                json.dumps(lb["AdvancedConfiguration"]["RoleArn"])
                for p in of(delivery.ECS_SERVICE).values()
                for lb in p.get("LoadBalancers", [])
                if "AdvancedConfiguration" in lb
            }
        ),
    )
    action_roles = {
        json.dumps(action["RoleArn"])
        for p in of(delivery.PIPELINE).values()
        for stage in p["Stages"]
        for action in stage["Actions"]
        if "RoleArn" in action
    }
    count(ACTION_ROLES, len(action_roles))
    secrets = sum(
        len(v["value"].split())
        for p in of(delivery.PIPELINE).values()
        for stage in p["Stages"]
        for action in stage["Actions"]
        for v in json.loads(
            _text(action.get("Configuration", {}).get("EnvironmentVariables", "[]"))
        )
        if v["name"] == "IMAGE_SECRETS"
    )
    count(RELEASE_RECORDS, secrets)
    alarm_actions = [
        json.dumps(action)
        for kind in (delivery.ALARM, delivery.COMPOSITE_ALARM)
        for props in of(kind).values()
        for prop in ("AlarmActions", "OKActions", "InsufficientDataActions")
        for action in props.get(prop, [])
    ]
    groups = set(of(delivery.INVESTIGATION_GROUP))
    count(delivery.ALARM_TO_OPSCENTER, sum(":opsitem:" in a for a in alarm_actions))
    count(
        delivery.ALARM_TO_INVESTIGATION,
        sum(":aiops:" in a or bool(_refs(json.loads(a)) & groups) for a in alarm_actions),
    )
    channels = {**of(delivery.SLACK_CHANNEL), **of(delivery.TEAMS_CHANNEL)}
    count(
        delivery.TOPIC_TO_CHAT,
        sum(len(_refs(p.get("SnsTopicArns", [])) & topics) for p in channels.values()),
    )
    count(
        delivery.TOPIC_TO_HTTPS,
        sum(
            1
            for p in of(delivery.SUBSCRIPTION).values()
            if p["Protocol"] in ("http", "https") and _refs(p["TopicArn"]) & topics
        ),
    )
    targets = [t for p in of(delivery.NOTIFICATION_RULE).values() for t in p["Targets"]]
    count(
        delivery.RULE_TO_CHAT,
        sum(1 for t in targets if _refs(t["TargetAddress"]) & set(channels)),
    )
    count(delivery.RULE_TO_TOPIC, sum(1 for t in targets if _refs(t["TargetAddress"]) & topics))
    return counts


@pytest.mark.parametrize("name", NAMES)
def test_the_checker_finds_every_pair_a_scenario_makes(
    scenario_results: Results, name: str
) -> None:
    template = scenario_results[name].normal.template
    pairs = delivery.check(**scenario_app(scenario_results, name))
    found = {
        kind: sum(1 for p in pairs if p.what.startswith(kind)) for kind in expected_pairs(template)
    }
    short = {
        kind: (n, found[kind]) for kind, n in expected_pairs(template).items() if found[kind] < n
    }
    assert short == {}, f"{name}: kind -> (expected at least, found):\n{short}"


def _documents(template: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every policy document of the template: resource, key and identity policies, trusts. A
    document written as a JSON string (a log resource policy's) is parsed, and written back
    once the caller is done with it."""
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for key in (
            "PolicyDocument",
            "KeyPolicy",
            "AssumeRolePolicyDocument",
            "InvestigationGroupPolicy",
        ):
            document = props.get(key)
            if isinstance(document, str):
                parsed = json.loads(document)
                yield parsed
                props[key] = json.dumps(parsed)
            elif isinstance(document, dict) and "Statement" in document:
                yield document


Select = Callable[[dict[str, Any]], bool]
Mutation = Callable[[dict[str, Any]], None]


def drop(selected: Select) -> Mutation:
    """A mutation that removes every statement ``selected``."""

    def mutate(template: dict[str, Any]) -> None:
        for document in _documents(template):
            document["Statement"] = [s for s in as_list(document["Statement"]) if not selected(s)]

    return mutate


def sid(pattern: str) -> Select:
    return lambda s: re.fullmatch(pattern, s.get("Sid", "")) is not None


def acting(action: str) -> Select:
    return lambda s: action in as_list(s.get("Action", []))


def principal(text: str) -> Select:
    return lambda s: text in json.dumps(s.get("Principal", ""))


def both(first: Select, second: Select) -> Select:
    return lambda s: first(s) and second(s)


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def condition(selected: Select, added: dict[str, Any]) -> Mutation:
    """A mutation that adds ``added`` to the conditions of every statement ``selected``."""

    def mutate(template: dict[str, Any]) -> None:
        for document in _documents(template):
            for statement in as_list(document["Statement"]):
                if selected(statement):
                    statement["Condition"] = {**statement.get("Condition", {}), **added}

    return mutate


def delete(kind: str) -> Mutation:
    """A mutation that removes every resource of type ``kind``."""

    def mutate(template: dict[str, Any]) -> None:
        resources = template["Resources"]
        for logical_id in [k for k, r in resources.items() if r["Type"] == kind]:
            del resources[logical_id]

    return mutate


def edit(kind: str, change: Callable[[dict[str, Any]], None]) -> Mutation:
    """A mutation that ``change``s the properties of every resource of type ``kind``."""

    def mutate(template: dict[str, Any]) -> None:
        for resource in template["Resources"].values():
            if resource["Type"] == kind:
                change(resource["Properties"])

    return mutate


def opsitem_severity_5(props: dict[str, Any]) -> None:
    for action in props.get("AlarmActions", []):
        if ":opsitem:" in json.dumps(action):
            parts = action["Fn::Join"][1]
            parts[-1] = re.sub(r":opsitem:\d", ":opsitem:5", parts[-1])


def opsitem_on_ok(props: dict[str, Any]) -> None:
    moved = [a for a in props.get("AlarmActions", []) if ":opsitem:" in json.dumps(a)]
    if moved:
        props["AlarmActions"] = [a for a in props["AlarmActions"] if a not in moved]
        props["OKActions"] = [*props.get("OKActions", []), *moved]


def not_told_on_ok(props: dict[str, Any]) -> None:
    props.pop("OKActions", None)


def no_guardrails(props: dict[str, Any]) -> None:
    props.pop("GuardrailPolicies", None)


def raw_delivery(props: dict[str, Any]) -> None:
    if props["Protocol"] == "https":
        props["RawMessageDelivery"] = True


def swap_chat_targets(props: dict[str, Any]) -> None:
    swapped = {"AWSChatbotSlack": "AWSChatbotMicrosoftTeams"}
    swapped |= {v: k for k, v in swapped.items()}
    for target in props["Targets"]:
        target["TargetType"] = swapped.get(target["TargetType"], target["TargetType"])


def build_events(props: dict[str, Any]) -> None:
    props["EventTypeIds"] = ["codebuild-project-build-state-failed"]


def no_policy_dependency(template: dict[str, Any]) -> None:
    """AppConfig environments stop waiting for their monitor role's policy (R6)."""
    policies = {k for k, r in template["Resources"].items() if r["Type"] == delivery.MANAGED_POLICY}
    for resource in template["Resources"].values():
        if resource["Type"] == delivery.APPCONFIG_ENVIRONMENT:
            resource["DependsOn"] = [d for d in resource.get("DependsOn", []) if d not in policies]


THIS_ACCOUNT = {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
MUTATIONS: list[tuple[str, str, Mutation, str]] = [
    (
        "observed_service/defaults",
        "topic policy: CloudWatch",
        drop(sid("AllowCloudWatchAlarmsToPublish")),
        ALARM_TO_TOPIC,
    ),
    (
        "observed_service/defaults",
        "key policy: CloudWatch",
        drop(sid("AllowCloudwatchToPublishToEncryptedTopics")),
        ALARM_TO_TOPIC,
    ),
    (
        "observed_service/defaults",
        "key policy: CloudWatch Logs",
        drop(sid("AllowCloudWatchLogsInThisAccountAndRegion")),
        LOGS_TO_KEY,
    ),
    (
        "observed_service/defaults",
        "bucket policy: flow logs",
        drop(sid("FlowLogDeliveryWrite")),
        FLOW_LOGS,
    ),
    (
        "observed_service/defaults",
        "bucket policy: ELB",
        drop(principal("127311923021")),
        ACCESS_LOGS,
    ),
    (
        "observed_service/blue_green",
        "trust: ECS infrastructure role",
        drop(principal("ecs.amazonaws.com")),
        INFRASTRUCTURE,
    ),
    (
        "gated_pipeline/defaults",
        "key policy: EventBridge",
        drop(sid("AllowEventsToPublishToEncryptedTopics")),
        RULE_TO_TOPIC,
    ),
    (
        "gated_pipeline/defaults",
        "key policy: a source condition for EventBridge (D4)",
        condition(sid("AllowEventsToPublishToEncryptedTopics"), THIS_ACCOUNT),
        RULE_TO_TOPIC,
    ),
    (
        "gated_pipeline/defaults",
        "topic policy: a source condition for EventBridge",
        condition(sid("AllowEventsOf.*ToPublish"), THIS_ACCOUNT),
        RULE_TO_TOPIC,
    ),
    (
        "gated_pipeline/defaults",
        "log resource policy: EventBridge",
        delete(delivery.LOGS_RESOURCE_POLICY),
        RULE_TO_LOGS,
    ),
    (
        "gated_pipeline/defaults",
        "pipeline role: sts:AssumeRole",
        drop(both(acting("sts:AssumeRole"), lambda s: "Principal" not in s)),
        ACTION_ROLES,
    ),
    (
        "gated_pipeline/defaults",
        "release role: PutSecretValue",
        drop(acting("secretsmanager:PutSecretValue")),
        RELEASE_RECORDS,
    ),
    (
        "gated_pipeline/defaults",
        "release role: DescribeAlarmHistory",
        drop(acting("cloudwatch:DescribeAlarmHistory")),
        RELEASE_WATCHES,
    ),
    (
        "observed_service/incidents",
        "OpsItem action: severity 5",
        edit(delivery.ALARM, opsitem_severity_5),
        delivery.ALARM_TO_OPSCENTER,
    ),
    (
        "observed_service/incidents",
        "OpsItem action: on OK",
        edit(delivery.ALARM, opsitem_on_ok),
        delivery.ALARM_TO_OPSCENTER,
    ),
    (
        "observed_service/incidents",
        "incident topic policy: CloudWatch",
        drop(sid("AllowCloudWatchAlarmsToPublish")),
        ALARM_TO_TOPIC,
    ),
    (
        "observed_service/incidents",
        "investigation group policy: CloudWatch alarms",
        drop(principal("aiops.alarms.cloudwatch.amazonaws.com")),
        delivery.ALARM_TO_INVESTIGATION,
    ),
    (
        "observed_service/incidents",
        "chat channels: no guardrails",
        edit(delivery.SLACK_CHANNEL, no_guardrails),
        delivery.TOPIC_TO_CHAT,
    ),
    (
        "observed_service/incidents",
        "trust: chat channel role",
        drop(principal("chatbot.amazonaws.com")),
        delivery.TOPIC_TO_CHAT,
    ),
    (
        "observed_service/incidents",
        "paging: raw message delivery",
        edit(delivery.SUBSCRIPTION, raw_delivery),
        delivery.TOPIC_TO_HTTPS,
    ),
    (
        "observed_service/incidents",
        "paging: not told on OK",
        edit(delivery.ALARM, not_told_on_ok),
        delivery.TOPIC_TO_HTTPS,
    ),
    (
        "gated_pipeline/all_options",
        "notification rule: Slack and Teams targets swapped",
        edit(delivery.NOTIFICATION_RULE, swap_chat_targets),
        delivery.RULE_TO_CHAT,
    ),
    (
        "gated_pipeline/all_options",
        "notification rule: event types of another service",
        edit(delivery.NOTIFICATION_RULE, build_events),
        delivery.RULE_TO_CHAT,
    ),
    (
        "gated_pipeline/all_options",
        "chat channels: no guardrails",
        edit(delivery.TEAMS_CHANNEL, no_guardrails),
        delivery.RULE_TO_CHAT,
    ),
    (
        "feature_flagged_deploy/staging_and_production",
        "topic policy: AppConfig",
        drop(sid("AllowAppConfigDeploymentNoticesToPublish")),
        NOTICES,
    ),
    (
        "feature_flagged_deploy/staging_and_production",
        "monitor role: DescribeAlarms",
        drop(sid("ReadRollbackAlarms")),
        MONITORS,
    ),
    (
        "feature_flagged_deploy/staging_and_production",
        "order: monitor policy before environments (R6)",
        no_policy_dependency,
        MONITORS,
    ),
]


@pytest.mark.parametrize(
    ("name", "removed", "mutate", "kind"), MUTATIONS, ids=[f"{m[0]}: {m[1]}" for m in MUTATIONS]
)
def test_a_scenario_without_an_allow_fails_the_check(
    scenario_results: Results, name: str, removed: str, mutate: Mutation, kind: str
) -> None:
    app = scenario_app(scenario_results, name)
    before = [p for p in delivery.check(**app) if p.what.startswith(kind)]
    assert before, f"{name}: no {kind!r} pair to break"
    assert not delivery.denied(before), f"{name}: a {kind!r} pair is denied already"
    template = copy.deepcopy(app["templates"][name])
    mutate(template)
    after = delivery.check(templates={name: template}, environments=app["environments"])
    broken = [p for p in delivery.denied(after) if p.what.startswith(kind)]
    assert broken, f"{name} without {removed}: the checker still allows every {kind!r} pair"
