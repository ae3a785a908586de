"""A team's CDK app: a checkout service in staging and production.

Run it with `./dev synth` (templates in cdk.out/), or copy this folder into your repository and
run `npx aws-cdk synth` / `npx aws-cdk deploy` with the `cdk.json` next to this file.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_ecs as ecs
from constructs import Construct

from cdk_devops_constructs import Deployment, ObservedService

ACCOUNT = "111122223333"
REGION = "eu-west-1"
# Replace with your ACM certificate for the production domain.
CERTIFICATE_ARN = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/00000000-0000-0000-0000-000000000000"
IMAGE = "public.ecr.aws/nginx/nginx:1.27"


class CheckoutStack(cdk.Stack):
    """One environment of the checkout service."""

    def __init__(self, scope: Construct, id: str, *, production: bool, **kwargs: object) -> None:
        super().__init__(scope, id, **kwargs)  # type: ignore[arg-type]
        self.checkout = ObservedService(
            self,
            "Checkout",
            image=ecs.ContainerImage.from_registry(IMAGE),
            container_port=80,
            alarm_emails=["checkout-oncall@example.com"],
            min_capacity=3 if production else 1,
            max_capacity=12 if production else 2,
            certificate=acm.Certificate.from_certificate_arn(self, "Certificate", CERTIFICATE_ARN)
            if production
            else None,
            deployment=Deployment.canary(percent=10) if production else Deployment.rolling(),
        )


app = cdk.App()
env = cdk.Environment(account=ACCOUNT, region=REGION)
staging = CheckoutStack(app, "CheckoutStaging", production=False, env=env)
production = CheckoutStack(app, "CheckoutProduction", production=True, env=env)
app.synth()
