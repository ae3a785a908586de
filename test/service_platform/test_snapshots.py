"""Whole-template snapshots of the platform scenarios; test_platform.py says why each part must be
so."""

from harness.scenarios import snapshot_test

test_template = snapshot_test("service_platform")
