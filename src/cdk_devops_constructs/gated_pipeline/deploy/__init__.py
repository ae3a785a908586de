"""How a deploy stage changes its targets: one module per deploy method (the ECS standard
deploy action, Express Mode, CodeDeploy's ECS blue/green action, CloudFormation change sets)."""
