"""How a GatedPipeline deploys an image to an Amazon ECS Express Mode service (``ExpressService``,
deploy method ``"express"``): a CodeBuild action per service, all running one project.

CodePipeline has no Express deploy action, and its Amazon ECS action registers revisions of the
underlying ECS service's task definition and calls UpdateService, which Express Mode does not
document for its services. The documented way is Express Mode's own API: "Create a new revision
of your task definition and update the taskDefinitionArn" (ECS developer guide, "Updating an
Amazon ECS Express Mode service", with a custom task definition), through
UpdateExpressGatewayService (ECS API reference). The action therefore:

1. reads the task definition the service runs (DescribeExpressGatewayService, the newest active
   configuration's ``taskDefinitionArn``) and describes it (DescribeTaskDefinition, with tags);
2. registers a revision of it whose application container (``Main``) runs the image the pipeline
   built, everything else kept (roles, sidecars, sizes, volumes, tags);
3. calls UpdateExpressGatewayService with the revision's ARN, which starts Express Mode's canary
   deployment;
4. waits for that deployment (ListServiceDeployments, the newest one created since the update
   was asked for): SUCCESSFUL ends the action, a rollback or a stop fails it, so the stage rolls
   back too.

The CodeBuild images' AWS CLI may predate ``taskDefinitionArn`` in the Express API (botocore
1.43.32 added it), so the install phase pins the AWS CLI in its own virtual environment.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from ...service_contract import DeployTarget
from ..build import plain_variable, waiting_action, waiting_project
from ..permissions import (
    EXPRESS_SERVICE_ACTIONS,
    ServiceRole,
    allow_new_revisions,
    unique,
)
from ..release import IN_TARGET

# Pinned: AWS CLI v1 1.46.2 ships botocore 1.43.62, whose ECS model has taskDefinitionArn in
# UpdateExpressGatewayService. A newer CLI is a deliberate upgrade of this library.
AWS_CLI_VERSION = "1.46.2"
PYTHON_RUNTIME = "3.12"  # the CLI needs Python 3.10 or newer
CLI_DIRECTORY = "/tmp/express-cli"

# Express Mode's canary takes about 10 minutes (new tasks, 3 minutes at 5%, 3 minutes at 100%,
# old tasks drained); a deployment still running after 50 minutes fails the action.
WAIT_SECONDS = 50 * 60
POLL_SECONDS = 15
TIMEOUT = Duration.minutes(60)

# The revision to register: the running one less what DescribeTaskDefinition returns but
# RegisterTaskDefinition does not take (ECS API reference, TaskDefinition), with the image of
# the container named in argv[2] replaced by argv[3], and the tags kept. A field this does not
# know makes the registration fail loudly rather than drop a setting.
NEW_REVISION = """\
import json, sys
described = json.load(open(sys.argv[1]))
revision = dict(described["taskDefinition"])
for field in ("taskDefinitionArn", "revision", "status", "requiresAttributes",
              "compatibilities", "registeredAt", "registeredBy", "deregisteredAt"):
    revision.pop(field, None)
containers = [c for c in revision["containerDefinitions"] if c["name"] == sys.argv[2]]
if len(containers) != 1:
    sys.exit("the task definition has no container named " + sys.argv[2])
containers[0]["image"] = sys.argv[3]
if described.get("tags"):
    revision["tags"] = described["tags"]
json.dump(revision, sys.stdout)
"""

# Environment: EXPRESS_SERVICE_ARN, EXPRESS_CLUSTER and EXPRESS_SERVICE (the service), the
# CONTAINER_NAME whose image changes, IMAGE_URI, WAIT_SECONDS, POLL_SECONDS, and the target of
# IN_TARGET (release.py) when the service is in another region or account.
EXPRESS_DEPLOY_SCRIPT = (
    """\
set -euo pipefail
"""
    + IN_TARGET
    + """\
in_target
START="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
CURRENT="$(aws ecs describe-express-gateway-service --service-arn "$EXPRESS_SERVICE_ARN" \\
  --query 'sort_by(service.activeConfigurations, &createdAt)[-1].taskDefinitionArn' \\
  --output text)"
if [ -z "$CURRENT" ] || [ "$CURRENT" = None ]; then
  echo "$EXPRESS_SERVICE_ARN runs no task definition"; exit 1
fi
echo "$EXPRESS_SERVICE_ARN runs $CURRENT"
aws ecs describe-task-definition --task-definition "$CURRENT" --include TAGS --output json \\
  > running-task-definition.json
