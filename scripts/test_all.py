"""Run the type check and the test suite side by side (./dev test).

mypy is single-threaded and, on a fresh clone, spends most of a minute reading aws-cdk-lib's
type stubs; pytest waits on jsii and on its linter workers. Run together they share the cores
instead of queueing. Arguments are passed to pytest.
"""

from __future__ import annotations

import subprocess
import sys


def main() -> int:
    mypy = subprocess.Popen(
        [sys.executable, "-m", "mypy", "--strict"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    tests = subprocess.run([sys.executable, "-m", "pytest", *sys.argv[1:]], check=False)
    typing_output, _ = mypy.communicate()
    print(f"mypy --strict: {typing_output.strip()}")
    return tests.returncode or mypy.returncode


if __name__ == "__main__":
    sys.exit(main())
