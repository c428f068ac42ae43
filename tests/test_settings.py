"""Every bad value is refused by its full key, before any resource is declared."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from settings import (
    CLOUD_TASKS_LOCATIONS,
    QUEUE_DEFAULTS,
    SERVICE_DEFAULTS,
    SettingsError,
    parse_settings,
)
from tests.conftest import stack_config
from tools.harness import run_program

Q = "task-worker:queues.q"

# (config overrides, the full key the message must name)
BAD: list[tuple[dict[str, Any], str]] = [
    ({"gcp:project": None}, "gcp:project"),
    ({"gcp:project": "Bad_Project"}, "gcp:project"),
    ({"gcp:region": None}, "gcp:region"),
    ({"gcp:region": "europe-west4"}, "gcp:region"),  # Cloud Run has it, Cloud Tasks does not
    ({"location": "mars-east1"}, "task-worker:location"),
    ({"deletionProtecton": False}, "task-worker:deletionProtecton"),  # a typo is not a default
    ({"service": "big"}, "task-worker:service"),
    ({"service": {"image": ""}}, "task-worker:service.image"),
    ({"service": {"image": "has space"}}, "task-worker:service.image"),
    ({"service": {"minInstances": -1}}, "task-worker:service.minInstances"),
    ({"service": {"maxInstances": 0}}, "task-worker:service.maxInstances"),
    ({"service": {"minInstances": 5, "maxInstances": 2}}, "task-worker:service.maxInstances"),
    ({"service": {"concurrency": 0}}, "task-worker:service.concurrency"),
    ({"service": {"concurrency": 1001}}, "task-worker:service.concurrency"),
    ({"service": {"concurrency": "80"}}, "task-worker:service.concurrency"),
    ({"service": {"concurrency": True}}, "task-worker:service.concurrency"),
    ({"service": {"concurrency": 2.5}}, "task-worker:service.concurrency"),
    ({"service": {"timeoutSeconds": 599}}, "task-worker:service.timeoutSeconds"),
    ({"service": {"timeoutSeconds": 1801}}, "task-worker:service.timeoutSeconds"),
    ({"service": {"cpu": "9"}}, "task-worker:service.cpu"),
    ({"service": {"cpu": "lots"}}, "task-worker:service.cpu"),
    ({"service": {"memory": "64Mi"}}, "task-worker:service.memory"),
    ({"service": {"memory": "1TB"}}, "task-worker:service.memory"),
    ({"service": {"env": {"PORT": "8080"}}}, "task-worker:service.env.PORT"),
    ({"service": {"env": {"1X": "a"}}}, "task-worker:service.env.1X"),
    ({"service": {"env": {"A": 5}}}, "task-worker:service.env.A"),
    ({"service": {"env": ["A=1"]}}, "task-worker:service.env"),
    ({"service": {"ingress": "all"}}, "task-worker:service.ingress"),
    ({"service": {"ingress": "INGRESS_TRAFFIC_ALL"}}, "task-worker:service.ingress"),
    ({"service": {"replicas": 3}}, "task-worker:service.replicas"),
    ({"queues": {}}, "task-worker:queues"),
    ({"queues": ["default"]}, "task-worker:queues"),
    ({"queues": {"Bad_Key": {}}}, "task-worker:queues.Bad_Key"),
    ({"queues": {"q": "fast"}}, Q),
    ({"queues": {"q": {"path": "tasks"}}}, f"{Q}.path"),
    ({"queues": {"q": {"path": "/a b"}}}, f"{Q}.path"),
    ({"queues": {"q": {"maxDispatchesPerSecond": 0}}}, f"{Q}.maxDispatchesPerSecond"),
    ({"queues": {"q": {"maxDispatchesPerSecond": 501}}}, f"{Q}.maxDispatchesPerSecond"),
    ({"queues": {"q": {"maxDispatchesPerSecond": "fast"}}}, f"{Q}.maxDispatchesPerSecond"),
    ({"queues": {"q": {"maxConcurrentDispatches": 0}}}, f"{Q}.maxConcurrentDispatches"),
    ({"queues": {"q": {"maxConcurrentDispatches": 5001}}}, f"{Q}.maxConcurrentDispatches"),
    ({"queues": {"q": {"maxConcurrentDispatches": 1.5}}}, f"{Q}.maxConcurrentDispatches"),
    ({"queues": {"q": {"maxAttempts": 0}}}, f"{Q}.maxAttempts"),
    ({"queues": {"q": {"maxAttempts": -2}}}, f"{Q}.maxAttempts"),
    ({"queues": {"q": {"minBackoff": "10"}}}, f"{Q}.minBackoff"),
    ({"queues": {"q": {"minBackoff": "10m"}}}, f"{Q}.minBackoff"),
    ({"queues": {"q": {"minBackoff": 10}}}, f"{Q}.minBackoff"),
    ({"queues": {"q": {"maxBackoff": "-1s"}}}, f"{Q}.maxBackoff"),
    ({"queues": {"q": {"maxRetryDuration": "1h"}}}, f"{Q}.maxRetryDuration"),
    ({"queues": {"q": {"minBackoff": "100s", "maxBackoff": "10s"}}}, f"{Q}.minBackoff"),
    ({"queues": {"q": {"maxDoublings": -1}}}, f"{Q}.maxDoublings"),
    ({"queues": {"q": {"loggingSamplingRatio": 1.5}}}, f"{Q}.loggingSamplingRatio"),
    ({"queues": {"q": {"loggingSamplingRatio": -0.1}}}, f"{Q}.loggingSamplingRatio"),
    ({"queues": {"q": {"paused": "yes"}}}, f"{Q}.paused"),
    ({"queues": {"q": {"maxBurstSize": 100}}}, f"{Q}.maxBurstSize"),  # output-only in Cloud Tasks
    ({"enqueuers": "allUsers"}, "task-worker:enqueuers"),
    ({"enqueuers": ["allUsers"]}, "task-worker:enqueuers[0]"),
    ({"enqueuers": ["user:a@example.com", "allAuthenticatedUsers"]}, "task-worker:enqueuers[1]"),
    ({"enqueuers": ["bob@example.com"]}, "task-worker:enqueuers[0]"),
    ({"enqueuers": ["user:bob"]}, "task-worker:enqueuers[0]"),
    ({"enqueuers": ["user:a@example.com", "user:a@example.com"]}, "task-worker:enqueuers[1]"),
    ({"deletionProtection": "maybe"}, "task-worker:deletionProtection"),
    ({"labels": {"Env": "x"}}, "task-worker:labels.Env"),
    ({"labels": {"env": "Prod"}}, "task-worker:labels.env"),
    ({"labels": {"managed-by": "me"}}, "task-worker:labels.managed-by"),
    ({"labels": ["env"]}, "task-worker:labels"),
]


@pytest.mark.parametrize(("overrides", "key"), BAD, ids=[f"{k}={o}"[:70] for o, k in BAD])
def test_bad_value_refused_by_key_before_any_resource(overrides: dict[str, Any], key: str) -> None:
    run = run_program(stack_config(**overrides))
    assert isinstance(run.error, pulumi.RunError)  # reported by Pulumi without a traceback
    assert f"  - {key}: " in str(run.error)
    assert run.resources == []


def test_message_names_value_and_what_is_allowed() -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings(
            stack_config(queues={"bulk": {"maxDispatchesPerSecond": 900}}).values,
            "test",
        )
    (problem,) = caught.value.problems
    assert problem.key == "task-worker:queues.bulk.maxDispatchesPerSecond"
    assert problem.value == "900"
    assert "≤ 500" in problem.allowed


def test_all_problems_at_once() -> None:
    region: dict[str, Any] = {"gcp:region": "nowhere"}
    config = stack_config(
        **region,
        service={"concurrency": 0, "ingress": "all"},
        queues={"a": {"maxAttempts": 0}, "b": {"loggingSamplingRatio": 2}},
        enqueuers=["allUsers"],
        typo=1,
    )
    with pytest.raises(SettingsError) as caught:
        parse_settings(config.values, "test")
    assert sorted(p.key for p in caught.value.problems) == [
        "gcp:region",
        "task-worker:enqueuers[0]",
        "task-worker:queues.a.maxAttempts",
        "task-worker:queues.b.loggingSamplingRatio",
        "task-worker:service.concurrency",
        "task-worker:service.ingress",
        "task-worker:typo",
    ]


def test_secret_values_are_not_echoed() -> None:
    config = stack_config(
        service={"env": {"TOKEN": 12345}},
        secret_keys=frozenset({"task-worker:service"}),
    )
    with pytest.raises(SettingsError) as caught:
        parse_settings(config.values, "test", config.secret_keys)
    assert "12345" not in str(caught.value)
    assert "[secret]" in str(caught.value)


def test_defaults() -> None:
    settings = parse_settings(stack_config().values, "test")
    assert settings.service == SERVICE_DEFAULTS
    assert settings.queues == (QUEUE_DEFAULTS,)
    assert settings.enqueuers == ()
    assert settings.deletion_protection is True
    assert dict(settings.labels) == {}
    assert settings.location == "europe-west1"


def test_queue_fields_left_out_take_defaults() -> None:
    settings = parse_settings(stack_config(queues={"bulk": {"maxDispatchesPerSecond": 2}}).values, "test")
    (queue,) = settings.queues
    assert queue.max_dispatches_per_second == 2
    assert queue.max_attempts == QUEUE_DEFAULTS.max_attempts
    assert queue.min_backoff == QUEUE_DEFAULTS.min_backoff
    assert queue.path == "/"


def test_accepted_edge_values() -> None:
    settings = parse_settings(
        stack_config(
            service={
                "minInstances": 3,
                "maxInstances": 3,
                "concurrency": 1000,
                "timeoutSeconds": 1800,
                "cpu": 4,
                "memory": "2Gi",
            },
            queues={
                "q": {
                    "maxDispatchesPerSecond": 500,
                    "maxConcurrentDispatches": 5000,
                    "maxAttempts": -1,
                    "minBackoff": "0.5s",
                    "maxBackoff": "0.5s",
                    "loggingSamplingRatio": 0,
                }
            },
            enqueuers=["principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/*"],
        ).values,
        "test",
    )
    assert settings.service.cpu == "4"
    assert settings.queues[0].max_attempts == -1


def test_settings_are_immutable() -> None:
    settings = parse_settings(stack_config(service={"env": {"A": "1"}}).values, "test")
    with pytest.raises(AttributeError):
        settings.project = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        settings.service.env["B"] = "2"  # type: ignore[index]


def test_location_list_is_where_cloud_tasks_runs() -> None:
    # Cloud Run regions without Cloud Tasks must be refused (gcp-facts.md).
    assert {"europe-west4", "europe-north1"}.isdisjoint(CLOUD_TASKS_LOCATIONS)
    assert {"us-central1", "europe-west1", "asia-southeast1"} <= CLOUD_TASKS_LOCATIONS
