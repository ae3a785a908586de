"""Every compliance finding this library acknowledges, in one place, each with its reason.

The constructs are checked by cdk-nag (AwsSolutions, NIST 800-53 rev 5), cfn-lint, checkov and
AWS's guard rules (cfn-guard with the Control Tower proactive controls, through the CDK plugin
``cdklabs-cdk-validator-cfnguard``). A finding is fixed in the construct, or it is listed here:
one entry per kind of resource, one reason per rule. ``acknowledge(resource, key)`` applies the
entry ``key`` to exactly one resource, in the form each tool reads:

- cdk-nag and the cfn-guard plugin: ``Validations.of(resource).acknowledge(...)``, with the
  rule id for cdk-nag and ``cdk-validator-cfnguard::<rule>`` for the plugin;
- checkov: ``Metadata.checkov.skip`` on the CloudFormation resource, with the reason as comment;
- cfn-lint: ``Metadata.cfn-lint.config.ignore_checks`` on the CloudFormation resource.

Set the context value ``cdk-devops-constructs:auditAcknowledgments`` to ``true`` to see every
finding the library would otherwise acknowledge: the acknowledgments are then recorded (as
construct metadata ``cdk-devops-constructs:acknowledged``) but not applied. The test suite uses
this to prove that no acknowledgment outlives the finding it was written for.
"""

from __future__ import annotations

import re
import weakref

from aws_cdk import Acknowledgment, CfnResource, Token, Validations
from constructs import IConstruct

AUDIT_CONTEXT_KEY = "cdk-devops-constructs:auditAcknowledgments"
METADATA_TYPE = "cdk-devops-constructs:acknowledged"

_X_RAY = (
    "The X-Ray write and sampling actions (PutTraceSegments, PutTelemetryRecords, "
    "GetSamplingRules, GetSamplingTargets, GetSamplingStatisticSummaries) have no resource "
    "types in the Service Authorization Reference, so Resource '*' is the only valid value."
)
_ACCESS_LOG_BUCKET_SSE_S3 = (
    "Elastic Load Balancing delivers access logs only to buckets encrypted with SSE-S3 "
    "(AES256); SSE-KMS makes delivery fail. The bucket is private, SSL-only and versioned."
)
_LOG_BUCKET_NOT_LOGGED = (
    "This bucket is itself the access-log destination; logging it to itself would create a "
    "loop of log objects. Object-level access is recorded by CloudTrail data events if enabled."
)
_LOG_BUCKET_NOT_REPLICATED = (
    "Operational logs with a lifecycle expiry; cross-region replication would double storage "
    "cost for data that is not a system of record. Versioning protects against deletion."
)
_PUBLIC_HTTP_LISTENER = (
    "The service is deliberately internet-facing: its listener must accept 0.0.0.0/0 on the "
    "listener port. Pass certificate= for HTTPS with an HTTP-to-HTTPS redirect, or "
    "internet_facing=False for an internal load balancer (README: how to reach zero findings)."
)
_NO_CERTIFICATE = (
    "No certificate was passed, so the service is HTTP-only by the user's choice; pass "
    "certificate= to get HTTPS with TLS 1.2+ and an HTTP-to-HTTPS redirect."
)

_NO_DELETION_PROTECTION = (
    "The stack is not termination-protected, so it is treated as a test environment: a "
    "protected load balancer would stop a failed first create or a cdk destroy halfway "
    "(CloudFormation cannot delete it). Stacks created with termination_protection=True, as "
    "production stacks are, get deletion protection; deletion_protection=True forces it."
)
_NOT_A_CREDENTIAL = (
    "The secret holds the image URI the pipeline last deployed (public within the account "
    "through the task definition), not a credential: there is nothing to rotate, and the AWS "
    "managed key lets the pipeline in another stack write it without a cross-stack key grant."
)

