"""Whole-template snapshots of every ObservedService scenario.

A snapshot says what the template is; the assertions in test_observed_service.py say why it must be
so. Review every snapshot diff: a changed logical ID of a stateful resource (log group, bucket, key, topic)
replaces it in every user's stack."""

from harness.scenarios import snapshot_test

test_template = snapshot_test("observed_service")
