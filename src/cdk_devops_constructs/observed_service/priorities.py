"""Listener rule priorities on a shared listener: derived so that services of different
repositories rarely meet, and checked so that two services of one app never do.

A listener evaluates its rules in priority order, and no two rules of a listener may share a
priority: CloudFormation fails the second stack with ``PriorityInUse``. Services of different
repositories cannot see each other's rules at synthesis, so a service on a platform gets a
priority derived from what identifies it everywhere (its platform's namespace and its literal
ECS service name, which holds its stack name and construct path), placed in a band by how
specific its routing is, so that more specific rules are evaluated first:

========================  ==============  =====
routing                   band            size
========================  ==============  =====
host header and path      10000-19999     10000
host header only          20000-39999     20000
path only                 40000-49999     10000
========================  ==============  =====

1-9999 and 50000 are left to rules people write by hand (``listener_priority``). Two services
in one band collide with probability about 1 - exp(-n(n-1)/2R) for n services in a band of size
R: 0.2% for 10 host-routed services, 6% for 50. A collision inside one app is an error at
synthesis, naming both services; one across apps fails the second deployment with
``PriorityInUse`` (its stack rolls back, nothing else is touched): give that service a
``listener_priority`` of its own.
"""

from __future__ import annotations

import hashlib
import weakref
from collections.abc import Sequence

from aws_cdk import Stack
from constructs import IConstruct

from .. import _validation as check

BANDS = {
    "host and path": (10_000, 19_999),
    "host": (20_000, 39_999),
    "path": (40_000, 49_999),
}

# App -> listener key -> priority -> construct path of the service that holds it.
_TAKEN: weakref.WeakKeyDictionary[IConstruct, dict[str, dict[int, str]]] = (
    weakref.WeakKeyDictionary()
)


def derived_priority(
    namespace: str, service_key: str, host_headers: Sequence[str], path_patterns: Sequence[str]
) -> int:
    """The priority of a service's rule on a platform's listener (see the module docstring)."""
    band = "host and path" if host_headers and path_patterns else "host" if host_headers else "path"
    low, high = BANDS[band]
    digest = hashlib.sha256(f"{namespace}|{service_key}".encode()).digest()
    return low + int.from_bytes(digest[:8], "big") % (high - low + 1)


def claim(scope: IConstruct, listener_key: str, priority: int, how: str) -> None:
    """Record that ``scope`` holds ``priority`` on the listener ``listener_key``; fail when
    another service of the app holds it. ``how`` says where the priority came from."""
    if check.is_token(priority):
        return
    taken = _TAKEN.setdefault(scope.node.root, {}).setdefault(listener_key, {})
    holder = taken.get(priority)
    if holder is not None and holder != scope.node.path:
        check.fail(
            scope,
            f"listener_priority {priority} ({how}) is already taken on the same listener by "
            f"{holder}; two rules of one listener cannot share a priority: pass another "
            "listener_priority (1-50000) to one of them",
        )
    taken[priority] = scope.node.path


def listener_key(listener: IConstruct, arn: str) -> str:
    """What identifies a listener across the stacks of an app: its ARN when literal, else the
    construct (a listener created in the app, or imported once)."""
    resolved = Stack.of(listener).resolve(arn)
    return resolved if isinstance(resolved, str) else listener.node.path
