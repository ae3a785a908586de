"""The search team's app (its own repository): the search API on the shared platform, routed by
path."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs

from cdk_devops_constructs import ObservedService, ServicePlatform

app = cdk.App()
stack = cdk.Stack(app, "Search", env=cdk.Environment(account="111122223333", region="eu-west-1"))
ObservedService(
    stack,
    "Search",
    image=ecs.ContainerImage.from_registry("public.ecr.aws/nginx/nginx-unprivileged:1.28-alpine"),
    user="101",
    platform=ServicePlatform.from_namespace("/acme/platform/production"),
    path_patterns=["/search/*"],
    alarm_emails=["search-oncall@example.com"],
)
app.synth()
