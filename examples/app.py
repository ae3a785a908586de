"""A team's CDK app: the checkout service (public, on Fargate behind its own load balancer) and
the orders service it calls (internal, on ECS Express Mode) in staging and production, their
feature flags, and the pipeline that ships both.

Run it with `./dev synth` (templates in cdk.out/), or copy this folder into your repository and
run `npx aws-cdk synth` / `npx aws-cdk deploy` with the `cdk.json` next to this file.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from cdk_devops_constructs import (
    Attribute,
    Deployment,
    DeployStage,
    ExpressService,
    FeatureFlaggedDeploy,
    Flag,
    Gate,
    GatedPipeline,
    Incidents,
    ObservedService,
    PagingEndpoint,
    PipelineSource,
    PipelineTest,
    Rollout,
    SlackChannel,
)

ACCOUNT = "111122223333"
REGION = "eu-west-1"
# Replace with your ACM certificate for the production domain.
CERTIFICATE_ARN = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/00000000-0000-0000-0000-000000000000"
# The image the service starts with; the pipeline deploys the images it builds. It writes only
# to /tmp (the one writable path of the default read-only root filesystem) and listens on 8080.
IMAGE = "public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine"
# Create the connection in the console (Developer Tools > Connections), complete the handshake.
CONNECTION_ARN = (
    f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/00000000-0000-0000-0000-000000000000"
)

# The team's Slack channel: authorise the workspace once in the Amazon Q Developer in chat
# applications console (it shows the workspace ID) and invite @Amazon Q to the channel.
CHECKOUT_CHANNEL = SlackChannel(workspace_id="T0123ABCDEF", channel_id="C0123ABCDEF")
# Production pages the on-call through PagerDuty's CloudWatch integration; its URL holds the
# integration key, so it lives in Secrets Manager (a secret "checkout/pagerduty" whose "url"
# field is https://events.pagerduty.com/integration/<key>/enqueue).
PRODUCTION_INCIDENTS = Incidents(
    chat=[CHECKOUT_CHANNEL],
    paging=[
        PagingEndpoint(
            "PagerDuty", cdk.SecretValue.secrets_manager("checkout/pagerduty", json_field="url")
        )
    ],
    runbook_url="https://wiki.example.com/runbooks/checkout",
)

FLAGS = [
    Flag("new-checkout", enabled=True, description="The one-page checkout."),
    Flag(
        "search-results",
        enabled=True,
        attributes={"page-size": Attribute.number(minimum=10, maximum=100, required=True)},
        values={"page-size": 20},
    ),
]


class CheckoutStack(cdk.Stack):
    """One environment of the checkout service, with the feature flags it reads."""

    def __init__(self, scope: Construct, id: str, *, stage: str, **kwargs: Any) -> None:
        super().__init__(scope, id, **kwargs)
        production = stage == "production"
        self.checkout = ObservedService(
            self,
            "Checkout",
            image=ecs.ContainerImage.from_registry(IMAGE),
            user="101",  # the image's own non-root user, stated for the compliance checks
            alarm_emails=["checkout-oncall@example.com"],
            min_capacity=3 if production else 1,
            max_capacity=12 if production else 2,
            certificate=acm.Certificate.from_certificate_arn(self, "Certificate", CERTIFICATE_ARN)
            if production
            else None,
            deployment=Deployment.canary(percent=10) if production else Deployment.rolling(),
            # Staging opens an OpsItem (the default); production also posts in the team's
            # channel and pages the on-call.
            incidents=PRODUCTION_INCIDENTS if production else None,
        )
        # Reached by checkout from inside the VPC only: Express Mode puts it behind an internal
        # load balancer (with its own HTTPS domain) shared by the team's Express services.
        self.orders = ExpressService(
            self,
            "Orders",
            image=ecs.ContainerImage.from_registry(IMAGE),
            user="101",
            internet_facing=False,
            alarm_emails=["checkout-oncall@example.com"],
            min_capacity=2 if production else 1,
            max_capacity=6 if production else 2,
        )
        self.flags = FeatureFlaggedDeploy(
            self,
            "Flags",
            flags=FLAGS,
            environments=[stage],
            services={stage: [self.checkout, self.orders]},
            rollout=Rollout.canary() if production else Rollout.all_at_once(),
        )


app = cdk.App()
env = cdk.Environment(account=ACCOUNT, region=REGION)
staging = CheckoutStack(app, "CheckoutStaging", stage="staging", env=env)
# Termination protection: `cdk destroy` refuses the stack, and its load balancer has deletion
# protection (ObservedService follows the stack).
production = CheckoutStack(
    app, "CheckoutProduction", stage="production", env=env, termination_protection=True
)
# Flag changes roll out (and bake) in staging before production's stack is deployed.
production.node.add_dependency(staging)

# The pipeline ships every commit of the repository to staging, then to production: the ECS
# deploy action for checkout, an Express deploy (a new task definition revision) for orders.
delivery = cdk.Stack(app, "CheckoutDelivery", env=env)
GatedPipeline(
    delivery,
    "Pipeline",
    source=PipelineSource.connection(connection_arn=CONNECTION_ARN, owner="acme", repo="checkout"),
    tests=[PipelineTest(name="Unit", commands=["make test"], reports=["reports/junit.xml"])],
    stages=[
        DeployStage(
            name="Staging",
            services=[staging.checkout, staging.orders],
            gates=[Gate.bake(cdk.Duration.minutes(10))],  # roll back if staging's alarms fire
        ),
        DeployStage(
            name="Production",
            services=[production.checkout, production.orders],
            gates=[
                Gate.healthy_before_entry(),  # staging's health alarm must be OK
                Gate.deployment_window("* * 9-16 ? * MON-THU *", time_zone="Europe/Dublin"),
                Gate.manual_approval(emails=["release-managers@example.com"]),
                Gate.bake(cdk.Duration.minutes(30)),
            ],
        ),
    ],
    notification_emails=["checkout-team@example.com"],
    # Failed executions and stages, and waiting approvals, in the team's channel too.
    incidents=Incidents(chat=[CHECKOUT_CHANNEL]),
)
app.synth()
