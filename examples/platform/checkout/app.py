"""The checkout team's app (its own repository): the checkout service on the shared platform,
routed by host name, deployed blue/green."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs

from cdk_devops_constructs import Deployment, ObservedService, ServicePlatform

app = cdk.App()
stack = cdk.Stack(app, "Checkout", env=cdk.Environment(account="111122223333", region="eu-west-1"))
ObservedService(
    stack,
    "Checkout",
    image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine"),
    user="101",  # the image's own non-root user
    platform=ServicePlatform.from_namespace("/acme/platform/production"),
    host_headers=["checkout.shop.example.com"],
    deployment=Deployment.blue_green(),
    alarm_emails=["checkout-oncall@example.com"],
)
app.synth()
