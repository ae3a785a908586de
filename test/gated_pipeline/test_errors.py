"""Every bad GatedPipeline prop fails at construction with a message naming the construct path,
the prop, the value and what is allowed."""

from __future__ import annotations

import itertools
import re
from types import SimpleNamespace
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3

from cdk_devops_constructs import (
    CloudFormationTarget,
    Deployment,
    DeployStage,
    Gate,
    GatedPipeline,
    ObservedService,
    PipelineSource,
    PipelineTest,
)
from cdk_devops_constructs.gated_pipeline.gates import cron_problem

from .scenarios import CONNECTION_ARN, service
from harness import scenarios

_ids = itertools.count(1)


@pytest.fixture(scope="module")
def stack() -> cdk.Stack:
    """One stack for every case: validation fails before the pipeline creates anything."""
    return scenarios.new_stack()


@pytest.fixture(scope="module")
def services(stack: cdk.Stack) -> list[ObservedService]:
    return [service(stack, f"Svc{n}") for n in range(6)]


def source(**overrides: Any) -> PipelineSource:
    props: dict[str, Any] = {"connection_arn": CONNECTION_ARN, "owner": "acme", "repo": "app"}
    return PipelineSource.connection(**{**props, **overrides})


def build(stack: cdk.Stack, services: list[ObservedService], **props: Any) -> str:
    """Construct a pipeline with ``props`` over a valid default; return the expected prefix."""
    id = f"P{next(_ids)}"
    defaults: dict[str, Any] = {
        "source": source(),
        "stages": [DeployStage(name="Staging", services=[services[0]])],
    }
    GatedPipeline(stack, id, **{**defaults, **props})
    raise AssertionError("no ValueError raised")  # pragma: no cover


def raises(stack: cdk.Stack, services: list[ObservedService], message: str, **props: Any) -> None:
    with pytest.raises(ValueError, match=r"^TestStack/P\d+: " + re.escape(message)):
        build(stack, services, **props)


# --- Source -----------------------------------------------------------------------------------


def test_malformed_connection_arn(stack: cdk.Stack, services: list[ObservedService]) -> None:
    raises(
        stack,
        services,
        "source.connection_arn must be a CodeConnections ARN like "
        "arn:aws:codeconnections:us-east-1:123456789012:connection/<uuid>, "
        "got 'arn:aws:codeconnections:us-east-1:123456789012:connection/github'",
        source=source(
            connection_arn="arn:aws:codeconnections:us-east-1:123456789012:connection/github"
        ),
    )


@pytest.mark.parametrize("branch", ["feature..x", "has space", "ends/", "-dash", "x.lock", ""])
def test_malformed_branch(stack: cdk.Stack, services: list[ObservedService], branch: str) -> None:
    raises(
        stack,
        services,
        f"source.branch must be a Git branch name (no spaces, '..', '~^:?*[\\', not ending in "
        f"'/', '.' or '.lock'), got {branch!r}",
        source=source(branch=branch, trigger_branches=["main"]),
    )


def test_malformed_owner(stack: cdk.Stack, services: list[ObservedService]) -> None:
    raises(
        stack,
        services,
        "source.owner must be a repository owner (letters, digits, '.', '_', '-'), got 'ac me'",
        source=source(owner="ac me"),
    )


def test_too_many_trigger_patterns(stack: cdk.Stack, services: list[ObservedService]) -> None:
    raises(
        stack,
        services,
        "source.file_paths may hold at most 8 patterns (the limit of a Git push filter), got 9",
        source=source(file_paths=[f"dir{n}/**" for n in range(9)]),
    )


def test_s3_key_with_a_wildcard(stack: cdk.Stack, services: list[ObservedService]) -> None:
    bucket = s3.Bucket.from_bucket_name(stack, f"B{next(_ids)}", "releases")
    raises(
        stack,
        services,
        "source.key must be an S3 object key of 1-1024 characters without '*', got 'app/*.zip'",
        source=PipelineSource.s3(bucket, "app/*.zip"),
    )


def test_source_must_come_from_a_factory(stack: cdk.Stack, services: list[ObservedService]) -> None:
    raises(
        stack,
        services,
        "source must be a PipelineSource (PipelineSource.connection(...), "
        "PipelineSource.code_commit(...) or PipelineSource.s3(...)), got 'repo'",
        source="repo",
    )


