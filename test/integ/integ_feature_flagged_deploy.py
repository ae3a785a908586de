"""FeatureFlaggedDeploy, deployed: a flags deployment reaches the application through the agent.

The service's application answers every request with what it reads from ``FEATURE_FLAGS_URL``
(the AppConfig agent in its task); the assertion calls the service through its load balancer
and expects the flag deployed to the environment, with its attribute.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ecs as ecs
from aws_cdk.integ_tests_alpha import ExpectedResult, Match
from support import environment, integ_test, nobody_is_paged

from cdk_devops_constructs import Attribute, FeatureFlaggedDeploy, Flag, ObservedService, Rollout

# Standard library only; writes nothing (the root filesystem is read-only).
ECHO_FLAGS = """
import http.server, os, urllib.request

class EchoFlags(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        try:
            with urllib.request.urlopen(os.environ["FEATURE_FLAGS_URL"], timeout=2) as response:
                body = response.read()
        except OSError:
            body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

http.server.ThreadingHTTPServer(("", 8080), EchoFlags).serve_forever()
"""

app = cdk.App()
stack = cdk.Stack(app, "FeatureFlaggedDeployInteg", env=environment())
service = ObservedService(
    stack,
    "Service",
    image=ecs.ContainerImage.from_registry("public.ecr.aws/docker/library/python:3.13-alpine"),
    command=["python3", "-c", ECHO_FLAGS],
    user="65534:65534",
    environment={"PYTHONDONTWRITEBYTECODE": "1"},
    min_capacity=1,
    max_capacity=2,
)
nobody_is_paged(service)
FeatureFlaggedDeploy(
    stack,
    "Flags",
    flags=[
        Flag(
            "integ-check",
            enabled=True,
            attributes={"answer": Attribute.number(required=True)},
            values={"answer": 42},
        )
    ],
    environments=["integ"],
    services={"integ": [service]},
    rollout=Rollout.all_at_once(),
)

integ = integ_test(app, "FeatureFlaggedDeploy", stack)
served = integ.assertions.http_api_call(service.url)
served.expect(
    ExpectedResult.object_like(
        {"body": Match.object_like({"integ-check": {"enabled": True, "answer": 42}})}
    )
)
served.wait_for_assertions(
    total_timeout=cdk.Duration.minutes(10), interval=cdk.Duration.seconds(20)
)
app.synth()
