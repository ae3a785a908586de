"""The integration apps (test/integ, run by integ-runner in a real account) synthesize here on
every run: their stored snapshots match, and their assertions test what they claim to.

They are synthesized as integ-runner does (aws-cdk-lib's recommended feature flags, no path or
asset metadata, no version reporting), for account 123456789012 in us-east-1.
``pytest --snapshot-update`` rewrites the snapshots (``integ_<name>.py.snapshot/``, without the
``asset.*`` directories: integ-runner compares templates, and bundles its own assets).
"""

from __future__ import annotations

import json
import runpy
import shutil
import sys
import tarfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

ROOT = Path(__file__).resolve().parent.parent
INTEG = ROOT / "test" / "integ"
APPS = {path.stem.removeprefix("integ_"): path for path in sorted(INTEG.glob("integ_*.py"))}
KEPT = ("*.template.json", "*.assets.json", "*.metadata.json", "manifest.json", "tree.json",
        "integ.json", "cdk.out")  # fmt: skip
COMPARED = ("*.template.json", "integ.json")

pytestmark = pytest.mark.snapshot


def recommended_flags() -> dict[str, Any]:
    """The feature flags aws-cdk-lib recommends, read from the installed aws-cdk-lib."""
    (archive,) = (Path(cdk.__file__).parent / "_jsii").glob("aws-cdk-lib@*.jsii.tgz")
    with tarfile.open(archive) as tgz:
        member = tgz.extractfile("package/recommended-feature-flags.json")
        assert member is not None
        return dict(json.load(member))


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    context = {
        **recommended_flags(),
        "aws:cdk:enable-path-metadata": False,
        "aws:cdk:enable-asset-metadata": False,
        "aws:cdk:version-reporting": False,
    }
    out = {}
    real_app = cdk.App
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("CDK_DEFAULT_ACCOUNT", raising=False)
        patch.delenv("CDK_DEFAULT_REGION", raising=False)
        patch.syspath_prepend(str(INTEG))
        for name, path in APPS.items():
            outdir = tmp_path_factory.mktemp(name)
            patch.setattr(cdk, "App", lambda o=outdir: real_app(outdir=str(o), context=context))
            runpy.run_path(str(path), run_name="__main__")
            out[name] = outdir
    sys.modules.pop("support", None)
    return out


def files(directory: Path, patterns: tuple[str, ...]) -> dict[str, Any]:
    """The files compared, without the ``salt`` integ-tests gives each assertion (the time of
    synthesis, so that CloudFormation runs the assertions on every deployment)."""
    found = {
        p.name: json.loads(p.read_text(encoding="utf-8"))
        for pattern in patterns
        for p in sorted(directory.glob(pattern))
    }
    for template in found.values():
        for resource in template.get("Resources", {}).values():
            if resource.get("Type", "").startswith("Custom::DeployAssert"):
                resource["Properties"].pop("salt", None)
    return found


def snapshot_dir(name: str) -> Path:
    return INTEG / f"{APPS[name].name}.snapshot"


@pytest.mark.parametrize("name", sorted(APPS))
def test_the_stored_snapshot_is_what_the_app_synthesizes(
    name: str, synthesized: dict[str, Path], request: pytest.FixtureRequest
) -> None:
    actual = synthesized[name]
    stored = snapshot_dir(name)
    changed = files(stored, COMPARED) != files(actual, COMPARED)
    if changed and request.config.getoption("--snapshot-update", default=False):
        shutil.rmtree(stored, ignore_errors=True)
        stored.mkdir()
        for pattern in KEPT:
            for path in actual.glob(pattern):
                shutil.copy(path, stored / path.name)
    assert files(stored, COMPARED) == files(actual, COMPARED), (
        f"{APPS[name].name} no longer synthesizes its snapshot; review the change, then "
        "run pytest --snapshot-update"
    )


def test_there_is_an_app_per_construct() -> None:
    assert sorted(APPS) == ["feature_flagged_deploy", "gated_pipeline", "observed_service"]


