"""Incident response: from a failing health signal to a tracked, routed incident with a runbook.

``Incidents`` says what happens when a service's health signal goes into ALARM (an OpsCenter
OpsItem, the team's chat channels, a paging tool, a CloudWatch investigation) and when it
returns to OK; every service kind applies it through ``ServiceBase._respond_to_incidents``, and
``GatedPipeline`` posts its failures and waiting approvals to the same chat channels.
"""

from .settings import Incidents, OpsItem, PagingEndpoint, SlackChannel, TeamsChannel

__all__ = ["Incidents", "OpsItem", "PagingEndpoint", "SlackChannel", "TeamsChannel"]
