"""Test harness shared by every construct's tests: fixed-environment apps, template snapshots
with volatile values scrubbed, and the compliance checks (cdk-nag, cfn-lint, checkov)."""
