"""Whole-template snapshots of every ExpressService scenario; the assertions in
test_express_service.py say why each part must be so."""

from harness.scenarios import snapshot_test

test_template = snapshot_test("express_service")
