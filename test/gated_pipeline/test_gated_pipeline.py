"""What GatedPipeline promises, one behaviour per test, on the scenarios' templates."""

from __future__ import annotations

import json
import re
import subprocess
from typing import Any

import pytest
from aws_cdk import aws_ecs as ecs
from aws_cdk.assertions import Annotations, Match, Template

from cdk_devops_constructs import (
    DeployStage,
    Gate,
    GatedPipeline,
    ObservedService,
    PipelineSource,
)
from cdk_devops_constructs.gated_pipeline import dora
from cdk_devops_constructs.gated_pipeline.release import RELEASE_SCRIPT

from .scenarios import CONNECTION_ARN, service
from harness.scenarios import Built, as_text, new_stack


def scenario(name: str) -> Any:
    return pytest.mark.parametrize("built", [f"gated_pipeline/{name}"], indirect=True)


def resources(built: Built, kind: str) -> dict[str, Any]:
    return {k: v for k, v in built.template["Resources"].items() if v["Type"] == kind}


def pipeline(built: Built) -> dict[str, Any]:
    (resource,) = resources(built, "AWS::CodePipeline::Pipeline").values()
    return dict(resource["Properties"])


def stages(built: Built) -> dict[str, dict[str, Any]]:
    return {s["Name"]: s for s in pipeline(built)["Stages"]}


def ref(built: Built, construct: Any) -> dict[str, str]:
    """{"Ref": logical ID} of an L2 construct of the scenario's stack."""
    return {"Ref": built.stack.resolve(construct.node.default_child.logical_id)}


def logical_id(built: Built, construct: Any) -> str:
    return str(built.stack.resolve(construct.node.default_child.logical_id))


def policy_statements(built: Built, role: Any) -> list[dict[str, Any]]:
    """Every statement of the managed policy attached to a ServiceRole."""
    policy = built.template["Resources"][logical_id(built, role.policy)]
    return list(policy["Properties"]["PolicyDocument"]["Statement"])


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def statement_for(statements: list[dict[str, Any]], action: str) -> dict[str, Any]:
    (statement,) = [s for s in statements if action in as_list(s["Action"])]
    return statement


def gated(built: Built) -> GatedPipeline:
    assert isinstance(built.value, GatedPipeline)
    return built.value


# --- Pipeline shape ---------------------------------------------------------------------------


@scenario("defaults")
def test_pipeline_is_v2_queued_with_a_kms_encrypted_artifact_store(built: Built) -> None:
    props = pipeline(built)
    assert props["PipelineType"] == "V2"
    assert props["ExecutionMode"] == "QUEUED"
    assert props["RestartExecutionOnUpdate"] is False
    store = props["ArtifactStore"]
    assert store["Location"] == ref(built, gated(built).artifact_bucket)
    assert store["EncryptionKey"]["Type"] == "KMS"


@scenario("all_options")
def test_execution_mode_and_name_are_configurable(built: Built) -> None:
    props = pipeline(built)
    assert props["ExecutionMode"] == "SUPERSEDED"
    assert props["Name"] == "checkout-release"


@scenario("defaults")
def test_stages_run_in_order_source_build_then_each_deploy_stage(built: Built) -> None:
    assert list(stages(built)) == ["Source", "Build", "Staging", "Production"]
    assert list(gated(built).stages) == ["Staging", "Production"]


@scenario("all_options")
def test_deploy_stages_keep_the_order_given(built: Built) -> None:
    assert list(stages(built)) == ["Source", "Build", "Dev", "Staging", "Production"]


@scenario("all_options")
def test_image_build_and_tests_run_in_parallel_and_tests_are_test_actions(built: Built) -> None:
    build = {a["Name"]: a for a in stages(built)["Build"]["Actions"]}
    assert list(build) == ["Image", "Unit", "Lint"]
    assert {a["RunOrder"] for a in build.values()} == {1}
    assert build["Image"]["ActionTypeId"]["Category"] == "Build"
    assert build["Unit"]["ActionTypeId"]["Category"] == "Test"
    assert build["Lint"]["ActionTypeId"]["Category"] == "Test"
    assert build["Image"]["OutputArtifacts"] == [{"Name": "Image"}]


@scenario("defaults")
def test_the_image_is_tagged_with_the_commit_id(built: Built) -> None:
    image = next(a for a in stages(built)["Build"]["Actions"] if a["Name"] == "Image")
    variables = json.loads(image["Configuration"]["EnvironmentVariables"])
    assert variables == [
        {"name": "SOURCE_REVISION", "type": "PLAINTEXT", "value": "#{SourceVariables.CommitId}"}
    ]


# --- Source and triggers ----------------------------------------------------------------------