def test_tokens_are_not_validated(stack: cdk.Stack, services: list[ObservedService]) -> None:
    arn = cdk.CfnParameter(stack, f"Arn{next(_ids)}").value_as_string
    GatedPipeline(
        stack,
        f"P{next(_ids)}",
        source=source(connection_arn=arn),
        stages=[DeployStage(name="Staging", services=[services[0]])],
    )


# --- Stages -----------------------------------------------------------------------------------


def test_no_stages(stack: cdk.Stack, services: list[ObservedService]) -> None:
    raises(stack, services, "stages must hold at least one DeployStage, got none", stages=[])


def test_duplicate_stage_names(stack: cdk.Stack, services: list[ObservedService]) -> None:
    raises(
        stack,
        services,
        "stages (names) must not repeat a name, got 'Prod' twice",
        stages=[
            DeployStage(name="Prod", services=[services[0]]),
            DeployStage(name="Prod", services=[services[1]]),
        ],
    )


def test_reserved_stage_name(stack: cdk.Stack, services: list[ObservedService]) -> None:
    raises(
        stack,
        services,
        "stages[0].name must not be one of Source, Build (stages of the pipeline itself), "
        "got 'Build'",
        stages=[DeployStage(name="Build", services=[services[0]])],
    )


def test_malformed_stage_name(stack: cdk.Stack, services: list[ObservedService]) -> None:
    raises(
        stack,
        services,
        "stages[0].name must be 1-64 characters: letters, digits, '.', '@', '_', '-', starting "
        "with a letter or digit, got 'Prod stage'",
        stages=[DeployStage(name="Prod stage", services=[services[0]])],
    )


def test_stage_that_deploys_nothing(stack: cdk.Stack, services: list[ObservedService]) -> None:
    raises(
        stack,
        services,
        "stages[0] (Empty) deploys nothing: pass services=[...], codedeploy=[...] or "
        "cloudformation=",
        stages=[DeployStage(name="Empty")],
    )


def test_two_gates_of_one_kind(stack: cdk.Stack, services: list[ObservedService]) -> None:
    raises(
        stack,
        services,
        "stages[0].gates holds two BakeGates; a stage takes at most one gate of each kind",
        stages=[
            DeployStage(
                name="Prod",
                services=[services[0]],
                gates=[Gate.bake(cdk.Duration.minutes(5)), Gate.bake(cdk.Duration.minutes(9))],
            )
        ],
    )


# --- Gates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bake", "message"),
    [
        (cdk.Duration.minutes(61), "must be between 1 minute and 60 minutes, got 61 minutes"),
        (cdk.Duration.seconds(30), "must be between 1 minute and 60 minutes, got 30 seconds"),
        (cdk.Duration.seconds(90), "must be a whole number of minutes, got 90 seconds"),
    ],
)
def test_bake_time_out_of_range(
    stack: cdk.Stack, services: list[ObservedService], bake: cdk.Duration, message: str
) -> None:
    raises(
        stack,
        services,
        f"stages[0].gates[0].duration {message}",
        stages=[DeployStage(name="Prod", services=[services[0]], gates=[Gate.bake(bake)])],
    )


@pytest.mark.parametrize(
    ("cron", "problem"),
    [
        ("0 9-17 * * MON-FRI", "it needs 6 or 7 space-separated fields, not 5"),
        ("* * 25 ? * MON-FRI *", "hours field '25': '25' is not a value in 0-23"),
        ("* * 9-17 * * MON-FRI *", "exactly one of day-of-month and day-of-week must be '?'"),
        ("* * 17-9 ? * * *", "hours field '17-9': range '17-9' ends before it starts"),
        (
            "* * 9 ? * FUNDAY *",
            "day-of-week field 'FUNDAY': 'FUNDAY' is not a value in 1-7 or SUN-SAT",
        ),
        ("* ? 9 ? * MON *", "minutes field '?': '?' is only allowed in day-of-month/day-of-week"),
        # The rule reference: seconds "N/A", special characters "*" only (R12 of the review).
        ("0 * 9-16 ? * MON-FRI *", "seconds field '0': CodePipeline accepts only '*' there"),
        ("0/15 * 9 ? * MON *", "seconds field '0/15': CodePipeline accepts only '*' there"),
        (
            "* * \u0661\u0662 ? * MON *",
            "it must hold ASCII characters only (digits 0-9, names, * , - / ? L W #)",
        ),
        # Arabic-Indic digits where Python's \d (not CodePipeline) would take them.
        (
            "* * 9 1\u0661W * ? *",
            "it must hold ASCII characters only (digits 0-9, names, * , - / ? L W #)",
        ),
    ],
)
def test_invalid_cron(
    stack: cdk.Stack, services: list[ObservedService], cron: str, problem: str
) -> None:
    raises(
        stack,
        services,
        "stages[0].gates[0].cron must be a CodePipeline cron expression (seconds minutes hours "
        f"day-of-month month day-of-week [year]): {problem}, got {cron!r}",
        stages=[
            DeployStage(name="Prod", services=[services[0]], gates=[Gate.deployment_window(cron)])
        ],
    )


