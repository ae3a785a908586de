"""Project definition for cdk-devops-constructs.

Every generated file (pyproject.toml, .projen/tasks.json, ./dev, the GitHub workflows, LICENSE,
.gitignore...) comes from here. Edit this file, then run `./dev default`.
"""

from __future__ import annotations

from typing import Any

from projen import License, TextFile, YamlFile
from projen.github import GitHubOptions
from projen.python import BuildSystem, PyprojectTomlProject, PythonProject, UvOptions

NAME = "cdk-devops-constructs"
MODULE = "cdk_devops_constructs"
REPO_URL = "https://github.com/cdk-devops-constructs/cdk-devops-constructs"
DESCRIPTION = (
    "AWS CDK v2 constructs for DevOps on AWS: a Fargate service born monitored, traced and "
    "self-rolling-back, a gated CodePipeline and AppConfig feature flags, all driven by one "
    "health signal."
)
PROJEN_VERSION = "0.104.17"
UV_VERSION = "0.13.9"
# The oldest uv_build that builds the same wheel and sdist (test_packaging builds with it): pip
# and `python -m build` fetch the backend from the user's index, which may lag behind uv's.
UV_BUILD_FLOOR = "0.7.0"
PYTHON_FOR_CI = "3.11"
NODE_FOR_CI = "22"

# The lowest aws-cdk-lib that has every API the constructs use (README, "Support policy", says
# which API sets it: acknowledgment ids holding "::", such as a cdk-nag finding on a managed
# policy ARN, are refused before 2.269.0). `./dev test:min-deps` runs the suite on exactly it.
MIN_CDK = "2.269.0"
MIN_CONSTRUCTS = "10.5.0"

# Runtime dependencies: what every CDK app already has, nothing else.
DEPS = [f"aws-cdk-lib@^{MIN_CDK}", f"constructs@^{MIN_CONSTRUCTS}"]

# Development dependencies; uv.lock pins the exact versions.
DEV_DEPS = [
    f"projen@{PROJEN_VERSION}",
    "pytest@^9.0.0",
    # ./dev test runs the suite in two processes (scripts/test_all.py)
    "pytest-xdist@^3.8.0",
    "syrupy@^7.0.0",
    "hypothesis@^6.100.0",
    "cdk-nag@^3.0.0",
    # AWS's guard rules (Control Tower proactive controls), the fourth validator
    "cdklabs-cdk-validator-cfnguard@^0.0.62",
    # The integration tests' assertions (test/integ). An alpha module is released with each
    # aws-cdk-lib and needs that one at least: move both together in uv.lock.
    "aws-cdk.integ-tests-alpha@2.275.0a0",
    "cfn-lint@^1.30.0",
    "checkov@^3.2.0",
    "ruff@^0.17.0",
    "mypy@^2.4.0",
    "griffe@^2.0.0",
    "griffe2md@^1.5.0",
    "check-jsonschema@^0.39.0",
    "zizmor@^1.32.0",
    "pyyaml@^6.0.0",
    # the peer stack of benchmarks/synth_scaling.py
    "cdk-monitoring-constructs@^10.3.0",
    "commitizen@^4.0.0",
]

project = PythonProject(
    name=NAME,
    module_name=MODULE,
    version="0.1.0",
    description=DESCRIPTION,
    author_name="cdk-devops-constructs maintainers",
    author_email="maintainers@cdk-devops-constructs.invalid",
    license="Apache-2.0",
    homepage=REPO_URL,
    deps=DEPS,
    dev_deps=DEV_DEPS,
    uv=True,
    uv_options=UvOptions(
        build_system=BuildSystem(
            requires=[f"uv_build>={UV_BUILD_FLOOR},<0.14"], build_backend="uv_build"
        ),
        project=PyprojectTomlProject(
            name=NAME,
            requires_python=">=3.11",
            readme="README.md",
            license="Apache-2.0",
            license_files=["LICENSE"],
            keywords=["aws", "cdk", "devops", "ecs", "fargate", "codepipeline", "appconfig"],
            classifiers=[
                "Development Status :: 4 - Beta",
                "Framework :: AWS CDK",
                "Framework :: AWS CDK :: 2",
                "Intended Audience :: Developers",
                "Intended Audience :: System Administrators",
                "Programming Language :: Python :: 3 :: Only",
                "Programming Language :: Python :: 3.11",
                "Programming Language :: Python :: 3.12",
                "Programming Language :: Python :: 3.13",
                "Typing :: Typed",
            ],
            urls={
                "Homepage": REPO_URL,
                "Documentation": f"{REPO_URL}/blob/main/API.md",
                "Changelog": f"{REPO_URL}/blob/main/CHANGELOG.md",
            },
        ),
    ),
    sample=False,
    pytest=False,
    readme={"filename": "README.md"},
    github=True,
    # projen's pull-request-lint uses pull_request_target; ours (below) needs no such trigger.
    github_options=GitHubOptions(pull_request_lint=False),
    projenrc_python_options={"projen_version": PROJEN_VERSION},
)

