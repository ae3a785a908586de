"""How a task's memory is shared between the application and the containers beside it.

Fargate gives a task a fixed amount of memory, and the memory the containers reserve (their
``memoryReservation``, or their ``memory`` where they set no reservation) must add up to no more
than it ("The total amount of memory reserved for all containers within a task must be lower
than the task memory value", ECS API reference, ContainerDefinition). Every container also has a
hard limit (AWS Control Tower control CT.ECS.PR.7), so that none of them can take all of it:

- a sidecar reserves a little and may use up to its own limit;
- the application's hard limit is what the task has left once the sidecars' reservations are
  taken, worked out when the template is written, after every sidecar has been added.
"""

from __future__ import annotations

import weakref

import jsii
from aws_cdk import IStableNumberProducer, Lazy
from aws_cdk import aws_ecs as ecs

_RESERVED: weakref.WeakKeyDictionary[ecs.TaskDefinition, int] = weakref.WeakKeyDictionary()


def reserve(task_definition: ecs.TaskDefinition, mib: int) -> None:
    """Record that a container beside the application reserves ``mib`` of the task's memory."""
    _RESERVED[task_definition] = _RESERVED.get(task_definition, 0) + mib


def application_limit(task_definition: ecs.TaskDefinition, task_mib: int) -> float:
    """The application container's hard limit: ``task_mib`` less what the sidecars reserve,
    including sidecars added after this call."""
    return Lazy.number(_Remaining(task_definition, task_mib))


@jsii.implements(IStableNumberProducer)
class _Remaining:
    def __init__(self, task_definition: ecs.TaskDefinition, task_mib: int) -> None:
        self._task_definition = weakref.ref(task_definition)
        self._task_mib = task_mib

    def produce(self) -> int:
        task_definition = self._task_definition()
        reserved = _RESERVED.get(task_definition, 0) if task_definition is not None else 0
        return self._task_mib - reserved
