"""Fail when the public Python API breaks compatibility with the last release.

    python scripts/api_compat.py                 # against the newest v* tag (./dev api:compat)
    python scripts/api_compat.py --against REF   # against any git reference

Teams pin this library across many repositories, so a breaking change (a removed class or
parameter, a parameter that became required, a changed default kind...) must be deliberate: a
commit since the release says so, with a "BREAKING CHANGE:" footer or a "!" after its type
("feat!: ..."), which also makes the release workflow bump the major version (the minor while
the version is 0.x). griffe compares the two versions from source.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import griffe

PACKAGE = "cdk_devops_constructs"


def last_release(repo: Path) -> str | None:
    result = subprocess.run(
        ["git", "describe", "--tags", "--abbrev=0", "--match", "v*"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or None


DELIBERATE = re.compile(r"^(BREAKING[ -]CHANGE: |[a-z]+(\([^)]*\))?!: )", re.MULTILINE)


def declared_breaking(repo: Path, against: str) -> bool:
    """True when a commit since ``against`` declares a breaking change."""
    log = subprocess.run(
        ["git", "log", f"{against}..HEAD", "--format=%B"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return DELIBERATE.search(log) is not None


def breakages(repo: Path, against: str) -> list[str]:
    old = griffe.load_git(PACKAGE, ref=against, repo=repo, search_paths=["src"])
    new = griffe.load(PACKAGE, search_paths=[str(repo / "src")])
    return [b.explain() for b in griffe.find_breaking_changes(old, new)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--against", help="git reference of the release to compare with")
    args = parser.parse_args()
    against = args.against or last_release(args.repo)
    if against is None:
        print("api:compat: no release tag (v*) yet, nothing to compare against")
        return 0
    found = breakages(args.repo, against)
    if not found:
        print(f"api:compat: the public API is compatible with {against}")
        return 0
    deliberate = declared_breaking(args.repo, against)
    verdict = "declared by a commit, allowed" if deliberate else "not declared by any commit"
    print(
        f"api:compat: {len(found)} breaking change(s) since {against}, {verdict}:", file=sys.stderr
    )
    for explanation in found:
        print(f"  - {explanation}", file=sys.stderr)
    return 0 if deliberate else 1


if __name__ == "__main__":
    sys.exit(main())