@scenario("defaults")
def test_connection_source_starts_on_pushes_to_its_branch(built: Built) -> None:
    (source,) = stages(built)["Source"]["Actions"]
    assert source["ActionTypeId"]["Provider"] == "CodeStarSourceConnection"
    assert source["Configuration"]["ConnectionArn"] == CONNECTION_ARN
    assert source["Configuration"]["FullRepositoryId"] == "acme/checkout"
    assert source["Configuration"]["BranchName"] == "main"
    assert pipeline(built)["Triggers"] == [
        {
            "ProviderType": "CodeStarSourceConnection",
            "GitConfiguration": {
                "SourceActionName": "Source",
                "Push": [{"Branches": {"Includes": ["main"]}}],
            },
        }
    ]


@scenario("all_options")
def test_trigger_filters_branches_and_file_paths(built: Built) -> None:
    (trigger,) = pipeline(built)["Triggers"]
    assert trigger["GitConfiguration"]["Push"] == [
        {
            "Branches": {"Includes": ["release/*", "hotfix/*"]},
            "FilePaths": {
                "Includes": ["services/checkout/**"],
                "Excludes": ["**/*.md"],
            },
        }
    ]


@scenario("defaults")
def test_the_source_role_may_use_the_connection_under_both_service_prefixes(
    built: Built,
) -> None:
    role = gated(built).node.find_child("SourceActionRole")
    statement = statement_for(policy_statements(built, role), "codeconnections:UseConnection")
    assert sorted(as_list(statement["Action"])) == [
        "codeconnections:UseConnection",
        "codestar-connections:UseConnection",
    ]
    assert statement["Resource"] == CONNECTION_ARN


@scenario("codecommit")
def test_codecommit_pushes_to_the_branch_start_the_pipeline(built: Built) -> None:
    assert "Triggers" not in pipeline(built)
    (source,) = stages(built)["Source"]["Actions"]
    assert source["Configuration"]["PollForSourceChanges"] is False
    template = Template.from_json(built.template)
    template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.codecommit"],
                "detail": Match.object_like({"referenceName": ["trunk"]}),
            },
            "Targets": [Match.object_like({"RoleArn": Match.any_value()})],
        },
    )


@scenario("s3_cloudformation")
def test_s3_uploads_start_the_pipeline_and_tag_images_with_the_version_id(built: Built) -> None:
    (source,) = stages(built)["Source"]["Actions"]
    assert source["Configuration"] == {
        "S3Bucket": "acme-releases",
        "S3ObjectKey": "checkout/source.zip",
        "PollForSourceChanges": False,
    }
    Template.from_json(built.template).has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.s3"],
                "detail-type": ["Object Created"],
                "detail": {
                    "bucket": {"name": ["acme-releases"]},
                    "object": {"key": ["checkout/source.zip"]},
                },
            }
        },
    )
    image = next(a for a in stages(built)["Build"]["Actions"] if a["Name"] == "Image")
    assert "#{SourceVariables.VersionId}" in image["Configuration"]["EnvironmentVariables"]


# --- Gates ------------------------------------------------------------------------------------


@scenario("defaults")
def test_production_is_not_entered_while_staging_is_unhealthy(built: Built) -> None:
    staging = gated(built).stages["Staging"].services[0]
    assert stages(built)["Production"]["BeforeEntry"] == {
        "Conditions": [
            {
                "Result": "FAIL",
                "Rules": [
                    {
                        "Name": "Production-Healthy-1",
                        "RuleTypeId": {
                            "Category": "Rule",
                            "Owner": "AWS",
                            "Provider": "CloudWatchAlarm",
                            "Version": "1",
                        },
                        # The literal name: no export ties the stacks together.
                        "Configuration": {
                            "AlarmName": staging.health_alarm_name,
                            "AlarmStates": "ALARM",
                        },
                    }
                ],
            }
        ]
    }


def release_variables(built: Built, stage: str) -> dict[str, Any]:
    """The release action's variables; a value holding a Ref is written ``${Ref:<id>}``."""
    (action,) = [a for a in stages(built)[stage]["Actions"] if a["Name"] == "Release"]
    variables = json.loads(as_text(action["Configuration"]["EnvironmentVariables"]))
    return {v["name"]: v["value"] for v in variables}


@scenario("defaults")
def test_each_stage_bakes_on_its_own_health_alarm_and_rolls_back_on_alarm(built: Built) -> None:
    """The bake is an action that watches the alarm for the whole bake time (an on-success
    CloudWatchAlarm rule passes at once on an OK alarm), after the deploy actions; an alarm
    fails it, and the stage's on-failure condition rolls the stage back."""
    for name, minutes in (("Staging", 10), ("Production", 30)):
        service = gated(built).stages[name].services[0]
        assert "OnSuccess" not in stages(built)[name]
        deploy, release = stages(built)[name]["Actions"][-2:]
        assert deploy["ActionTypeId"]["Provider"] == "ECS"
        assert release["Name"] == "Release"
        assert release["RunOrder"] == deploy["RunOrder"] + 1
        variables = release_variables(built, name)
        assert variables["WATCHED_ALARMS"] == service.health_alarm_name
        assert variables["BAKE_SECONDS"] == str(minutes * 60)
        assert variables["IMAGE_URI"] == "#{Image.IMAGE_URI}"
        assert stages(built)[name]["OnFailure"] == {"Result": "ROLLBACK"}