def templates(synthesized: dict[str, Path], name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(stack under test, assertion stack) templates of one app."""
    manifest = json.loads((synthesized[name] / "integ.json").read_text())
    (case,) = manifest["testCases"].values()
    (stack,) = case["stacks"]
    load = lambda s: json.loads((synthesized[name] / f"{s}.template.json").read_text())  # noqa: E731
    return load(stack), load(case["assertionStack"])


def calls(assertions: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The assertion steps in the order they run: each waits for the one before."""
    steps = {
        k: v
        for k, v in assertions["Resources"].items()
        if v["Type"].startswith("Custom::DeployAssert")
    }
    order = []
    remaining = dict(steps)
    while remaining:
        ready = [
            k for k, v in remaining.items() if not set(v.get("DependsOn", [])) & set(remaining)
        ]
        assert len(ready) == 1, f"the steps are not one chain: {ready}"
        order.append((ready[0], remaining.pop(ready[0])))
    return order


def _ref(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def kinds(steps: list[tuple[str, dict[str, Any]]]) -> list[str]:
    """``CloudWatchsetAlarmState``... (CloudFormation cuts custom type names at 60 characters)."""
    return [s["Type"].split("@SdkCall")[1] for _, s in steps]


def parameter(step: dict[str, Any], key: str, stack: dict[str, Any]) -> Any:
    """A parameter of an assertion step: a literal, or the logical ID of the resource of the
    stack under test it names (through the stack output CDK adds for it)."""
    value = step["Properties"]["parameters"][key]
    if isinstance(value, str):
        return json.loads(value)
    text = json.dumps(value)
    for name, output in stack.get("Outputs", {}).items():
        if f'"{name}"' in text:
            ref = output["Value"]
            return ref.get("Ref") or ref.get("Fn::GetAtt", [None])[0]
    raise AssertionError(f"{key}: {text}")


def test_the_forced_alarm_notifies_the_topic_the_queue_receives(
    synthesized: dict[str, Path],
) -> None:
    stack, assertions = templates(synthesized, "observed_service")
    steps = calls(assertions)
    assert kinds(steps) == [
        "CloudWatchsetAlarmState",
        "SQSreceiveMessage",
        "ECSupdateService",
        "ECSdescribeServices",
    ]
    resources = stack["Resources"]
    alarm = resources[parameter(steps[0][1], "AlarmName", stack)]
    assert parameter(steps[0][1], "StateValue", stack) == "ALARM"
    (topic,) = alarm["Properties"]["AlarmActions"]
    (subscription,) = [r for r in resources.values() if r["Type"] == "AWS::SNS::Subscription"]
    assert subscription["Properties"]["TopicArn"] == topic
    assert subscription["Properties"]["Protocol"] == "sqs"
    queue = parameter(steps[1][1], "QueueUrl", stack)
    assert subscription["Properties"]["Endpoint"] == {"Fn::GetAtt": [queue, "Arn"]}


def test_the_bad_deployment_fits_the_service_and_cannot_start(
    synthesized: dict[str, Path],
) -> None:
    stack, assertions = templates(synthesized, "observed_service")
    resources = stack["Resources"]
    (service,) = [r for r in resources.values() if r["Type"] == "AWS::ECS::Service"]
    (target,) = service["Properties"]["LoadBalancers"]
    update = calls(assertions)[2][1]
    crashing = resources[parameter(update, "taskDefinition", stack)]
    (container,) = crashing["Properties"]["ContainerDefinitions"]
    assert container["Name"] == target["ContainerName"]
    assert container["PortMappings"][0]["ContainerPort"] == target["ContainerPort"]
    assert container["Command"] == ["sh", "-c", "exit 1"]
    config = service["Properties"]["DeploymentConfiguration"]
    assert config["DeploymentCircuitBreaker"] == {"Enable": True, "Rollback": True}


def test_the_pipeline_bake_is_failed_by_the_alarm_it_watches(
    synthesized: dict[str, Path],
) -> None:
    stack, assertions = templates(synthesized, "gated_pipeline")
    chain = calls(assertions)
    assert [k[:30] for k in kinds(chain)] == [
        "S3copyObject",
        "CodePipelinelistPipelineExecut",
        "S3copyObject",
        "CodePipelinegetPipelineState",
        "CloudWatchsetAlarmState",
        "CodePipelinelistPipelineExecut",
    ]
    resources = stack["Resources"]
    (health,) = [
        r
        for r in resources.values()
        if r["Type"] == "AWS::CloudWatch::Alarm"
        and r["Properties"].get("AlarmName") == parameter(chain[4][1], "AlarmName", stack)
        and "-health" in r["Properties"]["AlarmName"]
    ]
    pipeline = next(r for r in resources.values() if r["Type"] == "AWS::CodePipeline::Pipeline")
    (staging,) = [s for s in pipeline["Properties"]["Stages"] if s["Name"] == "Staging"]
    (action,) = [a for a in staging["Actions"] if a["Name"] == "Release"]
    watched = _ref(action["Configuration"]["EnvironmentVariables"])
    assert health["Properties"]["AlarmName"] in watched, "the bake watches the forced alarm"
    assert staging["OnFailure"]["Result"] == "ROLLBACK"

    def execution(step: dict[str, Any]) -> Any:
        expected = json.loads(step["Properties"]["expected"])
        (summary,) = expected["$ObjectLike"]["pipelineExecutionSummaries"]["$ArrayWith"]
        return summary["$ObjectLike"]

    assert execution(chain[1][1]) == {"executionType": "STANDARD", "status": "Succeeded"}
    assert execution(chain[5][1]) == {"executionType": "ROLLBACK", "status": "Succeeded"}


def test_the_flags_check_reads_the_service_through_its_load_balancer(
    synthesized: dict[str, Path],
) -> None:
    stack, assertions = templates(synthesized, "feature_flagged_deploy")
    (call,) = [
        r
        for r in assertions["Resources"].values()
        if r["Type"].startswith("Custom::DeployAssert@HttpCall")
    ]
    url = _ref(call["Properties"]["parameters"]["url"])
    resources = stack["Resources"]
    (load_balancer,) = [
        k for k, r in resources.items() if r["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer"
    ]
    assert f"{load_balancer}DNSName" in url
    assert '"answer": 42' in json.dumps(json.loads(call["Properties"]["expected"]))
    (profile,) = [
        r for r in resources.values() if r["Type"] == "AWS::AppConfig::HostedConfigurationVersion"
    ]
    assert '"answer": 42' in json.dumps(json.loads(profile["Properties"]["Content"]))
