"""cfn-lint and checkov on one template file, run in worker processes.

This module imports neither aws_cdk nor jsii, so a worker starts with the linters only; the
linters themselves are imported inside the functions, so the test process never pays for them.
"""

# ruff: noqa: PLC0415

from __future__ import annotations

import json
import logging
from pathlib import Path

REGION = "us-east-1"
TOOL_METADATA = ("checkov", "cfn-lint")


def warm_up() -> None:
    """Pay each tool's import once per worker, before the first template arrives."""
    import cfnlint.api  # noqa: F401
    from checkov.cloudformation.runner import Runner  # noqa: F401

    logging.disable(logging.WARNING)


ALL_TOOLS = ("cfn-lint", "checkov")


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
