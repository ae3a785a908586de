"""Write API.md from the docstrings of the public API, or check that it is up to date.

    python scripts/api_docs.py --write     # regenerate API.md (./dev docs)
    python scripts/api_docs.py --check     # exit 1 when API.md is stale (the test suite)

griffe2md reads the source without importing it, so this needs neither jsii nor Node.js.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import sys
from pathlib import Path

from griffe2md import render_package_docs

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "cdk_devops_constructs"
API_MD = ROOT / "API.md"
HEADER = """\
# API reference

Generated from the docstrings by `./dev docs` (griffe2md); do not edit by hand. Every name below
is importable from `cdk_devops_constructs`. Parameters list their defaults; see README.md for the
reasons behind them and what they cost.

"""


def public_names() -> list[str]:
    """``__all__`` of the package, read without importing it."""
    tree = ast.parse((ROOT / "src" / PACKAGE / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return sorted(ast.literal_eval(node.value))
    raise SystemExit(f"{PACKAGE}/__init__.py has no __all__")


def render() -> str:
    config = {
        "search_paths": [str(ROOT / "src")],
        "docstring_style": "sphinx",
        "docstring_options": {},
        "members": public_names(),
        "filters": ["!^_"],
        "show_submodules": False,
        "merge_init_into_class": True,
        "show_signature_annotations": True,
        "show_root_heading": False,
        "show_root_full_path": False,
        "show_object_full_path": False,
        "show_root_members_full_path": False,
        "heading_level": 2,
        "members_order": "source",
    }
    body = render_package_docs(PACKAGE, config)  # type: ignore[arg-type]
    lines = [line.rstrip() for line in body.strip().splitlines()]
    return HEADER + "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args()
    expected = render()
    if args.write:
        API_MD.write_text(expected)
        print(f"wrote {API_MD.relative_to(ROOT)} ({len(expected.splitlines())} lines)")
        return 0
    actual = API_MD.read_text() if API_MD.exists() else ""
    if actual == expected:
        return 0
    diff = difflib.unified_diff(
        actual.splitlines(), expected.splitlines(), "API.md", "from docstrings", lineterm="", n=1
    )
    print("API.md is stale; run ./dev docs. Difference:", file=sys.stderr)
    print("\n".join(list(diff)[:60]), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