@scenario("defaults")
def test_the_release_records_the_deployed_image_where_the_service_reads_it(built: Built) -> None:
    """Later stack updates register task definition revisions with the image the pipeline
    deployed, not the image in the CDK code: the service reads a secret the release writes."""
    names = []
    for name in ("Staging", "Production"):
        service = gated(built).stages[name].services[0]
        secret_id = logical_id(built, service.node.find_child("DeployedImage"))
        secret = built.template["Resources"][secret_id]["Properties"]
        assert release_variables(built, name)["IMAGE_SECRETS"] == secret["Name"]
        names.append(secret["Name"])
        task = built.template["Resources"][logical_id(built, service.task_definition)]
        app = task["Properties"]["ContainerDefinitions"][0]
        assert app["Image"] == {
            "Fn::Join": [
                "",
                ["{{resolve:secretsmanager:", {"Ref": secret_id}, ":SecretString:::}}"],
            ]
        }
        assert app["DockerLabels"]["cdk-devops-constructs.code-image"] == secret["SecretString"]
    statements = policy_statements(built, gated(built).node.find_child("ReleaseRole"))
    secrets = [
        as_text(r)
        for s in statements
        if "secretsmanager:PutSecretValue" in as_list(s["Action"])
        for r in as_list(s["Resource"])
    ]
    # Secrets Manager suffixes six random characters to the name in the ARN.
    assert sorted(secrets) == sorted(
        f"arn:${{Ref:AWS::Partition}}:secretsmanager:us-east-1:123456789012:secret:{n}-??????"
        for n in names
    )


