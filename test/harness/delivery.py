"""Delivery checks: for every sender -> receiver pair an app's synthesized templates create, would
AWS let the sender deliver? Nothing is deployed: intrinsics are resolved on the templates, then
the receiving resource policy, key policy, role trust and identity policies are evaluated the way
IAM evaluates them:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html

Three layers, each usable alone:

- ``App`` resolves CloudFormation intrinsics to strings, with a model of the physical names and
  ARNs (``Ref``/``Fn::GetAtt``) of the resource types senders and receivers use. What it cannot
  resolve becomes a ``<unresolved ...>`` placeholder that no policy pattern matches: a statement
  that allows with it does not apply, one that denies with it does (fail safe).
- ``evaluate`` decides one request against one policy document: explicit deny wins, otherwise
  allowed when an Allow statement applies, otherwise implicitly denied.
- ``check`` finds every pair and reports each ``Problem`` AWS would deny it for. A sender may
  send one of several request contexts (``REQUEST_CONTEXTS``); the receiver must allow under all.

Not modelled (an evaluation that needs one of these is reported, never assumed allowed): service
control and resource control policies, permission boundaries, session policies, AWS-managed
policies (opaque: reported as not evaluable), Date and IpAddress condition operators, policy
variables, receivers outside the app (an imported topic or role is skipped, it is not ours).
"""

from __future__ import annotations

import enum
import functools
import hashlib
import json
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"
UNRESOLVED = "<unresolved"

ALARM = "AWS::CloudWatch::Alarm"
COMPOSITE_ALARM = "AWS::CloudWatch::CompositeAlarm"
TOPIC = "AWS::SNS::Topic"
TOPIC_POLICY = "AWS::SNS::TopicPolicy"
KEY = "AWS::KMS::Key"
KEY_ALIAS = "AWS::KMS::Alias"
BUCKET = "AWS::S3::Bucket"
BUCKET_POLICY = "AWS::S3::BucketPolicy"
LOG_GROUP = "AWS::Logs::LogGroup"
LOGS_RESOURCE_POLICY = "AWS::Logs::ResourcePolicy"
RULE = "AWS::Events::Rule"
ROLE = "AWS::IAM::Role"
POLICY = "AWS::IAM::Policy"
MANAGED_POLICY = "AWS::IAM::ManagedPolicy"
PIPELINE = "AWS::CodePipeline::Pipeline"
PROJECT = "AWS::CodeBuild::Project"
ECS_SERVICE = "AWS::ECS::Service"
EXPRESS_SERVICE = "AWS::ECS::ExpressGatewayService"
TASK_DEFINITION = "AWS::ECS::TaskDefinition"
REPOSITORY = "AWS::ECR::Repository"
LAMBDA_FUNCTION = "AWS::Lambda::Function"
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
FLOW_LOG = "AWS::EC2::FlowLog"
APPCONFIG_ENVIRONMENT = "AWS::AppConfig::Environment"
APPCONFIG_DEPLOYMENT = "AWS::AppConfig::Deployment"
EXTENSION_ASSOCIATION = "AWS::AppConfig::ExtensionAssociation"
SECRET = "AWS::SecretsManager::Secret"
SUBSCRIPTION = "AWS::SNS::Subscription"
SLACK_CHANNEL = "AWS::Chatbot::SlackChannelConfiguration"
TEAMS_CHANNEL = "AWS::Chatbot::MicrosoftTeamsChannelConfiguration"
NOTIFICATION_RULE = "AWS::CodeStarNotifications::NotificationRule"
INVESTIGATION_GROUP = "AWS::AIOps::InvestigationGroup"

# Problem kinds. Every kind makes a pair denied: what cannot be shown allowed is not assumed to be.
DENIED = "denied"
UNRESOLVED_VALUE = "unresolved"
NOT_EVALUABLE = "not evaluable"
ORDER = "order"
MISCONFIGURED = "misconfigured"  # AWS accepts it, but the delivery does not do its job

# The account Elastic Load Balancing writes access logs from, per region (regions opened before
# August 2022; the others only accept the service principal).
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html
ELB_ACCOUNTS = {"us-east-1": "127311923021", "eu-west-1": "156460612806"}
ELB_LOG_DELIVERY = "logdelivery.elasticloadbalancing.amazonaws.com"

# --- Request contexts -----------------------------------------------------------------------

_SOURCE = ("aws:SourceAccount", "aws:SourceArn")
_TLS = ("aws:SecureTransport",)

# The condition keys each sender may put in its requests to each receiver. Each entry lists one
# or more contexts; the receiver must allow under EVERY one, so a policy is right whichever way
# AWS behaves where its documentation is silent. Values are filled in per pair (the source ARN
# is the alarm, rule, environment, bucket... that sends).
REQUEST_CONTEXTS: Mapping[str, tuple[tuple[str, ...], ...]] = {
    # CloudWatch publishes alarm notifications with the source keys; SNS's default topic policy
    # grants on the legacy AWS:SourceOwner key, which SNS sets to the sender's account.
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-actions.html
    "cloudwatch->sns": ((*_SOURCE, "aws:SourceOwner", *_TLS),),
    # Whether CloudWatch sets the source keys on its KMS requests is not documented (the
    # Knowledge Center's key statement for CloudWatch has no condition): with and without.
    # https://repost.aws/knowledge-center/cloudwatch-configure-alarm-sns
    "cloudwatch->kms": (_SOURCE, ()),
    # "You can't use Condition blocks in Amazon SNS topic policies for EventBridge" (EventBridge
    # user guide, "Amazon SNS permissions"): with and without the source keys.
    # https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html
    "events->sns": ((*_SOURCE, *_TLS), _TLS),
    # sns-key-management: "Adding the aws:SourceAccount and aws:SourceArn to a AWS KMS policy is
    # not supported for EventBridge-to-encrypted topics".
    # https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html
    "events->kms": ((),),
    # AppConfig's SNS extension: undocumented, so with and without the source keys (the source
    # ARN is the environment's).
    "appconfig->sns": ((*_SOURCE, *_TLS), _TLS),
    "appconfig->kms": (_SOURCE, ()),
    # EventBridge to CloudWatch Logs: the CloudWatch Events user guide's example conditions the
    # policy on aws:SourceArn; the current EventBridge guide's has no condition. Both.
    "events->logs": (_SOURCE, ()),
    # A service assuming a role: undocumented per service, so with and without.
    "service->sts": (_SOURCE, ()),
    # A role's session (an EventBridge target role, a pipeline action role).
    "role": (_TLS,),
    # CloudWatch Logs encrypting a log group.
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/encrypt-log-data-kms.html
    "logs->kms": (("kms:EncryptionContext:aws:logs:arn",),),
    # VPC flow logs to S3 (log delivery service).
    # https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-s3-permissions.html
    "delivery.logs->s3:PutObject": (("s3:x-amz-acl", *_SOURCE, *_TLS),),
    "delivery.logs->s3:GetBucketAcl": ((*_SOURCE, *_TLS),),
    # S3 server access logging.
    # https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html
    "logging.s3->s3": ((*_SOURCE, *_TLS),),
    # Elastic Load Balancing access logs: the regional ELB account, or the log delivery service
    # principal (undocumented source keys, so with and without).
    "elb->s3": (_TLS,),
    "logdelivery.elb->s3": ((*_SOURCE, *_TLS), _TLS),
    # CodeStar Notifications to a topic: the Developer Tools console guide's topic statement
    # has no condition, its troubleshooting page adds aws:SourceAccount; whether it sends
    # aws:SourceArn is undocumented: with and without.
    # https://docs.aws.amazon.com/dtconsole/latest/userguide/set-up-sns.html
    "codestar-notifications->sns": ((*_SOURCE, *_TLS), ("aws:SourceAccount", *_TLS)),
    # Its key statement conditions on kms:ViaService (SNS in the region); source keys
    # undocumented: with and without.
    "codestar-notifications->kms": (("kms:ViaService", *_SOURCE), ("kms:ViaService",)),
    # CloudWatch alarms starting investigations: the investigation group policy AWS documents
    # (CfnInvestigationGroup, PutInvestigationGroupPolicy) conditions on both source keys.
    "aiops.alarms->aiops": (_SOURCE,),
    # The chat service subscribing its configuration to a topic: undocumented (it creates the
    # subscription itself), so only an explicit Deny is reported, under TLS.
    "chatbot->sns": (_TLS,),
}


def _contexts(channel: str, values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The request contexts of ``channel``, each key given its value from ``values``."""
    return [{key: values[key] for key in keys} for keys in REQUEST_CONTEXTS[channel]]


def _describe_context(context: Mapping[str, Any]) -> str:
    """Which keys the request context has, and which source keys it lacks."""
    parts = [f"with {', '.join(context)}"] if context else []
    missing = [key for key in _SOURCE if key not in context]
    if missing:
        parts.append(f"without {', '.join(missing)}")
    return "; ".join(parts)


# --- Reports --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """Why AWS would deny (or why the checker cannot show it allows) one pair's delivery."""

    kind: str
    message: str

    def __str__(self) -> str:
        return f"[{self.kind}] {self.message}"


@dataclass
class Pair:
    """One sender -> receiver delivery the templates create, with what would stop it."""

    sender: str
    receiver: str
    what: str
    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.sender} -> {self.receiver}: {self.what}"


@dataclass(frozen=True)
class ConsumedAlarm:
    """An alarm a consumer (ECS deployment, pipeline rule, AppConfig monitor, build) reads."""

    consumer: str
    how: str
    alarm: str
    resource: str | None
    """``<template>/<logical id>`` of the alarm, None when the app does not define it."""
    type: str | None


# The kinds of alarm each consumer is documented to read. DescribeAlarms returns composite
# alarms only when asked for them. AppConfig monitors: AWS's own AppConfig construct library
# models composite monitors (aws-cdk aws-appconfig/lib/environment.ts, Monitor.isCompositeAlarm,
# whose role may describe every alarm). ECS deployment alarms, the CodePipeline CloudWatchAlarm
# rule and the release action's describe-alarms call: metric alarms only.
DOCUMENTED_READS: Mapping[str, frozenset[str]] = {
    "AppConfig monitor": frozenset({ALARM, COMPOSITE_ALARM}),
}


def misread(consumed: Iterable[ConsumedAlarm]) -> list[ConsumedAlarm]:
    """The alarms read by a consumer that does not document reading their kind (or that the
    app does not define)."""
    return [c for c in consumed if c.type not in DOCUMENTED_READS.get(c.how, frozenset({ALARM}))]


def denied(pairs: Iterable[Pair]) -> list[Pair]:
    """The pairs with at least one problem."""
    return [pair for pair in pairs if pair.problems]


def format_pairs(pairs: Iterable[Pair]) -> str:
    """The pairs and their problems, one per line, for assertion messages."""
    lines = []
    for pair in pairs:
        lines.append(f"  {pair}")
        lines.extend(f"      - {problem}" for problem in pair.problems)
    return "\n".join(lines) or "  (none)"


# --- Resolving intrinsics -------------------------------------------------------------------


@dataclass(frozen=True)
class Environment:
    account: str
    region: str
    partition: str = PARTITION


@dataclass(frozen=True)
class Resource:
    """One resource of one template of the app."""

    template: str
    logical_id: str
    type: str
    properties: Mapping[str, Any]
    depends_on: tuple[str, ...]
    condition: str | None
    """The template condition the resource exists under."""

    @property
    def key(self) -> str:
        return f"{self.template}/{self.logical_id}"


@dataclass(frozen=True)
class _Physical:
    """What ``Ref`` and ``Fn::GetAtt`` of a resource return."""

    ref: str
    attributes: Mapping[str, str]


class _NoValue:
    """AWS::NoValue: removes the property or list element holding it."""


_NO_VALUE = _NoValue()


def _unresolved(function: str, detail: Any = "") -> str:
    """A placeholder no policy pattern matches (wildcards are removed from it)."""
    text = detail if isinstance(detail, str) else json.dumps(detail, sort_keys=True, default=str)
    text = re.sub(r"[*?]", "", text)
    return f"{UNRESOLVED} {function} {text[:80]}>".replace(" >", ">")