_DEPLOYMENT_TIME_FUNCTION = (
    "A custom-resource function that CloudFormation invokes only while it deploys the stack "
    "(it waits for alarms to be evaluated, or closes the shared VPC's default security "
    "group): it needs no reserved concurrency or dead-letter queue (CloudFormation reports "
    "failures in the stack events), and it calls public AWS endpoints only (CloudWatch or "
    "EC2, the CloudFormation response URL), so no VPC."
)

_HEALTH_SIGNAL = (
    "incidents=Incidents(ops_item=None) with no chat channel, paging endpoint or investigation "
    "group was passed: the health signal starts no incident by the user's choice. It is read by "
    "ECS deployments, pipeline gates and AppConfig rollouts, and the critical alarms it "
    "combines each notify the alarm topic, saying which signal broke."
)
_NO_OBJECT_LOCK = (
    "Objects expire by a lifecycle rule (logs after a year, artifacts after 90 days); Object "
    "Lock would keep them past it and can only be set when a bucket is created. Versioning, "
    "SSL-only access and the bucket policy protect them; the bucket is kept on stack deletion."
)

_CDK_INLINE_POLICY = (
    "The AWS::IAM::Policy CDK generates for grants to this one role: created, updated and "
    "deleted with the role, attached to nothing else, and scoped to the resources granted. A "
    "managed policy would hold the same statements with no added control."
)

_ECR_AUTH_TOKEN = (
    "ecr:GetAuthorizationToken has no resource type in the Service Authorization Reference, so "
    "Resource '*' is the only valid value; image pushes are granted on the pipeline's "
    "repository, pulls on the repositories of the pipeline's account and region."
)

_REPLICATION_NOT_LOGGED = (
    "CodePipeline's replication bucket for the actions of one other region, made by its "
    "support stack: logging its access would need a log bucket in that region for objects "
    "that expire with the pipeline's artifacts. It is private, SSL-only, versioned and "
    "encrypted with a rotated customer managed key; the artifact bucket in the pipeline's "
    "region is access-logged."
)

_ARTIFACTS_ACROSS_ACCOUNTS = (
    "A role of a target account reads the pipeline's artifacts, whose bucket and key (and "
    "CodePipeline's replication buckets in other regions) get their names when created in the "
    "pipeline's account: the role may read buckets of that account only (condition "
    "s3:ResourceAccount) and decrypt with its keys only through S3 in that region (condition "
    "kms:ViaService). The buckets' and the key's own policies name the role."
)

