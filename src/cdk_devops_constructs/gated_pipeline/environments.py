"""Where a pipeline's targets live, and the roles it acts with in accounts other than its own.

A stage may deploy to services in another account and region than the pipeline's (a tools
account holding the pipeline; staging and production accounts, production perhaps in a second
region). Everything the pipeline does there is done with a role *in that account*:

- the ECS deploy actions and the ``CloudWatchAlarm`` entry rules run with a role the pipeline
  role assumes (the ``roleArn`` of an action and of a rule, "assumed through the roleArn for the
  pipeline": CodePipeline API reference, ``ActionDeclaration`` and ``RuleExecutionInput``);
- the release and Express deploy projects, which run in the pipeline's account, assume a role
  there for their AWS calls, and name the target's region.

Those roles live in one *support stack* per pipeline and target account and region, which this
module adds to the app (deployed before the pipeline's stack, which depends on it). Each trusts
the pipeline's account on the condition that the caller is the one role of the pipeline that
needs it (``aws:PrincipalArn``); the pipeline's roles are named for that (the support stack
knows their names at synthesis, so no value crosses accounts as a reference).

A target in the pipeline's own account needs none of this, whatever its region: the pipeline's
own roles act there, naming the region (CloudFormation's cross-region replication bucket carries
the artifacts of an action in another region).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from aws_cdk import ArnFormat, Environment, Stack, Stage, Token
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from ..service_contract import DeployTarget
from .permissions import ASSUME_ROLE, Roles, ServiceRole

STACK_NAME = re.compile(r"[^A-Za-z0-9-]")


@dataclass(frozen=True)
class Env:
    """An account and region a pipeline deploys to. The account is a token when the stack does
    not state it; such an account is taken to be the pipeline's (as CDK does)."""

    account: str
    region: str

    @staticmethod
    def of(scope: IConstruct) -> Env:
        stack = Stack.of(scope)
        return Env(stack.account, stack.region)

    @staticmethod
    def of_target(target: DeployTarget, pipeline: IConstruct) -> Env:
        own = Env.of(pipeline)
        return Env(target.account or own.account, target.region or own.region)

    def same_account(self, other: Env) -> bool:
        if Token.is_unresolved(self.account) or Token.is_unresolved(other.account):
            return True
        return self.account == other.account

    def same_region(self, other: Env) -> bool:
        if Token.is_unresolved(self.region) or Token.is_unresolved(other.region):
            return True
        return self.region == other.region

    def same(self, other: Env) -> bool:
        return self.same_account(other) and self.same_region(other)

    def arn(
        self,
        scope: IConstruct,
        service: str,
        resource: str,
        name: str,
        arn_format: ArnFormat = ArnFormat.SLASH_RESOURCE_NAME,
    ) -> str:
        """An ARN in this account and region, written in ``scope``'s stack."""
        return Stack.of(scope).format_arn(
            service=service,
            resource=resource,
            resource_name=name,
            account=self.account,
            region=self.region,
            arn_format=arn_format,
        )

    def describe(self) -> str:
        account = "the pipeline's account" if Token.is_unresolved(self.account) else self.account
        return f"{account}/{self.region}"


class TargetAccount(Construct):
    """The roles a pipeline acts with in one other account and region: a stack of their own,
    made on first use (``TargetAccounts.of``)."""

    def __init__(self, stack: Stack, env: Env, pipeline_env: Env, roles: Roles) -> None:
        super().__init__(stack, "Delivery")
        self.env = env
        self._pipeline_env = pipeline_env
        self._roles = roles
        self._made: dict[str, ServiceRole] = {}

    def role(self, id: str, description: str, assumed_by: ServiceRole) -> ServiceRole:
        """The role ``id`` of this account, which only ``assumed_by`` (a role of the pipeline,
        named) may assume; ``assumed_by`` is allowed to."""
        if id not in self._made:
            assert assumed_by.name is not None, "roles that assume target roles are named"
            caller = Stack.of(self).format_arn(
                service="iam",
                region="",
                account=self._pipeline_env.account,
                resource="role",
                resource_name=assumed_by.name,
            )
            role = self._roles.add(
                ServiceRole(
                    self,
                    id,
                    assumed_by=iam.AccountPrincipal(self._pipeline_env.account).with_conditions(
                        {"ArnEquals": {"aws:PrincipalArn": caller}}
                    ),
                    description=description,
                    named=True,
                )
            )
            assumed_by.allow(ASSUME_ROLE, [self.arn_of(role)])
            self._made[id] = role
        return self._made[id]

    def arn_of(self, role: ServiceRole) -> str:
        """``role``'s ARN built from its name (no reference to this stack)."""
        assert role.name is not None
        return Stack.of(self).format_arn(
            service="iam",
            region="",
            account=self.env.account,
            resource="role",
            resource_name=role.name,
        )


class TargetAccounts:
    """The support stacks of one pipeline, by target account and region."""

    def __init__(self, pipeline: Construct, roles: Roles) -> None:
        self._pipeline = pipeline
        self._roles = roles
        self._env = Env.of(pipeline)
        self._accounts: dict[tuple[str, str], TargetAccount] = {}

    def of(self, env: Env) -> TargetAccount | None:
        """The roles in ``env``; None in the pipeline's own account (its roles act there)."""
        if env.same_account(self._env):
            return None
        key = (env.account, env.region)
        if key not in self._accounts:
            self._accounts[key] = TargetAccount(
                self._support_stack(env), env, self._env, self._roles
            )
        return self._accounts[key]

    @property
    def accounts(self) -> list[TargetAccount]:
        return list(self._accounts.values())

    def _support_stack(self, env: Env) -> Stack:
        """``<pipeline stack>-<pipeline>-<account>-<region>``: one per pipeline and target."""
        pipeline_stack = Stack.of(self._pipeline)
        name = STACK_NAME.sub(
            "-", f"{pipeline_stack.stack_name}-{self._pipeline.node.id}-{env.account}-{env.region}"
        )[:128]
        stack = Stack(
            Stage.of(pipeline_stack),
            name,
            env=Environment(account=env.account, region=env.region),
            stack_name=name,
            description=(
                f"Roles {self._pipeline.node.path} deploys with in account {env.account}, "
                f"region {env.region} (cdk-devops-constructs)"
            ),
            termination_protection=pipeline_stack.termination_protection,
        )
        # The pipeline assumes the roles of this stack: deploy it first.
        pipeline_stack.node.add_dependency(stack)
        return stack
