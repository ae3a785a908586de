"""The API compatibility check fails on an undeclared break of the public API, and lets a
declared one through."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "api_compat.py"


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def check(repo: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--repo", str(repo)],
        capture_output=True,
        text=True,
        check=False,
    )


def released_copy(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__"))
    git(repo, "init", "-q")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", ".")
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "feat: v1")
    git(repo, "tag", "v1.0.0")
    return repo


def commit(repo: Path, message: str) -> None:
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", message)


def remove_a_public_parameter(repo: Path) -> None:
    service = repo / "src/cdk_devops_constructs/observed_service/service.py"
    text = service.read_text(encoding="utf-8")
    service.write_text(
        text.replace("        rollback_on_alarm: bool = True,\n", "", 1), encoding="utf-8"
    )


def test_an_unchanged_api_is_compatible(tmp_path: Path) -> None:
    result = check(released_copy(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "compatible with v1.0.0" in result.stdout


def test_an_undeclared_break_fails_and_names_it(tmp_path: Path) -> None:
    repo = released_copy(tmp_path)
    remove_a_public_parameter(repo)
    commit(repo, "refactor: simplify")
    result = check(repo)
    assert result.returncode == 1
    assert "not declared by any commit" in result.stderr
    assert "rollback_on_alarm" in result.stderr


def test_a_declared_break_passes(tmp_path: Path) -> None:
    repo = released_copy(tmp_path)
    remove_a_public_parameter(repo)
    commit(repo, "feat!: drop rollback_on_alarm")
    result = check(repo)
    assert result.returncode == 0
    assert "declared by a commit, allowed" in result.stderr