# key -> {rule id -> reason}. Keys name the kind of resource an entry is applied to.
ACKNOWLEDGMENTS: dict[str, dict[str, str]] = {
    "task-role-default-policy": {
        "AwsSolutions-IAM5[Resource::*]": _X_RAY,
        "NIST.800.53.R5-IAMNoInlinePolicy": _CDK_INLINE_POLICY,
    },
    "execution-role-default-policy": {
        "NIST.800.53.R5-IAMNoInlinePolicy": _CDK_INLINE_POLICY,
    },
    "appconfig-composite-alarm-monitor-policy": {
        "AwsSolutions-IAM5[Resource::*]": (
            "CloudWatch returns the state of a composite alarm to DescribeAlarms only for a "
            "caller allowed on Resource '*' (CloudWatch permissions reference). The policy "
            "grants that single read-only action to a role only AppConfig can assume, so that "
            "it can roll back feature-flag deployments on the alarms passed as rollback_alarms."
        ),
    },
    "task-definition-environment": {
        "AwsSolutions-ECS2": (
            "Plain environment variables hold non-secret configuration only (the OpenTelemetry "
            "endpoint and service name, the AppConfig agent's settings and the feature flags' "
            "address, the user's settings); secrets are passed through `secrets=`, read from "
            "Secrets Manager or SSM Parameter Store at task start."
        ),
    },
    "task-definition-users": {
        "ecs_task_definition_nonroot_user_check": (
            "Applied only when a container of the task cannot name a non-root user: the "
            "application runs as its image's user unless `user` is set (only the image knows "
            "its users, and a wrong one keeps the task from starting); the AppConfig agent runs "
            "as its image's user, which AWS does not document; the `writable-paths` init "
            "container runs as root because only root may change the mode of the volumes "
            "Fargate creates (owned by root, mode 0755), does nothing else, and exits before "
            "the application starts. The collector runs as uid 10001."
        ),
    },
    "access-log-bucket": {
        "CKV_AWS_18": _LOG_BUCKET_NOT_LOGGED,
        "s3_bucket_logging_enabled_check": _LOG_BUCKET_NOT_LOGGED,
        "NIST.800.53.R5-S3DefaultEncryptionKMS": _ACCESS_LOG_BUCKET_SSE_S3,
        "s3_bucket_default_encryption_kms_check": _ACCESS_LOG_BUCKET_SSE_S3,
        "NIST.800.53.R5-S3BucketReplicationEnabled": _LOG_BUCKET_NOT_REPLICATED,
        "s3_bucket_object_lock_enabled_check": _NO_OBJECT_LOCK,
    },
    # cdk-nag counts a bucket that receives another bucket's server access logs as logged, so
    # these two apply only while no bucket of the stack logs into the access-log bucket.
    "access-log-bucket-without-log-sources": {
        "AwsSolutions-S1": _LOG_BUCKET_NOT_LOGGED,
        "NIST.800.53.R5-S3BucketLoggingEnabled": _LOG_BUCKET_NOT_LOGGED,
    },
    "public-http-load-balancer-security-group": {
        "AwsSolutions-EC23": _PUBLIC_HTTP_LISTENER,
        "CKV_AWS_260": _PUBLIC_HTTP_LISTENER,
    },
    "public-https-load-balancer-security-group": {
        "AwsSolutions-EC23": _PUBLIC_HTTP_LISTENER,
        "CKV_AWS_260": (
            "Port 80 is open to the internet only to answer a permanent redirect to HTTPS on "
            "443; no content is ever served over plain HTTP."
        ),
    },
    "load-balancer-without-waf": {
        "NIST.800.53.R5-ALBWAFEnabled": (
            "A web ACL is an organization-wide edge decision (AWS Firewall Manager, CloudFront) "
            "and costs at least $5/month per ACL plus $1 per rule; pass web_acl_arn= to "
            "associate one with this load balancer."
        ),
    },
    "load-balancer-without-deletion-protection": {
        "NIST.800.53.R5-ELBDeletionProtectionEnabled": _NO_DELETION_PROTECTION,
        "elbv2_deletion_protection_enabled_check": _NO_DELETION_PROTECTION,
    },
    "http-only-listener": {
        "NIST.800.53.R5-ALBHttpToHttpsRedirection": _NO_CERTIFICATE,
        "alb_http_to_https_redirection_check": _NO_CERTIFICATE,
        "NIST.800.53.R5-ELBv2ACMCertificateRequired": _NO_CERTIFICATE,
        "CKV_AWS_2": _NO_CERTIFICATE,
        "CKV_AWS_103": _NO_CERTIFICATE,
    },
    "https-redirect-listener": {
        "NIST.800.53.R5-ELBv2ACMCertificateRequired": (
            "This port-80 listener only answers a permanent redirect to HTTPS on 443; it serves "
            "no content, so there is nothing for a certificate to protect."
        ),
    },
    "ecs-service-traffic-percent": {
        "E3002": (
            "The canary or linear traffic percent is a multiple of 0.1, as the AWS::ECS::Service "
            "schema asks (the construct checks it exactly), but cfn-lint tests multipleOf in "
            "binary floating point, where e.g. 24.9 / 0.1 = 248.99999999999997. Applied only "
            "to a service whose percent cfn-lint misreads that way."
        ),
    },
    "ecs-load-balancer-infrastructure-role": {
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
        "AmazonECSInfrastructureRolePolicyForLoadBalancers]": (
            "The AWS-managed policy ECS documents for blue/green, canary and linear deployments: "
            "it lets ECS shift listener-rule weights between the two target groups. AWS "
            "maintains it as ECS gains features; the role is assumable by ECS only."
        ),
    },
    "express-infrastructure-role": {
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AmazonECSInfrastructureRoleforExpressGatewayServices]": (
            "The AWS-managed policy ECS documents for the infrastructure role of Express Mode "
            "services: it lets ECS create and change the load balancer, target groups, "
            "certificate, security groups and scaling policies Express Mode manages, which a "
            "policy of ours cannot name before they exist. AWS maintains it as Express Mode "
            "gains features; the role is assumable by ECS only."
        ),
    },
    "express-service": {
        "W3005": (
            "The service depends on its infrastructure role construct, so that it also waits "
            "for (and is deleted before) any policy later attached to the role; the role's "
            "own entry in that DependsOn repeats what the InfrastructureRoleArn GetAtt implies."
        ),
    },
    "traffic-shifting-service": {
        "W3005": (
            "CDK adds a DependsOn from the service to its production listener rule that the "
            "Ref in AdvancedConfiguration already implies; the redundant ordering is harmless."
        ),
    },
    "public-subnet-default-route": {
        "NIST.800.53.R5-VPCNoUnrestrictedRouteToIGW": (
            "Public subnets hold only the internet-facing load balancers and the NAT gateway; "
            "they need a route to the internet gateway. Tasks run in private subnets."
        ),
    },
    "health-signal-alarm": {
        "NIST.800.53.R5-CloudWatchAlarmAction": _HEALTH_SIGNAL,
        "cloudwatch_alarm_action_check": _HEALTH_SIGNAL,
    },
    "chat-channel-role": {
        "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
        "CloudWatchReadOnlyAccess]": (
            "The AWS-managed policy the Amazon Q Developer in chat applications guide names for "
            "channel roles (it shows alarms, their graphs and logs in the channel); AWS keeps it "
            "current as the chat service changes. The role is assumable by the chat service "
            "only, and the same read-only policy is the channels' guardrail."
        ),
    },
    "deployment-time-function": {
        "NIST.800.53.R5-LambdaConcurrency": _DEPLOYMENT_TIME_FUNCTION,
        "NIST.800.53.R5-LambdaDLQ": _DEPLOYMENT_TIME_FUNCTION,
        "NIST.800.53.R5-LambdaInsideVPC": _DEPLOYMENT_TIME_FUNCTION,
        "CKV_AWS_115": _DEPLOYMENT_TIME_FUNCTION,
        "CKV_AWS_116": _DEPLOYMENT_TIME_FUNCTION,
        "CKV_AWS_117": _DEPLOYMENT_TIME_FUNCTION,
        "lambda_inside_vpc_check": _DEPLOYMENT_TIME_FUNCTION,
        "W3005": (
            "CDK writes both a DependsOn and a GetAtt from the function to its role; the "
            "redundant DependsOn is harmless."
        ),
    },
    "deployed-image-secret": {
        "AwsSolutions-SMG4": _NOT_A_CREDENTIAL,
        "NIST.800.53.R5-SecretsManagerRotationEnabled": _NOT_A_CREDENTIAL,
        "NIST.800.53.R5-SecretsManagerUsingKMSKey": _NOT_A_CREDENTIAL,
        "CKV_AWS_149": _NOT_A_CREDENTIAL,
    },
    # --- GatedPipeline ---------------------------------------------------------------------
    "pipeline-artifact-bucket": {
        "NIST.800.53.R5-S3BucketReplicationEnabled": (
            "Pipeline artifacts are intermediate build outputs with a lifecycle expiry, rebuilt "
            "from source by rerunning the pipeline; replication would double their storage. "
            "The bucket is versioned, KMS-encrypted, SSL-only and kept on stack deletion."
        ),
        "s3_bucket_object_lock_enabled_check": _NO_OBJECT_LOCK,
    },
    "replication-bucket-access": {
        "AwsSolutions-IAM5[Resource::arn:{partition}:s3:::{bucket}/*]": (
            "The artifacts of every execution in CodePipeline's replication bucket of one "
            "region: object keys are generated per execution, so the grant is on the bucket's "
            "objects (the pipeline role copies them there, the region's deploy role reads them)."
        ),
        "AwsSolutions-IAM5[Resource::arn:{partition}:kms:{region}:{account}:key/*]": (
            "aws-cdk-lib gives CodePipeline's replication bucket its key by alias, so the key's "
            "ARN is not known to the pipeline's stack: the role may use the keys of the "
            "pipeline's account in that region through S3 only (condition kms:ViaService)."
        ),
    },
    "pipeline-replication-bucket": {
        "AwsSolutions-S1": _REPLICATION_NOT_LOGGED,
        "NIST.800.53.R5-S3BucketLoggingEnabled": _REPLICATION_NOT_LOGGED,
        "CKV_AWS_18": _REPLICATION_NOT_LOGGED,
        "s3_bucket_logging_enabled_check": _REPLICATION_NOT_LOGGED,
        "s3_bucket_object_lock_enabled_check": _NO_OBJECT_LOCK,
        "NIST.800.53.R5-S3BucketReplicationEnabled": (
            "CodePipeline's copy of the pipeline's artifacts for the actions of one region: "
            "intermediate outputs with a lifecycle expiry, rebuilt by rerunning the pipeline."
        ),
    },
    "image-build-project": {
        "codebuild_project_environment_privileged_check": (
            "Building a container image needs a Docker daemon, which CodeBuild runs only in "
            "privileged mode. It is the one privileged project: tests, the release and the "
            "deployments run unprivileged, and the build role may push to one repository only."
        ),
    },
    "pipeline-role-policy": {
        "AwsSolutions-IAM5[Resource::*]": (
            "The stage conditions' CloudWatchAlarm rules run with the pipeline role, and how "
            "the rule calls DescribeAlarms is not documented: naming the alarms (which a grant "
            "on their ARNs allows) or listing them (which only Resource '*' allows). The grant "
            "is read-only (DescribeAlarms, DescribeAlarmHistory)."
        ),
    },
    "image-build-role-policy": {
        "AwsSolutions-IAM5[Resource::*]": _ECR_AUTH_TOKEN,
    },
    "ecs-execution-role-image-pull": {
        "AwsSolutions-IAM5[Resource::*]": _ECR_AUTH_TOKEN,
    },
    "ecs-execution-role-pipeline-repositories": {
        "AwsSolutions-IAM5[Resource::arn:{partition}:ecr:{region}:{account}:repository/*]": (
            "The pipeline's repository gets its name when it is created, and the service's "
            "stack may not refer to the pipeline's (no cross-stack export): the execution role "
            "may pull (read only) from the repositories of the pipeline's account and region, "
            "and the repository's own policy names the execution roles allowed to pull from it."
        ),
    },
    "ecs-execution-role-image-key": {
        "AwsSolutions-IAM5[Resource::arn:{partition}:kms:{region}:{account}:key/*]": (
            "Decrypting the pipeline's image layers: kms:Decrypt on the keys of the pipeline's "
            "account and region, only through ECR (condition kms:ViaService); the key's own "
            "policy says which other accounts' execution roles may use it."
        ),
    },
    "artifacts-of-pipeline-account": {
        "AwsSolutions-IAM5[Resource::arn:{partition}:s3:::*]": _ARTIFACTS_ACROSS_ACCOUNTS,
        "AwsSolutions-IAM5[Resource::arn:{partition}:s3:::*/*]": _ARTIFACTS_ACROSS_ACCOUNTS,
        "AwsSolutions-IAM5[Resource::arn:{partition}:kms:{region}:{account}:key/*]": (
            _ARTIFACTS_ACROSS_ACCOUNTS
        ),
    },
    "ecs-deploy-role-policy": {
        "AwsSolutions-IAM5[Resource::*]": (
            "The ECS deploy action registers a task definition revision: "
            "ecs:RegisterTaskDefinition and ecs:DescribeTaskDefinition have no resource type "
            "('*' only); ecs:TagResource is limited to registration by condition, and "
            "DescribeTasks/ListTasks to the stage's clusters by the ecs:cluster condition. "
            "UpdateService and iam:PassRole name the stage's services and task roles."
        ),
    },
    "express-deploy-role-policy": {
        "AwsSolutions-IAM5[Resource::*]": (
            "The Express deploy project registers a task definition revision: "
            "ecs:RegisterTaskDefinition and ecs:DescribeTaskDefinition have no resource type "
            "('*' only), and ecs:TagResource is limited to registration by condition. "
            "DescribeExpressGatewayService, UpdateExpressGatewayService, ListServiceDeployments "
            "and iam:PassRole name the pipeline's Express services and their task roles."
        ),
    },
    "codedeploy-role-policy": {
        "AwsSolutions-IAM5[Resource::arn:{partition}:codedeploy:{region}:{account}:"
        "deploymentconfig:*]": (
            "codedeploy:GetDeploymentConfig only, on the deployment configurations of the "
            "pipeline's account and region: a deployment group imported by name does not say "
            "which one it uses, and a configuration holds no data (traffic-shifting rules)."
        ),
        "AwsSolutions-IAM5[Resource::*]": (
            "CodeDeploy's ECS action registers the task definition template from the source: "
            "ecs:RegisterTaskDefinition and ecs:DescribeTaskDefinition have no resource type, "
            "and the template names task and execution roles the pipeline cannot know at "
            "synthesis, so iam:PassRole is on '*' but only to ECS tasks (condition "
            "iam:PassedToService). The CodeDeploy calls name the stage's applications, "
            "deployment groups and deployment configurations."
        ),
    },
    "cloudformation-target-role-policy": {
        "AwsSolutions-IAM5[Resource::arn:{partition}:cloudformation:{region}:{account}:"
        "stack/{stack_name}/*]": (
            "A stack ARN ends in the id CloudFormation assigns when it creates the stack, so the "
            "change-set permissions can only name the stack as '<name>/*': that pattern matches "
            "this one stack, and the change-set name is pinned by condition."
        ),
    },
    "codepipeline-pipeline": {
        "W3005": (
            "CDK adds a DependsOn from the pipeline to its service role that the RoleArn GetAtt "
            "already implies; the redundant ordering is harmless."
        ),
    },
    "ecr-repository-aes256": {
        "CKV_AWS_136": (
            "kms_encrypt_images=False was passed: images are encrypted at rest with AES-256 keys "
            "managed by ECR instead of the pipeline's KMS key (the construct warns at synthesis)."
        ),
    },
}

