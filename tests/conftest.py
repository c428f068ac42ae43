"""Shared fixtures: the program run offline through the one harness."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from tools.harness import Run, StackConfig, run_program, run_stack

# Property tests: CI (CI=true, as GitHub Actions sets it) runs the full profile; the quick loop
# (pytest, .ci/run on a workstation) a tenth of the examples. Tests scale from max_examples.
_SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile("ci", max_examples=100, deadline=None, suppress_health_check=_SLOW, derandomize=True)
settings.register_profile("quick", max_examples=10, deadline=None, suppress_health_check=_SLOW)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "quick")

BASE = {"gcp:project": "test-project", "gcp:region": "europe-west1"}


def stack_config(stack: str = "test", secret_keys: frozenset[str] = frozenset(), **ours: Any) -> StackConfig:
    """A config as the engine passes it: our keys under `task-worker:`, objects as JSON."""
    values = dict(BASE)
    for key, value in ours.items():
        full = key if ":" in key else f"task-worker:{key}"
        if value is None:
            values.pop(full, None)
        else:
            values[full] = value if isinstance(value, str) else json.dumps(value)
    return StackConfig(stack, values, secret_keys)


def run_ok(config: StackConfig) -> Run:
    run = run_program(config)
    assert run.error is None, run.error
    return run


@pytest.fixture(scope="session")
def dev() -> Run:
    run = run_stack("dev")
    assert run.error is None, run.error
    return run


@pytest.fixture(scope="session")
def prod() -> Run:
    run = run_stack("prod")
    assert run.error is None, run.error
    return run


@pytest.fixture(scope="session", params=["dev", "prod"])
def stack_run(request: pytest.FixtureRequest, dev: Run, prod: Run) -> Run:
    return {"dev": dev, "prod": prod}[request.param]
