"""The encrypted SNS topic that carries alarms and pipeline events to people."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from ._encryption import allow_services_to_publish


def encrypted_topic(
    scope: Construct,
    id: str,
    *,
    key: kms.IKey,
    emails: Sequence[str],
    publishers: Iterable[str],
    display_name: str,
) -> sns.Topic:
    """An SSL-only topic encrypted with a customer-managed ``key``.

    ``publishers`` are the service principals that send to it (CloudWatch for alarms,
    EventBridge for events): the AWS-managed ``aws/sns`` key cannot grant them, which is why the
    key is customer-managed. Each address in ``emails`` gets a subscription (the owner of the
    address must confirm it once).
    """
    topic = sns.Topic(
        scope,
        id,
        display_name=display_name[:100],
        master_key=key,
        enforce_ssl=True,
    )
    allow_services_to_publish(key, publishers)
    subscribe_emails(topic, emails)
    return topic


def subscribe_emails(topic: sns.ITopic, emails: Sequence[str]) -> None:
    """One email subscription per address; each owner confirms it once."""
    for address in emails:
        topic.add_subscription(subscriptions.EmailSubscription(address))
