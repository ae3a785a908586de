"""Every permission CDK would grant a GatedPipeline is granted by the library too.

GatedPipeline hands CDK's pipeline actions and CodeBuild projects ``role.without_policy_updates()``,
so the grants CDK makes while binding them are dropped, and ``permissions.ServiceRole`` states
each permission itself. A permission CDK knows to be needed but the explicit policies miss would
only show at deployment or at run time; this test catches it on the templates.

Each scenario is synthesized a second time as plain CDK would build it (its "CDK twin"): roles
accept CDK's grants, the event targets are CDK's ``SnsTopic`` and ``CloudWatchLogGroup``, and the
grants the library writes by hand are CDK's ``grant_pull_push``, ``grant_write`` and
``grant_pull``. Then, for every role and service principal, every action CDK grants (wildcards
expanded to the actions that are needed, ``WILDCARD_NEEDS``) must be granted by the library's
template, in the role's own policies or in a resource policy (artifact bucket, repository, key,
topic, log group), on a resource that covers CDK's. CDK's ``"*"`` resources are covered by any
resource: the library narrows them on purpose. What the library deliberately does not grant is
listed in ``NOT_GRANTED``, each with its reason.

Conditions are not compared: those the library adds (``ecs:CreateAction`` on ecs:TagResource,
``iam:PassedToService``, ``aws:SourceAccount``, ``aws:SourceArn``, ``ecs:cluster``) narrow CDK's
grants on purpose and are checked against the AWS documentation, not against CDK.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam

from cdk_devops_constructs import ImagePull
from cdk_devops_constructs.gated_pipeline import events as pipeline_events
from cdk_devops_constructs.gated_pipeline import pipeline as pipeline_module

from harness import compliance
from harness.scenarios import SCENARIOS, STACK_NAME, Built, names, new_stack

NAMES = names("gated_pipeline")

# What a CDK wildcard grants that the pipeline needs; the rest of what it matches is not needed.
WILDCARD_NEEDS: dict[str, tuple[str, ...]] = {
    # Artifacts and the S3 source object are read by version.
    "s3:GetObject*": ("s3:GetObject", "s3:GetObjectVersion"),
    # The bucket checks CodePipeline and CodeBuild document (owner, region, versioning).
    "s3:GetBucket*": ("s3:GetBucketAcl", "s3:GetBucketLocation", "s3:GetBucketVersioning"),
    "s3:List*": ("s3:ListBucket",),
    # Nothing in the pipeline deletes artifacts: the bucket's lifecycle rule expires them.
    "s3:DeleteObject*": (),
    # AbortMultipartUpload only cancels an upload; the lifecycle rule aborts incomplete uploads.
    "s3:Abort*": (),
    # SSE-KMS (artifacts) and SNS (encrypted topics) ask for plaintext data keys only.
    "kms:GenerateDataKey*": ("kms:GenerateDataKey",),
    # Nothing re-encrypts artifacts or messages under another key.
    "kms:ReEncrypt*": (),
}

# (action, resource pattern, reason): CDK grants the library deliberately does not make.
NOT_GRANTED: tuple[tuple[str, str, str], ...] = (
    (
        "s3:PutObjectLegalHold",
        "*",
        "S3 Object Lock is not enabled on the artifact bucket; no legal hold can be placed.",
    ),
    (
        "s3:PutObjectRetention",
        "*",
        "S3 Object Lock is not enabled on the artifact bucket; no retention can be set.",
    ),
    (
        "s3:PutObjectTagging",
        "*",
        "Nothing tags artifacts: CodePipeline's documented minimum for artifact objects is "
        "PutObject, PutObjectAcl, GetObject and GetObjectVersion.",
    ),
    (
        "s3:PutObjectVersionTagging",
        "*",
        "Nothing tags artifact versions (same documented minimum as s3:PutObjectTagging).",
    ),
    (
        "s3:PutObjectVersionAcl",
        "*",
        "Uploads carry their canned ACL in the PutObject request (s3:PutObjectAcl); nothing "
        "changes the ACL of an existing version, and the bucket has ACLs disabled.",
    ),
    (
        "kms:DescribeKey",
        "*",
        "Part of CDK's generic key-read grant; S3 encrypts and decrypts artifacts with "
        "GenerateDataKey and Decrypt on the caller's behalf and never needs key metadata.",
    ),
    (
        "logs:*",
        "arn:*:logs:*:log-group:/aws/codebuild/*",
        "CDK grants every project its default /aws/codebuild/<project> log group; the projects "
        "log to the construct's own encrypted log group instead (logging.cloud_watch).",
    ),
    (
        "codebuild:*",
        "arn:*:codebuild:*:report-group/${*}-*",
        "CDK grants every project report groups named after it; the tests report to their own "
        "ReportGroup, named by ARN in the buildspec (granted on that ARN), the image build to none.",
    ),
)

PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": compliance.REGION,
    "AWS::AccountId": compliance.ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
}
RESOURCE_POLICIES = (
    "AWS::S3::BucketPolicy",
    "AWS::ECR::Repository",
    "AWS::KMS::Key",
    "AWS::SNS::TopicPolicy",
    "AWS::Logs::ResourcePolicy",
    "Custom::CloudwatchLogResourcePolicy",
)


@dataclass(frozen=True)
class Grant:
    """One allowed (principal, actions, resources), intrinsics written as ``${Id.Attr}``."""

    principal: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    source: str


@pytest.mark.parametrize("built", NAMES, indirect=True, ids=[n.split("/")[1] for n in NAMES])
def test_every_permission_cdk_would_grant_is_granted(
    built: Built, monkeypatch: pytest.MonkeyPatch
) -> None:
    twin = _cdk_twin(built.name, monkeypatch)
    library = list(_grants(built.template))
    cdk_grants = [g for g in _grants(twin) if g not in library]
    # The twin must really restore CDK's grants, or this test would pass on nothing.
    ungranted = _library_roles(built) - {g.principal for g in cdk_grants}
    assert not ungranted, f"the twin restored no CDK grant for {sorted(ungranted)}"
    missing = [
        (_path(built, g.principal), action, g.resources, g.source)
        for g in cdk_grants
        if _is_role(built, g) or g.principal.startswith("service:")
        for action in _needed(g.actions)
        if not _deliberately_not_granted(action, g.resources)
        and not _covered(library, g.principal, action, _by_arn(built, g.resources))
    ]
    assert missing == [], "CDK grants these, the library does not:\n" + "\n".join(
        f"  {who}: {action} on {', '.join(res)} ({source})" for who, action, res, source in missing
    )


@pytest.mark.parametrize(
    ("action", "resources", "expected"),
    [
        ("s3:GetObject", ("${B.Arn}/*",), True),
        ("s3:GetObject", ("${Other.Arn}/*",), False),
        ("s3:PutObject", ("${B.Arn}/*",), False),
        ("ecs:UpdateService", ("*",), True),  # CDK's "*": the library may narrow it
        ("s3:GetObject", ("${B.Arn}", "${B.Arn}/*"), True),
    ],
)
def test_coverage_matches_actions_and_resources(
    action: str, resources: tuple[str, ...], expected: bool
) -> None:
    library = [
        Grant("${R.Arn}", ("s3:GetObject",), ("${B.Arn}/*",), "bucket policy"),
        Grant("${R.Arn}", ("ecs:UpdateService",), ("${Service}",), "policy"),
    ]
    assert _covered(library, "${R.Arn}", action, resources) is expected
    assert _covered(library, "${Other.Arn}", action, resources) is False


def test_every_wildcard_is_expanded_or_fails() -> None:
    assert _needed(("s3:GetObject*", "sts:AssumeRole")) == [
        "s3:GetObject",
        "s3:GetObjectVersion",
        "sts:AssumeRole",
    ]
    with pytest.raises(AssertionError, match="new CDK wildcard"):
        _needed(("s3:Put*",))


# --- The CDK twin -----------------------------------------------------------------------------


def _cdk_twin(name: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The scenario synthesized with every grant CDK would make restored."""
    monkeypatch.setattr(iam.Role, "without_policy_updates", lambda self, *_, **__: self)
    monkeypatch.setattr(
        pipeline_events,
        "_TopicTarget",
        lambda topic, message: targets.SnsTopic(topic, message=message),
    )
    monkeypatch.setattr(pipeline_events, "_LogGroupTarget", targets.CloudWatchLogGroup)
    image_build_project = pipeline_module.image_build_project
    project_for_test = pipeline_module.project_for_test

    def image_build(scope: Any, *, repository: Any, **kwargs: Any) -> Any:
        project = image_build_project(scope, repository=repository, **kwargs)
        repository.grant_pull_push(project)
        return project

    def tested_project(*args: Any, **kwargs: Any) -> Any:
        project, report_group = project_for_test(*args, **kwargs)
        if report_group is not None:
            report_group.grant_write(project)
        return project, report_group

    def bind_services(self: Any) -> dict[str, str]:
        # CDK's grant: the repository's pull actions in each execution role's own policy.
        services = {s.node.path: s for stage in self._stages_spec for s in stage.services}
        for s in services.values():
            self.repository.grant_pull(s.task_definition.obtain_execution_role())
        return {path: s.bind_to_pipeline(ImagePull(statements=())) for path, s in services.items()}

    monkeypatch.setattr(pipeline_module, "image_build_project", image_build)
    monkeypatch.setattr(pipeline_module, "project_for_test", tested_project)
    monkeypatch.setattr(pipeline_module.GatedPipeline, "_bind_services", bind_services)
    app = cdk.App()
    stack = new_stack(app=app)
    SCENARIOS[name](stack)
    template: dict[str, Any] = app.synth().get_stack_by_name(stack.stack_name).template
    return template