@pytest.mark.parametrize(
    "cron",
    [
        "* * 9-16 ? * MON-THU",
        "* 0/15 * ? * 2-6 2025-2030",
        "* * * L * ? *",
        "* * 10 15W JAN,JUL ? *",
        "* * 10 ? * 6#3 *",
        "* * 10 ? * 6L *",
    ],
)
def test_valid_cron_expressions(cron: str) -> None:
    assert cron_problem(cron) is None


def test_invalid_time_zone(stack: cdk.Stack, services: list[ObservedService]) -> None:
    raises(
        stack,
        services,
        "stages[0].gates[0].time_zone must be a time zone CodePipeline knows: an IANA name like "
        "'Europe/Berlin', 'UTC' or 'UTC+05:30', or an abbreviation like 'EST' or 'PST', got "
        "'berlin'",
        stages=[
            DeployStage(
                name="Prod",
                services=[services[0]],
                gates=[Gate.deployment_window("* * 9 ? * MON *", time_zone="berlin")],
            )
        ],
    )


def test_gate_refers_to_a_service_without_health_alarm(
    stack: cdk.Stack, services: list[ObservedService]
) -> None:
    bare = SimpleNamespace(node=SimpleNamespace(path="TestStack/Legacy"), health_alarm=None)
    raises(
        stack,
        services,
        "stages[0].gates[0].services[0] must be a service (ObservedService, ExpressService or "
        "another IObservedService), got namespace(node=namespace(path='TestStack/Legacy'), "
        "health_alarm=None)",
        stages=[
            DeployStage(
                name="Prod",
                services=[services[0]],
                gates=[Gate.bake(cdk.Duration.minutes(5), services=[bare])],  # type: ignore[list-item]
            )
        ],
    )


def test_entry_check_on_the_first_stage_watches_nothing(
    stack: cdk.Stack, services: list[ObservedService]
) -> None:
    raises(
        stack,
        services,
        "stages[0].gates (Gate.healthy_before_entry of Staging) watches no alarm (it is the "
        "first deploy stage); pass services=[...] or alarms=[...]",
        stages=[
            DeployStage(name="Staging", services=[services[0]], gates=[Gate.healthy_before_entry()])
        ],
    )


def test_more_than_five_rules_in_one_condition(
    stack: cdk.Stack, services: list[ObservedService]
) -> None:
    raises(
        stack,
        services,
        "stages[1] (Prod): its entry condition would hold 6 rules (Prod-DeploymentWindow, "
        "Prod-Healthy-1, Prod-Healthy-2, Prod-Healthy-3, Prod-Healthy-4, Prod-Healthy-5); "
        "CodePipeline allows at most 5 rules in one condition",
        stages=[
            DeployStage(name="Staging", services=services[:5]),
            DeployStage(
                name="Prod",
                services=[services[5]],
                gates=[
                    Gate.deployment_window("* * 9 ? * MON *"),
                    Gate.healthy_before_entry(),
                ],
            ),
        ],
    )


def test_more_than_five_alarms_at_entry(stack: cdk.Stack, services: list[ObservedService]) -> None:
    alarms = list(services[0].alarms.values())
    raises(
        stack,
        services,
        "stages[1] (Prod): its entry condition would hold 7 rules",
        stages=[
            DeployStage(name="Staging", services=[services[0]]),
            DeployStage(
                name="Prod",
                services=[services[1]],
                gates=[Gate.healthy_before_entry(alarms=alarms)],
            ),
        ],
    )


