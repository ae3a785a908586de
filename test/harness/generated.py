"""How many generated cases a property-based test runs, and the checks they share.

``./dev test`` runs a sample of every generated test, so that the suite stays fast;
``./dev test:generated`` (which ``.ci/run`` also runs) runs all of them: it sets
``CDK_DEVOPS_GENERATED=full`` and selects the tests marked ``generated``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st

FULL = os.environ.get("CDK_DEVOPS_GENERATED") == "full"


def examples(full: int, *, sample: int) -> settings:
    """Hypothesis settings: ``full`` cases in the generated run, ``sample`` otherwise."""
    return settings(max_examples=full if FULL else sample)


def count(full: int, *, sample: int) -> int:
    """The number of cases a test that counts them itself should expect."""
    return full if FULL else sample


def draw_invalid(data: st.DataObject, values: st.SearchStrategy[Any]) -> Any:
    """A value of ``values`` that is not NaN (which no prop check can name a bound for)."""
    return data.draw(values.filter(lambda v: not (isinstance(v, float) and math.isnan(v))))


def assert_refused(prop: str, build: Callable[[], object], path: str = "TestStack/Svc") -> None:
    """``build`` raises the library's ValueError for the construct at ``path``, naming
    ``prop``."""
    with pytest.raises(ValueError, match=rf"^{re.escape(path)}: ") as failure:
        build()
    assert re.search(rf"\b{prop}\b", str(failure.value)), str(failure.value)
