"""Compliance checks on synthesized templates: cdk-nag (AwsSolutions and NIST 800-53 rev 5),
cfn-lint (errors and warnings), checkov and cfn-guard (AWS Control Tower proactive controls).

- cdk-nag runs inside synthesis, as CDK policy-validation plugins added to every test App.
- cfn-lint, checkov and cfn-guard read the written templates. They are slow to import and
  cfn-lint is slow per template, so they run in a pool of worker processes that imports them
  once; templates are submitted as soon as they are written, and a batch is awaited only when
  its results are needed.
- cfn-guard runs as the CDK plugin ``cdklabs-cdk-validator-cfnguard`` would (its binary, its
  rules, see ``harness.linters``), outside synthesis because the plugin takes seconds per app.
  The plugin's acknowledgments live in the construct tree, as CDK records them
  (``aws:cdk:acknowledged-rules`` metadata; one on a construct covers everything below it);
  they are read from there. test_compliance proves the plugin itself agrees on one scenario
  (./dev test:generated: one per construct).

Two modes of the same stack:

- normal: the library applies its acknowledgments (``cdk_devops_constructs._compliance``), as a
  user's app does; every tool must report nothing. The scenarios get there from their audit
  build: ``apply_recorded`` applies what it recorded, with the library's own code, and the app
  is synthesized again (``scenarios.build_audited``).
- audit: the library records its acknowledgments without applying them; every finding must then
  be acknowledged (``unacknowledged``), and every acknowledgment must match a finding
  (``stale_acknowledgments``), so none outlives the finding it was written for.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import importlib.metadata
import inspect
import json
import multiprocessing
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import App  # bound at import: tests may patch cdk.App to wrap an app
from cdk_nag import AwsSolutionsChecks, NIST80053R5Checks

from cdk_devops_constructs import _compliance
from cdk_devops_constructs._compliance import AUDIT_CONTEXT_KEY, CFN_GUARD_PLUGIN, METADATA_TYPE

from . import linters

ACCOUNT = "123456789012"
REGION = linters.REGION
ENV = cdk.Environment(account=ACCOUNT, region=REGION)
REPORT_CONTEXT = "@aws-cdk/core:validationReportJson"
ACKNOWLEDGED_RULES = "aws:cdk:acknowledged-rules"  # where Validations.acknowledge writes


@dataclass(frozen=True, order=True)
class Finding:
    """One finding of one tool on one resource (identified by its construct path)."""

    tool: str
    rule: str
    path: str
    message: str = field(compare=False)

    def __str__(self) -> str:
        return f"[{self.tool}] {self.rule} on {self.path}: {self.message}"


def format_findings(findings: Iterable[Finding]) -> str:
    return "\n".join(f"  {f}" for f in findings) or "  (none)"


# --- Apps and synthesis (cdk-nag) -------------------------------------------------------------


# The acknowledgments only an app with stages in other accounts and regions uses: no
# single-stack scenario has them; gated_pipeline/test_across_accounts proves them used.
ACROSS_ACCOUNTS = frozenset(
    {"artifacts-of-pipeline-account", "pipeline-replication-bucket", "replication-bucket-access"}
)


# aws-cdk-lib's built-in CloudFormation validation (schema checks; in the releases whose App has
# this prop) runs as a validation plugin in every synthesis unless the App turns it off; its
# findings are in the same report as cdk-nag's.
BUILTIN_VALIDATION = "builtin_cloud_formation_validation"
_WITHOUT_BUILTIN_VALIDATION = (
    {BUILTIN_VALIDATION: False}
    if BUILTIN_VALIDATION in inspect.signature(App.__init__).parameters
    else {}
)


def compliance_app(
    *, audit: bool = False, context: Mapping[str, Any] | None = None, nag: bool = True
) -> App:
    """An App whose synthesis runs the validation plugins (the cdk-nag packs and aws-cdk-lib's
    built-in CloudFormation validation) and writes their report as JSON. With ``nag`` False
    none runs: the app's report would have no reader."""
    # No construct creation stack traces: nothing reads them, and they cost synthesis time.
    ctx: dict[str, Any] = {
        REPORT_CONTEXT: True,
        "aws:cdk:disable-stack-trace": True,
        **(context or {}),
    }
    if audit:
        ctx[AUDIT_CONTEXT_KEY] = True
    outdir = tempfile.mkdtemp(prefix="cdk-devops-test-")
    atexit.register(shutil.rmtree, outdir, ignore_errors=True)
    app = App(outdir=outdir, context=ctx, **({} if nag else _WITHOUT_BUILTIN_VALIDATION))
    if nag:
        cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app), NIST80053R5Checks(app))
    return app


