"""The image a pipeline deployed, kept by every later stack update.

The pipeline's ECS deploy action registers task definition revisions CloudFormation knows
nothing of. A later ``cdk deploy`` that changes the task definition (an environment variable, a
library upgrade that moves a sidecar's pin, attaching feature flags) registers a new revision
from the template, with the image written in the CDK code, and the service silently goes back
to it. So once a pipeline deploys a service, the service reads its image from a secret that the
pipeline updates after each successful stage, and CloudFormation resolves that secret whenever
it registers a revision.

Secrets Manager, not Parameter Store, although the value is no secret: CloudFormation documents
resolving a secret created in the same template (the ``AWS::SecretsManager::Secret`` examples
pass ``{{resolve:secretsmanager:${Secret}::password}}`` to a database in the same stack), and
re-reads it only when the resource that carries the reference changes; it documents no such
thing for a parameter created in the same template, which the first deployment would need.
CloudFormation deletes such a secret without a recovery window, so a destroyed stack can be
created again under the same names. Cost: $0.40 per service per month.
"""

from __future__ import annotations

from aws_cdk import Names, RemovalPolicy, SecretValue
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from .._compliance import acknowledge

CODE_IMAGE_LABEL = "cdk-devops-constructs.code-image"


def pin_deployed_image(
    scope: Construct, task_definition: ecs.TaskDefinition, container: ecs.ContainerDefinition
) -> str:
    """Make ``container`` (the task definition's first container) run the image held in a new
    secret, which starts with the image of the CDK code; return the secret's name.

    The code's image also goes into a Docker label, so that changing the image in the code
    changes the task definition and deploys that image (CloudFormation updates the secret
    first: the task definition refers to it).
    """
    name = f"{Names.unique_resource_name(scope, max_length=200, separator='-')}/deployed-image"
    secret = secretsmanager.Secret(
        scope,
        "DeployedImage",
        secret_name=name,
        description="The image the pipeline last deployed to this service (not a credential)",
        secret_string_value=SecretValue.unsafe_plain_text(container.image_name),
        removal_policy=RemovalPolicy.DESTROY,
    )
    acknowledge(secret, "deployed-image-secret")
    cfn = task_definition.node.default_child
    assert isinstance(cfn, ecs.CfnTaskDefinition)
    first = task_definition.default_container
    assert first is not None
    assert first.container_name == container.container_name
    cfn.add_property_override("ContainerDefinitions.0.Image", secret.secret_value.unsafe_unwrap())
    cfn.add_property_override(
        "ContainerDefinitions.0.DockerLabels." + CODE_IMAGE_LABEL.replace(".", "\\."),
        container.image_name,
    )
    return name