def test_the_release_script_fails_on_an_alarm_at_any_time_during_the_bake(
    tmp_path: Any,
) -> None:
    """The release action's own script, run with a fake AWS CLI whose alarm goes into ALARM
    on the third poll, then back to OK: the bake fails, and no image is recorded."""
    calls = tmp_path / "calls"
    states = tmp_path / "states"
    states.write_text("OK\nOK\nALARM\nOK\nOK\n")
    fake = tmp_path / "aws"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        'case "$2" in\n'
        f"  describe-alarms) head -n 1 {states}; sed -i 1d {states} ;;\n"
        "  describe-alarm-history) echo 0 ;;\n"
        "esac\n"
    )
    fake.chmod(0o755)
    env = {
        "PATH": f"{tmp_path}:/usr/bin:/bin",
        "WATCHED_ALARMS": "app-health",
        "BAKE_SECONDS": "30",
        "POLL_SECONDS": "0",
        "IMAGE_SECRETS": "app/deployed-image",
        "IMAGE_URI": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:abc",
    }
    result = subprocess.run(
        ["bash", "-c", RELEASE_SCRIPT], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "app-health is in ALARM: the stage rolls back" in result.stdout
    assert "put-secret-value" not in calls.read_text()
    # An ALARM between two polls is caught in the alarm's history at the end of the bake.
    states.write_text("OK\n" * 200)
    fake.write_text(fake.read_text().replace("echo 0 ;;", "echo 1 ;;"))
    env["BAKE_SECONDS"] = "1"
    result = subprocess.run(
        ["bash", "-c", RELEASE_SCRIPT], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1
    assert "app-health was in ALARM during the bake" in result.stdout
    # A clean bake records the image.
    fake.write_text(fake.read_text().replace("echo 1 ;;", "echo 0 ;;"))
    calls.write_text("")
    result = subprocess.run(
        ["bash", "-c", RELEASE_SCRIPT], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "secretsmanager put-secret-value --secret-id app/deployed-image --secret-string "
        + env["IMAGE_URI"]
    ) in calls.read_text()


@pytest.mark.parametrize(
    "failing", ["describe-alarms", "describe-alarm-history", "put-secret-value"]
)
def test_the_release_script_fails_when_an_aws_call_fails(tmp_path: Any, failing: str) -> None:
    """A call that fails (throttled, denied) fails the release: an unread alarm is not a
    healthy one, and an image that was not recorded is not released."""
    calls = tmp_path / "calls"
    fake = tmp_path / "aws"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        f'if [ "$2" = {failing} ]; then echo AccessDenied >&2; exit 254; fi\n'
        'case "$2" in\n'
        "  describe-alarms) echo OK ;;\n"
        "  describe-alarm-history) echo 0 ;;\n"
        "esac\n"
    )
    fake.chmod(0o755)
    env = {
        "PATH": f"{tmp_path}:/usr/bin:/bin",
        "WATCHED_ALARMS": "app-health",
        "BAKE_SECONDS": "1",
        "POLL_SECONDS": "0",
        "IMAGE_SECRETS": "app/deployed-image",
        "IMAGE_URI": "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:abc",
    }
    result = subprocess.run(
        ["bash", "-c", RELEASE_SCRIPT], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1, result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("Could not "), result.stdout
    assert "now holds" not in result.stdout


@scenario("defaults")
def test_a_failed_stage_rolls_back_by_default(built: Built) -> None:
    for name in ("Staging", "Production"):
        assert stages(built)[name]["OnFailure"] == {"Result": "ROLLBACK"}


@scenario("all_options")
def test_rollback_on_failure_can_be_turned_off(built: Built) -> None:
    assert "OnFailure" not in stages(built)["Dev"]
    assert stages(built)["Staging"]["OnFailure"] == {"Result": "ROLLBACK"}


@scenario("all_options")
def test_deployment_window_comes_first_in_the_entry_condition(built: Built) -> None:
    (condition,) = stages(built)["Production"]["BeforeEntry"]["Conditions"]
    assert condition["Result"] == "FAIL"
    window, *alarms = condition["Rules"]
    assert window["RuleTypeId"]["Provider"] == "DeploymentWindow"
    assert window["Configuration"] == {
        "Cron": "* * 9-16 ? * MON-THU *",
        "TimeZone": "Europe/Berlin",
    }
    assert [r["Name"] for r in alarms] == ["Production-Healthy-1", "Production-Healthy-2"]


@scenario("all_options")
def test_entry_check_waits_for_recovery_when_asked(built: Built) -> None:
    (condition,) = stages(built)["Staging"]["BeforeEntry"]["Conditions"]
    assert [r["Configuration"]["WaitTime"] for r in condition["Rules"]] == ["10", "10"]


@scenario("all_options")
def test_bake_watches_extra_alarms(built: Built) -> None:
    dev_api = gated(built).stages["Dev"].services[0]
    names = release_variables(built, "Staging")["WATCHED_ALARMS"].split(" ")
    assert names[-1] == "${Ref:" + ref(built, dev_api.alarms["errors"])["Ref"] + "}"


@scenario("defaults")
def test_the_pipeline_role_may_read_alarms_for_its_rules(built: Built) -> None:
    """How the rule calls DescribeAlarms is not documented; "*" serves either way."""
    statement = statement_for(
        policy_statements(built, gated(built).node.find_child("PipelineRole")),
        "cloudwatch:DescribeAlarms",
    )
    assert statement["Action"] == ["cloudwatch:DescribeAlarmHistory", "cloudwatch:DescribeAlarms"]
    assert statement["Resource"] == "*"


@scenario("defaults")
def test_manual_approval_notifies_approvers_before_production_deploys(built: Built) -> None:
    approve, deploy, _release = stages(built)["Production"]["Actions"]
    assert approve["ActionTypeId"]["Category"] == "Approval"
    assert approve["RunOrder"] == 1
    assert deploy["RunOrder"] == 2
    topic = gated(built).stages["Production"].approval_topic
    assert topic is not None
    assert approve["Configuration"]["NotificationArn"] == ref(built, topic)
    template = Template.from_json(built.template)
    template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Endpoint": "release-managers@example.com", "TopicArn": ref(built, topic)},
    )
    props = built.template["Resources"][logical_id(built, topic)]["Properties"]
    assert "KmsMasterKeyId" in props


@scenario("all_options")
def test_approval_carries_review_url_comment_and_timeout(built: Built) -> None:
    approve = stages(built)["Production"]["Actions"][0]
    assert approve["Configuration"]["ExternalEntityLink"] == "https://staging.example.com/checkout"
    assert approve["Configuration"]["CustomData"] == (
        "Check the staging dashboard before approving."
    )
    assert approve["TimeoutInMinutes"] == 480


# --- Build, tests, images ---------------------------------------------------------------------


@scenario("defaults")
def test_only_the_image_build_is_privileged_and_it_caches_docker_layers(built: Built) -> None:
    projects = {k: v["Properties"] for k, v in resources(built, "AWS::CodeBuild::Project").items()}
    image = projects[logical_id(built, gated(built).build_project)]
    assert image["Environment"]["PrivilegedMode"] is True
    assert image["Environment"]["Image"] == "aws/codebuild/standard:7.0"
    assert image["Cache"] == {"Type": "LOCAL", "Modes": ["LOCAL_DOCKER_LAYER_CACHE"]}
    test = projects[logical_id(built, gated(built).test_projects["Unit"])]
    assert test["Environment"]["PrivilegedMode"] is False
    for project in projects.values():
        assert project["EncryptionKey"] == {
            "Fn::GetAtt": [logical_id(built, gated(built).encryption_key), "Arn"]
        }
        assert project["LogsConfig"]["CloudWatchLogs"]["GroupName"] == ref(
            built, gated(built).build_log_group
        )


@scenario("defaults")
def test_image_build_writes_imagedefinitions_for_each_container_name(built: Built) -> None:
    spec = json.loads(
        built.template["Resources"][logical_id(built, gated(built).build_project)]["Properties"][
            "Source"
        ]["BuildSpec"]
    )
    assert spec["artifacts"] == {"files": ["imagedefinitions.json", "imageDetail.json"]}
    names = {
        v["Name"]: v["Value"]
        for v in built.template["Resources"][logical_id(built, gated(built).build_project)][
            "Properties"
        ]["Environment"]["EnvironmentVariables"]
    }
    assert names["CONTAINER_NAMES"] == "app"


@scenario("defaults")
def test_tests_publish_junit_reports_to_their_report_group(built: Built) -> None:
    project = gated(built).test_projects["Unit"]
    # The buildspec names the report group by ARN, so it is a Fn::Join in the template.
    spec = json.dumps(
        built.template["Resources"][logical_id(built, project)]["Properties"]["Source"]["BuildSpec"]
    )
    group = gated(built).report_groups["Unit"]
    assert logical_id(built, group) in spec
    assert "JUNITXML" in spec
    assert "reports/*.xml" in spec


@scenario("defaults")
def test_repository_scans_on_push_with_immutable_tags_and_a_lifecycle(built: Built) -> None:
    (repository,) = resources(built, "AWS::ECR::Repository").values()
    props = repository["Properties"]
    assert props["ImageScanningConfiguration"] == {"ScanOnPush": True}
    assert props["ImageTagMutability"] == "IMMUTABLE"
    assert props["EncryptionConfiguration"]["EncryptionType"] == "KMS"
    policy = json.loads(props["LifecyclePolicy"]["LifecyclePolicyText"])
    assert policy["rules"][0]["selection"]["countNumber"] == 100
    assert repository["DeletionPolicy"] == "Retain"


@scenario("all_options")
def test_repository_can_use_aes256_and_keep_fewer_images(built: Built) -> None:
    (repository,) = resources(built, "AWS::ECR::Repository").values()
    encryption = repository["Properties"].get("EncryptionConfiguration", {})
    assert encryption.get("EncryptionType", "AES256") == "AES256"
    policy = json.loads(repository["Properties"]["LifecyclePolicy"]["LifecyclePolicyText"])
    assert policy["rules"][0]["selection"]["countNumber"] == 30


@scenario("codecommit")
def test_an_existing_repository_is_used_as_is(built: Built) -> None:
    assert resources(built, "AWS::ECR::Repository") == {}


@scenario("defaults")
def test_services_pull_the_new_image_with_their_execution_roles(built: Built) -> None:
    """The repository's policy lets the account pull for the services' execution roles only
    (a condition, not a principal, so that it may name roles that do not exist yet); each
    role's own policy allows the pulls, since a policy that names an account delegates to the
    account's IAM policies (ECR user guide, "Private repository policy examples")."""
    roles = [
        stage.services[0].task_definition.execution_role for stage in gated(built).stages.values()
    ]
    repository = built.template["Resources"][logical_id(built, gated(built).repository)]
    (statement,) = repository["Properties"]["RepositoryPolicyText"]["Statement"]
    assert statement["Action"] == [
        "ecr:BatchCheckLayerAvailability",
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
    ]
    assert (
        as_text(statement["Principal"]["AWS"]) == "arn:${Ref:AWS::Partition}:iam::123456789012:root"
    )
    # By ARN from the role's literal name: nothing imported from the services' stacks.
    names = [
        built.template["Resources"][logical_id(built, r)]["Properties"]["RoleName"] for r in roles
    ]
    assert [as_text(p) for p in statement["Condition"]["ArnEquals"]["aws:PrincipalArn"]] == [
        f"arn:${{Ref:AWS::Partition}}:iam::123456789012:role/{n}" for n in sorted(names)
    ]
    for role in roles:
        policy = built.template["Resources"][
            logical_id(built, role.node.find_child("DefaultPolicy"))
        ]
        found = policy["Properties"]["PolicyDocument"]["Statement"]
        assert statement_for(found, "ecr:GetAuthorizationToken")["Resource"] == "*"
        pull = statement_for(found, "ecr:BatchGetImage")
        assert as_text(pull["Resource"]) == (
            "arn:${Ref:AWS::Partition}:ecr:us-east-1:123456789012:repository/*"
        )
        decrypt = statement_for(found, "kms:Decrypt")
        assert decrypt["Condition"] == {
            "StringEquals": {"kms:ViaService": "ecr.us-east-1.amazonaws.com"}
        }


# --- Deploy and least privilege ---------------------------------------------------------------


@scenario("defaults")
def test_each_stage_deploys_its_services_from_imagedefinitions(built: Built) -> None:
    for name in ("Staging", "Production"):
        deploy = stages(built)[name]["Actions"][-2]
        assert deploy["ActionTypeId"]["Provider"] == "ECS"
        assert deploy["Configuration"]["FileName"] == "imagedefinitions.json"
        assert deploy["InputArtifacts"] == [{"Name": "Image"}]


@scenario("defaults")
def test_deploy_roles_may_update_only_their_own_services(built: Built) -> None:
    for name, stage in gated(built).stages.items():
        role = (
            gated(built)
            .node.find_child("Stages")
            .node.find_child(name)
            .node.find_child("DeployRole")
        )
        statements = policy_statements(built, role)
        update = statement_for(statements, "ecs:UpdateService")
        (service,) = stage.services
        # By the service's literal name: no export ties the service's stack to this one.
        target = service.deploy_target
        assert as_text(update["Resource"]) == (
            "arn:${Ref:AWS::Partition}:ecs:us-east-1:123456789012:service/"
            f"{target.cluster_name}/{target.service_name}"
        )
        ecs_service = built.template["Resources"][logical_id(built, service.service)]
        assert ecs_service["Properties"]["ServiceName"] == target.service_name
        cluster = built.template["Resources"][ecs_service["Properties"]["Cluster"]["Ref"]]
        assert cluster["Properties"]["ClusterName"] == target.cluster_name
        pass_role = statement_for(statements, "iam:PassRole")
        assert pass_role["Condition"] == {
            "StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
        }
        assert len(pass_role["Resource"]) == 2  # the task role and the execution role


@scenario("defaults")
def test_action_roles_trust_only_the_pipeline_role(built: Built) -> None:
    pipeline_role = logical_id(built, gated(built).node.find_child("PipelineRole").role)
    roles = resources(built, "AWS::IAM::Role")
    trusted = [
        r
        for r in roles.values()
        if r["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]
        == {"AWS": {"Fn::GetAtt": [pipeline_role, "Arn"]}}
    ]
    # Source, build actions, the approval, and one deploy role per stage.
    assert len(trusted) == 5


@scenario("s3_cloudformation")
def test_cloudformation_target_changes_the_stack_before_the_service(built: Built) -> None:
    actions = stages(built)["Production"]["Actions"]
    assert [(a["Name"], a["RunOrder"]) for a in actions] == [
        ("Approve", 1),
        ("PrepareInfrastructure", 2),
        ("ApplyInfrastructure", 3),
        ("Deploy-Api", 4),
        ("Release", 5),
    ]
    prepare = actions[1]["Configuration"]
    assert prepare["ActionMode"] == "CHANGE_SET_REPLACE"
    assert prepare["StackName"] == "checkout-infrastructure"
    assert prepare["TemplatePath"] == "Source::infra/checkout.template.json"
    assert prepare["RoleArn"] == "arn:aws:iam::123456789012:role/checkout-cloudformation"
    assert actions[2]["Configuration"]["ActionMode"] == "CHANGE_SET_EXECUTE"
    role = (
        gated(built)
        .node.find_child("Stages")
        .node.find_child("Production")
        .node.find_child("InfrastructureRole")
    )
    change_sets = statement_for(policy_statements(built, role), "cloudformation:CreateChangeSet")
    assert "stack/checkout-infrastructure/*" in json.dumps(change_sets["Resource"])


@scenario("defaults")
def test_no_iam_policy_grants_a_wildcard_action(built: Built) -> None:
    """CDK's grants (``s3:GetObject*``, ``kms:GenerateDataKey*``) never reach the template."""
    wildcards = []
    for logical, resource in built.template["Resources"].items():
        for statement in _statements(resource):
            if statement.get("Effect") != "Allow":
                continue
            for action in as_list(statement.get("Action", [])):
                if "*" in action and not _is_key_administration(resource, statement):
                    wildcards.append((logical, action))
    assert wildcards == []


def _statements(resource: dict[str, Any]) -> list[dict[str, Any]]:
    props = resource.get("Properties", {})
    documents = [
        props.get(k) for k in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument")
    ] + [p["PolicyDocument"] for p in props.get("Policies", [])]
    return [s for d in documents if isinstance(d, dict) for s in d.get("Statement", [])]


def _is_key_administration(resource: dict[str, Any], statement: dict[str, Any]) -> bool:
    """The default key policy statement: the account administers its own key through IAM."""
    return resource["Type"] == "AWS::KMS::Key" and statement["Action"] == "kms:*"


@scenario("defaults")
def test_artifact_objects_are_readable_only_by_the_pipeline_roles(built: Built) -> None:
    bucket = gated(built).artifact_bucket
    (policy,) = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in resources(built, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == ref(built, bucket)
    ]
    by_sid = {s.get("Sid"): s for s in policy}
    readers = by_sid["PipelineRolesReadArtifacts"]
    writers = by_sid["PipelineRolesWriteArtifacts"]
    assert readers["Action"] == ["s3:GetObject", "s3:GetObjectVersion"]
    assert writers["Action"] == ["s3:PutObject", "s3:PutObjectAcl"]
    # pipeline, source action, image build (write); unit test, release, 2 deploy roles (read)
    assert len(writers["Principal"]["AWS"]) == 3
    assert len(readers["Principal"]["AWS"]) == 7
    assert any(s["Effect"] == "Deny" and s["Action"] == "s3:*" for s in policy)  # SSL only


@scenario("defaults")
def test_stateful_resources_are_retained(built: Built) -> None:
    g = gated(built)
    for construct in (
        g.artifact_bucket,
        g.repository,
        g.build_log_group,
        g.delivery_log_group,
        g.encryption_key,
    ):
        assert built.template["Resources"][logical_id(built, construct)]["DeletionPolicy"] == (
            "Retain"
        )


@scenario("defaults")
def test_artifact_bucket_expires_artifacts_and_logs_access(built: Built) -> None:
    props = built.template["Resources"][logical_id(built, gated(built).artifact_bucket)][
        "Properties"
    ]
    (rule,) = props["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 90
    assert props["LoggingConfiguration"]["LogFilePrefix"].startswith("pipeline-artifacts/")
    assert props["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True


# --- Incident visibility and metrics ----------------------------------------------------------


@scenario("defaults")
def test_failures_successes_rollbacks_and_approvals_reach_the_notification_topic(
    built: Built,
) -> None:
    topic = ref(built, gated(built).notification_topic)
    rules = [
        r["Properties"]
        for r in resources(built, "AWS::Events::Rule").values()
        if r["Properties"]["Targets"][0]["Arn"] == topic
    ]
    patterns = {
        (r["EventPattern"]["detail-type"][0], json.dumps(r["EventPattern"]["detail"]))
        for r in rules
    }
    assert patterns == {
        (
            "CodePipeline Pipeline Execution State Change",
            json.dumps({"state": ["FAILED", "SUCCEEDED", "STOPPED"]}),
        ),
        (
            "CodePipeline Pipeline Execution State Change",
            json.dumps(
                {
                    "state": ["STARTED"],
                    "execution-trigger": {"trigger-type": ["AutomatedRollback", "ManualRollback"]},
                }
            ),
        ),
        ("CodePipeline Stage Execution State Change", json.dumps({"state": ["FAILED"]})),
        (
            "CodePipeline Action Execution State Change",
            json.dumps({"state": ["STARTED"], "type": {"category": ["Approval"]}}),
        ),
    }
    for rule in rules:
        assert rule["EventPattern"]["resources"] == [
            built.stack.resolve(gated(built).pipeline.pipeline_arn)
        ]
        assert "InputTransformer" in rule["Targets"][0]


@scenario("defaults")
def test_eventbridge_may_publish_to_the_encrypted_topic(built: Built) -> None:
    template = Template.from_json(built.template)
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        # "You can't use Condition blocks in Amazon SNS topic policies for
                        # EventBridge" (EventBridge user guide, "Amazon SNS permissions").
                        Match.object_like(
                            {
                                "Sid": Match.string_like_regexp("^AllowEventsOf.*ToPublish$"),
                                "Action": "sns:Publish",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Condition": Match.absent(),
                            }
                        )
                    ]
                )
            }
        },
    )
    key = built.template["Resources"][logical_id(built, gated(built).encryption_key)]
    (statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "AllowEventsToPublishToEncryptedTopics"
    ]
    # "Adding the aws:SourceAccount and aws:SourceArn to a AWS KMS policy is not supported
    # for EventBridge-to-encrypted topics" (SNS developer guide).
    assert "Condition" not in statement
    assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]