def test_a_gate_refuses_a_composite_alarm(
    stack: cdk.Stack, services: list[ObservedService]
) -> None:
    composite = cdk.aws_cloudwatch.CompositeAlarm(
        stack,
        "Either",
        alarm_rule=cdk.aws_cloudwatch.AlarmRule.any_of(*services[0].critical_alarms),
    )
    raises(
        stack,
        services,
        "stages[0].gates (Gate.bake of Prod): alarms[0] (TestStack/Either) is a composite alarm, "
        "which CodePipeline's CloudWatchAlarm rule does not document reading; pass a metric "
        "alarm (one alarm over a metric-math expression can combine signals)",
        stages=[
            DeployStage(
                name="Prod",
                services=[services[0]],
                gates=[Gate.bake(cdk.Duration.minutes(5), alarms=[composite])],
            )
        ],
    )


def test_a_bake_needs_the_stage_rollback(stack: cdk.Stack, services: list[ObservedService]) -> None:
    raises(
        stack,
        services,
        "stages[0] (Prod): Gate.bake rolls the stage back when an alarm fires, through the "
        "stage's on-failure rollback, which rollback_on_failure=False turns off; keep one or "
        "the other",
        stages=[
            DeployStage(
                name="Prod",
                services=[services[0]],
                gates=[Gate.bake(cdk.Duration.minutes(5))],
                rollback_on_failure=False,
            )
        ],
    )


def test_services_of_two_architectures_cannot_share_an_image(stack: cdk.Stack) -> None:
    x86 = ObservedService(stack, "Intel", image=cdk.aws_ecs.ContainerImage.from_registry("a"))
    arm = ObservedService(
        stack,
        "Graviton",
        image=cdk.aws_ecs.ContainerImage.from_registry("a"),
        cpu_architecture=cdk.aws_ecs.CpuArchitecture.ARM64,
    )
    raises(
        stack,
        [x86, arm],
        "stages deploy one image to services of different CPU architectures (TestStack/Intel is "
        "X86_64, TestStack/Graviton is ARM64); the image is built for one",
        stages=[DeployStage(name="Prod", services=[x86, arm])],
    )


@pytest.mark.parametrize(
    ("gate", "message"),
    [
        (
            Gate.manual_approval(emails=["not-an-email"]),
            "stages[0].gates[0].emails[0] must be an email address like oncall@example.com, "
            "got 'not-an-email'",
        ),
        (
            Gate.manual_approval(review_url="staging.example.com"),
            "stages[0].gates[0].review_url must be an http(s) URL of at most 2048 characters, "
            "got 'staging.example.com'",
        ),
        (
            Gate.manual_approval(comment="x" * 501),
            "stages[0].gates[0].comment must be 1-500 characters, got 501",
        ),
        (
            Gate.manual_approval(timeout=cdk.Duration.minutes(1)),
            "stages[0].gates[0].timeout must be between 5 minutes and 86400 minutes, got 1 minute",
        ),
        (
            Gate.healthy_before_entry(wait=cdk.Duration.minutes(90)),
            "stages[0].gates[0].wait must be between 1 minute and 60 minutes, got 90 minutes",
        ),
    ],
)
def test_invalid_gate_settings(
    stack: cdk.Stack, services: list[ObservedService], gate: Gate, message: str
) -> None:
    raises(
        stack,
        services,
        message,
        stages=[DeployStage(name="Prod", services=[services[0]], gates=[gate])],
    )


# --- Tests, build, pipeline -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tests", "message"),
    [
        (
            [PipelineTest(name="Unit", commands=["a"]), PipelineTest(name="Unit", commands=["b"])],
            "tests (names) must not repeat a name, got 'Unit' twice",
        ),
        (
            [PipelineTest(name="Image", commands=["a"])],
            "tests[0].name must not be 'Image' (the build)",
        ),
        ([PipelineTest(name="Unit", commands=[])], "tests[0].commands must hold at least one"),
        (
            [PipelineTest(name="Unit", commands="make test")],  # type: ignore[arg-type]
            "tests[0].commands must be a list of strings, got the string 'make test'",
        ),
        (
            [PipelineTest(name="Unit", commands=["a"], timeout=cdk.Duration.hours(9))],
            "tests[0].timeout must be between 5 minutes and 480 minutes, got 540 minutes",
        ),
    ],
)
def test_invalid_tests(
    stack: cdk.Stack, services: list[ObservedService], tests: list[PipelineTest], message: str
) -> None:
    raises(stack, services, message, tests=tests)