def _text(value: Any) -> str:
    """A resolved scalar as CloudFormation turns it into a string."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    return _unresolved("value", value)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _digest(text: str, length: int = 16) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


class App:
    """The templates of one app, the environment each deploys to, and the physical names and
    ARNs their intrinsics resolve to.

    Physical names follow the resource's name property, else its logical ID (lowercased for S3
    buckets and ECR repositories); generated IDs (KMS keys, AppConfig) are the logical ID.
    ``AWS::StackName`` is the template's name; ``Fn::GetAZs`` returns ``<region>a/b/c``;
    parameters never resolve (their values are chosen at deployment).
    """

    def __init__(
        self,
        templates: Mapping[str, Mapping[str, Any]],
        environments: Mapping[str, tuple[str, str]],
    ) -> None:
        missing = sorted(set(templates) - set(environments))
        if missing:
            raise ValueError(f"environments has no (account, region) for templates {missing}")
        self.templates = templates
        self.environments = {name: Environment(*environments[name]) for name in templates}
        self._resources: dict[str, dict[str, Resource]] = {
            name: {
                logical_id: Resource(
                    name,
                    logical_id,
                    body.get("Type", ""),
                    body.get("Properties", {}),
                    tuple(_as_list(body.get("DependsOn", []))),
                    body.get("Condition"),
                )
                for logical_id, body in template.get("Resources", {}).items()
            }
            for name, template in templates.items()
        }
        self._physical: dict[str, _Physical] = {}
        self._props: dict[str, Mapping[str, Any]] = {}
        self._in_progress: set[str] = set()

    # Lookups ---------------------------------------------------------------------------------

    def resource(self, template: str, logical_id: str) -> Resource | None:
        return self._resources.get(template, {}).get(logical_id)

    def of_type(self, *types: str) -> Iterator[Resource]:
        """Every resource of ``types`` whose Condition does not evaluate to false."""
        for resources in self._resources.values():
            for resource in resources.values():
                if resource.type in types and (
                    resource.condition is None
                    or self.condition(resource.condition, resource.template) is not False
                ):
                    yield resource

    def env(self, resource: Resource) -> Environment:
        return self.environments[resource.template]

    def find(self, value: str, *types: str, env: Environment | None = None) -> Resource | None:
        """The resource of ``types`` whose Ref or an attribute is ``value`` (a name only matches
        in ``env`` when given; an ARN names its environment)."""
        for resource in self._index.get(value, []):
            if resource.type in types and (
                env is None or value.startswith("arn:") or self.env(resource) == env
            ):
                return resource
        return None

    @functools.cached_property
    def _index(self) -> dict[str, list[Resource]]:
        index: dict[str, list[Resource]] = {}
        for resource in self.of_type(*_MODELS):
            physical = self.physical(resource)
            for value in {physical.ref, *physical.attributes.values()}:
                index.setdefault(value, []).append(resource)
                if resource.type == LOG_GROUP and value.endswith(":*"):
                    index.setdefault(value.removesuffix(":*"), []).append(resource)
        return index

    # Physical IDs ----------------------------------------------------------------------------

    def physical(self, resource: Resource) -> _Physical:
        model = _MODELS.get(resource.type)
        if model is None:
            return _Physical(_unresolved("Ref", f"{resource.logical_id} ({resource.type})"), {})
        if resource.key not in self._physical:
            if resource.key in self._in_progress:  # a name that refers to itself
                return _Physical(_unresolved("Ref", f"{resource.logical_id} (cycle)"), {})
            self._in_progress.add(resource.key)
            try:
                self._physical[resource.key] = model(self, resource)
            finally:
                self._in_progress.discard(resource.key)
        return self._physical[resource.key]

    def ref(self, resource: Resource) -> str:
        return self.physical(resource).ref

    def attribute(self, resource: Resource, name: str) -> str:
        value = self.physical(resource).attributes.get(name)
        if value is None:
            return _unresolved("Fn::GetAtt", f"{resource.logical_id}.{name} ({resource.type})")
        return value

    def name(self, resource: Resource) -> str:
        """The resource's name property, resolved, or the name CloudFormation would generate."""
        prop, lowercase = _NAME_PROPERTIES.get(resource.type, ("Name", False))
        if prop in resource.properties:
            return _text(self.resolve(resource.properties[prop], resource.template))
        # CloudFormation generates "<stack>-<logical id>-<suffix>": the same logical ID in two
        # stacks names two resources. One template keeps the shorter logical ID.
        generated = (
            f"{resource.template}-{resource.logical_id}"
            if len(self.templates) > 1
            else resource.logical_id
        )
        return generated.lower() if lowercase else generated

    def props(self, resource: Resource) -> Mapping[str, Any]:
        """The resource's properties with every intrinsic resolved."""
        if resource.key not in self._props:
            self._props[resource.key] = self.resolve(dict(resource.properties), resource.template)
        return self._props[resource.key]

    # Intrinsics ------------------------------------------------------------------------------

    def resolve(self, value: Any, template: str) -> Any:
        """``value`` with every intrinsic replaced by what it evaluates to (a string, or a list
        for Fn::Split and Fn::GetAZs); AWS::NoValue removes the key or element holding it."""
        if isinstance(value, list):
            items = (self.resolve(v, template) for v in value)
            return [item for item in items if item is not _NO_VALUE]
        if isinstance(value, dict):
            if len(value) == 1:
                ((name, argument),) = value.items()
                function = _INTRINSICS.get(name)
                if function is not None:
                    return function(self, argument, template)
                if name.startswith("Fn::"):
                    return _unresolved(name, argument)
            pairs = ((k, self.resolve(v, template)) for k, v in value.items())
            return {k: v for k, v in pairs if v is not _NO_VALUE}
        return value

    def text(self, value: Any, template: str) -> str:
        return _text(self.resolve(value, template))

    def pseudo(self, name: str, template: str) -> Any:
        env = self.environments[template]
        values: dict[str, Any] = {
            "AWS::AccountId": env.account,
            "AWS::Region": env.region,
            "AWS::Partition": env.partition,
            "AWS::URLSuffix": URL_SUFFIX,
            "AWS::StackName": template,
            "AWS::NoValue": _NO_VALUE,
        }
        return values.get(name, _unresolved("Ref", name))

    def condition(self, name: str, template: str) -> bool | None:
        """The template condition's value; None when it depends on what does not resolve."""
        definition = self.templates[template].get("Conditions", {}).get(name)
        return None if definition is None else self._condition_value(definition, template)

    def _condition_value(self, value: Any, template: str) -> bool | None:
        if not isinstance(value, dict) or len(value) != 1:
            return None
        ((function, argument),) = value.items()
        if function == "Condition":
            return self.condition(argument, template)
        if function == "Fn::Equals" and isinstance(argument, list) and len(argument) == 2:
            left, right = (self.text(v, template) for v in argument)
            return None if UNRESOLVED in left + right else left == right
        parts = [self._condition_value(v, template) for v in _as_list(argument)]
        combine = _CONDITION_FUNCTIONS.get(function)
        return None if combine is None else combine(parts)


def _ref(app: App, target: Any, template: str) -> Any:
    if not isinstance(target, str):
        return _unresolved("Ref", target)
    if target.startswith("AWS::"):
        return app.pseudo(target, template)
    resource = app.resource(template, target)
    return _unresolved("Ref", target) if resource is None else app.ref(resource)


def _get_att(app: App, argument: Any, template: str) -> str:
    if isinstance(argument, str):
        argument = argument.split(".", 1)
    if not isinstance(argument, list) or len(argument) != 2:
        return _unresolved("Fn::GetAtt", argument)
    logical_id, name = argument[0], app.text(argument[1], template)
    resource = app.resource(template, logical_id)
    if resource is None:
        return _unresolved("Fn::GetAtt", f"{logical_id}.{name}")
    return app.attribute(resource, name)


def _join(app: App, argument: Any, template: str) -> str:
    if not isinstance(argument, list) or len(argument) != 2:
        return _unresolved("Fn::Join", argument)
    delimiter, values = argument[0], app.resolve(argument[1], template)
    if not isinstance(values, list):
        return _unresolved("Fn::Join", values)
    return _text(delimiter).join(_text(v) for v in values)


_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def _sub(app: App, argument: Any, template: str) -> str:
    if isinstance(argument, str):
        text, variables = argument, {}
    elif isinstance(argument, list) and len(argument) == 2:
        text, variables = argument[0], app.resolve(argument[1], template)
    else:
        return _unresolved("Fn::Sub", argument)

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        if name in variables:
            return _text(variables[name])
        if "." in name and not name.startswith("AWS::"):
            return _get_att(app, name, template)
        return _text(_ref(app, name, template))

    return _SUB_VARIABLE.sub(substitute, _text(text))


def _select(app: App, argument: Any, template: str) -> Any:
    if not isinstance(argument, list) or len(argument) != 2:
        return _unresolved("Fn::Select", argument)
    index, values = app.text(argument[0], template), app.resolve(argument[1], template)
    if not index.isdigit() or not isinstance(values, list) or int(index) >= len(values):
        return _unresolved("Fn::Select", argument)
    return values[int(index)]


def _split(app: App, argument: Any, template: str) -> Any:
    if not isinstance(argument, list) or len(argument) != 2:
        return _unresolved("Fn::Split", argument)
    delimiter, source = app.text(argument[0], template), app.text(argument[1], template)
    # Splitting a placeholder would make pieces that no longer say they are unresolved.
    return _unresolved("Fn::Split", source) if UNRESOLVED in source else source.split(delimiter)


def _get_azs(app: App, argument: Any, template: str) -> list[str]:
    region = app.text(argument, template) or app.environments[template].region
    return [f"{region}{zone}" for zone in "abc"]


def _import_value(app: App, argument: Any, template: str) -> Any:
    name = app.text(argument, template)
    for other, body in app.templates.items():
        for output in body.get("Outputs", {}).values():
            export = output.get("Export", {}).get("Name")
            if export is not None and app.text(export, other) == name:
                return app.resolve(output.get("Value"), other)
    return _unresolved("Fn::ImportValue", name)


def _if(app: App, argument: Any, template: str) -> Any:
    if not isinstance(argument, list) or len(argument) != 3:
        return _unresolved("Fn::If", argument)
    value = app.condition(argument[0], template)
    if value is None:
        return _unresolved("Fn::If", argument[0])
    return app.resolve(argument[1] if value else argument[2], template)


def _find_in_map(app: App, argument: Any, template: str) -> Any:
    if not isinstance(argument, list) or len(argument) != 3:
        return _unresolved("Fn::FindInMap", argument)
    name, top, second = (app.text(v, template) for v in argument)
    value = app.templates[template].get("Mappings", {}).get(name, {}).get(top, {}).get(second)
    return _unresolved("Fn::FindInMap", argument) if value is None else value


_INTRINSICS: dict[str, Callable[[App, Any, str], Any]] = {
    "Ref": _ref,
    "Fn::GetAtt": _get_att,
    "Fn::Join": _join,
    "Fn::Sub": _sub,
    "Fn::Select": _select,
    "Fn::Split": _split,
    "Fn::GetAZs": _get_azs,
    "Fn::ImportValue": _import_value,
    "Fn::If": _if,
    "Fn::FindInMap": _find_in_map,
}

# --- Physical IDs of the resource types senders and receivers use ---------------------------

# type -> (name property, whether the generated name is the lowercased logical ID)
_NAME_PROPERTIES: dict[str, tuple[str, bool]] = {
    TOPIC: ("TopicName", False),
    BUCKET: ("BucketName", True),
    ALARM: ("AlarmName", False),
    COMPOSITE_ALARM: ("AlarmName", False),
    LOG_GROUP: ("LogGroupName", False),
    ROLE: ("RoleName", False),
    MANAGED_POLICY: ("ManagedPolicyName", False),
    KEY_ALIAS: ("AliasName", False),
    "AWS::ECS::Cluster": ("ClusterName", False),
    ECS_SERVICE: ("ServiceName", False),
    EXPRESS_SERVICE: ("ServiceName", False),
    "AWS::ECR::Repository": ("RepositoryName", True),
    LAMBDA_FUNCTION: ("FunctionName", False),
    SECRET: ("Name", False),
    SLACK_CHANNEL: ("ConfigurationName", False),
    TEAMS_CHANNEL: ("ConfigurationName", False),
}

_Model = Callable[[App, Resource], _Physical]


def _arn(env: Environment, service: str, resource: str, *, regional: bool = True) -> str:
    region = env.region if regional else ""
    return f"arn:{env.partition}:{service}:{region}:{env.account}:{resource}"


def _named(service: str, resource: str, *, ref_is_arn: bool = False) -> _Model:
    """Ref is the name (or the ARN), GetAtt Arn the ARN ``resource`` formats with the name."""

    def model(app: App, r: Resource) -> _Physical:
        name = app.name(r)
        arn = _arn(app.env(r), service, resource.format(name=name))
        return _Physical(arn if ref_is_arn else name, {"Arn": arn})

    return model


def _topic(app: App, r: Resource) -> _Physical:
    name = app.name(r)
    arn = _arn(app.env(r), "sns", name)
    return _Physical(arn, {"TopicArn": arn, "TopicName": name})


def _key(app: App, r: Resource) -> _Physical:
    arn = _arn(app.env(r), "kms", f"key/{r.logical_id}")
    return _Physical(r.logical_id, {"Arn": arn, "KeyId": r.logical_id})


def _bucket(app: App, r: Resource) -> _Physical:
    name, env = app.name(r), app.env(r)
    return _Physical(
        name,
        {
            "Arn": f"arn:{env.partition}:s3:::{name}",
            "DomainName": f"{name}.s3.{URL_SUFFIX}",
            "RegionalDomainName": f"{name}.s3.{env.region}.{URL_SUFFIX}",
        },
    )


def _rule(app: App, r: Resource) -> _Physical:
    name, env = app.name(r), app.env(r)
    bus = app.text(r.properties.get("EventBusName", "default"), r.template).split("/")[-1]
    if bus == "default":
        return _Physical(name, {"Arn": _arn(env, "events", f"rule/{name}")})
    return _Physical(f"{bus}|{name}", {"Arn": _arn(env, "events", f"rule/{bus}/{name}")})


