"""The wheel users install: typed, without tests, pulling only aws-cdk-lib and constructs; and it
works in a fresh virtual environment."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEV_ONLY = {
    "pytest",
    "syrupy",
    "hypothesis",
    "cdk-nag",
    "cfn-lint",
    "checkov",
    "projen",
    "ruff",
    "mypy",
}

SMOKE = """
import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
import cdk_devops_constructs
from cdk_devops_constructs import ObservedService

for name in cdk_devops_constructs.__all__:
    getattr(cdk_devops_constructs, name)
app = cdk.App()
stack = cdk.Stack(app, "Smoke", env=cdk.Environment(account="123456789012", region="us-east-1"))
image = ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine")
ObservedService(stack, "Api", image=image)
template = app.synth().get_stack_by_name("Smoke").template
print(len(template["Resources"]))
"""


def uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(found).exists():
        pytest.fail("uv not found: run the tests through ./dev test, which installs it")
    return found


def run(*args: str | Path, **kwargs: object) -> str:
    result = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        check=False,
        **kwargs,  # type: ignore[call-overload]
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return str(result.stdout)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run(uv(), "build", "--wheel", "--out-dir", out, "--quiet", cwd=ROOT)
    (built,) = out.glob("cdk_devops_constructs-*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_is_typed_and_holds_no_tests(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "cdk_devops_constructs/py.typed" in names
    assert "cdk_devops_constructs/__init__.py" in names
    assert not [n for n in names if n.startswith(("test/", "tests/", "examples/", "benchmarks/"))]
    assert not [n for n in names if "conftest" in n or "/test_" in n]


@pytest.mark.slow
def test_the_wheel_requires_only_aws_cdk_lib_and_constructs(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        metadata_name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(metadata_name).decode())
    requirements = sorted(metadata.get_all("Requires-Dist") or [])
    assert [r.split(">")[0].split("<")[0].strip() for r in requirements] == [
        "aws-cdk-lib",
        "constructs",
    ]
    assert metadata["Requires-Python"] == ">=3.11"
    assert metadata["License-Expression"] == "Apache-2.0"


@pytest.mark.slow
def test_the_wheel_installs_alone_and_synthesizes(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run(uv(), "venv", "--quiet", "--python", sys.executable, venv)
    python = venv / "bin" / "python"
    run(uv(), "pip", "install", "--quiet", "--python", python, wheel)
    installed = {
        re.split(r"==| @ ", line)[0].lower()
        for line in run(uv(), "pip", "freeze", "--python", python).splitlines()
    }
    assert {"aws-cdk-lib", "constructs", "cdk-devops-constructs"} <= installed
    assert not installed & DEV_ONLY, "runtime pulled development tools"
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    resources = int(run(python, "-c", SMOKE, cwd=tmp_path, env=env).strip().splitlines()[-1])
    assert resources > 40


@pytest.mark.slow
def test_pip_builds_the_same_wheel_with_the_oldest_build_backend_allowed(
    wheel: Path, tmp_path: Path
) -> None:
    """``pip install .`` and ``pip wheel .`` fetch uv_build from the user's index, which may
    lag behind the uv that builds releases: the lowest version pyproject.toml allows must
    build the same wheel (same files, same metadata)."""
    build_system = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]
    (requirement,) = build_system["requires"]
    floor = re.fullmatch(r"uv_build>=([\d.]+),<[\d.]+", requirement)
    assert floor, requirement
    venv = tmp_path / "venv"
    run(uv(), "venv", "--quiet", "--seed", "--python", sys.executable, venv)
    constraints = tmp_path / "constraints.txt"
    constraints.write_text(f"uv_build=={floor.group(1)}\n")
    existing = os.environ.get("PIP_CONSTRAINT", "")
    env = {**os.environ, "PIP_CONSTRAINT": f"{existing} {constraints}".strip()}
    out = tmp_path / "dist"
    run(
        venv / "bin" / "python",
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--wheel-dir",
        out,
        ROOT,
        env=env,
    )
    (built,) = out.glob("cdk_devops_constructs-*.whl")

    def contents(path: Path) -> tuple[list[str], str]:
        with zipfile.ZipFile(path) as archive:
            names = sorted(n for n in archive.namelist() if not n.endswith("/RECORD"))
            metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
            return names, archive.read(metadata).decode()

    assert contents(built) == contents(wheel)
