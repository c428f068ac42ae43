"""Shared fixtures: the program run offline through the one harness."""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, settings

from settings import SettingsError, parse_settings
from tools.harness import Run, StackConfig, run_program

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


def problems(**ours: Any) -> dict[str, str]:
    """{key: allowed} of every problem the config has ({} when it is accepted)."""
    try:
        parse_settings(stack_config(**ours).values, "test")
    except SettingsError as err:
        return {p.key: p.allowed for p in err.problems}
    return {}


def run_ok(config: StackConfig) -> Run:
    run = run_program(config)
    assert run.error is None, run.error
    return run


# --- the tests' own stacks ------------------------------------------------------------
# Two configs written here, not read from Pulumi.<stack>.yaml: those files are the user's to
# edit, and tests that took their expectations from them broke on the first real edit.
# `small` is one cheap queue and no deletion protection; `full` sets every service field and
# has two queues and two kinds of enqueuer.

SMALL_PROJECT = "acme-tasks-small"
FULL_PROJECT = "acme-tasks-full"
SMALL_ENQUEUERS = ["serviceAccount:producer@acme-tasks-small.iam.gserviceaccount.com"]
FULL_ENQUEUERS = [
    "serviceAccount:orders-api@acme-tasks-full.iam.gserviceaccount.com",
    "group:task-producers@acme.test",
]

SMALL: dict[str, Any] = {
    "gcp:project": SMALL_PROJECT,
    "deletionProtection": False,
    "service": {"maxInstances": 2, "concurrency": 10, "memory": "512Mi", "env": {"LOG_LEVEL": "debug"}},
    "queues": {
        "default": {
            "path": "/tasks",
            "maxDispatchesPerSecond": 1,
            "maxConcurrentDispatches": 5,
            "maxAttempts": 5,
            "minBackoff": "1s",
            "maxBackoff": "60s",
            "maxDoublings": 3,
            "maxRetryDuration": "3600s",
            "loggingSamplingRatio": 1.0,
        }
    },
    "enqueuers": SMALL_ENQUEUERS,
    "labels": {"env": "small"},
}

FULL: dict[str, Any] = {
    "gcp:project": FULL_PROJECT,
    "deletionProtection": True,
    "service": {
        "image": "us-docker.pkg.dev/cloudrun/container/hello",
        "minInstances": 1,
        "maxInstances": 20,
        "concurrency": 50,
        "timeoutSeconds": 900,
        "cpu": "2",
        "memory": "1Gi",
        "env": {"LOG_LEVEL": "info"},
    },
    "queues": {
        "default": {
            "path": "/tasks",
            "maxDispatchesPerSecond": 50,
            "maxConcurrentDispatches": 500,
            "maxAttempts": 20,
            "minBackoff": "1s",
            "maxBackoff": "300s",
            "maxDoublings": 5,
            "maxRetryDuration": "86400s",
            "loggingSamplingRatio": 0.1,
        },
        "bulk": {
            "path": "/tasks/bulk",
            "maxDispatchesPerSecond": 5,
            "maxConcurrentDispatches": 100,
            "maxAttempts": -1,
            "minBackoff": "10s",
            "maxBackoff": "3600s",
            "maxDoublings": 8,
            "maxRetryDuration": "0s",
            "loggingSamplingRatio": 0.05,
        },
    },
    "enqueuers": FULL_ENQUEUERS,
    "labels": {"env": "full", "team": "platform"},
}


def small_config(stack: str = "small", **changes: Any) -> StackConfig:
    return stack_config(stack, **{**SMALL, **changes})


def full_config(stack: str = "full", **changes: Any) -> StackConfig:
    return stack_config(stack, **{**FULL, **changes})


def stack_file_text(**ours: Any) -> str:
    """A Pulumi.<stack>.yaml holding this config, as a user would write it."""
    config = {"gcp:project": BASE["gcp:project"], "gcp:region": BASE["gcp:region"]}
    config |= {key if ":" in key else f"task-worker:{key}": value for key, value in ours.items()}
    return yaml.safe_dump({"config": config}, sort_keys=False)


@pytest.fixture(scope="session")
def small() -> Run:
    return run_ok(small_config())


@pytest.fixture(scope="session")
def full() -> Run:
    return run_ok(full_config())


@pytest.fixture(scope="session", params=["small", "full"])
def stack_run(request: pytest.FixtureRequest, small: Run, full: Run) -> Run:
    return {"small": small, "full": full}[request.param]


@pytest.fixture(autouse=True)
def _collector_back_on() -> Iterator[None]:
    """tools.plan leaves the cyclic collector off (a plan's process ends with the run); a test
    session runs many plans in one process, so switch it back on after each test."""
    yield
    gc.enable()
