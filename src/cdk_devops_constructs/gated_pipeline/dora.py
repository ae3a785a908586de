"""Delivery metrics (DORA) computed from the pipeline's own EventBridge events.

Every "CodePipeline Pipeline Execution State Change" and "CodePipeline Stage Execution State
Change" event of the pipeline is stored in a log group (see ``events.py``); the dashboard's
CloudWatch Logs Insights widgets fold each execution's events into one row (first and last event
time, first and last state, what triggered it) and compute:

- **Deployment frequency**: standard executions that succeeded, per day. An execution succeeds
  only after its last stage (production) completed, so each one is a production deployment.
- **Lead time for changes**: for those executions, SUCCEEDED time minus STARTED time. The time
  from the commit to the pipeline start (seconds with a connection trigger) is not included.
- **Change failure rate**: failed standard executions / (failed + succeeded) standard
  executions, in percent. A rolled-back execution counts as failed: CodePipeline marks it
  Failed and rolls back in a separate execution. Executions that failed in Build (tests, image)
  before reaching any environment are counted too, so this over-counts DORA's production-only
  rate; the "Failures by stage" table shows where they failed.
- **Time to restore service**: mean duration of rollback executions (trigger AutomatedRollback
  or ManualRollback) that succeeded: the time CodePipeline took to put the last good version
  back. Not included: the time before a manual rollback is started, and restores by a new
  commit (roll-forward), which count as ordinary deployments.

Standard executions are those whose first event is STARTED and whose trigger is not a rollback;
an execution that started before the dashboard's time range is left out. Executions superseded or
stopped are neither successes nor failures.
"""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_logs as logs
from constructs import Construct

PIPELINE_EVENT = "CodePipeline Pipeline Execution State Change"
STAGE_EVENT = "CodePipeline Stage Execution State Change"
# The dashboard opens on the last 30 days: DORA metrics are read over weeks, not hours.
DEFAULT_RANGE = "-P30D"

# One command per line: LogQueryWidget joins the lines with "| ". Written in the forms the
# Logs Insights documentation shows for two stats commands ("Use multiple stats commands in a
# single query"): "max(@timestamp) as @t" in the first, which the second may group with
# dateceil(@t, ...), and only fields the first defines in the second. The duration is a number
# computed in the first stats (from toMillis), so the second never subtracts timestamps.
_EXECUTIONS = (
    f'filter `detail-type` = "{PIPELINE_EVENT}"',
    "fields toMillis(@timestamp) as atMs",
    "stats max(@timestamp) as @t, max(atMs) - min(atMs) as durationMs,"
    " earliest(detail.state) as firstState, latest(detail.state) as finalState,"
    " earliest(`detail.execution-trigger.trigger-type`) as trigger"
    " by `detail.execution-id`",
)
_IS_ROLLBACK = 'strcontains(coalesce(trigger, "-"), "Rollback")'
_STANDARD = f'filter firstState = "STARTED" and {_IS_ROLLBACK} = 0'
_ROLLBACKS = f'filter firstState = "STARTED" and {_IS_ROLLBACK} = 1'

DEPLOYMENT_FREQUENCY = (
    *_EXECUTIONS,
    _STANDARD,
    'filter finalState = "SUCCEEDED"',
    "stats count(*) as deployments by dateceil(@t, 1d)",
)
LEAD_TIME = (
    *_EXECUTIONS,
    _STANDARD,
    'filter finalState = "SUCCEEDED"',
    "stats count(*) as deployments,"
    " avg(durationMs) / 60000 as meanLeadTimeMinutes,"
    " pct(durationMs, 50) / 60000 as p50LeadTimeMinutes,"
    " pct(durationMs, 90) / 60000 as p90LeadTimeMinutes",
)
CHANGE_FAILURE_RATE = (
    *_EXECUTIONS,
    _STANDARD,
    'filter finalState = "SUCCEEDED" or finalState = "FAILED"',
    "stats count(*) as finishedExecutions,"
    ' sum(strcontains(finalState, "FAILED")) as failedExecutions,'
    ' 100 * sum(strcontains(finalState, "FAILED")) / count(*) as changeFailureRatePercent',
)
TIME_TO_RESTORE = (
    *_EXECUTIONS,
    _ROLLBACKS,
    'filter finalState = "SUCCEEDED"',
    "stats count(*) as restores,"
    " avg(durationMs) / 60000 as meanTimeToRestoreMinutes,"
    " max(durationMs) / 60000 as maxTimeToRestoreMinutes",
)
FAILURES_BY_STAGE = (
    f'filter `detail-type` = "{STAGE_EVENT}" and detail.state = "FAILED"',
    "stats count(*) as failures by detail.stage",
    "sort failures desc",
)
RECENT_EXECUTIONS = (
    *_EXECUTIONS,
    "sort @t desc",
    "limit 50",
)

DEFINITIONS = """\
## Delivery metrics (DORA) of {name}
Computed from this pipeline's EventBridge events (log group `{log_group}`).
* **Deployment frequency**: standard executions that succeeded (every stage, production \
last), per day.
* **Lead time**: SUCCEEDED minus STARTED of those executions (commit-to-start latency excluded).
* **Change failure rate**: failed / (failed + succeeded) standard executions; rolled-back \
executions count as failed; failures in Build are included (see *Failures by stage*).
* **Time to restore**: duration of successful rollback executions (automatic or manual).
"""


def build_dashboard(
    scope: Construct, id: str, *, pipeline_name: str, log_group: logs.ILogGroup
) -> cloudwatch.Dashboard:
    """The DORA dashboard: definitions, the four metrics, failures by stage, recent executions."""
    names = [log_group.log_group_name]

    def query(
        title: str, lines: tuple[str, ...], view: cloudwatch.LogQueryVisualizationType, width: int
    ) -> cloudwatch.LogQueryWidget:
        return cloudwatch.LogQueryWidget(
            title=title,
            log_group_names=names,
            query_lines=list(lines),
            view=view,
            width=width,
            height=6,
        )

    table = cloudwatch.LogQueryVisualizationType.TABLE
    return cloudwatch.Dashboard(
        scope,
        id,
        start=DEFAULT_RANGE,
        widgets=[
            [
                cloudwatch.TextWidget(
                    markdown=DEFINITIONS.format(
                        name=pipeline_name, log_group=log_group.log_group_name
                    ),
                    width=24,
                    height=4,
                )
            ],
            [
                query(
                    "Deployment frequency (per day)",
                    DEPLOYMENT_FREQUENCY,
                    cloudwatch.LogQueryVisualizationType.BAR,
                    12,
                ),
                query("Lead time for changes", LEAD_TIME, table, 12),
            ],
            [
                query("Change failure rate", CHANGE_FAILURE_RATE, table, 12),
                query("Time to restore service", TIME_TO_RESTORE, table, 12),
            ],
            [
                query("Failures by stage", FAILURES_BY_STAGE, table, 8),
                query("Recent executions", RECENT_EXECUTIONS, table, 16),
            ],
        ],
    )
