"""``./dev integ``: deploy test/integ's apps with integ-runner, assert, destroy.

Needs AWS credentials for a scratch account (bootstrapped with ``cdk bootstrap``) and a region
(``AWS_REGION``). Arguments go to integ-runner (a test file name runs only that test).

integ-runner must read the cloud-assembly schema of the pinned aws-cdk-lib: 2.197.10, the newest
in the npm registry this project was built against, reads schema 53 and aws-cdk-lib 2.275
writes 55, so the version is chosen with ``INTEG_RUNNER_VERSION`` (default: npm's latest).
"""

from __future__ import annotations

import os
import subprocess
import sys

from cdk_synth import ROOT, install

VERSION = os.environ.get("INTEG_RUNNER_VERSION", "latest")
PREFIX = ROOT / ".tools" / "integ-runner"
RUNNER = PREFIX / "node_modules" / ".bin" / "integ-runner"


def main() -> int:
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        sys.exit("./dev integ: set AWS_REGION to the scratch account's region")
    version = VERSION
    if version == "latest":
        version = subprocess.run(
            ["npm", "view", "@aws-cdk/integ-runner", "version"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
    install("@aws-cdk/integ-runner", version, PREFIX, RUNNER)
    return subprocess.run(
        [
            str(RUNNER),
            "--language",
            "python",
            "--directory",
            "test/integ",
            "--parallel-regions",
            region,
            # Deploy every test: the stored snapshots are synthesized for account
            # 123456789012, so they never match a real account's synthesis.
            "--force",
            *sys.argv[1:],
        ],
        cwd=ROOT,
        check=False,
    ).returncode


if __name__ == "__main__":
    sys.exit(main())
