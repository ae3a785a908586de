"""The repository keeps its promises: generated files are what .projenrc.py generates, API.md
matches the docstrings, the workflows are valid and safe, README's commands are what CI runs."""

from __future__ import annotations

import json
import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A command-line tool of the test environment (uv's layered environments split bin/)."""
    return shutil.which(name) or str(BIN / name)


def run(*args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def test_api_md_and_the_readme_tables_match_the_code() -> None:
    """API.md, the acknowledged findings and the error catalogue are what the code says."""
    docs = runpy.run_path(str(ROOT / "scripts" / "api_docs.py"))  # in-process: jsii is loaded
    assert not docs["stale"](docs["API_MD"], docs["render"]()), "run ./dev docs"
    assert not docs["stale"](docs["README"], docs["generated_readme"]()), "run ./dev docs"


def test_projen_regenerates_exactly_the_committed_files(tmp_path: Path) -> None:
    """Running projen again on a clean tree leaves no difference."""
    tracked = run("git", "ls-files", "-z").split("\0")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            target = tmp_path / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target)
    run(sys.executable, ".projenrc.py", cwd=tmp_path, env={"PROJEN_DISABLE_POST": "1"})
    generated = json.loads((ROOT / ".projen" / "files.json").read_text(encoding="utf-8"))["files"]
    assert generated, "projen tracks the files it generates"
    changed = [
        name
        for name in [*generated, ".projen/files.json"]
        if (tmp_path / name).read_bytes() != (ROOT / name).read_bytes()
    ]
    assert changed == [], "generated files differ from .projenrc.py: run ./dev default"


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_workflows_are_valid_github_actions(workflow: Path) -> None:
    run(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", workflow)


def test_workflows_pass_zizmor_security_audit() -> None:
    run(tool("zizmor"), "--offline", "--no-progress", ROOT / ".github" / "workflows")


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit(workflow: Path) -> None:
    uses = re.findall(r"uses:\s*(\S+)", workflow.read_text(encoding="utf-8"))
    assert uses
    for action in uses:
        assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", action), action


def test_release_publishes_with_trusted_publishing_only() -> None:
    release = yaml.safe_load((ROOT / ".github/workflows/release.yml").read_text(encoding="utf-8"))
    assert release["permissions"] == {"contents": "read"}
    publish = release["jobs"]["publish"]
    assert publish["permissions"] == {"id-token": "write"}
    assert publish["environment"]["name"] == "pypi"
    assert "password" not in json.dumps(publish)
    steps = json.dumps(release["jobs"]["release"]["steps"])
    for command in ("./dev test", "./dev api:compat", "./dev release:bump", "uv build"):
        assert command in steps, command


def readme_commands() -> list[str]:
    return re.findall(
        r"^\s*(\./dev \S+)\s*$", (ROOT / "README.md").read_text(encoding="utf-8"), re.MULTILINE
    )


def test_ci_runs_the_readme_commands_as_written() -> None:
    ci = (ROOT / ".ci/run").read_text(encoding="utf-8").splitlines()
    assert "./dev test" in readme_commands()
    assert "./dev synth" in readme_commands()
    assert "./dev test:generated" in readme_commands()
    assert ci[-3:] == ["./dev test", "./dev test:generated", "./dev synth"]
    build = yaml.safe_load((ROOT / ".github/workflows/build.yml").read_text(encoding="utf-8"))
    runs = [s.get("run") for s in build["jobs"]["test"]["steps"]]
    assert "./dev test" in runs
    assert "./dev test:generated" in runs
    assert "./dev synth" in runs


def test_the_dev_script_is_valid_bash() -> None:
    run("bash", "-n", "dev")
    run("bash", "-n", ".ci/run")
