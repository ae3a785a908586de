"""What the integration apps share (not an integration test: integ-runner runs ``integ_*.py``).

Each app is one stack that integ-runner deploys to the account and region of the caller's AWS
credentials, asserts on, and destroys. The stacks keep the library's defaults, including what
they retain on deletion (see README, "Integration tests").
"""

from __future__ import annotations

import os

import aws_cdk as cdk
from aws_cdk.integ_tests_alpha import IntegTest
from constructs import IConstruct

from cdk_devops_constructs._notifications import UNSUBSCRIBED

# Starts with the defaults: writes only to /tmp, listens on 8080, runs as uid 101.
IMAGE = "public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine"
IMAGE_USER = "101"


def environment() -> cdk.Environment:
    """The account and region of the caller's credentials, as the CDK CLI passes them; a fixed
    pair when there are none (the snapshots in this directory are synthesized with it)."""
    return cdk.Environment(
        account=os.environ.get("CDK_DEFAULT_ACCOUNT", "123456789012"),
        region=os.environ.get("CDK_DEFAULT_REGION", "us-east-1"),
    )


def integ_test(app: cdk.App, id: str, stack: cdk.Stack) -> IntegTest:
    """The test of ``stack``, its assertions in a stack of the same environment (they read the
    stack's resources by reference)."""
    assertions = cdk.Stack(app, f"{id}Assertions", env=environment())
    return IntegTest(app, id, test_cases=[stack], assertion_stack=assertions)


def nobody_is_paged(construct: IConstruct) -> None:
    """An integration test pages nobody: its topics are read by the assertions."""
    cdk.Annotations.of(construct).acknowledge_warning(
        UNSUBSCRIBED, "integration test: the assertions read what the topics carry"
    )
