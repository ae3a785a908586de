"""The release action of a deploy stage: bake, then record the deployed image.

After a stage's deploy actions, one CodeBuild action watches the alarms of ``Gate.bake`` for
the bake time (it fails as soon as one is in ALARM, and, at the end, if one was in ALARM at any
moment since the bake started, from its history), then records the deployed image in each
service's secret so that later stack updates keep it (``_service/deployed_image.py``). A
failure rolls the stage back. Polling every 20 s cannot miss an ALARM state, which lasts at
least one alarm period (60 s); the history check covers the gaps between polls anyway.

The project runs in the pipeline's account. For a stage in another account it assumes the
stage's release role there (``environments``) and calls the stage's region; the credentials of
an assumed role last one hour at most when the caller is itself a role ("role chaining", IAM
user guide, "Methods to assume a role"), so they are renewed every 45 minutes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from .. import _validation as check
from .build import waiting_action, waiting_project
from .environments import Env, TargetAccount
from .gates import WatchedAlarm
from .permissions import ALARM_READ, PUT_SECRET, ServiceRole

RELEASE_ACTION = "Release"
POLL_SECONDS = 20
# "Maximum length of 1000" for a configuration value (CodePipeline API reference,
# ActionDeclaration configuration).
MAX_CONFIGURATION_VALUE = 1000
RENEW_SECONDS = 45 * 60

# Act in the stage's account and region. Environment: TARGET_REGION, and TARGET_ROLE_ARN (empty
# in the pipeline's own account). ``in_target`` (re)assumes the role when its credentials are
# older than RENEW_SECONDS; call it before AWS calls in the target.
IN_TARGET = f"""\
BUILD_REGION="${{AWS_DEFAULT_REGION:-${{AWS_REGION:-}}}}"
AWS_DEFAULT_REGION="${{TARGET_REGION:-$BUILD_REGION}}"
export AWS_DEFAULT_REGION AWS_REGION="$AWS_DEFAULT_REGION"
ASSUMED_AT=0
fail() {{ echo "$1"; exit 1; }}
in_target() {{
  if [ -z "${{TARGET_ROLE_ARN:-}}" ]; then return 0; fi
  if [ $(( $(date +%s) - ASSUMED_AT )) -lt {RENEW_SECONDS} ]; then return 0; fi
  unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
  read -r AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN <<EOF
$(aws sts assume-role --region "$BUILD_REGION" --role-arn "$TARGET_ROLE_ARN" \\
  --role-session-name gated-pipeline --query \\
  'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
EOF
  if [ -z "$AWS_SESSION_TOKEN" ]; then fail "Could not assume $TARGET_ROLE_ARN"; fi
  export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN
  ASSUMED_AT=$(date +%s)
}}
"""

# Environment: the space-separated WATCHED_ALARMS and IMAGE_SECRETS, BAKE_SECONDS, POLL_SECONDS,
# IMAGE_URI, and IN_TARGET's.
RELEASE_SCRIPT = (
    IN_TARGET
    + """\
if [ -n "$WATCHED_ALARMS" ] && [ "$BAKE_SECONDS" -gt 0 ]; then
  START="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  END=$(( $(date +%s) + BAKE_SECONDS ))
  echo "Baking $BAKE_SECONDS seconds, watching: $WATCHED_ALARMS"
  while :; do
    in_target
    for ALARM in $WATCHED_ALARMS; do
      STATE="$(aws cloudwatch describe-alarms --alarm-names "$ALARM" \\
        --query 'MetricAlarms[0].StateValue' --output text)" || fail "Could not read $ALARM"
      if [ "$STATE" = ALARM ]; then echo "$ALARM is in ALARM: the stage rolls back"; exit 1; fi
      if [ "$STATE" = None ]; then echo "$ALARM does not exist"; exit 1; fi
    done
    if [ "$(date +%s)" -ge "$END" ]; then break; fi
    sleep "$POLL_SECONDS"
  done
  in_target
  SINCE="length(AlarmHistoryItems[?contains(HistorySummary, 'to ALARM')])"
  for ALARM in $WATCHED_ALARMS; do
    SEEN="$(aws cloudwatch describe-alarm-history --alarm-name "$ALARM" \\
      --history-item-type StateUpdate --start-date "$START" --query "$SINCE" --output text)" \\
      || fail "Could not read the history of $ALARM"
    if [ "$SEEN" != 0 ]; then echo "$ALARM was in ALARM during the bake"; exit 1; fi
  done
  echo "Baked $BAKE_SECONDS seconds without an alarm"
