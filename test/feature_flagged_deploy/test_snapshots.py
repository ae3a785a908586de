"""Whole-template snapshots of every FeatureFlaggedDeploy scenario.

A snapshot says what the template is; the assertions in test_feature_flagged_deploy.py say why it must be
so. Review every snapshot diff: a changed logical ID of a stateful resource (application, environments, profile)
replaces it in every user's stack."""

from harness.scenarios import snapshot_test

test_template = snapshot_test("feature_flagged_deploy")
