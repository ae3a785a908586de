"""Run the type check and the test suite side by side (./dev test, ./dev test:generated).

The suite runs in one pytest process per core (pytest-xdist), grouped as test/conftest.py
says; more than four do not help, the scenarios' group being a fifth of the suite. mypy is
single-threaded and, on a fresh clone, spends most of a minute reading aws-cdk-lib's type
stubs: it runs beside the tests, unless ``--no-typecheck`` comes first. Other arguments are
passed to pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys

PARALLEL = ("--numprocesses=auto", "--maxprocesses=4", "--dist=loadgroup")


def main(args: list[str]) -> int:
    typecheck = args[:1] != ["--no-typecheck"]
    if not typecheck:
        args = args[1:]
    # The project's bytecode, and pytest's rewritten test modules, are kept for the next run:
    # where PYTHONDONTWRITEBYTECODE is set, every test process would compile them again (2 s).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    mypy = (
        subprocess.Popen(
            [sys.executable, "-m", "mypy", "--strict"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
        )
        if typecheck
        else None
    )
    tests = subprocess.run([sys.executable, "-m", "pytest", *PARALLEL, *args], check=False, env=env)
    if mypy is None:
        return tests.returncode
    typing_output, _ = mypy.communicate()
    print(f"mypy --strict: {typing_output.strip()}")
    return tests.returncode or mypy.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