def _role(app: App, r: Resource) -> _Physical:
    name, path = app.name(r), app.text(r.properties.get("Path", "/"), r.template)
    arn = _arn(app.env(r), "iam", f"role{path}{name}", regional=False)
    return _Physical(name, {"Arn": arn, "RoleId": f"AROA{_digest(r.key).upper()}"})


def _managed_policy(app: App, r: Resource) -> _Physical:
    name, path = app.name(r), app.text(r.properties.get("Path", "/"), r.template)
    arn = _arn(app.env(r), "iam", f"policy{path}{name}", regional=False)
    return _Physical(arn, {"PolicyArn": arn})


def _ecs_service(app: App, r: Resource) -> _Physical:
    name = app.name(r)
    cluster = app.text(r.properties.get("Cluster", "default"), r.template).split("/")[-1]
    arn = _arn(app.env(r), "ecs", f"service/{cluster}/{name}")
    return _Physical(arn, {"Name": name, "ServiceArn": arn})


def _express_service(app: App, r: Resource) -> _Physical:
    """Ref is the service ARN (the primary identifier); the cluster may be named by ARN."""
    name = app.name(r)
    cluster = app.text(r.properties.get("Cluster", "default"), r.template).split("/")[-1]
    arn = _arn(app.env(r), "ecs", f"service/{cluster}/{name}")
    return _Physical(arn, {"ServiceArn": arn, "Endpoint": f"{name}.ecs.{app.env(r).region}.on.aws"})


def _task_definition(app: App, r: Resource) -> _Physical:
    family = app.text(r.properties.get("Family", r.logical_id), r.template)
    arn = _arn(app.env(r), "ecs", f"task-definition/{family}:1")
    return _Physical(arn, {"TaskDefinitionArn": arn})


def _repository(app: App, r: Resource) -> _Physical:
    name, env = app.name(r), app.env(r)
    uri = f"{env.account}.dkr.ecr.{env.region}.{URL_SUFFIX}/{name}"
    return _Physical(name, {"Arn": _arn(env, "ecr", f"repository/{name}"), "RepositoryUri": uri})


_LOAD_BALANCER_KINDS = {"application": "app", "network": "net", "gateway": "gwy"}


def _load_balancer(app: App, r: Resource) -> _Physical:
    name, env = app.name(r)[:32], app.env(r)
    kind = _LOAD_BALANCER_KINDS.get(app.text(r.properties.get("Type", "application"), r.template))
    full = f"{kind}/{name}/{_digest(r.key)}"
    arn = _arn(env, "elasticloadbalancing", f"loadbalancer/{full}")
    dns = f"{name}-{_digest(r.key, 10)}.{env.region}.elb.{URL_SUFFIX}"
    return _Physical(
        arn,
        {
            "LoadBalancerArn": arn,
            "LoadBalancerName": name,
            "LoadBalancerFullName": full,
            "DNSName": dns,
        },
    )


def _target_group(app: App, r: Resource) -> _Physical:
    name = app.name(r)[:32]
    full = f"targetgroup/{name}/{_digest(r.key)}"
    arn = _arn(app.env(r), "elasticloadbalancing", full)
    attributes = {"TargetGroupArn": arn, "TargetGroupName": name, "TargetGroupFullName": full}
    return _Physical(arn, attributes)


def _appconfig(attribute: str) -> _Model:
    """AppConfig IDs are generated: the logical ID stands for them."""

    def model(app: App, r: Resource) -> _Physical:
        attributes = {attribute: r.logical_id}
        if "ApplicationId" in r.properties:
            attributes["ApplicationId"] = app.text(r.properties["ApplicationId"], r.template)
        return _Physical(r.logical_id, attributes)

    return model


def _parameter(app: App, r: Resource) -> _Physical:
    name = app.name(r)
    arn = _arn(app.env(r), "ssm", f"parameter/{name.lstrip('/')}")
    value = app.text(r.properties.get("Value", ""), r.template)
    return _Physical(name, {"Arn": arn, "Value": value})


def _secret(app: App, r: Resource) -> _Physical:
    """Secrets Manager appends six random characters to the name in the ARN."""
    name = app.name(r)
    arn = _arn(app.env(r), "secretsmanager", f"secret:{name}-{_digest(r.key, 6)}")
    # The Name is not an attribute in CloudFormation; indexed here so that a secret can be
    # found by the name a pipeline variable gives.
    return _Physical(arn, {"Id": arn, "Name": name})


def _chat_configuration(kind: str) -> _Model:
    """A chat channel configuration: Ref is its ARN, global (no region)."""

    def model(app: App, r: Resource) -> _Physical:
        env = app.env(r)
        arn = f"arn:{env.partition}:chatbot::{env.account}:chat-configuration/{kind}/{app.name(r)}"
        return _Physical(arn, {"Arn": arn})

    return model


def _generated_arn(service: str, resource: str, length: int = 16) -> _Model:
    """A resource whose ID AWS generates (an investigation group, a notification rule): Ref and
    Arn are its ARN, with a stand-in ID of ``length`` letters and digits."""

    def model(app: App, r: Resource) -> _Physical:
        arn = _arn(app.env(r), service, f"{resource}/{_digest(r.key, length)}")
        return _Physical(arn, {"Arn": arn})

    return model


_MODELS: dict[str, _Model] = {
    TOPIC: _topic,
    KEY: _key,
    KEY_ALIAS: lambda app, r: _Physical(app.name(r), {}),
    BUCKET: _bucket,
    ALARM: _named("cloudwatch", "alarm:{name}"),
    COMPOSITE_ALARM: _named("cloudwatch", "alarm:{name}"),
    RULE: _rule,
    LOG_GROUP: _named("logs", "log-group:{name}:*"),
    ROLE: _role,
    MANAGED_POLICY: _managed_policy,
    POLICY: lambda app, r: _Physical(r.logical_id, {"Id": r.logical_id}),
    PIPELINE: _named("codepipeline", "{name}"),
    "AWS::ECS::Cluster": _named("ecs", "cluster/{name}"),
    ECS_SERVICE: _ecs_service,
    EXPRESS_SERVICE: _express_service,
    TASK_DEFINITION: _task_definition,
    "AWS::ECR::Repository": _repository,
    LOAD_BALANCER: _load_balancer,
    "AWS::ElasticLoadBalancingV2::TargetGroup": _target_group,
    "AWS::AppConfig::Application": _appconfig("ApplicationId"),
    APPCONFIG_ENVIRONMENT: _appconfig("EnvironmentId"),
    "AWS::AppConfig::ConfigurationProfile": _appconfig("ConfigurationProfileId"),
    "AWS::AppConfig::DeploymentStrategy": _appconfig("Id"),
    "AWS::AppConfig::HostedConfigurationVersion": lambda app, r: _Physical("1", {}),
    LAMBDA_FUNCTION: _named("lambda", "function:{name}"),
    PROJECT: _named("codebuild", "project/{name}"),
    "AWS::CodeBuild::ReportGroup": _named("codebuild", "report-group/{name}", ref_is_arn=True),
    "AWS::SSM::Parameter": _parameter,
    SECRET: _secret,
    SLACK_CHANNEL: _chat_configuration("slack-channel"),
    TEAMS_CHANNEL: _chat_configuration("microsoft-teams-channel"),
    INVESTIGATION_GROUP: _generated_arn("aiops", "investigation-group"),
    NOTIFICATION_RULE: _generated_arn("codestar-notifications", "notificationrule", 40),
}

# --- The IAM evaluator ----------------------------------------------------------------------

Tri = bool | None
"""Whether something holds; None when it depends on a value that did not resolve."""


def _all(values: Iterable[Tri]) -> Tri:
    result: Tri = True
    for value in values:
        if value is False:
            return False
        if value is None:
            result = None
    return result


def _any(values: Iterable[Tri]) -> Tri:
    result: Tri = False
    for value in values:
        if value is True:
            return True
        if value is None:
            result = None
    return result


def _not(value: Tri) -> Tri:
    return None if value is None else not value


class Effect(enum.Enum):
    ALLOW = "allowed"
    EXPLICIT_DENY = "explicitly denied"
    IMPLICIT_DENY = "implicitly denied (no statement allows it)"


@dataclass(frozen=True)
class Request:
    """One request: who (``{"Service": "events.amazonaws.com"}`` or ``{"AWS": "<arn>"}``), what,
    on which resource ARN, with which condition keys."""

    principal: Mapping[str, str]
    action: str
    resource: str
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """What a policy decides for a request, and the statement that decided it."""

    effect: Effect
    statement: str | None = None
    uncertain: bool = False
    """The deciding Deny has values that did not resolve (assumed to apply)."""

    @property
    def allowed(self) -> bool:
        return self.effect is Effect.ALLOW

    def __str__(self) -> str:
        text = self.effect.value
        if self.statement is not None:
            text += f" by statement {self.statement}"
        if self.uncertain:
            text += " (it has values that did not resolve, so it is assumed to apply)"
        return text


def evaluate(document: Any, request: Request) -> Decision:
    """Decide ``request`` against one policy document: an applying Deny wins, then an applying
    Allow; otherwise implicit deny. An account's root ARN or bare ID as principal stands for
    every principal of the account (which then also needs its identity policies to allow):
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html"""
    return _evaluate(document, request, account_grants=True)


def _evaluate(document: Any, request: Request, *, account_grants: bool) -> Decision:
    context = _full_context(request)
    allowed_by: str | None = None
    for label, statement in _statements(document):
        applies = _applies(statement, request, context, account_grants=account_grants)
        if statement.get("Effect") == "Deny" and applies is not False:
            return Decision(Effect.EXPLICIT_DENY, label, uncertain=applies is None)
        if statement.get("Effect") == "Allow" and applies is True and allowed_by is None:
            allowed_by = label
    if allowed_by is not None:
        return Decision(Effect.ALLOW, allowed_by)
    return Decision(Effect.IMPLICIT_DENY)


def _statements(document: Any) -> list[tuple[str, Mapping[str, Any]]]:
    statements = document.get("Statement", []) if isinstance(document, Mapping) else []
    return [
        (repr(s["Sid"]) if s.get("Sid") else f"#{i + 1}", s)
        for i, s in enumerate(_as_list(statements))
        if isinstance(s, Mapping)
    ]


def _full_context(request: Request) -> dict[str, list[str]]:
    """The request's condition keys (lowercased, values as strings) and the principal keys AWS
    adds to every request."""
    ((kind, identity),) = request.principal.items()
    derived: dict[str, Any] = (
        {"aws:PrincipalServiceName": identity, "aws:PrincipalIsAWSService": True}
        if kind == "Service"
        else {"aws:PrincipalArn": identity, "aws:PrincipalIsAWSService": False}
    )
    if kind == "AWS" and _arn_account(identity):
        derived["aws:PrincipalAccount"] = _arn_account(identity)
    values = {**derived, **request.context}
    return {key.lower(): [_text(v) for v in _as_list(value)] for key, value in values.items()}


def _applies(
    statement: Mapping[str, Any],
    request: Request,
    context: Mapping[str, list[str]],
    *,
    account_grants: bool,
) -> Tri:
    if "Principal" in statement:
        principal = _principal_matches(statement["Principal"], request.principal, account_grants)
    elif "NotPrincipal" in statement:
        principal = _not(
            _principal_matches(statement["NotPrincipal"], request.principal, account_grants)
        )
    else:  # an identity policy: it applies to the principal it is attached to
        principal = True
    return _all(
        [
            principal,
            _element_applies(statement, "Action", request.action, _match_action, default=False),
            _element_applies(statement, "Resource", request.resource, _glob, default=True),
            _conditions_hold(statement.get("Condition", {}), context),
        ]
    )


def _element_applies(
    statement: Mapping[str, Any],
    name: str,
    value: str,
    match: Callable[[Any, str], Tri],
    *,
    default: bool,
) -> Tri:
    """Action/NotAction or Resource/NotResource; ``default`` when the statement has neither
    (trust policies have no Resource)."""
    if name in statement:
        return _any(match(p, value) for p in _as_list(statement[name]))
    if f"Not{name}" in statement:
        return _not(_any(match(p, value) for p in _as_list(statement[f"Not{name}"])))
    return default


def _principal_matches(element: Any, principal: Mapping[str, str], account_grants: bool) -> Tri:
    if element == "*":
        return True
    if not isinstance(element, Mapping):
        return None if UNRESOLVED in str(element) else False
    ((kind, identity),) = principal.items()
    return _any(
        _principal_value_matches(key, value, kind, identity, account_grants)
        for key, values in element.items()
        for value in _as_list(values)
    )


def _principal_value_matches(
    key: str, value: Any, kind: str, identity: str, account_grants: bool
) -> Tri:
    if not isinstance(value, str) or UNRESOLVED in value:
        return None if UNRESOLVED in str(value) else False
    if key == "AWS" and value == "*":  # IAM: the same as "Principal": "*"
        return True
    if key != kind:
        return False
    if value == identity:
        return True
    return kind == "AWS" and account_grants and _granted_account(value) == _arn_account(identity)


def _granted_account(value: str) -> str | None:
    """The account an account principal (``arn:aws:iam::<id>:root`` or a bare ID) names."""
    root = re.fullmatch(r"arn:[^:]+:iam::(\d{12}):root|(\d{12})", value)
    return (root.group(1) or root.group(2)) if root else None