@dataclass
class Synthesized:
    """A stack's template, the file it was written to, and what cdk-nag said of it."""

    stack_path: str
    template: dict[str, Any]
    template_file: Path
    nag: list[Finding]
    acknowledged: set[tuple[str, str]]  # (rule, construct path) the library recorded
    paths: dict[str, str]  # logical ID -> construct path
    # (rule, construct path) acknowledged to the cfn-guard plugin, as applied in the tree
    guard_acknowledged: set[tuple[str, str]] = field(default_factory=set)

    def tool_findings(self, raw: Sequence[tuple[str, str, str, str]]) -> list[Finding]:
        findings = [
            Finding(tool, rule, self.paths.get(lid, lid), msg) for tool, rule, lid, msg in raw
        ]
        return [f for f in findings if not (f.tool == "cfn-guard" and self._guard_skips(f))]

    def _guard_skips(self, finding: Finding) -> bool:
        return any(
            rule == finding.rule and (finding.path == path or finding.path.startswith(path + "/"))
            for rule, path in self.guard_acknowledged
        )


_NAG_REPORTS: dict[str, list[Finding]] = {}


def synthesize(stack: cdk.Stack) -> Synthesized:
    """Synthesize ``stack``'s app (once per app) and collect cdk-nag's findings for it."""
    app = stack.node.root
    assert isinstance(app, App), "the stack must belong to an App"
    if app.outdir not in _NAG_REPORTS:
        _NAG_REPORTS[app.outdir] = _synth_with_nag(app)
    template_file = Path(app.outdir) / stack.template_file
    prefix = stack.node.path + "/"
    metadata = _stack_metadata(Path(app.outdir), stack.artifact_id)
    return Synthesized(
        stack_path=stack.node.path,
        template=json.loads(template_file.read_text(encoding="utf-8")),
        template_file=template_file,
        nag=sorted(f for f in _NAG_REPORTS[app.outdir] if f.path.startswith(prefix)),
        acknowledged=metadata.recorded,
        paths=metadata.paths,
        guard_acknowledged=metadata.guard,
    )


def resynthesize(stack: cdk.Stack) -> Synthesized:
    """Synthesize ``stack``'s app again, after a change to its constructs (CDK's ``force``,
    which exists for tests), and collect what cdk-nag says now."""
    app = stack.node.root
    assert isinstance(app, App), "the stack must belong to an App"
    _NAG_REPORTS[app.outdir] = _synth_with_nag(app, force=True)
    return synthesize(stack)


def _synth_with_nag(app: App, *, force: bool = False) -> list[Finding]:
    failed = False
    try:
        app.synth(force=force)
    except RuntimeError as error:  # the validation plugins fail synthesis on findings
        if "ValidationFailed" not in str(error) and "Validation failed" not in str(error):
            raise
        failed = True
    # aws-cdk-lib writes validation-report.json since 2.25x; older releases (down to the
    # supported minimum) write policy-validation-report.json with the plugin name in a summary.
    outdir = Path(app.outdir)
    reports = [outdir / "validation-report.json", outdir / "policy-validation-report.json"]
    report_file = next((r for r in reports if r.exists()), None)
    if report_file is None:
        assert not failed, f"validation failed but wrote no report in {outdir}"
        return []
    report = json.loads(report_file.read_text(encoding="utf-8"))
    findings = []
    for plugin in report.get("pluginReports", []):
        name = plugin.get("pluginName") or plugin.get("summary", {}).get("pluginName", "?")
        for violation in plugin.get("violations", []):
            for construct in violation.get("violatingConstructs", []):
                findings.append(
                    Finding(
                        tool=f"cdk-nag {name}",
                        rule=violation["ruleName"],
                        path=construct["constructPath"],
                        message=violation.get("description", "").split(" - (Control IDs")[0],
                    )
                )
    return findings