# --- Grants of a template ---------------------------------------------------------------------


def _grants(template: dict[str, Any]) -> Iterator[Grant]:
    """Every Allow statement of identity policies (per attached role) and resource policies
    (per principal), one Grant per principal. A principal named by the ARN of a role of the
    template (the library names the services' roles by ARN, not by GetAtt) counts as that role."""
    named = _named_roles(template)
    for logical, resource in template["Resources"].items():
        kind, props = resource["Type"], resource.get("Properties", {})
        if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            for role in props.get("Roles", []):
                principal = _att(role["Ref"]) if isinstance(role, dict) else role
                for statement in _allow(props["PolicyDocument"]):
                    yield _grant(principal, statement, _resources(statement), logical)
        elif kind in RESOURCE_POLICIES:
            document, own = _resource_policy(logical, kind, props)
            for statement in _allow(document):
                resources = own or _resources(statement)
                for principal in _principals(statement):
                    yield _grant(
                        named.get(principal, principal), statement, resources, f"{logical} policy"
                    )


def _named_roles(template: dict[str, Any]) -> dict[str, str]:
    """ARN text of each role with a literal name -> ``${Id.Arn}``."""
    return {
        f"arn:aws:iam::{compliance.ACCOUNT}:role{r['Properties'].get('Path', '/')}"
        f"{r['Properties']['RoleName']}": _att(logical)
        for logical, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and isinstance(r["Properties"].get("RoleName"), str)
    }