def _arn_account(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 and parts[0] == "arn" else None


@functools.lru_cache(maxsize=4096)
def _glob_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _glob(pattern: Any, value: str, *, ignore_case: bool = False) -> Tri:
    """IAM wildcards: ``*`` any run of characters, ``?`` one character."""
    if not isinstance(pattern, str):
        return None if UNRESOLVED in str(pattern) else False
    if UNRESOLVED in pattern:
        return None
    return _glob_regex(pattern, ignore_case).fullmatch(value) is not None


def _match_action(pattern: Any, action: str) -> Tri:
    return _glob(pattern, action, ignore_case=True)


# Condition operators -------------------------------------------------------------------------
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html


def _arn_like(actual: str, pattern: str) -> Tri:
    """ArnEquals and ArnLike: each of the six colon-separated parts matched with wildcards."""
    if pattern == "*":
        return True
    actual_parts, pattern_parts = actual.split(":", 5), pattern.split(":", 5)
    if len(actual_parts) != len(pattern_parts):
        return False
    return _all(_glob(p, a) for p, a in zip(pattern_parts, actual_parts, strict=True))


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[str, str], Tri]:
    def match(actual: str, expected: str) -> Tri:
        try:
            return compare(float(actual), float(expected))
        except ValueError:
            return False

    return match


# name -> (match one context value against one policy value, whether the operator is negated)
_CONDITION_FUNCTIONS: dict[str, Callable[[list[Tri]], Tri]] = {
    "Fn::And": _all,
    "Fn::Or": _any,
    "Fn::Not": lambda parts: _not(_all(parts)),
}

_OPERATORS: dict[str, tuple[Callable[[str, str], Tri], bool]] = {
    "StringEquals": (operator.eq, False),
    "StringNotEquals": (operator.eq, True),
    "StringEqualsIgnoreCase": (lambda a, e: a.lower() == e.lower(), False),
    "StringNotEqualsIgnoreCase": (lambda a, e: a.lower() == e.lower(), True),
    "StringLike": (lambda a, e: _glob(e, a), False),
    "StringNotLike": (lambda a, e: _glob(e, a), True),
    "ArnEquals": (_arn_like, False),
    "ArnLike": (_arn_like, False),
    "ArnNotEquals": (_arn_like, True),
    "ArnNotLike": (_arn_like, True),
    "Bool": (lambda a, e: a.lower() == e.lower(), False),
    "NumericEquals": (_numeric(operator.eq), False),
    "NumericNotEquals": (_numeric(operator.eq), True),
    "NumericLessThan": (_numeric(operator.lt), False),
    "NumericLessThanEquals": (_numeric(operator.le), False),
    "NumericGreaterThan": (_numeric(operator.gt), False),
    "NumericGreaterThanEquals": (_numeric(operator.ge), False),
}


def _conditions_hold(block: Any, context: Mapping[str, list[str]]) -> Tri:
    """Every operator and every key of a Condition block must hold."""
    if not isinstance(block, Mapping):
        return None
    results: list[Tri] = []
    for name, keys in block.items():
        if not isinstance(keys, Mapping):
            return None
        results += [_condition_holds(name, key, value, context) for key, value in keys.items()]
    return _all(results)


def _missing_key_holds(qualifier: str, *, if_exists: bool, negated: bool) -> bool:
    if if_exists or qualifier == "ForAllValues":
        return True
    return False if qualifier == "ForAnyValue" else negated


def _condition_holds(name: str, key: str, expected: Any, context: Mapping[str, list[str]]) -> Tri:
    """One operator on one key. A key missing from the request: positive operators are false,
    negated ones true, ``...IfExists`` true, ``ForAnyValue:`` false, ``ForAllValues:`` true;
    ``Null`` tests presence itself. An operator this checker does not know: unknown."""
    qualifier, _, name = name.rpartition(":")
    if_exists = name.endswith("IfExists")
    name = name.removesuffix("IfExists")
    values = [_text(v) for v in _as_list(expected)]
    if any(UNRESOLVED in v for v in values):
        return None
    actual = context.get(key.lower())
    if name == "Null":
        return _any((actual is None) == (v.lower() == "true") for v in values)
    if name not in _OPERATORS:
        return None
    match, negated = _OPERATORS[name]
    if actual is None:
        return _missing_key_holds(qualifier, if_exists=if_exists, negated=negated)

    def satisfied(value: str) -> Tri:
        hit = _any(match(value, v) for v in values)
        return _not(hit) if negated else hit

    results = [satisfied(value) for value in actual]
    if qualifier == "ForAllValues" or (negated and qualifier != "ForAnyValue"):
        return _all(results)
    return _any(results)


# --- Who may do what in the app -------------------------------------------------------------


def _identity(app: App, role: Resource) -> tuple[dict[str, Any], list[str]]:
    """Every statement of every policy of ``role`` the app defines, and the ARNs of attached
    managed policies it does not define (AWS-managed: not evaluated)."""
    statements: list[Any] = []
    for inline in _as_list(app.props(role).get("Policies", [])):
        if isinstance(inline, Mapping):
            statements += [s for _, s in _statements(inline.get("PolicyDocument"))]
    attached = _attached_policies(app, role)
    for policy in attached:
        statements += [s for _, s in _statements(app.props(policy).get("PolicyDocument"))]
    defined = {app.ref(p) for p in attached}
    opaque = [
        _text(arn)
        for arn in _as_list(app.props(role).get("ManagedPolicyArns", []))
        if _text(arn) not in defined
    ]
    return {"Version": "2012-10-17", "Statement": statements}, opaque


def _attached_policies(app: App, role: Resource) -> list[Resource]:
    """The app's AWS::IAM::Policy and ManagedPolicy resources attached to ``role`` (through
    their Roles, or the role's ManagedPolicyArns)."""
    name, env = app.ref(role), app.env(role)
    arns = {_text(a) for a in _as_list(app.props(role).get("ManagedPolicyArns", []))}
    return [
        policy
        for policy in app.of_type(POLICY, MANAGED_POLICY)
        if (app.env(policy) == env and name in _as_list(app.props(policy).get("Roles", [])))
        or app.ref(policy) in arns
    ]


def _denials(
    policy: tuple[str, Any],
    principal: Mapping[str, str],
    actions: Sequence[str],
    resource: str,
    contexts: Sequence[Mapping[str, Any]],
) -> list[Problem]:
    """A resource policy ``(label, document)`` deciding alone: a service principal, or a
    principal of another account."""
    label, document = policy
    who = next(iter(principal.values()))
    problems = []
    for action in actions:
        for context in contexts:
            decision = evaluate(document, Request(principal, action, resource, context))
            if not decision.allowed:
                message = f"{label}: {action} by {who} on {resource} is {decision}"
                problems.append(Problem(DENIED, f"{message} ({_describe_context(context)})"))
    return problems


_ALLOW_ALL = {"Effect": "Allow", "Action": "*", "Resource": "*"}


def _role_denials(
    app: App,
    role: Resource,
    actions: Sequence[str],
    resource: str,
    *,
    resource_policy: tuple[str, Any] | None,
    key_policy: bool = False,
    request_keys: Mapping[str, Any] | None = None,
) -> list[Problem]:
    """A role of the account. Allowed when the resource policy names the role; or when its
    identity policies allow and no policy denies, and, for a KMS key, the key policy allows the
    account (or the role) so that identity policies count at all. ``request_keys`` are the
    condition keys of the request itself (``iam:PassedToService`` of a PassRole).
    https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html"""
    arn = app.attribute(role, "Arn")
    identity, opaque = _identity(app, role)
    problems = []
    for action in actions:
        for context in _contexts("role", {"aws:SecureTransport": True}):
            request = Request({"AWS": arn}, action, resource, {**context, **(request_keys or {})})
            why = _role_denial(identity, resource_policy, request, key_policy=key_policy)
            if why is None:
                continue
            message = f"{action} by {role.key} on {resource}: {why}"
            # Would it be allowed if the AWS-managed policies allowed everything?
            widest = {"Statement": [*identity["Statement"], _ALLOW_ALL]}
            widest_why = _role_denial(widest, resource_policy, request, key_policy=key_policy)
            if opaque and widest_why is None:
                opaque_note = f"; AWS-managed policies not evaluated: {', '.join(opaque)}"
                problems.append(Problem(NOT_EVALUABLE, message + opaque_note))
            else:
                problems.append(Problem(DENIED, message))
    return problems


def _role_denial(
    identity: Any, resource_policy: tuple[str, Any] | None, request: Request, *, key_policy: bool
) -> str | None:
    """Why AWS denies a role of the account ``request`` (None when it allows it)."""
    by_identity = evaluate(identity, request)
    identity_says = f"the role's identity policies: {by_identity}"
    if resource_policy is None or by_identity.effect is Effect.EXPLICIT_DENY:
        return None if by_identity.allowed else identity_says
    label, document = resource_policy
    by_resource = evaluate(document, request)
    if by_resource.effect is Effect.EXPLICIT_DENY:
        return f"{label}: {by_resource}"
    if _evaluate(document, request, account_grants=False).allowed:
        return None  # the resource policy names the role: no identity policy is needed
    if not by_identity.allowed:
        return f"{label} does not name the role ({by_resource}), and {identity_says}"
    if key_policy and not by_resource.allowed:
        return (
            f"{label} allows neither the account nor the role ({by_resource}), so identity "
            "policies do not count"
        )
    return None


def _trust_denials(
    app: App,
    role: Resource,
    principal: Mapping[str, str],
    contexts: Sequence[Mapping[str, Any]],
) -> list[Problem]:
    """The role's trust policy must let ``principal`` sts:AssumeRole."""
    trust = app.props(role).get("AssumeRolePolicyDocument")
    return _denials(
        (f"trust policy of {role.key}", trust),
        principal,
        ["sts:AssumeRole"],
        app.attribute(role, "Arn"),
        contexts,
    )


def _source_values(app: App, resource: Resource, source_arn: str) -> dict[str, Any]:
    """The values of the source keys of a request ``resource`` sends."""
    account = app.env(resource).account
    return {
        "aws:SourceAccount": account,
        "aws:SourceOwner": account,
        "aws:SourceArn": source_arn,
        "aws:SecureTransport": True,
    }


def _unresolved_problem(what: str, value: str) -> Problem:
    return Problem(UNRESOLVED_VALUE, f"{what} did not resolve ({value}): not evaluable")


# --- Topics and keys --------------------------------------------------------------------------


def _default_topic_policy(arn: str, account: str) -> dict[str, Any]:
    """The policy SNS gives a topic that has no TopicPolicy (a TopicPolicy replaces it)."""
    actions = [
        "SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
        "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe",
        "SNS:ListSubscriptionsByTopic", "SNS:Publish",
    ]  # fmt: skip
    return {
        "Version": "2008-10-17",
        "Statement": [
            {
                "Sid": "__default_statement_ID",
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": actions,
                "Resource": arn,
                "Condition": {"StringEquals": {"AWS:SourceOwner": account}},
            }
        ],
    }


def _topic_policies(app: App, topic: Resource) -> list[tuple[str, Any]]:
    """The topic's TopicPolicies (each replaces the others: all must allow), or the default."""
    arn = app.ref(topic)
    policies = [
        (f"topic policy {p.key}", app.props(p).get("PolicyDocument"))
        for p in app.of_type(TOPIC_POLICY)
        if arn in _as_list(app.props(p).get("Topics", []))
    ]
    return policies or [
        (f"default policy of {topic.key}", _default_topic_policy(arn, app.env(topic).account))
    ]


def _key_of(app: App, value: str, near: Resource) -> Resource | None:
    """The app's key a KmsKeyId / KmsMasterKeyId names: key ID, key ARN, alias or alias ARN."""
    key = app.find(value, KEY, env=app.env(near))
    if key is None:
        alias = app.find(value.rsplit(":", 1)[-1], KEY_ALIAS, env=app.env(near))
        if alias is not None:
            target = _text(app.props(alias).get("TargetKeyId", ""))
            key = app.find(target, KEY, env=app.env(alias))
    return key


def _key_policy(app: App, key: Resource) -> tuple[str, Any]:
    document = app.props(key).get("KeyPolicy")
    if document is None:  # KMS's default key policy: the account may use IAM policies
        root = f"arn:{app.env(key).partition}:iam::{app.env(key).account}:root"
        statement = {
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": "kms:*",
            "Resource": "*",
        }
        document = {"Statement": [statement]}
    return f"key policy of {key.key}", document


def _topic_delivery(
    app: App,
    topic: Resource,
    *,
    sender: str,
    values: Mapping[str, Any],
    role: Resource | None = None,
) -> list[Problem]:
    """``sender`` (a service, or ``role`` when given) publishes to ``topic``: the topic policy
    must allow sns:Publish and, on an encrypted topic, the key policy kms:GenerateDataKey and
    kms:Decrypt. https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html"""
    arn, publisher = app.ref(topic), {"Service": f"{sender}.amazonaws.com"}
    problems: list[Problem] = []
    policies = _topic_policies(app, topic)
    if len(policies) > 1:
        labels = ", ".join(label for label, _ in policies)
        problems.append(Problem(DENIED, f"{labels} replace each other: only one takes effect"))
    for policy in policies:
        if role is None:
            contexts = _contexts(f"{sender}->sns", values)
            problems += _denials(policy, publisher, ["sns:Publish"], arn, contexts)
        else:
            problems += _role_denials(app, role, ["sns:Publish"], arn, resource_policy=policy)
    return problems + _topic_key_problems(app, topic, sender=sender, values=values, role=role)