# App -> (resource path, key) already acknowledged. Kept in Python, since reading construct
# metadata back through jsii costs several round trips per entry.
_APPLIED: weakref.WeakKeyDictionary[IConstruct, set[tuple[str, str]]] = weakref.WeakKeyDictionary()

_CDK_NAG = re.compile(r"^(AwsSolutions|NIST\.800\.53\.R5|HIPAA\.Security|PCI\.DSS\.321)-")
# The cfn-guard plugin matches an acknowledgment by plugin name and rule, cdk-nag by rule alone.
CFN_GUARD_PLUGIN = "cdk-validator-cfnguard"
# cfn-guard rule names of the Control Tower rule files (ct-s3-pr-4.guard: s3_..._check).
_CFN_GUARD = re.compile(r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)+_check$")
_CHECKOV = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")
_CFN_LINT = re.compile(r"^[EWI]\d{4}$")


def acknowledge(resource: IConstruct, key: str, **details: str) -> None:
    """Apply the acknowledgments listed under ``key`` to ``resource`` (an L1 or its L2).

    A rule may name the resource it is about with a ``{placeholder}`` (a cdk-nag finding on a
    policy statement names the statement's resource, e.g. a CloudFormation stack the user
    named); ``details`` fills the placeholders in."""
    rules = {_fill(rule, key, details): reason for rule, reason in ACKNOWLEDGMENTS[key].items()}
    target = _cfn_resource(resource)
    node = target.node
    applied = _APPLIED.setdefault(node.root, set())
    if (node.path, key) in applied:
        return  # already applied: acknowledging twice changes nothing
    applied.add((node.path, key))
    if node.try_get_context(AUDIT_CONTEXT_KEY) in (True, "true"):
        node.add_metadata(METADATA_TYPE, {"key": key, "rules": sorted(rules)})
        return
    apply(target, rules)