@pytest.mark.parametrize(
    ("props", "message"),
    [
        (
            {"execution_mode": codepipeline.ExecutionMode.PARALLEL},
            "execution_mode must be one of ExecutionMode.QUEUED, ExecutionMode.SUPERSEDED, "
            "got ExecutionMode.PARALLEL",
        ),
        (
            {"pipeline_name": "my pipeline"},
            "pipeline_name must be 1-100 characters: letters, digits, '.', '@', '_', '-', "
            "got 'my pipeline'",
        ),
        ({"max_image_count": 0}, "max_image_count must be in [1, 10000], got 0"),
        (
            {"artifact_retention": cdk.Duration.hours(36)},
            "artifact_retention must be a whole number of days (S3 lifecycle), got 2160 minutes",
        ),
        (
            {"build_timeout": cdk.Duration.minutes(2)},
            "build_timeout must be between 5 minutes and 480 minutes, got 2 minutes",
        ),
        (
            {"dockerfile": "/abs/Dockerfile"},
            "dockerfile must be a relative path in the source without spaces, "
            "got '/abs/Dockerfile'",
        ),
        (
            {"notification_emails": ["team@"]},
            "notification_emails[0] must be an email address like oncall@example.com, got 'team@'",
        ),
        # Issue 13: values that used to slip through.
        (
            {"source": source(trigger_branches="main")},
            "source.trigger_branches must be a list of strings, got the string 'main'",
        ),
        (
            {"source": source(file_paths="src/**")},
            "source.file_paths must be a list of strings, got the string 'src/**'",
        ),
        (
            {"source": source(branch="main\n")},
            "source.branch must be a string without control characters",
        ),
        (
            {"notification_emails": "team@example.com"},
            "notification_emails must be a list of strings, got the string 'team@example.com'",
        ),
        (
            {"kms_encrypt_images": "no"},
            "kms_encrypt_images must be True or False or None, got 'no'",
        ),
        ({"max_image_count": True}, "max_image_count must be an integer or None, got True"),
        (
            {
                "tests": [
                    PipelineTest(
                        name="Unit", commands=["a"], environment_variables={"CODEBUILD_X": "1"}
                    )
                ]
            },
            "each key of tests[0].environment_variables must be 1-255 characters without '=', "
            "not starting with CODEBUILD_, got 'CODEBUILD_X'",
        ),
    ],
)
def test_invalid_pipeline_props(
    stack: cdk.Stack, services: list[ObservedService], props: dict[str, Any], message: str
) -> None:
    raises(stack, services, message, **props)


def test_repository_settings_with_an_existing_repository(
    stack: cdk.Stack, services: list[ObservedService]
) -> None:
    repository = ecr.Repository.from_repository_name(stack, f"R{next(_ids)}", "app")
    raises(
        stack,
        services,
        "max_image_count configures the repository this construct creates; it cannot be "
        "combined with repository=",
        repository=repository,
        max_image_count=10,
    )


@pytest.mark.parametrize(
    ("target", "message"),
    [
        (
            {"stack_name": "1-infra"},
            "stages[0].cloudformation.stack_name must be a CloudFormation stack name (letter "
            "first, then letters, digits, '-'; at most 128), got '1-infra'",
        ),
        (
            {"template_path": "/infra.json"},
            "stages[0].cloudformation.template_path must be a relative path in the source, "
            "got '/infra.json'",
        ),
    ],
)
def test_invalid_cloudformation_target(
    stack: cdk.Stack, services: list[ObservedService], target: dict[str, Any], message: str
) -> None:
    role = iam.Role.from_role_arn(
        stack, f"Role{next(_ids)}", "arn:aws:iam::123456789012:role/deploy", mutable=False
    )
    props: dict[str, Any] = {
        "stack_name": "infra",
        "template_path": "infra.json",
        "deployment_role": role,
    }
    raises(
        stack,
        services,
        message,
        stages=[
            DeployStage(name="Prod", cloudformation=CloudFormationTarget(**{**props, **target}))
        ],
    )


# --- Types and deployment time ------------------------------------------------------------------


def test_gates_and_services_must_be_lists_of_the_right_things(
    stack: cdk.Stack, services: list[ObservedService]
) -> None:
    bake = Gate.bake(cdk.Duration.minutes(5))
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"services": [services[0]], "gates": bake},
            "stages[0].gates must be a list of Gate, got BakeGate(duration=Duration of 5 "
            "minutes, services=None, alarms=())",
        ),
        (
            {"services": ["Svc0"]},
            "stages[0].services[0] must be a service (ObservedService, ExpressService or another "
            "IObservedService), got 'Svc0'",
        ),
    ]
    for stage, message in cases:
        raises(stack, services, message, stages=[DeployStage(name="Staging", **stage)])


