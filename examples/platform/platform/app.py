"""The platform team's app: what every service of the production environment shares.

Deploy once per account and region, before any service app of that environment.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_certificatemanager as acm

from cdk_devops_constructs import ServicePlatform

ACCOUNT = "111122223333"
REGION = "eu-west-1"
NAMESPACE = "/acme/platform/production"
# Replace with your ACM certificate covering the services' host names (*.shop.example.com).
CERTIFICATE_ARN = f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/00000000-0000-0000-0000-000000000000"

app = cdk.App()
stack = cdk.Stack(
    app,
    "Platform",
    env=cdk.Environment(account=ACCOUNT, region=REGION),
    # Every service's listener rule lives on the shared load balancer: protect it.
    termination_protection=True,
)
ServicePlatform(
    stack,
    "Platform",
    namespace=NAMESPACE,
    certificate=acm.Certificate.from_certificate_arn(stack, "Certificate", CERTIFICATE_ARN),
)
app.synth()
