"""``./dev synth``: the AWS CDK CLI, as a team runs it, on every app of ``examples/``, with no
AWS at all.

On first use the pinned CLI (npm package ``aws-cdk``) is installed into ``.tools/aws-cdk``, as
``./dev`` installs uv. Then ``cdk synth --strict --no-lookups`` runs in each folder of
``examples/`` that holds a ``cdk.json`` (each one an app, as a repository would hold it), into
``cdk.out/<folder>``, with every source of AWS credentials and configuration taken away (no
``AWS_*`` variables, no ``~/.aws``, no instance metadata): a construct that asks AWS anything
while synthesizing (a context lookup) fails here, as it would in a team's first CI run, and so
does any warning.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Pinned: a new CLI is a deliberate upgrade. Needs Node.js 18 or newer.
CLI_VERSION = "2.1148.1"
ROOT = Path(__file__).resolve().parent.parent
PREFIX = ROOT / ".tools" / "aws-cdk"
CLI = PREFIX / "node_modules" / ".bin" / "cdk"
EXAMPLES = ROOT / "examples"


def installed_version(binary: Path) -> str | None:
    if not binary.exists():
        return None
    result = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
    return result.stdout.split()[0] if result.returncode == 0 and result.stdout else None


def install(package: str, version: str, prefix: Path, binary: Path) -> None:
    """``package@version`` from npm into ``prefix``, unless ``binary`` already reports it."""
    if installed_version(binary) == version:
        return
    print(f"installing {package} {version} into {prefix}", file=sys.stderr)
    shutil.rmtree(prefix, ignore_errors=True)
    prefix.mkdir(parents=True)
    subprocess.run(
        [
            "npm",
            "install",
            "--prefix",
            str(prefix),
            "--no-save",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            f"{package}@{version}",
        ],
        check=True,
    )
    if installed_version(binary) != version:
        sys.exit(f"{binary} does not report version {version}")


def without_aws(home: str) -> dict[str, str]:
    """This process's environment with nothing the CLI or the SDK could find AWS through."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CDK_"))}
    # The app command of cdk.json (`python3 app.py`) finds this environment's Python first, as
    # in an activated virtual environment.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(
        HOME=home,  # no ~/.aws, no ~/.cdk.json
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        CDK_DISABLE_CLI_TELEMETRY="true",
    )
    return env


def apps() -> list[Path]:
    """Every folder of examples/ that holds an app (a cdk.json)."""
    return sorted(path.parent for path in EXAMPLES.rglob("cdk.json"))


def out_name(app_dir: Path) -> str:
    """``examples`` -> ``team``, ``examples/platform/checkout`` -> ``platform-checkout``."""
    relative = app_dir.relative_to(EXAMPLES)
    return "-".join(relative.parts) or "team"


def synth(app_dir: Path, output: Path, home: str) -> int:
    context_file = app_dir / "cdk.context.json"
    context_file.unlink(missing_ok=True)
    result = subprocess.run(
        [
            str(CLI),
            "synth",
            "--strict",  # warnings fail the synthesis
            "--no-lookups",  # a context lookup is an error, not a call to AWS
            "--ci",
            "--no-notices",
            "--quiet",
            "--output",
            str(output),
        ],
        cwd=app_dir,
        env=without_aws(home),
        check=False,
    )
    if context_file.exists():
        context_file.unlink()
        print(
            f"cdk_synth: {app_dir} looked up context (it wrote cdk.context.json)", file=sys.stderr
        )
        return 1
    return result.returncode


def main() -> int:
    install("aws-cdk", CLI_VERSION, PREFIX, CLI)
    output = ROOT / "cdk.out"
    shutil.rmtree(output, ignore_errors=True)
    failed = []
    with tempfile.TemporaryDirectory(prefix="cdk-home-") as home:
        for app_dir in apps():
            if synth(app_dir, output / out_name(app_dir), home) != 0:
                failed.append(str(app_dir.relative_to(ROOT)))
    if failed:
        print(f"cdk_synth: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