def _topic_key_problems(
    app: App,
    topic: Resource,
    *,
    sender: str,
    values: Mapping[str, Any],
    role: Resource | None,
) -> list[Problem]:
    key_id = app.text(topic.properties.get("KmsMasterKeyId", ""), topic.template)
    if not key_id:
        return []
    if UNRESOLVED in key_id:
        return [_unresolved_problem(f"KmsMasterKeyId of {topic.key}", key_id)]
    if key_id.split(":")[-1] == "alias/aws/sns":
        # Its policy lets the account's principals use it through SNS; no service principal.
        message = (
            f"{topic.key} is encrypted with the AWS-managed key alias/aws/sns, whose policy "
            f"cannot be changed: {sender}.amazonaws.com can never publish to it"
        )
        return [] if role else [Problem(DENIED, message)]
    key = _key_of(app, key_id, topic)
    if key is None:
        return [Problem(NOT_EVALUABLE, f"the key {key_id} of {topic.key} is not in the app")]
    actions, key_arn = ["kms:GenerateDataKey", "kms:Decrypt"], app.attribute(key, "Arn")
    if role is not None:
        policy = _key_policy(app, key)
        return _role_denials(app, role, actions, key_arn, resource_policy=policy, key_policy=True)
    publisher, contexts = (
        {"Service": f"{sender}.amazonaws.com"},
        _contexts(f"{sender}->kms", values),
    )
    return _denials(_key_policy(app, key), publisher, actions, key_arn, contexts)


# --- Pairs --------------------------------------------------------------------------------------

_ALARM_ACTIONS = ("AlarmActions", "OKActions", "InsufficientDataActions")
_Problems = Callable[[Resource], list[Problem]]


def _receiver(app: App, value: Any, types: Sequence[str], near: Resource) -> Resource | str | None:
    """The receiver ``value`` names: the app's resource, the value itself when it did not
    resolve, None when it is not in the app (not ours to check)."""
    text = _text(value)
    if UNRESOLVED in text:
        return text
    return app.find(text, *types, env=app.env(near))


def _pair(
    sender: Resource, receiver: Resource | str | None, what: str, problems_of: _Problems
) -> Iterator[Pair]:
    """The pair, with ``problems_of(receiver)``; an unresolved receiver is a problem itself, a
    receiver outside the app makes no pair."""
    if isinstance(receiver, str):
        yield Pair(sender.key, receiver, what, [_unresolved_problem("the receiver", receiver)])
    elif receiver is not None:
        yield Pair(sender.key, receiver.key, what, problems_of(receiver))


def _alarm_notifications(app: App) -> Iterator[Pair]:
    for alarm in app.of_type(ALARM, COMPOSITE_ALARM):
        values = _source_values(app, alarm, app.attribute(alarm, "Arn"))
        publish = functools.partial(_topic_delivery, app, sender="cloudwatch", values=values)
        props = app.props(alarm)
        actions = {_text(a) for prop in _ALARM_ACTIONS for a in _as_list(props.get(prop, []))}
        for action in sorted(actions):
            topic = _receiver(app, action, [TOPIC], alarm)
            yield from _pair(alarm, topic, "CloudWatch alarm actions publish to the topic", publish)


def _rule_targets(app: App) -> Iterator[Pair]:
    for rule in app.of_type(RULE):
        values = _source_values(app, rule, app.attribute(rule, "Arn"))
        for target in _as_list(app.props(rule).get("Targets", [])):
            yield from _rule_target(app, rule, target, values)


def _rule_target(
    app: App, rule: Resource, target: Mapping[str, Any], values: Mapping[str, Any]
) -> Iterator[Pair]:
    """A topic or log group target; through the target's role when it has one."""
    receiver = _receiver(app, target.get("Arn"), [TOPIC, LOG_GROUP], rule)
    if isinstance(receiver, Resource) and receiver.type == LOG_GROUP:
        deliver: _Problems = functools.partial(_log_group_delivery, app, values=values)
        yield from _pair(rule, receiver, "EventBridge rule target writes to the log group", deliver)
        return
    role: Resource | None = None
    if "RoleArn" in target:
        found = _receiver(app, target["RoleArn"], [ROLE], rule)
        trust = functools.partial(
            _trust_denials,
            app,
            principal={"Service": "events.amazonaws.com"},
            contexts=_contexts("service->sts", values),
        )
        yield from _pair(rule, found, "EventBridge assumes the target's role", trust)
        if not isinstance(found, Resource):
            return  # reported when it did not resolve; not ours when it is not in the app
        role = found
    publish = functools.partial(_topic_delivery, app, sender="events", values=values, role=role)
    yield from _pair(rule, receiver, "EventBridge rule target publishes to the topic", publish)


def _log_group_delivery(app: App, group: Resource, *, values: Mapping[str, Any]) -> list[Problem]:
    """EventBridge writes to a log group: the account's CloudWatch Logs resource policies (all
    of the region's together) must allow logs:CreateLogStream and logs:PutLogEvents. The
    resource is the log stream (``<group ARN without :*>:log-stream:*``); leniently, a grant on
    the log group's ARN, with or without ``:*``, counts too."""
    env, statements, problems = app.env(group), [], []
    for policy in app.of_type(LOGS_RESOURCE_POLICY):
        document = app.props(policy).get("PolicyDocument")
        if app.env(policy) != env:
            continue
        if isinstance(document, str):
            try:
                document = json.loads(document)
            except ValueError:
                problems.append(_unresolved_problem(f"PolicyDocument of {policy.key}", document))
                continue
        statements += [s for _, s in _statements(document)]
    label = f"CloudWatch Logs resource policies of {env.account} in {env.region}"
    arn = app.attribute(group, "Arn").removesuffix(":*")
    stream, *group_forms = (f"{arn}:log-stream:*", f"{arn}:*", arn)
    principal = {"Service": "events.amazonaws.com"}
    for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
        for context in _contexts("events->logs", values):
            decision = evaluate(
                {"Statement": statements}, Request(principal, action, stream, context)
            )
            lenient = [
                evaluate({"Statement": statements}, Request(principal, action, r, context))
                for r in group_forms
            ]
            if decision.effect is Effect.EXPLICIT_DENY or not (
                decision.allowed or any(d.allowed for d in lenient)
            ):
                message = f"{label}: {action} by events.amazonaws.com on {stream} is {decision}"
                problems.append(Problem(DENIED, f"{message} ({_describe_context(context)})"))
    return problems


def _extension_notifications(app: App) -> Iterator[Pair]:
    for association in app.of_type(EXTENSION_ASSOCIATION):
        props = app.props(association)
        if "topicArn" not in props.get("Parameters", {}):
            continue
        source = _text(props.get("ResourceIdentifier", ""))
        values = _source_values(app, association, source)
        publish = functools.partial(_topic_delivery, app, sender="appconfig", values=values)
        topic = _receiver(app, props["Parameters"]["topicArn"], [TOPIC], association)
        what = "AppConfig deployment notifications publish to the topic"
        yield from _pair(association, topic, what, publish)


def _log_group_keys(app: App) -> Iterator[Pair]:
    for group in app.of_type(LOG_GROUP):
        if "KmsKeyId" in group.properties:
            key_id = _text(app.props(group)["KmsKeyId"])
            key = key_id if UNRESOLVED in key_id else _key_of(app, key_id, group)
            encrypt = functools.partial(_log_group_encryption, app, group)
            yield from _pair(
                group, key, "CloudWatch Logs encrypts the log group with the key", encrypt
            )


def _log_group_encryption(app: App, group: Resource, key: Resource) -> list[Problem]:
    arn = app.attribute(group, "Arn").removesuffix(":*")
    contexts = _contexts("logs->kms", {"kms:EncryptionContext:aws:logs:arn": arn})
    principal = {"Service": f"logs.{app.env(group).region}.amazonaws.com"}
    actions = ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"]
    return _denials(_key_policy(app, key), principal, actions, app.attribute(key, "Arn"), contexts)


def _bucket_policy(app: App, bucket: Resource) -> tuple[str, Any]:
    name = app.ref(bucket)
    for policy in app.of_type(BUCKET_POLICY):
        if _text(app.props(policy).get("Bucket")) == name:
            return f"bucket policy {policy.key}", app.props(policy).get("PolicyDocument")
    return f"{bucket.key} (no bucket policy)", {"Statement": []}


def _load_balancer_logs(app: App) -> Iterator[Pair]:
    for balancer in app.of_type(LOAD_BALANCER):
        attributes = {
            _text(a.get("Key")): _text(a.get("Value"))
            for a in _as_list(app.props(balancer).get("LoadBalancerAttributes", []))
            if isinstance(a, Mapping)
        }
        if attributes.get("access_logs.s3.enabled") == "true":
            bucket = _receiver(app, attributes.get("access_logs.s3.bucket"), [BUCKET], balancer)
            prefix = attributes.get("access_logs.s3.prefix", "")
            deliver = functools.partial(_load_balancer_delivery, app, balancer, prefix=prefix)
            what = "Elastic Load Balancing writes access logs to the bucket"
            yield from _pair(balancer, bucket, what, deliver)


def _load_balancer_delivery(
    app: App, balancer: Resource, bucket: Resource, *, prefix: str
) -> list[Problem]:
    """s3:PutObject on ``<bucket>/<prefix>/AWSLogs/<account>/*`` for the region's ELB account or
    for the log delivery service principal: either may be the one that writes."""
    env = app.env(balancer)
    key = "/".join(p for p in (prefix.strip("/"), "AWSLogs", env.account, "*") if p)
    resource = f"{app.attribute(bucket, 'Arn')}/{key}"
    values = _source_values(app, balancer, app.ref(balancer))
    candidates = [({"Service": ELB_LOG_DELIVERY}, _contexts("logdelivery.elb->s3", values))]
    if env.region in ELB_ACCOUNTS:
        root = f"arn:{env.partition}:iam::{ELB_ACCOUNTS[env.region]}:root"
        candidates.insert(0, ({"AWS": root}, _contexts("elb->s3", values)))
    policy = _bucket_policy(app, bucket)
    denials = [_denials(policy, p, ["s3:PutObject"], resource, c) for p, c in candidates]
    return [] if any(not d for d in denials) else [p for d in denials for p in d]


def _flow_logs(app: App) -> Iterator[Pair]:
    for flow_log in app.of_type(FLOW_LOG):
        props = app.props(flow_log)
        if _text(props.get("LogDestinationType", "")) == "s3":
            destination = _text(props.get("LogDestination", ""))
            name, _, prefix = destination.split(":::")[-1].partition("/")
            bucket = _receiver(app, name, [BUCKET], flow_log)
            deliver = functools.partial(_flow_log_delivery, app, flow_log, prefix=prefix)
            yield from _pair(flow_log, bucket, "VPC flow logs are delivered to the bucket", deliver)


def _flow_log_delivery(
    app: App, flow_log: Resource, bucket: Resource, *, prefix: str
) -> list[Problem]:
    env = app.env(flow_log)
    prefix = f"{prefix.strip('/')}/" if prefix.strip("/") else ""
    bucket_arn = app.attribute(bucket, "Arn")
    values = {
        **_source_values(app, flow_log, _arn(env, "logs", "*")),
        "s3:x-amz-acl": "bucket-owner-full-control",
    }
    policy, principal = _bucket_policy(app, bucket), {"Service": "delivery.logs.amazonaws.com"}
    put = _contexts("delivery.logs->s3:PutObject", values)
    read_acl = _contexts("delivery.logs->s3:GetBucketAcl", values)
    objects = f"{bucket_arn}/{prefix}AWSLogs/{env.account}/*"
    return _denials(policy, principal, ["s3:PutObject"], objects, put) + _denials(
        policy, principal, ["s3:GetBucketAcl"], bucket_arn, read_acl
    )


def _server_access_logs(app: App) -> Iterator[Pair]:
    for source in app.of_type(BUCKET):
        logging = app.props(source).get("LoggingConfiguration")
        if isinstance(logging, Mapping):
            name = logging.get("DestinationBucketName", app.ref(source))
            bucket = _receiver(app, name, [BUCKET], source)
            prefix = _text(logging.get("LogFilePrefix", ""))
            deliver = functools.partial(_server_access_log_delivery, app, source, prefix=prefix)
            what = "S3 server access logs are delivered to the bucket"
            yield from _pair(source, bucket, what, deliver)


def _server_access_log_delivery(
    app: App, source: Resource, bucket: Resource, *, prefix: str
) -> list[Problem]:
    objects = f"{app.attribute(bucket, 'Arn')}/{prefix}*"
    values = _source_values(app, source, app.attribute(source, "Arn"))
    principal = {"Service": "logging.s3.amazonaws.com"}
    contexts = _contexts("logging.s3->s3", values)
    return _denials(_bucket_policy(app, bucket), principal, ["s3:PutObject"], objects, contexts)


def _environment_arn(app: App, environment: Resource) -> str:
    application = _text(app.props(environment).get("ApplicationId", ""))
    resource = f"application/{application}/environment/{app.ref(environment)}"
    return _arn(app.env(environment), "appconfig", resource)