@dataclass
class _StackMetadata:
    """What the synthesized assembly says of a stack's constructs (CDK writes every construct's
    metadata there, by path): read from the files, not through jsii, which would take as long
    as the synthesis."""

    paths: dict[str, str]  # logical ID -> construct path
    guard: set[tuple[str, str]]  # (rule, path) acknowledged to the cfn-guard plugin
    # (path, key, rules) as the library recorded them (audit mode), in order
    records: list[tuple[str, str, list[str]]]

    @property
    def recorded(self) -> set[tuple[str, str]]:
        """(rule, path) the library recorded (audit mode)."""
        return {(rule, path) for path, _, rules in self.records for rule in rules}


def _stack_metadata(outdir: Path, artifact_id: str) -> _StackMetadata:
    artifact = json.loads((outdir / "manifest.json").read_text(encoding="utf-8"))["artifacts"][
        artifact_id
    ]
    entries = dict(artifact.get("metadata", {}))
    if "additionalMetadataFile" in artifact:
        extra = (outdir / artifact["additionalMetadataFile"]).read_text(encoding="utf-8")
        entries.update(json.loads(extra))
    found = _StackMetadata({}, set(), [])
    prefix = f"{CFN_GUARD_PLUGIN}::"
    for absolute, items in entries.items():
        path = absolute.lstrip("/")
        for item in items:
            if item["type"] == "aws:cdk:logicalId":
                found.paths[item["data"]] = path
            elif item["type"] == METADATA_TYPE:
                found.records.append((path, item["data"]["key"], item["data"]["rules"]))
            elif item["type"] == ACKNOWLEDGED_RULES:
                found.guard.update(
                    (rule.removeprefix(prefix), path)
                    for rule in item["data"]
                    if rule.startswith(prefix)
                )
    return found


def apply_recorded(stack: cdk.Stack) -> None:
    """Apply the acknowledgments an audit-mode ``stack`` recorded (it must be synthesized), as
    the library applies them in a user's app: each key's rules on the resource it was recorded
    on, with their reasons, in the order they were recorded."""
    app = stack.node.root
    for path, key, rules in _stack_metadata(Path(app.outdir), stack.artifact_id).records:
        resource = app
        for part in path.split("/"):
            resource = resource.node.find_child(part)
        assert isinstance(resource, cdk.CfnResource), f"{path} is no CloudFormation resource"
        declared = _compliance.ACKNOWLEDGMENTS[key]
        # The declaration order, as acknowledge() applies them (rules as recorded are sorted).
        reasons = {
            r: why for d, why in declared.items() for r in rules if _compliance.declares(d, r)
        }
        assert len(reasons) == len(rules), f"{path}: {key} declares no rule of some of {rules}"
        _compliance.apply(resource, reasons)


# --- cfn-lint, checkov and cfn-guard, in worker processes ------------------------------------------------


@functools.cache
def pool() -> ProcessPoolExecutor:
    """The worker pool, started on first use. Workers are spawned (they share nothing with the
    jsii kernel of this process) and import only the linters (see ``harness.linters``). Test
    processes started by pytest-xdist share the cores: each gets its share of them."""
    share = (os.cpu_count() or 2) // int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    workers = int(os.environ.get("COMPLIANCE_WORKERS", share))
    executor = ProcessPoolExecutor(
        max_workers=max(1, workers),
        mp_context=multiprocessing.get_context("spawn"),
        initializer=linters.warm_up,
    )
    atexit.register(executor.shutdown, cancel_futures=True)
    return executor


def submit(
    synthesized: Synthesized,
    *,
    strip_acknowledgments: bool = False,
    tools: tuple[str, ...] = linters.ALL_TOOLS,
) -> Future[Any]:
    """cfn-lint, checkov and/or cfn-guard on ``synthesized``'s template, in the background."""
    return lint(synthesized.template_file, strip_acknowledgments=strip_acknowledgments, tools=tools)


# --- Results of earlier runs -----------------------------------------------------------------
#
# The three tools are deterministic: the same template, linted by the same versions with the
# same rule files and options, gives the same findings. Those of every template linted are
# kept in .cache/lint/, under the SHA-256 of all of that, so a later run lints only the
# templates that changed. CDK_DEVOPS_LINT_CACHE=off lints everything (a fresh clone does).

