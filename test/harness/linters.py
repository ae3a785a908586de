"""cfn-lint, checkov and cfn-guard on one template file, run in worker processes.

This module imports neither aws_cdk nor jsii, so a worker starts with the linters only; the
linters themselves are imported inside the functions, so the test process never pays for them.

cfn-guard runs the binary and the AWS Control Tower rule files that the CDK plugin
``cdklabs-cdk-validator-cfnguard`` ships (the plugin users add to their apps), with the flags
the plugin passes. Only the rule files that name a resource type of the template run: a rule
filters the template's resources by type, so the others cannot find anything (the binary takes
about 30 ms per rule file, most of the plugin's synthesis time).
"""

# ruff: noqa: PLC0415

from __future__ import annotations

import atexit
import functools
import json
import logging
import platform
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REGION = "us-east-1"
TOOL_METADATA = ("checkov", "cfn-lint")


def warm_up() -> None:
    """Pay each tool's import once per worker, before the first template arrives."""
    import cfnlint.api  # noqa: F401
    from checkov.cloudformation.runner import Runner  # noqa: F401

    logging.disable(logging.WARNING)


ALL_TOOLS = ("cfn-lint", "checkov", "cfn-guard")
GUARD_PLUGIN = "cdklabs.cdk_validator_cfnguard"
RESOURCE_TYPE = re.compile(r"AWS::[A-Za-z0-9]+::[A-Za-z0-9]+")
LOGICAL_ID_PATH = re.compile(r"^/Resources/([^/]+)")


def lint_file(
    template_file: str, strip_acknowledgments: bool = False, tools: tuple[str, ...] = ALL_TOOLS
) -> list[tuple[str, str, str, str]]:
    """cfn-lint (errors and warnings) and checkov on one template.

    With ``strip_acknowledgments`` the tools' suppression metadata is removed first, which gives
    what the tools find with no acknowledgment applied. Returns (tool, rule, logical ID, message).
    """
    from cfnlint.api import ManualArgs, lint
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
        for match in lint(path.read_text(encoding="utf-8"), config=ManualArgs(regions=[REGION])):
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


@functools.cache
def _guard() -> tuple[Path, dict[Path, frozenset[str]]]:
    """The plugin's cfn-guard binary for this machine and its rule files, unpacked once per
    process, each rule file with the resource types it names."""
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
    rules = target / "package/rules/control-tower/cfn-guard"
    types = {
        f: frozenset(RESOURCE_TYPE.findall(f.read_text(encoding="utf-8")))
        for f in sorted(rules.rglob("*.guard"))
    }
    return target / binary, types


def guard(path: Path) -> list[tuple[str, str, str, str]]:
    """The Control Tower rules' findings on the template at ``path``."""
    binary, rule_types = _guard()
    template = json.loads(path.read_text(encoding="utf-8"))
    present = {r.get("Type", "") for r in template.get("Resources", {}).values()}
    rule_files = [f for f, types in rule_types.items() if types & present]
    if not rule_files:
        return []
    result = subprocess.run(
        [
            str(binary),
            "validate",
            *(arg for f in rule_files for arg in ("--rules", str(f))),
            "--data",
            str(path),
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
    return sorted(findings)


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