def apply(target: CfnResource, rules: dict[str, str]) -> None:
    """Acknowledge ``rules`` (rule id -> reason) on ``target``, each to the tool it belongs to."""
    # One call per tool, not per rule: every jsii call costs synthesis time.
    plugins = [Acknowledgment(id=r, reason=why) for r, why in rules.items() if _CDK_NAG.match(r)]
    plugins += [
        Acknowledgment(id=f"{CFN_GUARD_PLUGIN}::{r}", reason=why)
        for r, why in rules.items()
        if _CFN_GUARD.match(r)
    ]
    if plugins:
        Validations.of(target).acknowledge(*plugins)
    skips = [{"id": r, "comment": why} for r, why in rules.items() if _CHECKOV.match(r)]
    if skips:
        checkov = dict(target.get_metadata("checkov") or {})
        target.add_metadata("checkov", {**checkov, "skip": [*checkov.get("skip", []), *skips]})
    ignores = [r for r in rules if _CFN_LINT.match(r)]
    if ignores:
        cfn_lint = dict(target.get_metadata("cfn-lint") or {})
        config = dict(cfn_lint.get("config", {}))
        config["ignore_checks"] = [*config.get("ignore_checks", []), *ignores]
        target.add_metadata("cfn-lint", {**cfn_lint, "config": config})
    known = (_CDK_NAG, _CFN_GUARD, _CHECKOV, _CFN_LINT)
    unknown = [r for r in rules if not any(tool.match(r) for tool in known)]
    if unknown:  # pragma: no cover - guarded by test_every_acknowledgment_names_a_known_tool
        raise ValueError(f"unknown rule id format on {target.node.path}: {unknown}")


def as_nag_shows(value: str, pseudo_parameter: str) -> str:
    """How cdk-nag writes ``value`` in a finding: a pseudo parameter as ``<AWS::Region>``."""
    return f"<{pseudo_parameter}>" if Token.is_unresolved(value) else value


def declares(declared: str, rule: str) -> bool:
    """True when the ACKNOWLEDGMENTS rule ``declared`` (with or without placeholders) is the
    rule ``rule`` recorded on a resource."""
    pattern = "".join(
        ".+" if part.startswith("{") else re.escape(part)
        for part in re.split(r"(\{[a-z_]+\})", declared)
    )
    return re.fullmatch(pattern, rule) is not None


def _fill(rule: str, key: str, details: dict[str, str]) -> str:
    if "{" not in rule:
        return rule
    try:
        return rule.format(**details)
    except KeyError as missing:
        raise ValueError(
            f"acknowledgment {key!r} needs the detail {missing} for {rule!r}"
        ) from None


def _cfn_resource(construct: IConstruct) -> CfnResource:
    if isinstance(construct, CfnResource):
        return construct
    child = construct.node.default_child
    if isinstance(child, CfnResource):
        return child
    raise TypeError(f"{construct.node.path} has no CloudFormation resource to acknowledge on")