LINT_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "lint"


def lint(
    template_file: Path,
    *,
    strip_acknowledgments: bool = False,
    tools: tuple[str, ...] = linters.ALL_TOOLS,
) -> Future[Any]:
    """The tools' findings on ``template_file``: from an earlier run that linted the same
    bytes, or from the worker pool (then kept for later runs)."""
    key = hashlib.sha256(
        json.dumps([_tools_fingerprint(), strip_acknowledgments, sorted(tools)]).encode()
        + template_file.read_bytes()
    ).hexdigest()
    cached = LINT_CACHE / f"{key}.json"
    if os.environ.get("CDK_DEVOPS_LINT_CACHE") != "off" and cached.is_file():
        done: Future[Any] = Future()
        done.set_result([tuple(f) for f in json.loads(cached.read_text(encoding="utf-8"))])
        return done
    in_flight = _LINTING.get(key)  # the same bytes, submitted while their findings are on the way
    if in_flight is not None:
        return in_flight
    linted = pool().submit(linters.lint_file, str(template_file), strip_acknowledgments, tools)
    kept = _LINTING[key] = Future()  # done once the findings are kept
    linted.add_done_callback(functools.partial(_keep, key, cached))
    return kept


_LINTING: dict[str, Future[Any]] = {}


def _keep(key: str, cached: Path, linted: Future[Any]) -> None:
    """Runs in the pool's thread: keep the findings, then hand them over (and to any test that
    submitted the same bytes meanwhile)."""
    try:
        findings = linted.result()
        cached.parent.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(f"{cached.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps(findings), encoding="utf-8")
        partial.replace(cached)  # atomic: test processes may keep the same result at once
    except BaseException as error:
        _LINTING.pop(key).set_exception(error)
    else:
        _LINTING.pop(key).set_result(findings)


@functools.cache
def _tools_fingerprint() -> list[str]:
    """What the findings depend on besides the template: the tools' versions (the cfn-guard
    plugin's holds its binary and rule files) and the code that runs them."""
    versions = [
        importlib.metadata.version(d) for d in ("cfn-lint", "checkov", linters.GUARD_DISTRIBUTION)
    ]
    code = hashlib.sha256(Path(linters.__file__).read_bytes()).hexdigest()
    return [*versions, code]


# --- Results ----------------------------------------------------------------------------------


@dataclass
class Result:
    """Every tool's findings for one stack."""

    stack_path: str
    findings: list[Finding]
    acknowledged: set[tuple[str, str]]


def check(stacks: Sequence[cdk.Stack], tools: tuple[str, ...] = linters.ALL_TOOLS) -> list[Result]:
    """Normal-mode check of ``stacks``: all synthesized first, then linted as one batch."""
    synthesized = [synthesize(s) for s in stacks]
    futures = [submit(s, tools=tools) for s in synthesized]
    return [
        Result(s.stack_path, sorted({*s.nag, *s.tool_findings(f.result())}), s.acknowledged)
        for s, f in zip(synthesized, futures, strict=True)
    ]


def assert_compliant(*stacks: cdk.Stack, tools: tuple[str, ...] = linters.ALL_TOOLS) -> None:
    """Fail listing every finding of every tool on any of ``stacks``."""
    failures = [(i, r) for i, r in enumerate(check(stacks, tools)) if r.findings]
    if failures:
        raise AssertionError(
            "compliance findings:\n"
            + "\n".join(
                f"stack #{i} ({r.stack_path}):\n{format_findings(r.findings)}" for i, r in failures
            )
        )


def unacknowledged(
    findings: Iterable[Finding], acknowledged: set[tuple[str, str]]
) -> list[Finding]:
    """Audit mode: findings the library does not acknowledge."""
    return sorted(f for f in findings if (f.rule, f.path) not in acknowledged)


def stale_acknowledgments(
    findings: Iterable[Finding], acknowledged: set[tuple[str, str]]
) -> list[tuple[str, str]]:
    """Audit mode: acknowledgments (rule, construct path) that match no finding."""
    found = {(f.rule, f.path) for f in findings}
    return sorted(a for a in acknowledged if a not in found)
