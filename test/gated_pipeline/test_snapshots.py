"""Whole-template snapshots of every GatedPipeline scenario.

A snapshot says what the template is; the assertions in test_gated_pipeline.py say why it must be
so. Review every snapshot diff: a changed logical ID of a stateful resource (artifact bucket, repository, log groups, key)
replaces it in every user's stack."""

from harness.scenarios import snapshot_test

test_template = snapshot_test("gated_pipeline")