@scenario("defaults")
def test_pipeline_events_are_recorded_in_an_encrypted_log_group(built: Built) -> None:
    rule = built.template["Resources"][logical_id(built, gated(built).delivery_rule)]
    assert rule["Properties"]["EventPattern"]["detail-type"] == [
        "CodePipeline Pipeline Execution State Change",
        "CodePipeline Stage Execution State Change",
    ]
    assert ":log-group:" in json.dumps(rule["Properties"]["Targets"][0]["Arn"])
    group = built.template["Resources"][logical_id(built, gated(built).delivery_log_group)]
    assert "KmsKeyId" in group["Properties"]
    assert group["Properties"]["RetentionInDays"] == 365
    (policy,) = resources(built, "AWS::Logs::ResourcePolicy").values()
    document = json.loads(json.dumps(policy["Properties"]["PolicyDocument"]))
    assert "events.amazonaws.com" in json.dumps(document)


@scenario("defaults")
def test_dashboard_shows_the_four_delivery_metrics(built: Built) -> None:
    body = json.dumps(
        built.template["Resources"][logical_id(built, gated(built).dashboard)]["Properties"][
            "DashboardBody"
        ]
    )
    for title in (
        "Deployment frequency (per day)",
        "Lead time for changes",
        "Change failure rate",
        "Time to restore service",
        "Failures by stage",
        "Recent executions",
    ):
        assert title in body
    assert "changeFailureRatePercent" in body
    assert "meanTimeToRestoreMinutes" in body