def _appconfig_monitors(app: App) -> Iterator[Pair]:
    for environment in app.of_type(APPCONFIG_ENVIRONMENT):
        values = _source_values(app, environment, _environment_arn(app, environment))
        for monitor in _as_list(app.props(environment).get("Monitors", [])):
            alarm_arn = _text(monitor.get("AlarmArn", ""))
            what = f"AppConfig assumes the monitor's role to read {alarm_arn}"
            if "AlarmRoleArn" not in monitor:
                problem = Problem(NOT_EVALUABLE, "the monitor has no AlarmRoleArn")
                yield Pair(environment.key, alarm_arn, what, [problem])
                continue
            role = _receiver(app, monitor["AlarmRoleArn"], [ROLE], environment)
            read = functools.partial(_monitor_reads, app, environment, alarm_arn, values=values)
            yield from _pair(environment, role, what, read)


def _monitor_reads(
    app: App, environment: Resource, alarm_arn: str, role: Resource, *, values: Mapping[str, Any]
) -> list[Problem]:
    """The role trusts AppConfig, may read the alarm, and may before AppConfig starts."""
    appconfig = {"Service": "appconfig.amazonaws.com"}
    problems = _trust_denials(app, role, appconfig, _contexts("service->sts", values))
    problems += _role_denials(
        app, role, ["cloudwatch:DescribeAlarms"], alarm_arn, resource_policy=None
    )
    return problems + _ordering_problems(app, environment, role)


def _ordering_problems(app: App, environment: Resource, role: Resource) -> list[Problem]:
    """Every policy of the role is in the DependsOn closure of the environment and of each of its
    deployments, so AppConfig never reads the alarms before the role may."""
    deployments = [
        d
        for d in app.of_type(APPCONFIG_DEPLOYMENT)
        if d.template == environment.template
        and _text(app.props(d).get("EnvironmentId")) == app.ref(environment)
    ]
    problems = []
    for policy in _attached_policies(app, role):
        for dependent in (environment, *deployments):
            if policy.template != dependent.template:
                message = f"{policy.key} and {dependent.key} are in different templates"
                problems.append(Problem(NOT_EVALUABLE, f"{message}: their order is not evaluable"))
            elif policy.logical_id not in _dependencies(app, dependent):
                message = f"{policy.key} (a policy of {role.key}) is not a dependency of"
                reason = "AppConfig may read the alarms before the role may"
                problems.append(Problem(ORDER, f"{message} {dependent.key}: {reason}"))
    return problems


def _dependencies(app: App, resource: Resource) -> set[str]:
    """The logical IDs ``resource`` transitively depends on: DependsOn, and the resources its
    properties refer to (Ref, Fn::GetAtt, Fn::Sub)."""
    seen: set[str] = set()
    pending = [resource]
    while pending:
        current = pending.pop()
        for logical_id in {*current.depends_on, *_references(current.properties)} - seen:
            found = app.resource(resource.template, logical_id)
            if found is not None:
                seen.add(logical_id)
                pending.append(found)
    return seen


def _references(value: Any) -> Iterator[str]:
    if isinstance(value, list):
        for item in value:
            yield from _references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                yield item
            elif key == "Fn::GetAtt":
                yield (item.split(".")[0] if isinstance(item, str) else item[0])
            elif key == "Fn::Sub":
                text = item if isinstance(item, str) else item[0]
                yield from (m.split(".")[0] for m in _SUB_VARIABLE.findall(text))
            yield from _references(item)


def _pipeline_roles(app: App) -> Iterator[Pair]:
    for pipeline in app.of_type(PIPELINE):
        values = _source_values(app, pipeline, app.attribute(pipeline, "Arn"))
        role = _receiver(app, app.props(pipeline).get("RoleArn", ""), [ROLE], pipeline)
        trust = functools.partial(
            _trust_denials,
            app,
            principal={"Service": "codepipeline.amazonaws.com"},
            contexts=_contexts("service->sts", values),
        )
        yield from _pair(pipeline, role, "CodePipeline assumes its service role", trust)
        if isinstance(role, Resource):
            yield from _action_roles(app, pipeline, role)
            yield from _alarm_rules(app, pipeline, role)


def _action_roles(app: App, pipeline: Resource, pipeline_role: Resource) -> Iterator[Pair]:
    actions: dict[str, list[str]] = {}
    for stage in _as_list(app.props(pipeline).get("Stages", [])):
        for action in _as_list(stage.get("Actions", [])):
            if "RoleArn" in action:
                names = actions.setdefault(_text(action["RoleArn"]), [])
                names.append(f"{stage.get('Name')}.{action.get('Name')}")
    assume = functools.partial(_pipeline_assumes, app, pipeline_role)
    for role_arn, names in actions.items():
        role = _receiver(app, role_arn, [ROLE], pipeline)
        yield from _pair(
            pipeline_role, role, f"CodePipeline assumes the role of {', '.join(names)}", assume
        )


def _pipeline_assumes(app: App, pipeline_role: Resource, role: Resource) -> list[Problem]:
    """An action's role trusts the pipeline role, whose identity policies let it sts:AssumeRole
    the action's role (both are required here, even where a trust naming the role would do)."""
    principal = {"AWS": app.attribute(pipeline_role, "Arn")}
    contexts = _contexts("role", {"aws:SecureTransport": True})
    problems = _trust_denials(app, role, principal, contexts)
    arn = app.attribute(role, "Arn")
    return problems + _role_denials(
        app, pipeline_role, ["sts:AssumeRole"], arn, resource_policy=None
    )


