"""Every documented limit at the limit (accepted) and one step past it (refused, by key).

Sources: gcp-facts.md (Cloud Run "Configure CPU limits" / "Configure memory limits", Cloud Tasks
quotas and the v2 discovery documents). Expectations are written out, never taken from the
constants in settings.py, so a wrong constant fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from settings import parse_settings
from tests.conftest import problems, stack_config

NS = "task-worker:"
INT32 = 2_147_483_647


def service(**fields: Any) -> dict[str, str]:
    return problems(service=fields)


def queue(**fields: Any) -> dict[str, str]:
    return problems(queues={"q": fields})


# (fields, accepted?) pairs: the limit, then one step past it.
SERVICE_EDGES: list[tuple[dict[str, Any], str | None]] = [
    ({"concurrency": 1000}, None),
    ({"concurrency": 1001}, "concurrency"),
    ({"concurrency": 1}, None),
    ({"concurrency": 0}, "concurrency"),
    ({"timeoutSeconds": 600}, None),
    ({"timeoutSeconds": 599}, "timeoutSeconds"),
    ({"timeoutSeconds": 1800}, None),
    ({"timeoutSeconds": 1801}, "timeoutSeconds"),
    ({"minInstances": 0}, None),
    ({"minInstances": -1}, "minInstances"),
    ({"maxInstances": 1}, None),
    ({"maxInstances": 0}, "maxInstances"),
    ({"maxInstances": INT32, "minInstances": INT32}, None),
    ({"maxInstances": INT32 + 1}, "maxInstances"),
    ({"minInstances": INT32 + 1, "maxInstances": INT32}, "minInstances"),
    ({"minInstances": 3, "maxInstances": 3}, None),
    ({"minInstances": 4, "maxInstances": 3}, "maxInstances"),
    ({"cpu": "8", "memory": "4Gi"}, None),
    ({"cpu": "9", "memory": "4Gi"}, "cpu"),
    ({"cpu": "1"}, None),
    ({"cpu": "1.001"}, "cpu"),
    ({"cpu": "1000m"}, None),
    ({"cpu": "1001m"}, "cpu"),
    ({"cpu": "3"}, "cpu"),
    ({"cpu": "0.0835", "memory": "128Mi", "concurrency": 1}, "cpu"),  # finer than 0.001
    ({"cpu": "0.079", "memory": "128Mi", "concurrency": 1}, "cpu"),
    ({"cpu": "79m", "memory": "128Mi", "concurrency": 1}, "cpu"),
    ({"cpu": "83m", "memory": "128Mi", "concurrency": 1}, None),
    ({"cpu": 2, "memory": "1Gi"}, None),  # a YAML number is a CPU count too
    ({"cpu": True}, "cpu"),
    ({"cpu": "1\n"}, "cpu"),
    ({"memory": "128Mi", "cpu": "1"}, None),
    ({"memory": "127Mi", "cpu": "1"}, "memory"),
    ({"memory": "32Gi", "cpu": "8"}, None),
    ({"memory": "32769Mi", "cpu": "8"}, "memory"),
    ({"memory": "33Gi", "cpu": "8"}, "memory"),
    ({"memory": "512M"}, "memory"),
    ({"memory": "512Mi\n"}, "memory"),
    ({"image": "nginx"}, None),
    ({"image": "docker.io/library/nginx:1.27"}, None),
    ({"image": "localhost:5000/a/b@sha256:" + "a" * 64}, None),
    ({"image": "europe-docker.pkg.dev/p/repo/worker:v1.2-rc.3"}, None),
    ({"image": "Europe/Repo"}, "image"),
    ({"image": "a b"}, "image"),
    ({"image": "repo/worker:"}, "image"),
    ({"image": "repo/worker@sha256:abc"}, "image"),
    ({"image": "repo/worker\n"}, "image"),
    ({"image": "repo/worker:" + "t" * 128}, None),
    ({"image": "repo/worker:" + "t" * 129}, "image"),
    ({"env": {f"V{i}": "x" for i in range(1000)}}, None),
    ({"env": {f"V{i}": "x" for i in range(1001)}}, "env"),
    ({"env": {"A": "é" * 16384}}, None),  # 32768 bytes of UTF-8
    ({"env": {"A": "é" * 16384 + "x"}}, "env.A"),
    ({"env": {"K_SERVICE": "x"}}, "env.K_SERVICE"),
    ({"env": {"A\n": "x"}}, "env.A\n"),
    ({"executionEnvironment": "gen2", "memory": "512Mi"}, None),
    ({"executionEnvironment": "gen2", "memory": "511Mi", "cpu": "1"}, "executionEnvironment"),
    ({"executionEnvironment": "gen1", "memory": "256Mi"}, None),
    ({"executionEnvironment": "gen3"}, "executionEnvironment"),
]


@pytest.mark.parametrize(("fields", "bad"), SERVICE_EDGES, ids=[str(f)[:60] for f, _ in SERVICE_EDGES])
def test_service_limits(fields: dict[str, Any], bad: str | None) -> None:
    found = service(**fields)
    assert set(found) == ({f"{NS}service.{bad}"} if bad else set()), found


QUEUE_EDGES: list[tuple[dict[str, Any], str | None]] = [
    ({"maxDispatchesPerSecond": 500}, None),
    ({"maxDispatchesPerSecond": 500.001}, "maxDispatchesPerSecond"),
    ({"maxDispatchesPerSecond": 0.001}, None),
    ({"maxDispatchesPerSecond": 0}, "maxDispatchesPerSecond"),
    ({"maxConcurrentDispatches": 5000}, None),
    ({"maxConcurrentDispatches": 5001}, "maxConcurrentDispatches"),
    ({"maxConcurrentDispatches": 1}, None),
    ({"maxConcurrentDispatches": 0}, "maxConcurrentDispatches"),
    ({"maxAttempts": -1}, None),
    ({"maxAttempts": -2}, "maxAttempts"),
    ({"maxAttempts": 1}, None),
    ({"maxAttempts": 0}, "maxAttempts"),
    ({"maxAttempts": INT32}, None),
    ({"maxAttempts": INT32 + 1}, "maxAttempts"),
    ({"maxDoublings": 0}, None),
    ({"maxDoublings": -1}, "maxDoublings"),
    ({"maxDoublings": INT32}, None),
    ({"maxDoublings": INT32 + 1}, "maxDoublings"),
    ({"maxRetryDuration": "315576000000s"}, None),
    ({"maxRetryDuration": "315576000001s"}, "maxRetryDuration"),
    ({"maxRetryDuration": "0.123456789s"}, None),
    ({"maxRetryDuration": "0.1234567890s"}, "maxRetryDuration"),
    ({"maxRetryDuration": "10s\n"}, "maxRetryDuration"),
    ({"maxRetryDuration": "1e3s"}, "maxRetryDuration"),
    ({"minBackoff": "10s", "maxBackoff": "10s"}, None),
    ({"minBackoff": "10.5s", "maxBackoff": "10s"}, "minBackoff"),
    ({"loggingSamplingRatio": 1}, None),
    ({"loggingSamplingRatio": 1.0001}, "loggingSamplingRatio"),
    ({"loggingSamplingRatio": 0}, None),
    ({"loggingSamplingRatio": -0.0001}, "loggingSamplingRatio"),
    ({"path": "/tasks/a_b-c.d~e"}, None),
    ({"path": "/tasks\n"}, "path"),
    ({"path": "/" + "p" * 2047}, None),
    ({"path": "/" + "p" * 2048}, "path"),
    ({"paused": True}, None),
    ({"paused": "true"}, "paused"),
]


@pytest.mark.parametrize(("fields", "bad"), QUEUE_EDGES, ids=[str(f)[:60] for f, _ in QUEUE_EDGES])
def test_queue_limits(fields: dict[str, Any], bad: str | None) -> None:
    found = queue(**fields)
    assert set(found) == ({f"{NS}queues.q.{bad}"} if bad else set()), found


@pytest.mark.parametrize(
    ("ours", "bad"),
    [
        ({"queues": {"q" * 50: {}}}, None),
        ({"queues": {"q" * 51: {}}}, f"{NS}queues.{'q' * 51}"),
        ({"queues": {"q\n": {}}}, f"{NS}queues.q\n"),
        ({"queues": {"q-": {}}}, None),
        ({"labels": {f"k{i}": "v" for i in range(62)}}, None),
        ({"labels": {f"k{i}": "v" for i in range(63)}}, f"{NS}labels"),
        ({"labels": {"k" * 63: "v" * 63}}, None),
        ({"labels": {"k" * 64: "v"}}, f"{NS}labels.{'k' * 64}"),
        ({"labels": {"k": "v" * 64}}, f"{NS}labels.k"),
        ({"labels": {"k": "v\n"}}, f"{NS}labels.k"),
        ({"labels": {"stack": "x"}}, f"{NS}labels.stack"),
        ({"gcp:project": "a" * 6}, None),
        ({"gcp:project": "a" * 5}, "gcp:project"),
        ({"gcp:project": "a" * 30}, None),
        ({"gcp:project": "a" * 31}, "gcp:project"),
        ({"gcp:project": "my-project-"}, "gcp:project"),
        ({"gcp:project": "1project"}, "gcp:project"),
        ({"gcp:project": "my-project\n"}, "gcp:project"),
        ({"gcp:project": "my-google-app"}, "gcp:project"),
        ({"gcp:project": "ssl-termination"}, "gcp:project"),
        ({"gcp:project": "null-project"}, "gcp:project"),
        ({"gcp:project": "undefined-app"}, "gcp:project"),
        ({"gcp:region": "europe-west1\n"}, "gcp:region"),
        ({"location": "us-central1"}, None),
        ({"projectNumber": "1" + "0" * 18}, None),  # at most 19 digits, not starting with 0
        ({"projectNumber": "1" + "0" * 19}, f"{NS}projectNumber"),
        ({"projectNumber": "0123"}, f"{NS}projectNumber"),
    ],
)
def test_stack_limits(ours: dict[str, Any], bad: str | None) -> None:
    assert set(problems(**ours)) == ({bad} if bad else set())


def test_queue_count_limit() -> None:
    assert problems(queues={f"q{i}": {} for i in range(1000)}) == {}
    assert set(problems(queues={f"q{i}": {} for i in range(1001)})) == {f"{NS}queues"}


# --- The CPU × memory × concurrency matrix (Cloud Run's CPU and memory pages) --------------------
# (cpu, memory, concurrency, cpuIdle) -> the keys refused; () where Cloud Run accepts it.
MATRIX: list[tuple[str, str, int, bool, tuple[str, ...]]] = [
    # below 1 CPU: concurrency 1, request-based billing
    ("0.5", "512Mi", 1, True, ()),
    ("0.5", "512Mi", 2, True, ("concurrency",)),
    ("0.5", "512Mi", 1, False, ("cpuIdle",)),
    ("0.999", "1Gi", 1, True, ()),
    ("1", "1Gi", 80, False, ()),  # 1 CPU: any concurrency, either billing
    # memory ≤ 512Mi below 0.5 CPU, ≤ 1Gi below 1 CPU
    ("0.499", "512Mi", 1, True, ()),
    ("0.499", "513Mi", 1, True, ("memory",)),
    ("0.5", "513Mi", 1, True, ()),
    ("0.999", "1025Mi", 1, True, ("memory",)),
    ("1", "1025Mi", 1, True, ()),
    # CPU above 1 needs memory: 4 -> 2Gi, 6 and 8 -> 4Gi
    ("2", "128Mi", 80, True, ()),
    ("4", "2Gi", 80, True, ()),
    ("4", "2047Mi", 80, True, ("memory",)),
    ("6", "4Gi", 80, True, ()),
    ("6", "4095Mi", 80, True, ("memory",)),
    ("8", "4Gi", 80, True, ()),
    ("8", "3Gi", 80, True, ("memory",)),
    # memory above 4 / 8 / 16 / 24 Gi needs 2 / 4 / 6 / 8 CPU
    ("1", "4Gi", 80, True, ()),
    ("1", "4097Mi", 80, True, ("cpu",)),
    ("2", "4097Mi", 80, True, ()),
    ("2", "8Gi", 80, True, ()),
    ("2", "8193Mi", 80, True, ("cpu",)),
    ("4", "8193Mi", 80, True, ()),
    ("4", "16Gi", 80, True, ()),
    ("4", "16385Mi", 80, True, ("cpu",)),
    ("6", "16385Mi", 80, True, ()),
    ("6", "24Gi", 80, True, ()),
    ("6", "24577Mi", 80, True, ("cpu",)),
    ("8", "24577Mi", 80, True, ()),
    ("8", "32Gi", 80, True, ()),
    # minimum CPU per memory: 128Mi .083, 256Mi .167, 512Mi .333, 1Gi .583, 2Gi 1
    ("0.083", "128Mi", 1, True, ()),
    ("0.082", "128Mi", 1, True, ("cpu",)),
    ("0.167", "256Mi", 1, True, ()),
    ("0.166", "256Mi", 1, True, ("cpu",)),
    ("0.333", "512Mi", 1, True, ()),
    ("0.332", "512Mi", 1, True, ("cpu",)),
    ("0.583", "1Gi", 1, True, ()),
    ("0.582", "1Gi", 1, True, ("cpu",)),
    ("0.084", "129Mi", 1, True, ()),  # between rows: linear, rounded up to 0.001
    ("0.083", "129Mi", 1, True, ("cpu",)),
    ("0.572", "1000Mi", 1, True, ()),
    ("0.571", "1000Mi", 1, True, ("cpu",)),
    ("1", "2Gi", 1, True, ()),
    ("0.999", "2Gi", 1, True, ("cpu", "memory")),  # both rules, both keys
    ("0.25", "2Gi", 4, False, ("concurrency", "cpu", "cpuIdle", "memory")),
]


@pytest.mark.parametrize(("cpu", "memory", "concurrency", "cpu_idle", "bad"), MATRIX, ids=[str(m) for m in MATRIX])
def test_cpu_memory_concurrency_matrix(
    cpu: str, memory: str, concurrency: int, cpu_idle: bool, bad: tuple[str, ...]
) -> None:
    found = service(cpu=cpu, memory=memory, concurrency=concurrency, cpuIdle=cpu_idle)
    assert sorted(found) == sorted(f"{NS}service.{k}" for k in bad), found
    for key, allowed in found.items():
        # A cross-field problem names the other key's value, so the user sees both.
        if key.endswith(("concurrency", "cpuIdle")) or (key.endswith(".memory") and cpu not in ("4", "6", "8")):
            assert f"cpu {cpu.rstrip('0') if '.' in cpu else cpu}" in allowed or "cpu" in allowed
        if (key.endswith(".cpu") and bad != ("cpu",)) or key.endswith(".cpu"):
            assert memory in allowed or "CPU" in allowed


def test_cpu_is_normalized() -> None:
    for given, rendered in [("1000m", "1"), ("500m", "0.5"), (2, "2"), ("0.250", "0.25"), ("0.5", "0.5")]:
        fields: dict[str, Any] = {"cpu": given, "memory": "256Mi"}
        if rendered in ("0.5", "0.25"):
            fields["concurrency"] = 1
        settings = parse_settings(stack_config(service=fields).values, "t")
        assert settings.service.cpu == rendered


@pytest.mark.parametrize(
    ("memory", "environment", "generation"),
    [("512Mi", None, "gen2"), ("511Mi", None, "gen1"), ("256Mi", "gen1", "gen1"), ("1Gi", "gen1", "gen1")],
)
def test_execution_environment_follows_memory(memory: str, environment: str | None, generation: str) -> None:
    fields: dict[str, Any] = {"memory": memory}
    if environment:
        fields["executionEnvironment"] = environment
    assert parse_settings(stack_config(service=fields).values, "t").service.generation == generation


def test_cross_field_message_names_both_keys() -> None:
    found = service(cpu="4", memory="1Gi")
    assert found == {f"{NS}service.memory": "expected ≥ 2Gi with cpu 4"}
    found = service(cpu="1", memory="8Gi")
    assert found == {f"{NS}service.cpu": 'expected ≥ "4" with memory 8Gi (above 4Gi)'} or set(found) == {
        f"{NS}service.cpu"
    }


@pytest.mark.parametrize(
    ("members", "bad"),
    [
        (["user:a.b@example.org", "user:a-b@example.org"], f"{NS}enqueuers[1]"),  # same resource names
        (["user:A@example.org", "user:a@example.org"], f"{NS}enqueuers[1]"),
        (["domain:example.org"], None),
        (["principal://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/subject/s"], None),
        (["principal:alice"], f"{NS}enqueuers[0]"),
        (["serviceAccount:a@p.iam.gserviceaccount.com\n"], f"{NS}enqueuers[0]"),
        (["serviceAccount: a@p.iam.gserviceaccount.com"], f"{NS}enqueuers[0]"),
        (["group:team"], f"{NS}enqueuers[0]"),
        ([{"serviceAccount": "a@p.iam.gserviceaccount.com"}], f"{NS}enqueuers[0]"),
        (["allAuthenticatedUsers"], f"{NS}enqueuers[0]"),
    ],
)
def test_enqueuer_members(members: list[Any], bad: str | None) -> None:
    assert set(problems(enqueuers=members)) == ({bad} if bad else set())