License(project, spdx="Apache-2.0", copyright_owner="cdk-devops-constructs maintainers")

for ignored in ("/cdk.out/", "/.tools/", "/benchmarks/out/", "/.ruff_cache/", "/dist/"):
    project.add_git_ignore(ignored)

# --- Tool configuration, in pyproject.toml ---------------------------------------------------

pyproject = project.try_find_object_file("pyproject.toml")
assert pyproject is not None
TOOL_CONFIG: dict[str, Any] = {
    "ruff": {
        "line-length": 100,
        "target-version": "py311",
        # Markdown code blocks are written for reading, not by the formatter.
        "extend-exclude": [".tools", "cdk.out", "*.md"],
        "lint": {
            "select": ["E", "F", "W", "I", "B", "UP", "SIM", "RUF", "N", "PT", "C4", "PL"],
            "ignore": ["PLR0913", "PLR0915", "PLR2004", "PLR0912"],
            # Expected error messages are compared whole, so they stay on one line.
            "per-file-ignores": {"test/**": ["E501"]},
            "isort": {
                "known-first-party": [MODULE],
                # test/ packages, importable because pytest puts test/ on sys.path
                "known-local-folder": [
                    "conftest",
                    "harness",
                    "observed_service",
                    "gated_pipeline",
                    "feature_flagged_deploy",
                ],
            },
        },
    },
    "mypy": {
        "strict": True,
        "python_version": "3.11",
        # The contract test's own service kind is type-checked against IObservedService.
        "files": ["src", "test/test_service_contract.py"],
        "mypy_path": "src",
    },
    "pytest": {
        "ini_options": {
            "testpaths": ["test"],
            "addopts": ["-ra", "--strict-markers", "-p", "no:cacheprovider"],
            "markers": [
                "snapshot: compares a whole synthesized template with its stored snapshot",
                "slow: builds a wheel or a virtual environment; runs only in ./dev test:generated",
                "generated: property-based; a sample runs in ./dev test, all of it in "
                "./dev test:generated",
                "exhaustive: more cases of a check ./dev test already makes; runs only in "
                "./dev test:generated",
            ],
            "filterwarnings": ["error::DeprecationWarning:cdk_devops_constructs.*"],
        }
    },
    "commitizen": {
        "name": "cz_conventional_commits",
        "version_provider": "pep621",
        "tag_format": "v$version",
        "update_changelog_on_bump": True,
        "changelog_file": "CHANGELOG.md",
        "major_version_zero": True,
    },
    "uv": {"python-downloads": "never"},
}
for tool, config in TOOL_CONFIG.items():
    pyproject.add_override(f"tool.{tool}", config)

# --- Tasks -----------------------------------------------------------------------------------
# Every task runs inside .venv (projen puts .venv/bin first on PATH). ./dev creates that
# environment from uv.lock before it runs any task.

