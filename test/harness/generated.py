"""How many generated cases a property-based test runs.

``./dev test`` runs a sample of every generated test, so that the suite stays fast;
``./dev test:generated`` (which ``.ci/run`` also runs) runs all of them: it sets
``CDK_DEVOPS_GENERATED=full`` and selects the tests marked ``generated``.
"""

from __future__ import annotations

import os

from hypothesis import settings

FULL = os.environ.get("CDK_DEVOPS_GENERATED") == "full"


def examples(full: int, *, sample: int) -> settings:
    """Hypothesis settings: ``full`` cases in the generated run, ``sample`` otherwise."""
    return settings(max_examples=full if FULL else sample)


def count(full: int, *, sample: int) -> int:
    """The number of cases a test that counts them itself should expect."""
    return full if FULL else sample