def _resource_policy(
    logical: str, kind: str, props: dict[str, Any]
) -> tuple[dict[str, Any], tuple[str, ...]]:
    """The policy document of a resource-policy holder, and the resource a statement's "*" (or
    missing Resource) means there."""
    if kind == "AWS::KMS::Key":
        return props["KeyPolicy"], (_att(logical),)
    if kind == "AWS::ECR::Repository":
        return props.get("RepositoryPolicyText", {}), (_att(logical),)
    if kind == "AWS::Logs::ResourcePolicy":
        return json.loads(_text(props["PolicyDocument"])), ()
    if kind == "Custom::CloudwatchLogResourcePolicy":
        call = json.loads(_text(props["Create"]))
        return json.loads(call["parameters"]["policyDocument"]), ()
    return props["PolicyDocument"], ()


def _grant(
    principal: str, statement: dict[str, Any], resources: tuple[str, ...], source: str
) -> Grant:
    return Grant(principal, tuple(_list(statement["Action"])), resources, source)


def _allow(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in document.get("Statement", []) if s.get("Effect") == "Allow"]


def _principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal", {})
    if not isinstance(principal, dict):
        return [str(principal)]
    found = []
    for kind, values in principal.items():
        for value in _list(values):
            text = _text(value)
            if kind == "Service":
                found.append(f"service:{text}")
            elif not text.endswith(":root"):  # the account delegating to IAM grants nothing
                found.append(text)
    return found