def _stage_rules(stage: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The rules of a stage's entry, success and failure conditions."""
    for when in ("BeforeEntry", "OnSuccess", "OnFailure"):
        for condition in _as_list(stage.get(when, {}).get("Conditions", [])):
            yield from _as_list(condition.get("Rules", []))


def _alarm_rule_names(app: App, pipeline: Resource) -> Iterator[tuple[Mapping[str, Any], str]]:
    """The pipeline's CloudWatchAlarm rules and the alarm each watches."""
    for stage in _as_list(app.props(pipeline).get("Stages", [])):
        for rule in _stage_rules(stage):
            if rule.get("RuleTypeId", {}).get("Provider") == "CloudWatchAlarm":
                yield rule, _text(rule.get("Configuration", {}).get("AlarmName", ""))


def _alarm_rules(app: App, pipeline: Resource, pipeline_role: Resource) -> Iterator[Pair]:
    """CloudWatchAlarm rules run with the pipeline role (or their own) and read their alarm."""
    seen = set()
    for rule, name in _alarm_rule_names(app, pipeline):
        what = f"CloudWatchAlarm rules read {name}"
        role: Resource | str | None = pipeline_role
        if "RoleArn" in rule:
            role = _receiver(app, rule["RoleArn"], [ROLE], pipeline)
        if isinstance(role, str):  # the rule's role did not resolve: the pipeline's problem
            yield from _pair(pipeline, role, what, _no_problems)
        elif role is not None and (role.key, name) not in seen:
            seen.add((role.key, name))
            alarm = _receiver(app, name, [ALARM, COMPOSITE_ALARM], pipeline)
            yield from _pair(role, alarm, what, functools.partial(_reads_alarm, app, role))


def _codebuild_actions(app: App, pipeline: Resource) -> Iterator[tuple[Resource, dict[str, str]]]:
    """The project of each CodeBuild action of the pipeline and the action's environment
    variables (a JSON list in ``Configuration.EnvironmentVariables``)."""
    for stage in _as_list(app.props(pipeline).get("Stages", [])):
        for action in _as_list(stage.get("Actions", [])):
            if action.get("ActionTypeId", {}).get("Provider") != "CodeBuild":
                continue
            configuration = action.get("Configuration", {})
            project = _receiver(app, configuration.get("ProjectName", ""), [PROJECT], pipeline)
            if not isinstance(project, Resource):
                continue
            text = _text(configuration.get("EnvironmentVariables", "[]"))
            variables = json.loads(text) if UNRESOLVED not in text else []
            yield project, {v["name"]: v["value"] for v in variables}


def _release_actions(app: App) -> Iterator[Pair]:
    """A release action's project reads the alarms it watches (``WATCHED_ALARMS``) and writes
    the deployed image into each service's secret (``IMAGE_SECRETS``), with its service role."""
    for pipeline in app.of_type(PIPELINE):
        for project, variables in _codebuild_actions(app, pipeline):
            role = _receiver(app, app.props(project).get("ServiceRole", ""), [ROLE], project)
            if not isinstance(role, Resource):
                continue
            for name in variables.get("WATCHED_ALARMS", "").split():
                alarm = _receiver(app, name, [ALARM, COMPOSITE_ALARM], pipeline)
                yield from _pair(
                    role,
                    alarm,
                    f"the release action watches {name}",
                    functools.partial(_watches_alarm, app, role),
                )
            for name in variables.get("IMAGE_SECRETS", "").split():
                secret = _receiver(app, name, [SECRET], pipeline)
                yield from _pair(
                    role,
                    secret,
                    f"the release action records the image in {name}",
                    functools.partial(_writes_secret, app, role),
                )


def _watches_alarm(app: App, role: Resource, alarm: Resource) -> list[Problem]:
    arn = app.attribute(alarm, "Arn")
    actions = ["cloudwatch:DescribeAlarms", "cloudwatch:DescribeAlarmHistory"]
    return _role_denials(app, role, actions, arn, resource_policy=None)


def _writes_secret(app: App, role: Resource, secret: Resource) -> list[Problem]:
    arn = app.ref(secret)
    return _role_denials(app, role, ["secretsmanager:PutSecretValue"], arn, resource_policy=None)


def _no_problems(_: Resource) -> list[Problem]:
    return []


def _reads_alarm(app: App, role: Resource, alarm: Resource) -> list[Problem]:
    arn = app.attribute(alarm, "Arn")
    return _role_denials(app, role, ["cloudwatch:DescribeAlarms"], arn, resource_policy=None)


def _ecs_load_balancer_roles(props: Mapping[str, Any]) -> list[Any]:
    return [
        lb["AdvancedConfiguration"]["RoleArn"]
        for lb in _as_list(props.get("LoadBalancers", []))
        if "RoleArn" in lb.get("AdvancedConfiguration", {})
    ]


# type -> (the role ARNs or names a resource of the type hands its service, that service)
_SERVICE_ROLES: dict[str, tuple[Callable[[Mapping[str, Any]], list[Any]], str]] = {
    PROJECT: (lambda p: [p["ServiceRole"]] if "ServiceRole" in p else [], "codebuild"),
    TASK_DEFINITION: (
        lambda p: [p[k] for k in ("ExecutionRoleArn", "TaskRoleArn") if k in p],
        "ecs-tasks",
    ),
    ECS_SERVICE: (_ecs_load_balancer_roles, "ecs"),
    # Express Mode's infrastructure role (ECS developer guide, "Amazon ECS infrastructure IAM
    # role": trusted by ecs.amazonaws.com).
    EXPRESS_SERVICE: (
        lambda p: [p["InfrastructureRoleArn"]] if "InfrastructureRoleArn" in p else [],
        "ecs",
    ),
    LAMBDA_FUNCTION: (lambda p: [p["Role"]] if "Role" in p else [], "lambda"),
}


def _service_role_trusts(app: App) -> Iterator[Pair]:
    for resource in app.of_type(*_SERVICE_ROLES):
        roles_of, service = _SERVICE_ROLES[resource.type]
        source = app.physical(resource).attributes.get("Arn", app.ref(resource))
        trust = functools.partial(
            _trust_denials,
            app,
            principal={"Service": f"{service}.amazonaws.com"},
            contexts=_contexts("service->sts", _source_values(app, resource, source)),
        )
        for value in roles_of(app.props(resource)):
            role = _receiver(app, value, [ROLE], resource)
            yield from _pair(resource, role, f"{service}.amazonaws.com assumes the role", trust)


# What the Express deploy action calls on its service (gated_pipeline/express_deploy.py).
EXPRESS_DEPLOY_ACTIONS = (
    "ecs:DescribeExpressGatewayService",
    "ecs:UpdateExpressGatewayService",
    "ecs:ListServiceDeployments",
)


def _express_deploys(app: App) -> Iterator[Pair]:
    """An Express deploy action's project (``EXPRESS_SERVICE_ARN``) deploys to the service with
    its service role: the Express calls on the service, a new revision of its task definition,
    and passing that task definition's roles to ECS tasks."""
    for pipeline in app.of_type(PIPELINE):
        for project, variables in _codebuild_actions(app, pipeline):
            arn = variables.get("EXPRESS_SERVICE_ARN")
            role = _receiver(app, app.props(project).get("ServiceRole", ""), [ROLE], project)
            if arn is None or not isinstance(role, Resource):
                continue
            service = _receiver(app, arn, [EXPRESS_SERVICE], pipeline)
            yield from _pair(
                role,
                service,
                f"the Express deploy action deploys to {arn}",
                functools.partial(_deploys_express, app, role),
            )


def _deploys_express(app: App, role: Resource, service: Resource) -> list[Problem]:
    problems = _role_denials(
        app, role, EXPRESS_DEPLOY_ACTIONS, app.ref(service), resource_policy=None
    )
    # No resource type in the Service Authorization Reference: requests name "*".
    problems += _role_denials(
        app,
        role,
        ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"],
        "*",
        resource_policy=None,
    )
    task = _receiver(
        app, app.props(service).get("TaskDefinitionArn", ""), [TASK_DEFINITION], service
    )
    if not isinstance(task, Resource):
        return [*problems, _unresolved_problem("the service's task definition", str(task))]
    for key in ("TaskRoleArn", "ExecutionRoleArn"):
        passed = app.props(task).get(key)
        if passed is not None:
            problems += _role_denials(
                app,
                role,
                ["iam:PassRole"],
                _text(passed),
                resource_policy=None,
                request_keys={"iam:PassedToService": "ecs-tasks.amazonaws.com"},
            )
    return problems


# --- Incidents: OpsCenter, investigations, chat channels, paging, notification rules --------

ALARM_TO_OPSCENTER = "CloudWatch alarm actions create OpsItems"
ALARM_TO_INVESTIGATION = "CloudWatch alarm actions start investigations in the group"
TOPIC_TO_CHAT = "the chat channel configuration posts the topic's notifications"
TOPIC_TO_HTTPS = "SNS delivers the topic's notifications to the HTTPS endpoint"
RULE_TO_CHAT = "CodeStar Notifications post the rule's events in the chat channel"
RULE_TO_TOPIC = "CodeStar Notifications publish the rule's events to the topic"

# arn:aws:ssm:<region>:<account>:opsitem:<severity>#CATEGORY=<category>: severity 1-4, the
# categories as written (case-sensitive). Systems Manager user guide, "Configure an existing
# alarm to create OpsItems (programmatically)"; PutMetricAlarm API reference.
OPSITEM_ACTION = re.compile(r"arn:([a-z-]+):ssm:([a-z0-9-]+):(\d{12}):opsitem:(.*)")
OPSITEM_DETAIL = re.compile(r"[1-4](#CATEGORY=(Availability|Cost|Performance|Recovery|Security))?")
# The group's ARN, optionally with a deduplication string (CloudWatch user guide, "Configure
# alarms to create investigations"); the group ID is 16 letters and digits (AIOps API).
INVESTIGATION_ACTION = re.compile(
    r"arn:([a-z-]+):aiops:([a-z0-9-]+):(\d{12}):investigation-group/([A-Za-z0-9]{16})"
    r"(#DEDUPE_STRING=.+)?"
)
INVESTIGATION_ACTIONS = ("aiops:CreateInvestigation", "aiops:CreateInvestigationEvent")
ALARMS_PRINCIPAL = {"Service": "aiops.alarms.cloudwatch.amazonaws.com"}
MAX_ALARM_ACTIONS = 5  # per action list (PutMetricAlarm, PutCompositeAlarm)
CHAT_TARGETS = {"AWSChatbotSlack": SLACK_CHANNEL, "AWSChatbotMicrosoftTeams": TEAMS_CHANNEL}
# What a notification rule's event type IDs start with, by the service of its resource
# (Developer Tools console user guide, "Events for notification rules").
EVENT_PREFIXES = {
    "codepipeline": "codepipeline-pipeline-",
    "codebuild": "codebuild-project-",
    "codecommit": "codecommit-repository-",
    "codedeploy": "codedeploy-application-",
}


def _alarm_incident_actions(app: App) -> Iterator[Pair]:
    """Every OpsItem and investigation action of every alarm."""
    for alarm in app.of_type(ALARM, COMPOSITE_ALARM):
        props = app.props(alarm)
        for prop in _ALARM_ACTIONS:
            for action in (_text(a) for a in _as_list(props.get(prop, []))):
                if ":ssm:" in action and ":opsitem:" in action:
                    problems = _alarm_only(app, alarm, prop) + _opsitem_problems(app, alarm, action)
                    env = app.env(alarm)
                    receiver = f"OpsCenter of {env.account} in {env.region}"
                    yield Pair(alarm.key, receiver, ALARM_TO_OPSCENTER, problems)
                elif ":aiops:" in action:
                    yield _investigation_pair(app, alarm, prop, action)


def _alarm_only(app: App, alarm: Resource, prop: str) -> list[Problem]:
    """An OpsItem or investigation action acts on ALARM, in an alarm whose actions run."""
    props, problems = app.props(alarm), []
    if prop != "AlarmActions":
        why = (
            "a composite alarm's OK and INSUFFICIENT_DATA actions may only be SNS or Lambda"
            if alarm.type == COMPOSITE_ALARM
            else "CloudWatch documents it for the ALARM state only"
        )
        problems.append(Problem(MISCONFIGURED, f"the action is in {prop}: {why}"))
    if _text(props.get("ActionsEnabled", True)) == "false":
        problems.append(Problem(MISCONFIGURED, f"{alarm.key} has ActionsEnabled false"))
    count = len(_as_list(props.get(prop, [])))
    if count > MAX_ALARM_ACTIONS:
        message = f"{prop} of {alarm.key} holds {count} actions; CloudWatch allows"
        problems.append(Problem(DENIED, f"{message} {MAX_ALARM_ACTIONS}"))
    return problems


def _in_alarm_environment(app: App, alarm: Resource, region: str, account: str) -> list[Problem]:
    env = app.env(alarm)
    if (region, account) == (env.region, env.account):
        return []
    message = f"the action names {account} in {region}, not the alarm's {env.account} in"
    return [Problem(DENIED, f"{message} {env.region}")]


def _opsitem_problems(app: App, alarm: Resource, action: str) -> list[Problem]:
    if UNRESOLVED in action:
        return [_unresolved_problem("the OpsItem action", action)]
    match = OPSITEM_ACTION.fullmatch(action)
    if match is None:
        return [Problem(DENIED, f"{action} is not an OpsItem action ARN")]
    _, region, account, detail = match.groups()
    problems = _in_alarm_environment(app, alarm, region, account)
    if not OPSITEM_DETAIL.fullmatch(detail):
        message = f"{detail!r} is not a severity 1-4 with an optional #CATEGORY= of"
        categories = "Availability, Cost, Performance, Recovery, Security"
        problems.append(Problem(DENIED, f"{message} {categories}"))
    return problems


def _investigation_pair(app: App, alarm: Resource, prop: str, action: str) -> Pair:
    """The action's ARN, and the group's resource policy when the app defines the group."""
    problems = _alarm_only(app, alarm, prop)
    if UNRESOLVED in action:
        return Pair(alarm.key, action, ALARM_TO_INVESTIGATION, [_unresolved_problem("it", action)])
    match = INVESTIGATION_ACTION.fullmatch(action)
    if match is None:
        return Pair(
            alarm.key,
            action,
            ALARM_TO_INVESTIGATION,
            [*problems, Problem(DENIED, f"{action} is not an investigation group ARN")],
        )
    problems += _in_alarm_environment(app, alarm, match.group(2), match.group(3))
    group_arn = action.split("#", 1)[0]
    group = app.find(group_arn, INVESTIGATION_GROUP)
    if group is None:
        return Pair(alarm.key, group_arn, ALARM_TO_INVESTIGATION, problems)
    values = _source_values(app, alarm, app.attribute(alarm, "Arn"))
    text = app.text(group.properties.get("InvestigationGroupPolicy", "{}"), group.template)
    if UNRESOLVED in text:
        problems.append(_unresolved_problem(f"InvestigationGroupPolicy of {group.key}", text))
    else:
        policy = (f"investigation group policy of {group.key}", json.loads(text))
        contexts = _contexts("aiops.alarms->aiops", values)
        problems += _denials(policy, ALARMS_PRINCIPAL, INVESTIGATION_ACTIONS, group_arn, contexts)
    return Pair(alarm.key, group.key, ALARM_TO_INVESTIGATION, problems)


def _chat_subscriptions(app: App) -> Iterator[Pair]:
    """A chat channel configuration naming a topic: the chat service subscribes it."""
    for configuration in app.of_type(SLACK_CHANNEL, TEAMS_CHANNEL):
        for arn in _as_list(app.props(configuration).get("SnsTopicArns", [])):
            topic = _receiver(app, arn, [TOPIC], configuration)
            if isinstance(topic, str):
                yield Pair(
                    configuration.key, topic, TOPIC_TO_CHAT, [_unresolved_problem("it", topic)]
                )
            elif topic is not None:
                problems = _chat_problems(app, configuration) + _subscribe_denials(app, topic)
                yield Pair(topic.key, configuration.key, TOPIC_TO_CHAT, problems)


def _chat_problems(app: App, configuration: Resource) -> list[Problem]:
    """The configuration's role trusts the chat service, and its guardrails are explicit and
    not administrative: "The AWS managed 'AdministratorAccess' policy is applied as a default
    if this is not set" (CloudFormation, GuardrailPolicies)."""
    props, problems = app.props(configuration), []
    role = _receiver(app, props.get("IamRoleArn", ""), [ROLE], configuration)
    if isinstance(role, str):
        problems.append(_unresolved_problem(f"IamRoleArn of {configuration.key}", role))
    elif role is not None:
        values = _source_values(app, configuration, app.ref(configuration))
        contexts = _contexts("service->sts", values)
        problems += _trust_denials(app, role, {"Service": "chatbot.amazonaws.com"}, contexts)
    guardrails = [_text(g) for g in _as_list(props.get("GuardrailPolicies", []))]
    if not guardrails:
        message = "no GuardrailPolicies: the chat service applies AdministratorAccess"
        problems.append(Problem(MISCONFIGURED, f"{configuration.key} has {message}"))
    for guardrail in guardrails:
        if guardrail.endswith(":policy/AdministratorAccess") or "/aws-service-role/" in guardrail:
            message = f"{configuration.key} has the guardrail {guardrail}"
            problems.append(Problem(MISCONFIGURED, f"{message}: administrative or a service role"))
    if _text(props.get("LoggingLevel", "NONE")) not in ("ERROR", "INFO", "NONE"):
        problems.append(Problem(DENIED, f"{configuration.key} has an unknown LoggingLevel"))
    return problems


def _subscribe_denials(app: App, topic: Resource) -> list[Problem]:
    """The chat service subscribes with a request AWS does not document: only an explicit
    Deny in the topic policy is certain to stop it."""
    problems = []
    for label, document in _topic_policies(app, topic):
        for context in _contexts("chatbot->sns", {"aws:SecureTransport": True}):
            request = Request(
                {"Service": "chatbot.amazonaws.com"}, "sns:Subscribe", app.ref(topic), context
            )
            decision = evaluate(document, request)
            if decision.effect is Effect.EXPLICIT_DENY:
                problems.append(
                    Problem(
                        DENIED, f"{label}: sns:Subscribe by chatbot.amazonaws.com is {decision}"
                    )
                )
    return problems


def _https_subscriptions(app: App) -> Iterator[Pair]:
    """A topic's HTTP(S) subscription: a paging tool's endpoint (never printed: it holds a
    key)."""
    for subscription in app.of_type(SUBSCRIPTION):
        props = app.props(subscription)
        protocol = _text(props.get("Protocol", "")).lower()
        if protocol not in ("http", "https"):
            continue
        topic = _receiver(app, props.get("TopicArn", ""), [TOPIC], subscription)
        receiver = f"{subscription.key} (its {protocol} endpoint)"
        if isinstance(topic, str):
            yield Pair(subscription.key, topic, TOPIC_TO_HTTPS, [_unresolved_problem("it", topic)])
        elif topic is not None:
            problems = _endpoint_problems(app, subscription, protocol)
            yield Pair(topic.key, receiver, TOPIC_TO_HTTPS, problems + _resolves_on_ok(app, topic))


def _endpoint_problems(app: App, subscription: Resource, protocol: str) -> list[Problem]:
    """HTTPS, and the SNS envelope kept: a paging tool reads its Subject (ALARM: or OK:)."""
    props, problems = app.props(subscription), []
    endpoint = _text(subscription.properties.get("Endpoint", ""))  # as written: a reference
    if protocol != "https" or not endpoint.startswith(("https://", "{{resolve:")):
        message = "is not delivered over HTTPS: the page and the key in its URL travel in clear"
        problems.append(Problem(MISCONFIGURED, f"{subscription.key} {message}"))
    if _text(props.get("RawMessageDelivery", "false")) == "true":
        message = "has RawMessageDelivery on: the paging tool loses the SNS envelope it reads"
        problems.append(Problem(MISCONFIGURED, f"{subscription.key} {message}"))
    return problems


def _resolves_on_ok(app: App, topic: Resource) -> list[Problem]:
    """Every alarm that pages through ``topic`` on ALARM tells it on OK too, so the page
    resolves."""
    arn, problems = app.ref(topic), []
    for alarm in app.of_type(ALARM, COMPOSITE_ALARM):
        props = app.props(alarm)
        alarm_actions = [_text(a) for a in _as_list(props.get("AlarmActions", []))]
        ok_actions = [_text(a) for a in _as_list(props.get("OKActions", []))]
        if arn in alarm_actions and arn not in ok_actions:
            message = f"{alarm.key} publishes to {topic.key} on ALARM but not on OK"
            problems.append(Problem(MISCONFIGURED, f"{message}: the page never resolves"))
    return problems


def _notification_rules(app: App) -> Iterator[Pair]:
    for rule in app.of_type(NOTIFICATION_RULE):
        props = app.props(rule)
        source = _rule_source_problems(rule, props)
        values = {
            **_source_values(app, rule, app.ref(rule)),
            "kms:ViaService": f"sns.{app.env(rule).region}.{URL_SUFFIX}",
        }
        for target in _as_list(props.get("Targets", [])):
            kind, address = _text(target.get("TargetType", "")), target.get("TargetAddress", "")
            if kind == "SNS":
                publish = functools.partial(
                    _topic_delivery, app, sender="codestar-notifications", values=values
                )
                topic = _receiver(app, address, [TOPIC], rule)
                yield from _pair(rule, topic, RULE_TO_TOPIC, _after(source, publish))
            elif kind in CHAT_TARGETS:
                configuration = _receiver(app, address, [SLACK_CHANNEL, TEAMS_CHANNEL], rule)
                post = functools.partial(_chat_target_problems, app, kind)
                yield from _pair(rule, configuration, RULE_TO_CHAT, _after(source, post))
            else:
                message = (
                    f"TargetType {kind!r} is not SNS, AWSChatbotSlack or AWSChatbotMicrosoftTeams"
                )
                yield Pair(rule.key, _text(address), RULE_TO_CHAT, [Problem(DENIED, message)])


def _after(first: list[Problem], problems_of: _Problems) -> _Problems:
    """``problems_of``, after ``first``."""
    return lambda receiver: first + problems_of(receiver)


def _rule_source_problems(rule: Resource, props: Mapping[str, Any]) -> list[Problem]:
    """The rule is enabled, and its event types are of its resource's kind."""
    problems = []
    if _text(props.get("Status", "ENABLED")) != "ENABLED":
        problems.append(Problem(MISCONFIGURED, f"{rule.key} is not ENABLED"))
    resource = _text(props.get("Resource", ""))
    prefix = EVENT_PREFIXES.get(resource.split(":")[2] if resource.count(":") > 2 else "")
    for event in (_text(e) for e in _as_list(props.get("EventTypeIds", []))):
        if prefix is None or not event.startswith(prefix):
            message = f"the event type {event!r} is not one of {resource}'s"
            problems.append(Problem(MISCONFIGURED, message))
    return problems


def _chat_target_problems(app: App, kind: str, configuration: Resource) -> list[Problem]:
    problems = _chat_problems(app, configuration)
    if CHAT_TARGETS[kind] != configuration.type:
        message = f"the target type {kind} names {configuration.key}, a {configuration.type}"
        problems.append(Problem(DENIED, message))
    return problems


ECR_PULL = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")


def _image_pulls(app: App) -> Iterator[Pair]:
    """Every ECS service a pipeline's ECS deploy actions name pulls the pipeline's image (its
    repository: the one of the pipeline's template) with its task's execution role."""
    for pipeline in app.of_type(PIPELINE):
        repositories = [r for r in app.of_type(REPOSITORY) if r.template == pipeline.template]
        if len(repositories) != 1:
            continue
        (repository,) = repositories
        for stage in _as_list(app.props(pipeline).get("Stages", [])):
            for action in _as_list(stage.get("Actions", [])):
                if action.get("ActionTypeId", {}).get("Provider") != "ECS":
                    continue
                name = _text(action.get("Configuration", {}).get("ServiceName", ""))
                for service in app.of_type(ECS_SERVICE):
                    if app.name(service) != name:
                        continue
                    task = _receiver(
                        app,
                        app.props(service).get("TaskDefinition", ""),
                        [TASK_DEFINITION],
                        service,
                    )
                    if not isinstance(task, Resource):
                        continue
                    role = _receiver(app, app.props(task).get("ExecutionRoleArn", ""), [ROLE], task)
                    if isinstance(role, Resource):
                        yield from _pair(
                            role,
                            repository,
                            f"ECS pulls the image {stage.get('Name')} deploys with the execution role",
                            functools.partial(_pulls_image, app, role),
                        )


def _pulls_image(app: App, role: Resource, repository: Resource) -> list[Problem]:
    """ECR pulls by the role, allowed by its identity policy and the repository policy ("Private
    repository policy examples", ECR user guide). GetAuthorizationToken is authorized by the
    identity policy alone."""
    document = app.props(repository).get("RepositoryPolicyText") or {"Statement": []}
    policy = (f"the repository policy of {repository.key}", document)
    arn = app.attribute(repository, "Arn")
    problems = _role_denials(app, role, ["ecr:GetAuthorizationToken"], "*", resource_policy=None)
    return problems + _access_denials(app, role, ECR_PULL, arn, policy, owner=repository)


def _access_denials(
    app: App,
    role: Resource,
    actions: Sequence[str],
    resource: str,
    resource_policy: tuple[str, Any],
    *,
    owner: Resource,
    key_policy: bool = False,
    request_keys: Mapping[str, Any] | None = None,
) -> list[Problem]:
    """``role`` doing ``actions`` on ``resource`` of ``owner``'s account: in that account, its
    identity policy or a resource policy naming it suffices (``_role_denials``); from another
    account, both must allow ("Cross-account policy evaluation logic", IAM user guide)."""
    keys = dict(request_keys or {})
    if app.env(role).account == app.env(owner).account:
        return _role_denials(
            app,
            role,
            actions,
            resource,
            resource_policy=resource_policy,
            key_policy=key_policy,
            request_keys=keys,
        )
    problems = _role_denials(app, role, actions, resource, resource_policy=None, request_keys=keys)
    principal = {"AWS": app.attribute(role, "Arn")}
    contexts = [{**c, **keys} for c in _contexts("role", {"aws:SecureTransport": True})]
    return problems + _denials(resource_policy, principal, actions, resource, contexts)


ARTIFACT_WRITE = ("s3:PutObject", "s3:GetObject")
ARTIFACT_READ = ("s3:GetObject",)


def _artifact_stores(app: App) -> Iterator[Pair]:
    """CodePipeline writes and reads artifacts in the store of each region with the pipeline
    role, and an action reads its input artifacts from the store of its region with its role
    ("CodePipeline replicates only the input artifacts of the cross-Region action from the
    pipeline Region to the action's Region", CodePipeline user guide, "Add a cross-Region
    action"). Each store is a bucket and the KMS key CodePipeline encrypts with, through S3."""
    for pipeline in app.of_type(PIPELINE):
        props = app.props(pipeline)
        role = _receiver(app, props.get("RoleArn", ""), [ROLE], pipeline)
        if not isinstance(role, Resource):
            continue
        own = app.env(pipeline).region
        stores = _as_list(props.get("ArtifactStores") or []) or [
            {"Region": own, "ArtifactStore": props.get("ArtifactStore", {})}
        ]
        readers: dict[str, list[tuple[Resource, str]]] = {}
        for stage in _as_list(props.get("Stages", [])):
            for action in _as_list(stage.get("Actions", [])):
                # A CodeBuild action's role only starts the build: the project's own role
                # reads the input artifacts.
                provider = action.get("ActionTypeId", {}).get("Provider")
                if "RoleArn" in action and action.get("InputArtifacts") and provider != "CodeBuild":
                    region = _text(action.get("Region", own))
                    reader = _receiver(app, action["RoleArn"], [ROLE], pipeline)
                    if isinstance(reader, Resource):
                        readers.setdefault(region, []).append((reader, action.get("Name", "?")))
        for store in stores:
            region = _text(store.get("Region", own))
            location = _text(store["ArtifactStore"].get("Location", ""))
            bucket = app.find(location, BUCKET)
            if bucket is None:
                continue
            key_id = _text(store["ArtifactStore"].get("EncryptionKey", {}).get("Id", ""))
            key = _key_of(app, key_id, bucket) if key_id else None
            check = functools.partial(_uses_store, app, key=key, region=region)
            yield from _pair(
                role,
                bucket,
                f"CodePipeline writes the artifacts of {region} with the pipeline role",
                functools.partial(check, role, ARTIFACT_WRITE),
            )
            for reader, name in readers.get(region, []):
                yield from _pair(
                    reader,
                    bucket,
                    f"the action {name} reads its input artifacts in {region}",
                    functools.partial(check, reader, ARTIFACT_READ),
                )


def _uses_store(
    app: App,
    role: Resource,
    actions: Sequence[str],
    bucket: Resource,
    *,
    key: Resource | None,
    region: str,
) -> list[Problem]:
    """The role may do ``actions`` on the bucket's objects and use its key through S3: in the
    bucket's account, by its identity policy or a policy naming it; from another account, by
    both (IAM user guide, "Cross-account policy evaluation logic")."""
    objects = app.attribute(bucket, "Arn") + "/*"
    owner = {"s3:ResourceAccount": app.env(bucket).account}
    problems = _access_denials(
        app, role, actions, objects, _bucket_policy(app, bucket), owner=bucket, request_keys=owner
    )
    if key is None:
        return problems
    uses_key = ["kms:Decrypt"] + (["kms:GenerateDataKey"] if "s3:PutObject" in actions else [])
    via = {"kms:ViaService": f"s3.{region}.amazonaws.com"}
    return problems + _access_denials(
        app,
        role,
        uses_key,
        app.attribute(key, "Arn"),
        _key_policy(app, key),
        owner=key,
        key_policy=True,
        request_keys=via,
    )


_PAIR_FINDERS: tuple[Callable[[App], Iterator[Pair]], ...] = (
    _alarm_notifications,
    _rule_targets,
    _extension_notifications,
    _log_group_keys,
    _load_balancer_logs,
    _flow_logs,
    _server_access_logs,
    _appconfig_monitors,
    _pipeline_roles,
    _service_role_trusts,
    _release_actions,
    _express_deploys,
    _image_pulls,
    _artifact_stores,
    _alarm_incident_actions,
    _chat_subscriptions,
    _https_subscriptions,
    _notification_rules,
)

# --- Public API ---------------------------------------------------------------------------------


def check(
    templates: Mapping[str, Mapping[str, Any]],
    *,
    environments: Mapping[str, tuple[str, str]],
) -> list[Pair]:
    """Every sender -> receiver pair of the app, each with what would make AWS deny it.

    ``templates`` maps a name (used in reports, and as AWS::StackName) to a synthesized
    template; ``environments`` maps each name to its ``(account, region)``. Receivers outside
    the app are skipped; a value that does not resolve is reported, never assumed allowed.
    """
    app = App(templates, environments)
    pairs: dict[tuple[str, str, str], Pair] = {}
    for find in _PAIR_FINDERS:
        for pair in find(app):
            pairs.setdefault((pair.sender, pair.receiver, pair.what), pair)
    return list(pairs.values())


def consumers(
    templates: Mapping[str, Mapping[str, Any]],
    *,
    environments: Mapping[str, tuple[str, str]],
) -> list[ConsumedAlarm]:
    """Every alarm a consumer reads, resolved to the app's alarm and its type: ECS deployment
    alarms, CodePipeline CloudWatchAlarm rules, AppConfig monitors, and CodeBuild projects'
    ``WATCHED_ALARMS`` environment variable (space-separated alarm names)."""
    app = App(templates, environments)
    found: list[tuple[Resource, str, str]] = []
    for service in app.of_type(ECS_SERVICE):
        alarms = app.props(service).get("DeploymentConfiguration", {}).get("Alarms", {})
        found += [(service, "ECS deployment alarm", _text(n)) for n in alarms.get("AlarmNames", [])]
    for pipeline in app.of_type(PIPELINE):
        found += [
            (pipeline, f"CloudWatchAlarm rule {rule.get('Name')}", name)
            for rule, name in _alarm_rule_names(app, pipeline)
        ]
    for environment in app.of_type(APPCONFIG_ENVIRONMENT):
        monitors = _as_list(app.props(environment).get("Monitors", []))
        found += [(environment, "AppConfig monitor", _text(m.get("AlarmArn"))) for m in monitors]
    for project in app.of_type(PROJECT):
        variables = _as_list(
            app.props(project).get("Environment", {}).get("EnvironmentVariables", [])
        )
        for variable in variables:
            if variable.get("Name") == "WATCHED_ALARMS":
                names = _text(variable.get("Value", "")).split()
                found += [(project, "CodeBuild WATCHED_ALARMS", name) for name in names]
    for pipeline in app.of_type(PIPELINE):
        for _, action_variables in _codebuild_actions(app, pipeline):
            names = action_variables.get("WATCHED_ALARMS", "").split()
            found += [(pipeline, "CodeBuild action WATCHED_ALARMS", name) for name in names]
    result = []
    for consumer, how, name in found:
        alarm = app.find(name, ALARM, COMPOSITE_ALARM, env=app.env(consumer))
        result.append(
            ConsumedAlarm(
                consumer.key, how, name, alarm.key if alarm else None, alarm.type if alarm else None
            )
        )
    return result


def monitors_per_environment(
    templates: Mapping[str, Mapping[str, Any]],
    *,
    environments: Mapping[str, tuple[str, str]],
) -> dict[str, int]:
    """How many alarm monitors each AppConfig environment has (AppConfig allows 5)."""
    app = App(templates, environments)
    return {
        environment.key: len(_as_list(app.props(environment).get("Monitors", [])))
        for environment in app.of_type(APPCONFIG_ENVIRONMENT)
    }