cat > new_revision.py <<'PYTHON'
"""
    + NEW_REVISION
    + """PYTHON
python3 new_revision.py running-task-definition.json "$CONTAINER_NAME" "$IMAGE_URI" \\
  > new-task-definition.json
REVISION="$(aws ecs register-task-definition --cli-input-json file://new-task-definition.json \\
  --query taskDefinition.taskDefinitionArn --output text)"
echo "Registered $REVISION: $CONTAINER_NAME runs $IMAGE_URI"
aws ecs update-express-gateway-service --service-arn "$EXPRESS_SERVICE_ARN" \\
  --task-definition-arn "$REVISION" > /dev/null
END=$(( $(date +%s) + WAIT_SECONDS ))
while :; do
  in_target
  STATUS="$(aws ecs list-service-deployments --cluster "$EXPRESS_CLUSTER" \\
    --service "$EXPRESS_SERVICE" --created-at after="$START" \\
    --query 'sort_by(serviceDeployments, &createdAt)[-1].status' --output text)"
  case "$STATUS" in
    SUCCESSFUL) echo "Express Mode deployed $REVISION"; exit 0 ;;
    ROLLBACK_*|STOPPED|STOP_REQUESTED)
      echo "The deployment of $REVISION ended $STATUS: the stage rolls back"; exit 1 ;;
  esac
  if [ "$(date +%s)" -ge "$END" ]; then
    echo "The deployment of $REVISION is still $STATUS after $WAIT_SECONDS seconds"; exit 1
  fi
  echo "Deployment: $STATUS"
  sleep "$POLL_SECONDS"
done
"""
)


def express_deploy_project(
    scope: Construct,
    *,
    role: ServiceRole,
    encryption_key: kms.IKey,
    log_group: logs.ILogGroup,
) -> codebuild.PipelineProject:
    """The project ``ExpressDeploy`` every Express deploy action runs."""
    return waiting_project(
        scope,
        "ExpressDeploy",
        description="Deploys an image to an ECS Express Mode service and waits for it",
        role=role,
        environment_variables={
            "WAIT_SECONDS": plain_variable(str(WAIT_SECONDS)),
            "POLL_SECONDS": plain_variable(str(POLL_SECONDS)),
        },
        build_spec={
            "version": "0.2",
            "env": {"shell": "bash"},
            "phases": {
                "install": {
                    "runtime-versions": {"python": PYTHON_RUNTIME},
                    "commands": [
                        f"python3 -m venv {CLI_DIRECTORY}",
                        f"{CLI_DIRECTORY}/bin/pip install --quiet awscli=={AWS_CLI_VERSION}",
                    ],
                },
                "build": {
                    "commands": [f'export PATH="{CLI_DIRECTORY}/bin:$PATH"', EXPRESS_DEPLOY_SCRIPT]
                },
            },
        },
        timeout=TIMEOUT,
        encryption_key=encryption_key,
        log_group=log_group,
        log_prefix="express-deploy",
    )


def allow_express_deployments(role: ServiceRole, targets: Sequence[DeployTarget]) -> None:
    """What the Express deploy script does with ``role`` to the Express services
    ``targets``."""
    role.allow(EXPRESS_SERVICE_ACTIONS, unique([t.service_arn(role) for t in targets]))
    allow_new_revisions(role, [arn for t in targets for arn in t.role_arns(role)])
    role.acknowledge("express-deploy-role-policy")


def express_deploy_action(
    scope: Construct,
    *,
    name: str,
    project: codebuild.IProject,
    target: DeployTarget,
    image_uri: str,
    input: codepipeline.Artifact,
    role: ServiceRole,
    run_order: int,
    in_target: dict[str, str],
) -> codepipeline.IAction:
    """The action that deploys ``image_uri`` to the Express service ``target``
    (``in_target``: where the script acts, ``release.target_variables``)."""
    variables = {
        "EXPRESS_SERVICE_ARN": target.service_arn(scope),
        "EXPRESS_CLUSTER": target.cluster_name,
        "EXPRESS_SERVICE": target.service_name,
        "CONTAINER_NAME": target.container_name,
        "IMAGE_URI": image_uri,
        **in_target,
    }
    return waiting_action(
        name=name,
        project=project,
        input=input,
        variables=variables,
        role=role,
        run_order=run_order,
    )