DORA_QUERIES = (
    dora.DEPLOYMENT_FREQUENCY,
    dora.LEAD_TIME,
    dora.CHANGE_FAILURE_RATE,
    dora.TIME_TO_RESTORE,
    dora.FAILURES_BY_STAGE,
    dora.RECENT_EXECUTIONS,
)
FUNCTIONS = {"count", "avg", "pct", "max", "min", "sum", "strcontains", "dateceil"}


@pytest.mark.parametrize("query", DORA_QUERIES, ids=lambda q: q[-1][:30])
def test_after_the_first_stats_only_its_fields_are_read(query: tuple[str, ...]) -> None:
    """ "In the second stats command in a single query, you can refer only to fields that are
    defined in the first stats command" (Logs Insights, "Use multiple stats commands")."""
    stats = [i for i, line in enumerate(query) if line.startswith("stats ")]
    if len(stats) < 2:
        return
    first = query[stats[0]]
    defined = set(re.findall(r" as (@?\w+)", first))
    for line in query[stats[0] + 1 :]:
        command, _, rest = line.partition(" ")
        without_strings = re.sub(r'"[^"]*"', "", rest)
        names = set(re.findall(r"(@?[A-Za-z_]\w*)(?!\w*\()", without_strings))
        read = (
            names
            - FUNCTIONS
            - {"as", "by", "and", "or", "desc", "asc", "d"}
            - set(re.findall(r" as (\w+)", rest))
        )
        read = {n for n in read if not n.isdigit()}
        assert read <= defined, (command, read - defined)