def _resources(statement: dict[str, Any]) -> tuple[str, ...]:
    return tuple(_text(r) for r in _list(statement.get("Resource", "*")))


def _text(value: Any) -> str:
    """An intrinsic as text: ``Fn::GetAtt`` as ``${Id.Attr}``, ``Ref`` as ``${Id}`` (pseudo
    parameters resolved), ``Fn::Join`` joined."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return PSEUDO.get(value["Ref"], "${" + value["Ref"] + "}")
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return _att(*value["Fn::GetAtt"])
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return str(separator).join(_text(p) for p in parts)
    return json.dumps(value, sort_keys=True)


def _att(logical: str, attribute: str = "Arn") -> str:
    """``Fn::GetAtt`` as text: ``${Id.Attr}``."""
    return "${" + f"{logical}.{attribute}" + "}"


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- Comparison -------------------------------------------------------------------------------


def _needed(actions: tuple[str, ...]) -> list[str]:
    needed = []
    for action in actions:
        if "*" in action:
            assert action in WILDCARD_NEEDS, (
                f"new CDK wildcard {action}: add it to WILDCARD_NEEDS with the actions it "
                "matches that the pipeline needs (Service Authorization Reference)"
            )
            needed.extend(WILDCARD_NEEDS[action])
        else:
            needed.append(action)
    return needed


def _deliberately_not_granted(action: str, resources: tuple[str, ...]) -> bool:
    return any(
        _glob(pattern_action).fullmatch(action)
        and all(_glob(pattern).fullmatch(r) for r in resources)
        for pattern_action, pattern, _ in NOT_GRANTED
    )


def _covered(library: list[Grant], principal: str, action: str, resources: tuple[str, ...]) -> bool:
    """The library lets ``principal`` do ``action`` on one of ``resources`` (a CDK grant lists
    the bucket and its objects for every action; each action applies to one of them)."""
    for grant in library:
        if grant.principal != principal:
            continue
        if not any(_glob(a).fullmatch(action) for a in grant.actions):
            continue
        if "*" in resources or any(
            _glob(mine).fullmatch(theirs) for mine in grant.resources for theirs in resources
        ):
            return True
    return False


def _by_arn(built: Built, resources: tuple[str, ...]) -> tuple[str, ...]:
    """A repository of the template as its ARN: the library grants pulls on the repositories
    of its account and region by ARN pattern (``images``: the generated name is not known to
    the services' stacks), and pushes on the repository's own ARN: either form covers it."""
    arns = list(resources)
    for resource in resources:
        match = re.fullmatch(r"\$\{(.+)\.Arn\}", resource)
        kind = built.template["Resources"].get(match.group(1), {}) if match else {}
        if match and kind.get("Type") == "AWS::ECR::Repository":
            arns.append(
                f"arn:aws:ecr:{compliance.REGION}:{compliance.ACCOUNT}:repository/"
                f"${{{match.group(1)}}}"
            )
    return tuple(arns)


def _glob(pattern: str) -> re.Pattern[str]:
    """An IAM pattern (``*`` and ``?``) as a regular expression."""
    return re.compile(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."))


def _library_roles(built: Built) -> set[str]:
    """The roles whose permissions the library writes in place of CDK's grants (one managed
    policy each). The shared VPC's deploy-time function is not one: no CDK construct would
    grant its one permission, it is written by hand in both builds."""
    return {
        _att(role["Ref"])
        for logical_id, resource in built.template["Resources"].items()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
        and not built.synthesized.paths[logical_id].startswith(f"{STACK_NAME}/DevOpsShared/")
        for role in resource["Properties"].get("Roles", [])
    }


def _is_role(built: Built, grant: Grant) -> bool:
    """A role of the scenario's own template (not one only the twin has, like the provider of
    CDK's log-group policy custom resource)."""
    match = re.fullmatch(r"\$\{(.+)\.Arn\}", grant.principal)
    return bool(match) and match.group(1) in built.template["Resources"]


def _path(built: Built, principal: str) -> str:
    match = re.fullmatch(r"\$\{(.+)\.Arn\}", principal)
    return built.synthesized.paths.get(match.group(1), principal) if match else principal
