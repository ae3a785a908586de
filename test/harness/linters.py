"""cfn-lint, checkov and cfn-guard on one template file, run in worker processes.

This module imports neither aws_cdk nor jsii, so a worker starts with the linters only; the
linters themselves are imported inside the functions, so the test process never pays for them.

cfn-guard runs the binary and the AWS Control Tower rule files that the CDK plugin
``cdklabs-cdk-validator-cfnguard`` ships (the plugin users add to their apps), with the flags
the plugin passes. Only the rule files that report on a resource type of the template run, each
on the template cut down to the types it names (see ``guard``): a pipeline template takes under
1 s instead of the 2.5 s of all matching rule files on the whole template (the plugin, running
all 237 rule files, takes about 3 s per stack). test_compliance proves the plugin itself reports
the same findings on one scenario (./dev test:generated: one per construct).
"""

# ruff: noqa: PLC0415

from __future__ import annotations

import atexit
import functools
import json
import logging
import os
import platform
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REGION = "us-east-1"
TOOL_METADATA = ("checkov", "cfn-lint")


def warm_up() -> None:
    """Pay each tool's import and cfn-lint's rule loading once per worker, before the first
    template arrives."""
    # checkov forks a process per batch of files by default; a worker lints one file at a time
    os.environ["CHECKOV_PARALLELIZATION_TYPE"] = "none"
    from checkov.cloudformation.runner import Runner  # noqa: F401

    _cfn_lint()
    logging.disable(logging.WARNING)