QUIET_NODE = {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20", "JSII_DEPRECATED": "fail"}

project.tasks.try_find("install:ci").reset("uv sync --frozen --compile-bytecode")  # type: ignore[union-attr]

project.add_task(
    "synth",
    description=(
        "Synthesize examples/ with the AWS CDK CLI (pinned, --strict, no AWS credentials) into "
        "cdk.out and print what it made"
    ),
    env=QUIET_NODE,
    steps=[
        {"exec": "python scripts/cdk_synth.py"},
        {"exec": "python scripts/summarize_cdk_out.py cdk.out"},
    ],
)
project.add_task(
    "lint",
    description="ruff lint and format check",
    steps=[{"exec": "ruff check ."}, {"exec": "ruff format --check ."}],
)
project.add_task("typecheck", description="mypy --strict on src/", exec="mypy --strict")
project.add_task(
    "docs",
    description="Regenerate API.md from the docstrings",
    exec="python scripts/api_docs.py --write",
)
test = project.tasks.try_find("test")
assert test is not None
test.reset()
test.description = "Everything: lint, types, and the test suite (compliance, snapshots, docs...)"
test.env("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
test.env("JSII_DEPRECATED", "fail")
test.spawn(project.tasks.try_find("lint"))  # type: ignore[arg-type]
# mypy --strict and pytest, side by side (see the script); arguments go to pytest.
test.exec("python scripts/test_all.py", receive_args=True)

project.add_task(
    "test:generated",
    description=(
        "Every generated (property-based) case, not only the sample ./dev test runs, the "
        "exhaustive variants of its slowest checks, and the packaging tests"
    ),
    env={**QUIET_NODE, "CDK_DEVOPS_GENERATED": "full"},
    exec="python scripts/test_all.py --no-typecheck -m 'generated or exhaustive or slow'",
    receive_args=True,
)
project.add_task(
    "test:min-deps",
    description=f"Run the suite on the lowest supported aws-cdk-lib ({MIN_CDK})",
    env=QUIET_NODE,
    exec=(
        f"uv run --frozen --isolated --with aws-cdk-lib=={MIN_CDK} "
        f"--with constructs=={MIN_CONSTRUCTS} pytest -m 'not snapshot' --snapshot-warn-unused"
    ),
    receive_args=True,
)
project.add_task(
    "api:compat",
    description="Fail when the public Python API breaks compatibility with the last release tag",
    exec="python scripts/api_compat.py",
)
project.add_task(
    "integ",
    description=(
        "Deploy test/integ's apps to a scratch AWS account with integ-runner, assert, destroy "
        "(needs credentials and AWS_REGION; costs money, see README)"
    ),
    env=QUIET_NODE,
    exec="python scripts/integ.py",
    receive_args=True,
)
project.add_task(
    "bench",
    description="Measure synthesis time, resources and cost per service (figures, not a test)",
    env=QUIET_NODE,
    exec="python benchmarks/synth_scaling.py",
    receive_args=True,
)
project.add_task(
    "release:bump",
    description="Bump the version from Conventional Commits, update CHANGELOG.md, tag",
    # Exit codes 3 and 21: no commits, or none that calls for a release; not an error here.
    exec="cz bump --yes --no-raise 3,21",
)

# --- ./dev: the one entry point, which sets itself up ------------------------------------------

DEV_SCRIPT = f"""#!/usr/bin/env bash
# ~~ Generated by projen. To modify, edit .projenrc.py and run "./dev default".
#
# The one entry point. On first use it creates .tools/ (a pinned uv) and .venv/ (every
# dependency, exactly as uv.lock says), then runs a projen task inside .venv:
#   ./dev synth    run the AWS CDK CLI on examples/ (no AWS credentials), summarize cdk.out
#   ./dev test     lint, types and the whole test suite
#   ./dev          list every task
#   ./dev default  regenerate the project files from .projenrc.py
set -euo pipefail
cd "$(dirname "$0")"

UV_VERSION="{UV_VERSION}"
export UV_PYTHON_DOWNLOADS=never   # use the machine's Python; never download one
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
export PYTHONUTF8=1                # templates and docs are UTF-8 whatever the locale

python=""
for candidate in python3 python3.13 python3.12 python3.11 python; do
  if command -v "$candidate" >/dev/null 2>&1 &&
    "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    # the interpreter itself, not a shim (pyenv): uv recreates .venv for another path
    python=$("$candidate" -c 'import sys; print(sys.executable)'); break
  fi
done
if [ -z "$python" ]; then
  echo "./dev: Python 3.11 or newer is required on PATH (found none)" >&2; exit 1
fi
if ! command -v node >/dev/null 2>&1; then
  echo "./dev: Node.js is required on PATH (22 or 24 supported, 20 works)" >&2; exit 1
fi

uv=.tools/bin/uv
if [ ! -x "$uv" ] || [ "$("$uv" --version 2>/dev/null | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  echo "./dev: first run, installing uv $UV_VERSION into .tools/" >&2
  rm -rf .tools
  "$python" -m venv .tools
  if ! .tools/bin/python -m pip install --quiet --disable-pip-version-check \\
      "uv==$UV_VERSION" >.tools/pip.log 2>&1; then
    cat .tools/pip.log >&2; exit 1
  fi
fi
if [ ! -d .venv ]; then
  echo "./dev: creating .venv from uv.lock (first run, a minute or two)" >&2
fi
mkdir -p .tools/path && ln -sf ../bin/uv .tools/path/uv
export PATH="$PWD/.tools/path:$PATH"   # projen's install task calls uv
# --compile-bytecode: packages are compiled once, when installed (half a minute for all), so
# that no process compiles aws-cdk-lib, cfn-lint or checkov again (6 s per process that imports
# aws-cdk-lib where PYTHONDONTWRITEBYTECODE=1 keeps Python from writing bytecode itself).
"$uv" sync --frozen --quiet --compile-bytecode --python "$python"
if [ $# -eq 0 ]; then set -- --help; fi
exec "$uv" run --frozen --no-sync projen "$@"
"""
TextFile(project, "dev", lines=[*DEV_SCRIPT.splitlines(), ""], executable=True, marker=False)

# CI runs exactly the README's two commands, on a fresh clone.
TextFile(
    project,
    ".ci/run",
    lines=[
        "#!/usr/bin/env bash",
        '# ~~ Generated by projen. To modify, edit .projenrc.py and run "./dev default".',
        "# The README's commands, as a new user types them: the test suite, every generated case,",
        "# then the main job.",
        "set -euo pipefail",
        'cd "$(dirname "$0")/.."',
        "./dev test",
        "./dev test:generated",
        "./dev synth",
        "",
    ],
    executable=True,
    marker=False,
)

# --- GitHub Actions: build on pull request, release from main ----------------------------------

CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"  # v4.2.2
SETUP_PYTHON = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065"  # v5.6.0
SETUP_NODE = "actions/setup-node@49933ea5288caeca8642d1e84afbd3f7d6820020"  # v4.4.0
UPLOAD = "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02"  # v4.6.2
DOWNLOAD = "actions/download-artifact@d3f86a106a0bac45b974a628896c90dbdf5c8093"  # v4.3.0
PYPI_PUBLISH = "pypa/gh-action-pypi-publish@76f52bc884231f62b9a034ebfe128415bbaabdfc"  # v1.12.4
SEMANTIC_TITLE = "amannn/action-semantic-pull-request@48f256284bd46cdaab1048c3721360e808335d50"
COMMIT_TYPES = ["feat", "fix", "docs", "refactor", "perf", "test", "build", "ci", "chore"]


def setup_steps(fetch_depth: int = 1) -> list[dict[str, Any]]:
    return [
        {
            "uses": CHECKOUT,
            "with": {"fetch-depth": fetch_depth, "persist-credentials": False},
        },
        {"uses": SETUP_PYTHON, "with": {"python-version": PYTHON_FOR_CI}},
        {"uses": SETUP_NODE, "with": {"node-version": NODE_FOR_CI}},
    ]


YamlFile(
    project,
    ".github/workflows/build.yml",
    obj={
        "name": "build",
        "on": {"pull_request": {}, "workflow_dispatch": {}},
        "permissions": {"contents": "read"},
        "concurrency": {
            "group": "build-${{ github.ref }}",
            "cancel-in-progress": True,
        },
        "jobs": {
            "test": {
                "name": "./dev test",
                "runs-on": "ubuntu-latest",
                "timeout-minutes": 30,
                "steps": [
                    *setup_steps(),
                    {"name": "Test", "run": "./dev test"},
                    {"name": "Every generated case", "run": "./dev test:generated"},
                    {
                        "name": "Example synthesizes",
                        "run": "./dev synth",
                    },
                    {
                        "name": "Generated files are up to date",
                        "run": "git diff --exit-code",
                    },
                ],
            },
            "min-deps": {
                "name": f"tests on aws-cdk-lib {MIN_CDK}",
                "runs-on": "ubuntu-latest",
                "timeout-minutes": 30,
                "steps": [*setup_steps(), {"run": "./dev test:min-deps"}],
            },
            "api-compat": {
                "name": "public API compatibility",
                "runs-on": "ubuntu-latest",
                "timeout-minutes": 10,
                "steps": [*setup_steps(fetch_depth=0), {"run": "./dev api:compat"}],
            },
        },
    },
)

YamlFile(
    project,
    ".github/workflows/pull-request-title.yml",
    obj={
        "name": "pull-request-title",
        "on": {"pull_request": {"types": ["opened", "edited", "synchronize", "reopened"]}},
        "permissions": {"pull-requests": "read"},
        "jobs": {
            "conventional-commit": {
                "name": "Title is a Conventional Commit (it becomes the release note)",
                "runs-on": "ubuntu-latest",
                "timeout-minutes": 5,
                "steps": [
                    {
                        "uses": SEMANTIC_TITLE,
                        "env": {"GITHUB_TOKEN": "${{ secrets.GITHUB_TOKEN }}"},
                        "with": {"types": "\n".join(COMMIT_TYPES), "requireScope": False},
                    }
                ],
            }
        },
    },
)

YamlFile(
    project,
    ".github/workflows/release.yml",
    obj={
        "name": "release",
        "on": {"push": {"branches": ["main"]}, "workflow_dispatch": {}},
        "permissions": {"contents": "read"},
        "concurrency": {"group": "release", "cancel-in-progress": False},
        "jobs": {
            "release": {
                "name": "test, version, build",
                "runs-on": "ubuntu-latest",
                "timeout-minutes": 30,
                "permissions": {"contents": "write"},
                "outputs": {"released": "${{ steps.bump.outputs.released }}"},
                "steps": [
                    {
                        "uses": CHECKOUT,
                        "with": {"fetch-depth": 0, "persist-credentials": True},
                    },
                    *setup_steps()[1:],
                    {"name": "Test", "run": "./dev test"},
                    {"name": "Every generated case", "run": "./dev test:generated"},
                    {
                        "name": "Public API is compatible with the last release",
                        "run": "./dev api:compat",
                    },
                    {
                        "name": "Version from Conventional Commits",
                        "id": "bump",
                        "run": "\n".join(
                            [
                                'git config user.name "github-actions[bot]"',
                                "git config user.email "
                                '"github-actions[bot]@users.noreply.github.com"',
                                'before="$(git describe --tags --abbrev=0 2>/dev/null || true)"',
                                "./dev release:bump",
                                'after="$(git describe --tags --abbrev=0 2>/dev/null || true)"',
                                'if [ "$after" != "$before" ]; then',
                                '  echo "released=true" >> "$GITHUB_OUTPUT"',
                                "  git push --follow-tags origin HEAD:main",
                                "else",
                                '  echo "released=false" >> "$GITHUB_OUTPUT"',
                                "fi",
                            ]
                        ),
                    },
                    {
                        "name": "Build sdist and wheel",
                        "if": "steps.bump.outputs.released == 'true'",
                        "run": ".tools/bin/uv build",
                    },
                    {
                        "if": "steps.bump.outputs.released == 'true'",
                        "uses": UPLOAD,
                        "with": {"name": "dist", "path": "dist/", "if-no-files-found": "error"},
                    },
                ],
            },
            "publish": {
                "name": "publish to PyPI",
                "needs": "release",
                "if": "needs.release.outputs.released == 'true'",
                "runs-on": "ubuntu-latest",
                "timeout-minutes": 10,
                "environment": {"name": "pypi", "url": f"https://pypi.org/p/{NAME}"},
                "permissions": {"id-token": "write"},
                "steps": [
                    {"uses": DOWNLOAD, "with": {"name": "dist", "path": "dist/"}},
                    {"uses": PYPI_PUBLISH},
                ],
            },
        },
    },
)

project.synth()
