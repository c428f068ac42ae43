"""task-worker's security policy pack; `policy.rules` holds the rules as plain functions."""