@functools.cache
def _cfn_lint() -> tuple[Any, Any]:
    """cfn-lint's configuration and rules, as its command line builds them for a run over many
    templates. ``cfnlint.api.lint`` builds them anew for each template, which costs half a
    second."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    config = ConfigMixIn(regions=[REGION])
    return config, Runner(config).rules


def cfn_lint(text: str) -> list[Any]:
    """cfn-lint's matches (errors and warnings) on a template's text.

    The text is decoded as plain JSON, which CDK writes: cfn-lint's own JSON decoder builds
    nodes that carry line numbers, which no finding here uses, and takes a fifth of cfn-lint's
    time on a large template (the same findings on every scenario, with and without the
    acknowledgments). Text that is not JSON, or repeats a key, goes to cfn-lint's decoder,
    which reports it as cfn-lint does (rule E0000).
    """
    from cfnlint.decode import decode_str
    from cfnlint.runner import run_template_by_data

    try:
        template = json.loads(text, object_pairs_hook=_without_repeated_keys)
    except ValueError:  # cfn-lint's own decoder says what is wrong
        template, errors = decode_str(text)
        if errors or template is None:
            return list(errors)
    config, rules = _cfn_lint()
    return list(run_template_by_data(template, config, rules))


def _without_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        raise ValueError("a key is repeated")
    return mapping


ALL_TOOLS = ("cfn-lint", "checkov", "cfn-guard")
GUARD_PLUGIN = "cdklabs.cdk_validator_cfnguard"
GUARD_DISTRIBUTION = "cdklabs-cdk-validator-cfnguard"
RESOURCE_TYPE = re.compile(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+")
# How a rule file names the types it reports on: `let X_TYPE = "AWS::S3::Bucket"`, or inline in
# a filter (`Resources.*[ Type == "AWS::S3::Bucket" ]`). Other mentions are comments, or types a
# rule only follows references to.
TARGET_TYPE = re.compile(
    r'(?:^let\s+\w+\s*=\s*|Type\s*==\s*)"(AWS::[A-Za-z0-9]+::[A-Za-z0-9]+)"', re.MULTILINE
)
LOGICAL_ID_PATH = re.compile(r"^/Resources/([^/]+)")


def lint_file(
    template_file: str, strip_acknowledgments: bool = False, tools: tuple[str, ...] = ALL_TOOLS
) -> list[tuple[str, str, str, str]]:
    """cfn-lint (errors and warnings) and checkov on one template.

    With ``strip_acknowledgments`` the tools' suppression metadata is removed first, which gives
    what the tools find with no acknowledgment applied. Returns (tool, rule, logical ID, message).
    """
    from checkov.cloudformation.runner import Runner
    from checkov.runner_filter import RunnerFilter

    path = Path(template_file)
    if strip_acknowledgments:
        template = json.loads(path.read_text(encoding="utf-8"))
        for resource in template.get("Resources", {}).values():
            for key in TOOL_METADATA:
                resource.get("Metadata", {}).pop(key, None)
        path = path.with_name(path.stem + ".stripped.json")
        path.write_text(json.dumps(template, indent=1), encoding="utf-8")
    findings: list[tuple[str, str, str, str]] = []
    if "cfn-lint" in tools:
        # A template cfn-lint cannot parse is reported as rule E0000, like any other finding.
        for match in cfn_lint(path.read_text(encoding="utf-8")):
            where = list(getattr(match, "path", None) or [])
            logical_id = str(where[1]) if len(where) > 1 and where[0] == "Resources" else ""
            findings.append(("cfn-lint", match.rule.id, logical_id, match.message))
    if "cfn-guard" in tools:
        findings.extend(guard(path))
    if "checkov" not in tools:
        return findings
    report = Runner().run(
        root_folder=None,
        files=[str(path)],
        runner_filter=RunnerFilter(framework=["cloudformation"]),
    )
    for failed in report.failed_checks:
        logical_id = failed.resource.split(".", 1)[-1]
        findings.append(("checkov", failed.check_id, logical_id, failed.check_name))
    return findings


@dataclass(frozen=True)
class RuleFile:
    path: Path
    targets: frozenset[str]  # the types it reports on
    reads: frozenset[str]  # every type it names (targets, and types it follows references to)


@functools.cache
def _guard() -> tuple[Path, tuple[RuleFile, ...]]:
    """The plugin's cfn-guard binary for this machine and its rule files, unpacked once per
    process."""
    import importlib.util

    spec = importlib.util.find_spec(GUARD_PLUGIN)
    assert spec is not None, f"{GUARD_PLUGIN} is not installed"
    assert spec.origin is not None
    (archive,) = (Path(spec.origin).parent / "_jsii").glob("*.jsii.tgz")
    target = Path(tempfile.mkdtemp(prefix="cfn-guard-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    architecture = {"x86_64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}[
        platform.machine()
    ]
    binary = f"package/bin/ubuntu/{architecture}/cfn-guard"
    with tarfile.open(archive) as tgz:
        members = [
            m
            for m in tgz.getmembers()
            if (m.name == binary or m.name.startswith("package/rules/control-tower/cfn-guard/"))
            and m.isfile()
            and ".." not in m.name.split("/")
        ]
        tgz.extractall(target, members=members)  # regular files under package/ only
    (target / binary).chmod(0o755)
    rules = []
    for path in sorted((target / "package/rules/control-tower/cfn-guard").rglob("*.guard")):
        text = path.read_text(encoding="utf-8")
        named = frozenset(RESOURCE_TYPE.findall(text))
        rules.append(RuleFile(path, frozenset(TARGET_TYPE.findall(text)) or named, named))
    return target / binary, tuple(rules)


def guard(path: Path) -> list[tuple[str, str, str, str]]:
    """The Control Tower rules' findings on the template at ``path``.

    cfn-guard's time grows with the template for every rule file, so a rule file does not see
    the whole template: it sees the resources of the types it names (what it reports on, and
    what it follows references to), in a call with the rule files that need the same types,
    or fewer (each call costs a process: 286 calls instead of 425 on the scenarios, a quarter
    less time). A rule selects resources by type, so resources of other types change nothing.
    """
    binary, rule_files = _guard()
    template = json.loads(path.read_text(encoding="utf-8"))
    resources = template.get("Resources", {})
    present = {r.get("Type", "") for r in resources.values()}
    needs: dict[frozenset[str], list[Path]] = {}
    for rule in rule_files:
        if rule.targets & present:
            needs.setdefault(rule.reads & present, []).append(rule.path)
    calls: dict[frozenset[str], list[Path]] = {}
    for types in sorted(needs, key=len, reverse=True):
        wider = next((call for call in calls if types <= call), types)
        calls.setdefault(wider, []).extend(needs[types])
    findings: set[tuple[str, str, str, str]] = set()
    with tempfile.TemporaryDirectory(prefix="cfn-guard-data-") as scratch:
        for index, (types, paths) in enumerate(calls.items()):
            data = Path(scratch) / f"{index}.json"
            seen = {k: r for k, r in resources.items() if r.get("Type") in types}
            data.write_text(json.dumps({**template, "Resources": seen}), encoding="utf-8")
            findings.update(_run_guard(binary, paths, data))
    return sorted(findings)


def _run_guard(binary: Path, rules: list[Path], data: Path) -> set[tuple[str, str, str, str]]:
    result = subprocess.run(
        [
            str(binary),
            "validate",
            *(arg for f in rules for arg in ("--rules", str(f))),
            "--data",
            str(data),
            "--output-format",
            "json",
            "--show-summary",
            "none",
            "--structured",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    # Exit code 19: some rule failed; 0: none did. Anything else is the tool failing.
    if result.returncode not in (0, 19):
        raise RuntimeError(f"cfn-guard failed ({result.returncode}): {result.stderr[:2000]}")
    findings = set()
    for report in json.loads(result.stdout):
        for check in report.get("not_compliant", []):
            rule = check["Rule"]
            message = _first_line(rule)
            for logical_id in _logical_ids(check):
                findings.add(("cfn-guard", rule["name"], logical_id, message))
    return findings


def _logical_ids(value: Any) -> Iterator[str]:
    """Every resource a check's clauses point at (``/Resources/<logical id>/...`` paths)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "path" and isinstance(item, str):
                match = LOGICAL_ID_PATH.match(item)
                if match:
                    yield match.group(1)
            else:
                yield from _logical_ids(item)
    elif isinstance(value, list):
        for item in value:
            yield from _logical_ids(item)


def _first_line(rule: dict[str, Any]) -> str:
    """The control's title, e.g. '[CT.S3.PR.4]: Require an Amazon S3 bucket to have ...'."""
    text = json.dumps(rule)
    match = re.search(r"(\[CT\.[A-Z0-9.]+\][^\\]*)", text)
    return match.group(1).strip() if match else str(rule.get("name"))
