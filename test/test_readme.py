"""Every Python sample of README.md runs as written, after the README's own preamble, and what it
synthesizes passes every validator with no warning."""

from __future__ import annotations

import http.server
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest

from harness import compliance, delivery

README = Path(__file__).resolve().parent.parent / "README.md"
PREAMBLE_MARKER = "<!-- readme-preamble -->"
FLAGS_SERVED = {
    "new-checkout": {"enabled": True},
    "search-results": {"enabled": True, "page-size": 35},
}


@dataclass(frozen=True)
class Sample:
    section: str  # the headings above it, "GatedPipeline > Quickstart"
    line: int
    code: str
    preamble: bool


def samples() -> list[Sample]:
    found, headings = [], {}
    lines = README.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        heading = re.match(r"(#+) (.*)", line)
        if heading:
            level = len(heading.group(1))
            headings = {k: v for k, v in headings.items() if k < level}
            headings[level] = heading.group(2)
        if line.strip() == "```python":
            end = lines.index("```", index + 1)
            found.append(
                Sample(
                    section=" > ".join(headings[k] for k in sorted(headings) if k > 1) or "(top)",
                    line=index + 1,
                    code="\n".join(lines[index + 1 : end]),
                    preamble=index > 0 and lines[index - 1].strip() == PREAMBLE_MARKER,
                )
            )
            index = end
        index += 1
    return found


SAMPLES = samples()
(PREAMBLE,) = [s for s in SAMPLES if s.preamble]
RUNNABLE = [s for s in SAMPLES if not s.preamble]


def test_the_readme_has_samples_and_states_its_preamble_once() -> None:
    assert len(RUNNABLE) >= 6
    assert "stack = cdk.Stack(" in PREAMBLE.code


def run(sample: Sample, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Run the preamble and ``sample`` as one script whose apps run the compliance plugins."""
    monkeypatch.setattr(cdk, "App", lambda *args, **kwargs: compliance.compliance_app())
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    source = f"{PREAMBLE.code}\n\n# --- README.md line {sample.line}\n{sample.code}\n"
    exec(compile(source, f"README.md:{sample.line}", "exec"), namespace)
    return namespace


def stacks_of(app: cdk.App) -> list[cdk.Stack]:
    return [c for c in app.node.children if isinstance(c, cdk.Stack) and c.node.children]


def warnings_of(app: cdk.App) -> list[str]:
    assembly = app.synth()
    levels = (cdk.cx_api.SynthesisMessageLevel.WARNING, cdk.cx_api.SynthesisMessageLevel.ERROR)
    return [
        f"{m.id}: {m.entry.data}"
        for artifact in assembly.stacks
        for m in artifact.messages
        if m.level in levels
    ]


@dataclass
class Outcome:
    findings: list[compliance.Finding]
    warnings: list[str]
    stacks: int
    app: dict[str, Any]  # the arguments of delivery.check: templates and environments


@pytest.fixture(scope="module")
def outcomes(flags_endpoint: str) -> dict[int, Outcome]:
    """Every sample run once; their stacks linted as one batch (the linters work while the
    next sample synthesizes)."""
    ran: dict[int, tuple[list[cdk.Stack], list[str]]] = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("FEATURE_FLAGS_URL", flags_endpoint)
        for sample in RUNNABLE:
            app = run(sample, monkeypatch)["app"]
            stacks = stacks_of(app)
            ran[sample.line] = (stacks, warnings_of(app) if stacks else [])
    results = iter(compliance.check([s for stacks, _ in ran.values() for s in stacks]))
    return {
        line: Outcome(
            [f for _ in stacks for f in next(results).findings],
            warnings,
            len(stacks),
            {
                "templates": {s.stack_name: compliance.synthesize(s).template for s in stacks},
                "environments": {s.stack_name: (s.account, s.region) for s in stacks},
            },
        )
        for line, (stacks, warnings) in ran.items()
    }


@pytest.mark.parametrize("sample", RUNNABLE, ids=[f"{s.section} (line {s.line})" for s in RUNNABLE])
def test_each_sample_runs_and_synthesizes_compliant_stacks_without_warnings(
    sample: Sample, outcomes: dict[int, Outcome]
) -> None:
    outcome = outcomes[sample.line]
    assert outcome.findings == [], compliance.format_findings(outcome.findings)
    assert outcome.warnings == []


@pytest.mark.parametrize("sample", RUNNABLE, ids=[f"{s.section} (line {s.line})" for s in RUNNABLE])
def test_each_sample_delivers_and_reads_only_alarms_its_consumers_document(
    sample: Sample, outcomes: dict[int, Outcome]
) -> None:
    app = outcomes[sample.line].app
    refused = delivery.denied(delivery.check(**app))
    assert refused == [], f"AWS would refuse:\n{delivery.format_pairs(refused)}"
    assert delivery.misread(delivery.consumers(**app)) == []
    assert [n for n in delivery.monitors_per_environment(**app).values() if n > 5] == []


def test_the_cdk_samples_make_stacks(outcomes: dict[int, Outcome]) -> None:
    made = [s.section for s in RUNNABLE if outcomes[s.line].stacks]
    assert made == [
        "(top)",
        "ServicePlatform",
        "ServicePlatform",
        "ExpressService",
        "GatedPipeline > Quickstart",
        "GatedPipeline > Services still on CodeDeploy",
        "FeatureFlaggedDeploy > Quickstart",
        "When something breaks > Setting it up",
    ]


def test_the_application_sample_reads_the_flags_the_agent_serves(
    monkeypatch: pytest.MonkeyPatch, flags_endpoint: str
) -> None:
    (sample,) = [s for s in RUNNABLE if "def flags()" in s.code]
    monkeypatch.setenv("FEATURE_FLAGS_URL", flags_endpoint)
    assert run(sample, monkeypatch)["page_size"] == 35
    monkeypatch.setenv("FEATURE_FLAGS_URL", "http://127.0.0.1:9/not-running")
    assert run(sample, monkeypatch)["page_size"] == 20, "the default when the agent is not ready"


@pytest.fixture(scope="module")
def flags_endpoint() -> Iterator[str]:
    """A stand-in for the AppConfig agent on localhost, serving FLAGS_SERVED."""

    class Agent(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(FLAGS_SERVED).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Agent)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host!s}:{port}/applications/a/environments/e/configurations/flags"
    server.shutdown()
