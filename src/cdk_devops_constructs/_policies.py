"""Statements added to the resource policy of a key, topic, bucket or repository.

A resource the user imported (``Key.from_key_arn``, ``Topic.from_topic_arn``...) has a policy
CDK cannot change: the statement is silently dropped. Every such drop becomes a warning that
says what to add where the resource is defined, instead of a deployment that fails later.
"""

from __future__ import annotations

from typing import Protocol

from aws_cdk import Annotations, Stack
from aws_cdk import aws_iam as iam
from constructs import IConstruct


class _HasResourcePolicy(IConstruct, Protocol):
    def add_to_resource_policy(
        self, statement: iam.PolicyStatement
    ) -> iam.AddToResourcePolicyResult: ...


def add_statement(
    resource: _HasResourcePolicy, statement: iam.PolicyStatement, *, why: str
) -> bool:
    """Add ``statement`` to ``resource``'s policy; warn (on ``resource``) when it cannot be."""
    if resource.add_to_resource_policy(statement).statement_added:
        return True
    stack = Stack.of(resource)
    principals = (
        ", ".join(
            str(stack.resolve(value))
            for p in statement.principals
            for values in p.policy_fragment.principal_json.values()
            for value in values
        )
        or "the principals"
    )
    Annotations.of(resource).add_warning_v2(
        "cdk-devops-constructs:resource-policy-not-changed",
        f"{resource.node.path} is imported, so its policy cannot be changed here; {why} needs "
        f"it to allow {principals} to {', '.join(statement.actions)}: add that where it is "
        "defined",
    )
    return False