def test_dora_queries_use_at_most_two_stats_commands_and_sort_last() -> None:
    """Logs Insights limits: two stats per query, and sort/limit only after the last one."""
    for query in (
        dora.DEPLOYMENT_FREQUENCY,
        dora.LEAD_TIME,
        dora.CHANGE_FAILURE_RATE,
        dora.TIME_TO_RESTORE,
        dora.FAILURES_BY_STAGE,
        dora.RECENT_EXECUTIONS,
    ):
        # One command per line, without a leading pipe (the widget joins lines with "| ").
        assert not any(line.startswith("|") for line in query)
        commands = [line.split(" ")[0] for line in query]
        assert commands.count("stats") <= 2
        last_stats = max(i for i, c in enumerate(commands) if c == "stats")
        assert all(i > last_stats for i, c in enumerate(commands) if c in ("sort", "limit"))


@pytest.mark.parametrize("built", ["gated_pipeline/all_options"], indirect=True)
def test_a_window_and_a_health_check_warn_only_without_a_later_gate(built: Built) -> None:
    """ "After the deployment window opens, CodePipeline does not check the CloudWatchAlarm
    alarm again" (DeploymentWindow rule reference): a stage with both is warned about, unless
    an approval or a bake acts later (all_options' production has both, and is not)."""
    message = Match.string_like_regexp("checked when a change reaches the stage")
    assert Annotations.from_stack(built.stack).find_warning("*", message) == []
    stack = new_stack()
    staging, production = service(stack, "Staging"), service(stack, "Production")
    GatedPipeline(
        stack,
        "Delivery",
        source=PipelineSource.connection(connection_arn=CONNECTION_ARN, owner="o", repo="r"),
        stages=[
            DeployStage(name="Staging", services=[staging]),
            DeployStage(
                name="Production",
                services=[production],
                gates=[
                    Gate.deployment_window("* * 9-16 ? * MON-THU *"),
                    Gate.healthy_before_entry(),
                ],
            ),
        ],
    )
    assert Annotations.from_stack(stack).find_warning("*", message) != []


