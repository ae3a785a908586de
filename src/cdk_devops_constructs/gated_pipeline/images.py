"""The pipeline's image repository, and who may pull from it.

The image is built once, in the pipeline's account and region, and every stage deploys that
image (its tag is the source revision): the same commit reaches staging and production, in
whatever account and region they are. A task's execution role pulls it from there:

- the repository's policy lets each account that runs a deployed service pull, on the
  condition that the caller is one of those services' execution roles (``aws:PrincipalArn``;
  a condition, unlike a principal, may name a role that does not exist yet, so the stacks may
  be deployed in any order);
- each execution role's own policy allows the pulls (ECR user guide, "Private repository policy
  examples": another account needs both; in the pipeline's own account the identity policy
  alone would do). The repository's name is generated when it is created, so the identity
  policy allows the repositories of the pipeline's account and region (``repository/*``; AWS's
  own ``AmazonECSTaskExecutionRolePolicy`` allows every repository), and the repository's
  policy says which roles may pull from it;
- the repository's key: ECR decrypts layers under its own grant when an image is pulled ("When
  pulling an image, a Decrypt request is made to AWS KMS", ECR user guide, "Encryption at
  rest"); whether that call is authorized as the puller is not documented, so the execution
  roles may decrypt through ECR too (key policy for other accounts, condition
  ``kms:ViaService``), and pulls work either way.

A task in another region pulls across regions (inter-region data transfer, $0.02/GB at list
price, and its account's NAT gateway or a route to ECR in the pipeline's region). ECR's
registry replication avoids that, but it is one setting per registry and region, shared by
every repository there, so this library does not own it (README, "Delivery across accounts").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import RemovalPolicy, Stack, Token
from aws_cdk import aws_ecr as ecr
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from .._compliance import acknowledge, as_nag_shows
from .._policies import add_statement
from ..service_contract import ImagePull, IObservedService
from .environments import Env
from .permissions import ECR_PULL, KMS_DECRYPT


def pipeline_repository(
    scope: Construct, *, key: kms.IKey, max_image_count: int, kms_encrypted: bool
) -> ecr.Repository:
    """A new repository: scan on push, immutable tags, the last ``max_image_count`` images,
    kept when the stack is deleted."""
    repository = ecr.Repository(
        scope,
        "Repository",
        image_scan_on_push=True,
        image_tag_mutability=ecr.TagMutability.IMMUTABLE,
        encryption=(
            ecr.RepositoryEncryption.KMS if kms_encrypted else ecr.RepositoryEncryption.AES_256
        ),
        encryption_key=key if kms_encrypted else None,
        lifecycle_rules=[
            ecr.LifecycleRule(
                description=f"Keep the last {max_image_count} images",
                max_image_count=max_image_count,
            )
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )
    if not kms_encrypted:
        acknowledge(repository, "ecr-repository-aes256")
    return repository


def allow_pulls(
    pipeline: Construct,
    repository: ecr.IRepository,
    key: kms.IKey | None,
    services: Sequence[IObservedService],
) -> ImagePull:
    """Let the execution roles of ``services`` pull from ``repository``: its policy (one
    statement per account) and, when it is this pipeline's, its ``key``'s policy for other
    accounts; return what each execution role's own policy needs."""
    own = Env.of(pipeline)
    by_account: dict[str, list[str]] = {}
    for service in services:
        target = service.deploy_target
        env = Env.of_target(target, pipeline)
        role = Stack.of(pipeline).format_arn(
            service="iam",
            region="",
            account=env.account,
            resource="role",
            resource_name=target.execution_role_name,
        )
        by_account.setdefault(env.account, []).append(role)
    for index, (account, roles) in enumerate(by_account.items()):
        add_statement(
            repository,
            iam.PolicyStatement(
                sid="DeployedServicesPullImages" + (f"{index + 1}" if index else ""),
                principals=[iam.AccountPrincipal(account)],
                actions=list(ECR_PULL),
                conditions={"ArnEquals": {"aws:PrincipalArn": sorted(set(roles))}},
            ),
            why="the services the pipeline deploys, pulling its images",
        )
        if key is not None and not Env(account, own.region).same_account(own):
            add_statement(
                key,
                iam.PolicyStatement(
                    sid=f"ServicesOf{account}PullImages",
                    principals=[iam.AccountPrincipal(account)],
                    actions=list(KMS_DECRYPT),
                    # In a key policy, "*" means "this key".
                    resources=["*"],
                    conditions={
                        "ArnEquals": {"aws:PrincipalArn": sorted(set(roles))},
                        "StringEquals": {"kms:ViaService": f"ecr.{own.region}.amazonaws.com"},
                    },
                ),
                why=f"the execution roles of account {account}, pulling the pipeline's images",
            )
    return _pull_statements(pipeline, repository, key is not None, own)


def _pull_statements(
    pipeline: Construct, repository: ecr.IRepository, encrypted: bool, own: Env
) -> ImagePull:
    """What an execution role's own policy needs to pull the pipeline's images, in names known
    at synthesis (the statements go to other stacks)."""
    stack = Stack.of(pipeline)
    name = repository.repository_name
    generated = Token.is_unresolved(name)
    repositories = stack.format_arn(
        service="ecr", resource="repository", resource_name="*" if generated else name
    )
    statements = [
        # ecr:GetAuthorizationToken has no resource type: "*" is the only valid value.
        iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]),
        iam.PolicyStatement(actions=list(ECR_PULL), resources=[repositories]),
    ]
    where = {
        "partition": as_nag_shows(stack.partition, "AWS::Partition"),
        "region": as_nag_shows(stack.region, "AWS::Region"),
        "account": as_nag_shows(stack.account, "AWS::AccountId"),
    }
    acknowledgments: list[tuple[str, Mapping[str, str]]] = [("ecs-execution-role-image-pull", {})]
    if generated:
        acknowledgments.append(("ecs-execution-role-pipeline-repositories", where))
    if encrypted:
        statements.append(
            iam.PolicyStatement(
                actions=list(KMS_DECRYPT),
                resources=[stack.format_arn(service="kms", resource="key", resource_name="*")],
                conditions={"StringEquals": {"kms:ViaService": f"ecr.{own.region}.amazonaws.com"}},
            )
        )
        acknowledgments.append(("ecs-execution-role-image-key", where))
    return ImagePull(statements=tuple(statements), acknowledgments=tuple(acknowledgments))
