"""Writable directories for an application whose root filesystem is read-only.

Each path is an empty task volume (a Fargate bind mount) mounted over the image's directory.
Fargate creates these volumes owned by root with mode 0755 ("By default, the volume
permissions are set to 0755 and the owner as root", ECS developer guide, "Use bind mounts
with Amazon ECS"), so an application running as any other user could not write to them. A
short-lived init container therefore runs first, as root, gives each volume mode 1777 (anyone
may create files, only their owner may delete them: the mode of ``/tmp`` on Linux) and exits;
the application starts only once it has succeeded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_logs as logs
from constructs import Construct

from .. import _task_memory
from .. import _validation as check

DEFAULT_WRITABLE_PATHS = ("/tmp",)
MAX_WRITABLE_PATHS = 10
WRITABLE_PATH = re.compile(r"/(?:[A-Za-z0-9._-]+/?)+")
# Pinned: a new image is a deliberate upgrade of this library. About 2 MB, for x86_64 and arm64.
# https://gallery.ecr.aws/docker/library/busybox
PERMISSIONS_IMAGE = "public.ecr.aws/docker/library/busybox:1.37.0"
PERMISSIONS_CONTAINER_NAME = "writable-paths"
PERMISSIONS_MEMORY_MIB = 16  # chmod needs well under 1 MiB; Docker's minimum is 6 MiB
PERMISSIONS_MODE = "1777"


def add_writable_paths(
    task_definition: ecs.TaskDefinition,
    app: ecs.ContainerDefinition,
    log_group: logs.ILogGroup,
    paths: Sequence[str],
) -> ecs.ContainerDefinition | None:
    """Mount an empty volume on each of ``paths`` in ``app``, writable by the user ``app`` runs
    as; return the init container that makes them so (``None`` when ``paths`` is empty)."""
    if not paths:
        return None
    mounts = []
    for path in paths:
        task_definition.add_volume(name=volume_name(path))
        mounts.append(
            ecs.MountPoint(container_path=path, source_volume=volume_name(path), read_only=False)
        )
    app.add_mount_points(*mounts)
    permissions = task_definition.add_container(
        "WritablePaths",
        container_name=PERMISSIONS_CONTAINER_NAME,
        image=ecs.ContainerImage.from_registry(PERMISSIONS_IMAGE),
        command=["chmod", PERMISSIONS_MODE, *paths],
        essential=False,
        # Root is what may change the mode of a directory root owns; this container does
        # nothing else, and stops before the application starts.
        user="0",
        readonly_root_filesystem=True,
        memory_limit_mib=PERMISSIONS_MEMORY_MIB,
        logging=ecs.LogDrivers.aws_logs(
            stream_prefix=PERMISSIONS_CONTAINER_NAME,
            log_group=log_group,
            mode=ecs.AwsLogDriverMode.NON_BLOCKING,
        ),
    )
    permissions.add_mount_points(*mounts)
    _task_memory.reserve(task_definition, PERMISSIONS_MEMORY_MIB)
    app.add_container_dependencies(
        ecs.ContainerDependency(
            container=permissions, condition=ecs.ContainerDependencyCondition.SUCCESS
        )
    )
    return permissions


def check_writable_paths(scope: Construct, paths: Sequence[str]) -> None:
    if len(paths) > MAX_WRITABLE_PATHS:
        check.fail(
            scope, f"writable_paths must hold at most {MAX_WRITABLE_PATHS} paths, got {len(paths)}"
        )
    volumes: dict[str, str] = {}
    for index, path in enumerate(paths):
        check.matches(
            scope,
            f"writable_paths[{index}]",
            path,
            WRITABLE_PATH,
            "an absolute path below / of letters, digits, '.', '_' and '-' "
            "(like '/var/cache/nginx')",
        )
        if ".." in path.split("/") or "." in path.split("/"):
            check.fail(scope, f"writable_paths[{index}] must not contain '.' or '..', got {path!r}")
        name = volume_name(path)
        if name in volumes:
            check.fail(
                scope,
                f"writable_paths[{index}] ({path!r}) and {volumes[name]!r} are the same volume; "
                "list each directory once",
            )
        volumes[name] = path


def volume_name(path: str) -> str:
    """``/tmp`` -> ``tmp``, ``/var/cache/nginx`` -> ``var-cache-nginx``."""
    return re.sub(r"[^A-Za-z0-9]+", "-", path.strip("/")) or "root"