def test_an_arm64_service_gets_an_image_built_on_arm64_for_arm64() -> None:
    """R14 of the deploy review: an amd64 image exits with "exec format error" on an arm64
    task, so the image is built on an arm64 host with --platform linux/arm64."""
    stack = new_stack(nag=False)
    graviton = ObservedService(
        stack,
        "Graviton",
        image=ecs.ContainerImage.from_registry(
            "public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine"
        ),
        cpu_architecture=ecs.CpuArchitecture.ARM64,
    )
    pipeline = GatedPipeline(
        stack,
        "Pipeline",
        source=PipelineSource.connection(connection_arn=CONNECTION_ARN, owner="acme", repo="x"),
        stages=[DeployStage(name="Prod", services=[graviton])],
    )
    resources = Template.from_stack(stack).to_json()["Resources"]
    build = resources[stack.resolve(pipeline.build_project.node.default_child.logical_id)]  # type: ignore[union-attr]
    environment = build["Properties"]["Environment"]
    assert environment["Type"] == "ARM_CONTAINER"
    assert environment["Image"] == "aws/codebuild/amazonlinux-aarch64-standard:3.0"
    variables = {v["Name"]: v["Value"] for v in environment["EnvironmentVariables"]}
    assert variables["DOCKER_PLATFORM"] == "linux/arm64"
    task = resources[stack.resolve(graviton.task_definition.node.default_child.logical_id)]  # type: ignore[union-attr]
    assert task["Properties"]["RuntimePlatform"]["CpuArchitecture"] == "ARM64"
