"""Delivery across accounts and regions: the pipeline in a tools account, staging in its own
account, production in a third account and another region. The image is built once, in the
tools account; the same commit reaches staging and then production.

Before the first `cdk deploy`, bootstrap the staging and production environments so that the
tools account may deploy to them (README, "Delivery across accounts"):

    cdk bootstrap aws://111111111111/us-east-1
    cdk bootstrap --trust 111111111111 \
      --cloudformation-execution-policies arn:aws:iam::aws:policy/AdministratorAccess \
      aws://222222222222/us-east-1 aws://333333333333/eu-west-1

Then `cdk deploy --all` deploys, in order: the services, the roles the pipeline acts with in
each target account (one support stack per account and region), CodePipeline's replication
bucket in eu-west-1, and the pipeline.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from cdk_devops_constructs import (
    DeployStage,
    Gate,
    GatedPipeline,
    ObservedService,
    PipelineSource,
    PipelineTest,
)

TOOLS = cdk.Environment(account="111111111111", region="us-east-1")
STAGING = cdk.Environment(account="222222222222", region="us-east-1")
PRODUCTION = cdk.Environment(account="333333333333", region="eu-west-1")
# The image the service starts with, until the pipeline deploys the images it builds.
IMAGE = "public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine"
# Create the connection in the tools account's console (Developer Tools > Connections).
CONNECTION_ARN = (
    "arn:aws:codeconnections:us-east-1:111111111111:connection/00000000-0000-0000-0000-000000000000"
)


class PaymentsStack(cdk.Stack):
    """The payments service in one environment (its own account's VPC and cluster)."""

    def __init__(self, scope: Construct, id: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        self.payments = ObservedService(
            self,
            "Payments",
            image=ecs.ContainerImage.from_registry(IMAGE),
            user="101",  # the image's own non-root user
            alarm_emails=["payments-oncall@example.com"],
        )


app = cdk.App()
staging = PaymentsStack(app, "PaymentsStaging", env=STAGING)
production = PaymentsStack(app, "PaymentsProduction", env=PRODUCTION, termination_protection=True)

delivery = cdk.Stack(app, "PaymentsDelivery", env=TOOLS)
GatedPipeline(
    delivery,
    "Pipeline",
    source=PipelineSource.connection(connection_arn=CONNECTION_ARN, owner="acme", repo="payments"),
    tests=[PipelineTest(name="Unit", commands=["make test"], reports=["reports/junit.xml"])],
    stages=[
        DeployStage(
            name="Staging",
            services=[staging.payments],
            # Watched from the tools account with a role of the staging account.
            gates=[Gate.bake(cdk.Duration.minutes(10))],
        ),
        DeployStage(
            name="Production",
            services=[production.payments],
            gates=[
                # Staging's health alarm, read in the staging account by the entry rule.
                Gate.healthy_before_entry(),
                Gate.manual_approval(emails=["release-managers@example.com"]),
                Gate.bake(cdk.Duration.minutes(30)),
            ],
        ),
    ],
    notification_emails=["payments-team@example.com"],
)
app.synth()