fi
in_target
for SECRET in $IMAGE_SECRETS; do
  aws secretsmanager put-secret-value --secret-id "$SECRET" --secret-string "$IMAGE_URI" \\
    > /dev/null || fail "Could not record $IMAGE_URI in $SECRET"
  echo "$SECRET now holds $IMAGE_URI"
done
"""
)


def release_project(
    scope: Construct,
    *,
    role: ServiceRole,
    timeout: Duration,
    encryption_key: kms.IKey,
    log_group: logs.ILogGroup,
) -> codebuild.PipelineProject:
    """The project every stage's release action runs, with the stage's alarms, bake time,
    image secrets and target as action environment variables."""
    return waiting_project(
        scope,
        "Release",
        description="Bakes a deployed stage while watching its alarms; records the image",
        role=role,
        build_spec={
            "version": "0.2",
            "env": {"shell": "bash"},
            "phases": {"build": {"commands": [RELEASE_SCRIPT]}},
        },
        timeout=timeout,
        encryption_key=encryption_key,
        log_group=log_group,
        log_prefix="release",
    )


def release_action(
    scope: Construct,
    *,
    prop: str,
    project: codebuild.IProject,
    project_role: ServiceRole,
    action_role: ServiceRole,
    env: Env,
    target: TargetAccount | None,
    secrets: Sequence[str],
    watched: Sequence[WatchedAlarm],
    bake_minutes: int,
    image_uri: str,
    input: codepipeline.Artifact,
    run_order: int,
) -> codepipeline.IAction:
    """The release action of a stage whose services are in ``env``: ``project_role`` (in the
    pipeline's account) or the target account's release role may read the ``watched`` alarms
    and write the image ``secrets`` there."""
    acting = project_role
    if target is not None:
        acting = target.role(
            "ReleaseRole",
            "Bakes and records releases of the pipeline in this account",
            assumed_by=project_role,
        )
    # Secrets Manager appends six random characters to a secret's name in its ARN.
    secret = ("secretsmanager", "secret")
    acting.allow(
        PUT_SECRET,
        [env.arn(acting, *secret, f"{n}-??????", ArnFormat.COLON_RESOURCE_NAME) for n in secrets],
    )
    if watched:
        acting.allow(ALARM_READ, list(dict.fromkeys(alarm.arn for alarm in watched)))
    variables = {
        "WATCHED_ALARMS": " ".join(alarm.name for alarm in watched),
        "BAKE_SECONDS": str(bake_minutes * 60),
        "POLL_SECONDS": str(POLL_SECONDS),
        "IMAGE_SECRETS": " ".join(secrets),
        "IMAGE_URI": image_uri,
        **target_variables(
            env,
            pipeline=Env.of(scope),
            role_arn=target.arn_of(acting) if target is not None else None,
        ),
    }
    longest = configuration_length(Stack.of(scope), variables)
    if longest > MAX_CONFIGURATION_VALUE:
        check.fail(
            scope,
            f"{prop}: its Release action's configuration would hold up to {longest} characters "
            f"(the names of {len(watched)} alarms and {len(secrets)} image secrets); CodePipeline "
            f"allows {MAX_CONFIGURATION_VALUE} in one configuration value: deploy the services "
            "in more than one stage, or watch fewer alarms",
        )
    return waiting_action(
        name=RELEASE_ACTION,
        project=project,
        input=input,
        variables=variables,
        role=action_role,
        run_order=run_order,
    )


def configuration_length(stack: Stack, variables: Mapping[str, str]) -> int:
    """The most characters the ``EnvironmentVariables`` configuration value of a CodeBuild
    action can hold once CloudFormation resolves it (``[{"name":..,"type":"PLAINTEXT",
    "value":..},...]``): a partition counts as 10 characters, any other reference as 255 (the
    longest alarm or secret name)."""
    shape = len('{"name":"","type":"PLAINTEXT","value":""}')
    return 2 + sum(
        shape + 1 + len(name) + _length(stack.resolve(value)) for name, value in variables.items()
    )


def _length(value: object) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return len(separator) * max(len(parts) - 1, 0) + sum(_length(p) for p in parts)
    if value == {"Ref": "AWS::Partition"}:
        return len("aws-us-gov")
    return 255


def target_variables(env: Env, *, pipeline: Env, role_arn: str | None) -> dict[str, str]:
    """What ``IN_TARGET`` reads: the region, when it is not the pipeline's, and the role of
    another account to assume."""
    variables = {} if env.same_region(pipeline) else {"TARGET_REGION": env.region}
    if role_arn is not None:
        variables["TARGET_ROLE_ARN"] = role_arn
    return variables