def test_a_deployment_that_bakes_longer_than_the_deploy_action_waits(
    stack: cdk.Stack,
) -> None:
    slow = ObservedService(
        stack,
        "Slow",
        image=cdk.aws_ecs.ContainerImage.from_registry(
            "public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine"
        ),
        deployment=Deployment.linear(step_percent=10, step_bake_time=cdk.Duration.minutes(10)),
    )
    message = (
        "stages[0] (Staging): TestStack/Slow bakes 100 minutes per deployment; CodePipeline's "
        "ECS deploy action waits at most 60, so at most 45 minutes of bake time leave room"
    )
    raises(stack, [slow], message, stages=[DeployStage(name="Staging", services=[slow])])


# --- Issue 13: values that used to slip through ---------------------------------------------------


def test_an_s3_source_bucket_must_be_versioned_and_send_events_to_eventbridge(
    stack: cdk.Stack, services: list[ObservedService]
) -> None:
    unversioned = s3.Bucket(stack, f"B{next(_ids)}", event_bridge_enabled=True)
    silent = s3.Bucket(stack, f"B{next(_ids)}", versioned=True)
    raises(
        stack,
        services,
        f"source.bucket ({unversioned.node.path}) must be versioned (s3.Bucket(..., "
        "versioned=True)): the S3 source action reads object versions, got versioning off",
        source=PipelineSource.s3(unversioned, "app.zip"),
    )
    raises(
        stack,
        services,
        f"source.bucket ({silent.node.path}) must send its events to EventBridge (s3.Bucket(..., "
        "event_bridge_enabled=True)): uploads start the pipeline through an EventBridge rule, "
        "got no EventBridge notifications",
        source=PipelineSource.s3(silent, "app.zip"),
    )


@pytest.mark.parametrize("zone", ["XYZ", "Europe/Berln", "Mars/Olympus_Mons", "UTC+5", "utc"])
def test_an_unknown_time_zone(stack: cdk.Stack, services: list[ObservedService], zone: str) -> None:
    raises(
        stack,
        services,
        f"stages[0].gates[0].time_zone must be a time zone CodePipeline knows: an IANA name like "
        f"'Europe/Berlin', 'UTC' or 'UTC+05:30', or an abbreviation like 'EST' or 'PST', got "
        f"{zone!r}",
        stages=[
            DeployStage(
                name="Prod",
                services=[services[0]],
                gates=[Gate.deployment_window("* * 9 ? * MON *", time_zone=zone)],
            )
        ],
    )


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "UTC-03:00", "EST", "PST"]
)
def test_time_zones_codepipeline_accepts(zone: str) -> None:
    from cdk_devops_constructs.gated_pipeline.gates import is_time_zone  # noqa: PLC0415

    assert is_time_zone(zone)


def _token_name(stack: cdk.Stack, services: list[ObservedService]) -> DeployStage:
    name = cdk.CfnParameter(stack, f"Name{next(_ids)}").value_as_string
    return DeployStage(name=name, services=[services[0]])


def _window_with_newline(stack: cdk.Stack, services: list[ObservedService]) -> DeployStage:
    window = Gate.deployment_window("* * 9 ? * MON *\n")
    return DeployStage(name="Prod", services=[services[0]], gates=[window])


@pytest.mark.parametrize(
    ("stage", "message"),
    [
        (_token_name, "stages[0].name must be known at synthesis, not a CDK token"),
        (
            _window_with_newline,
            "stages[0].gates[0].cron must be a string without control characters",
        ),
    ],
)
def test_stage_values_that_used_to_slip_through(
    stack: cdk.Stack, services: list[ObservedService], stage: Any, message: str
) -> None:
    raises(stack, services, message, stages=[stage(stack, services)])


def test_a_release_configuration_longer_than_codepipeline_allows(
    stack: cdk.Stack, services: list[ObservedService]
) -> None:
    """CodePipeline refuses a configuration value over 1000 characters at deploy time; the
    Release action's lists the stage's alarms and secrets."""
    long = [
        cloudwatch.Alarm.from_alarm_arn(
            stack, f"Long{n}", f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{n}{'a' * 239}"
        )
        for n in range(4)
    ]
    raises(
        stack,
        services,
        "stages[0] (Staging): its Release action's configuration would hold up to ",
        stages=[
            DeployStage(
                name="Staging",
                services=[services[0]],
                gates=[Gate.bake(cdk.Duration.minutes(5), alarms=long)],
            )
        ],
    )
