"""The settings' checks with their exact messages, and the values they normalize.

Each case writes out the whole problem (key, value as shown, what is allowed), so a check that
fires with another message, or a neighbour check firing instead, fails here. Expectations are
never taken from the constants in settings.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from settings import SettingsError, cpu_millis, memory_mib, min_cpu_millis, parse_settings, stack_label
from tests.conftest import stack_config

PUBLIC = "public members are refused: only named identities may enqueue"
CPU = 'expected "0.08" to "1" in steps of 0.001 (or millicores, "80m"–"1000m"), or "2", "4", "6", "8"'
MEMORY = 'expected "128Mi" to "32Gi" ("<n>Mi" or "<n>Gi")'
MEMBER = "expected an IAM member: serviceAccount:…, group:…, user:…, domain:…, principal://…, principalSet://…"
EMAIL_AFTER = "expected an email after {}:, e.g. serviceAccount:name@project.iam.gserviceaccount.com"
DURATION = 'expected a duration in seconds with an "s" suffix, e.g. "10s" or "0.5s", at most 315576000000s'


def problems(**ours: Any) -> list[tuple[str, str, str]]:
    try:
        parse_settings(stack_config(**ours).values, "test")
    except SettingsError as err:
        return [(p.key, p.value, p.allowed) for p in err.problems]
    return []


def cpu_of(cpu: Any, **service: Any) -> str:
    return parse_settings(stack_config(service={"cpu": cpu, **service}).values, "test").service.cpu


@pytest.mark.parametrize(
    ("ours", "expected"),
    [
        ({"service": {"cpu": [1]}}, [("task-worker:service.cpu", "[1]", CPU)]),
        ({"service": {"cpu": None}}, [("task-worker:service.cpu", "null", CPU)]),
        ({"service": {"cpu": "1.5"}}, [("task-worker:service.cpu", "'1.5'", CPU)]),
        ({"service": {"cpu": "0.0795", "concurrency": 1}}, [("task-worker:service.cpu", "'0.0795'", CPU)]),
        ({"service": {"cpu": "3000m"}}, [("task-worker:service.cpu", "'3000m'", CPU)]),
        # 0.08 is a CPU Cloud Run's CPU page allows, but 128Mi (the least memory) needs 0.083: the
        # CPU passes its own check and the memory table refuses it.
        (
            {"service": {"cpu": "0.08", "memory": "128Mi", "concurrency": 1}},
            [
                (
                    "task-worker:service.cpu",
                    "'0.08'",
                    "expected ≥ 0.083 with memory 128Mi (Cloud Run's minimum CPU per memory)",
                )
            ],
        ),
        ({"service": {"memory": "0Mi"}}, [("task-worker:service.memory", "'0Mi'", MEMORY)]),
        ({"service": {"memory": "1Ti"}}, [("task-worker:service.memory", "'1Ti'", MEMORY)]),
        ({"service": {"memory": "33Gi", "cpu": "8"}}, [("task-worker:service.memory", "'33Gi'", MEMORY)]),
        ({"service": {"memory": "127Mi"}}, [("task-worker:service.memory", "'127Mi'", MEMORY)]),
        (
            {"service": {"env": {"PORT": "1"}}},
            [("task-worker:service.env.PORT", "'PORT'", "Cloud Run sets PORT itself: use another name")],
        ),
        (
            {"service": {"env": {"A": "x" * 32769}}},
            [("task-worker:service.env.A", "'" + "x" * 76 + "...", "expected at most 32768 bytes (it has 32769)")],
        ),
        (
            {"labels": {"stack": "x"}},
            [("task-worker:labels.stack", "'stack'", "set by the stack itself (managed-by, stack)")],
        ),
        (
            {"labels": {"managed-by": "x"}},
            [("task-worker:labels.managed-by", "'managed-by'", "set by the stack itself (managed-by, stack)")],
        ),
        (
            {"queues": {"q": {"maxRetryDuration": "315576000001s"}}},
            [("task-worker:queues.q.maxRetryDuration", "'315576000001s'", DURATION)],
        ),
        (
            {"queues": {"q": {"maxBackoff": "999999999999.5s"}}},
            [("task-worker:queues.q.maxBackoff", "'999999999999.5s'", DURATION)],
        ),
        (
            {"gcp:project": "my-google-proj"},
            [("gcp:project", "'my-google-proj'", 'a project ID may not contain "google"')],
        ),
        ({"gcp:project": "nullproject"}, [("gcp:project", "'nullproject'", 'a project ID may not contain "null"')]),
        ({"gcp:project": "acme-ssl-1"}, [("gcp:project", "'acme-ssl-1'", 'a project ID may not contain "ssl"')]),
        (
            {"enqueuers": ["allUsers"]},
            [("task-worker:enqueuers[0]", "'allUsers'", PUBLIC)],
        ),
        (
            {"enqueuers": ["allAuthenticatedUsers"]},
            [("task-worker:enqueuers[0]", "'allAuthenticatedUsers'", PUBLIC)],
        ),
        ({"enqueuers": ["bob@x.com"]}, [("task-worker:enqueuers[0]", "'bob@x.com'", MEMBER)]),
        ({"enqueuers": [" user:a@b.co"]}, [("task-worker:enqueuers[0]", "' user:a@b.co'", MEMBER)]),
        ({"enqueuers": ["user:a@b.co "]}, [("task-worker:enqueuers[0]", "'user:a@b.co '", MEMBER)]),
        ({"enqueuers": ["user:bob"]}, [("task-worker:enqueuers[0]", "'user:bob'", EMAIL_AFTER.format("user"))]),
        ({"enqueuers": ["group:team"]}, [("task-worker:enqueuers[0]", "'group:team'", EMAIL_AFTER.format("group"))]),
        (
            {"enqueuers": ["serviceAccount:a:b@x.com"]},
            [("task-worker:enqueuers[0]", "'serviceAccount:a:b@x.com'", EMAIL_AFTER.format("serviceAccount"))],
        ),
        (
            {"enqueuers": ["domain:Example"]},
            [("task-worker:enqueuers[0]", "'domain:Example'", "expected a domain after domain:")],
        ),
        (
            {"enqueuers": ["principal://x"]},
            [("task-worker:enqueuers[0]", "'principal://x'", "expected principal://iam.googleapis.com/…")],
        ),
        (
            {"enqueuers": ["principalSet://x"]},
            [("task-worker:enqueuers[0]", "'principalSet://x'", "expected principalSet://iam.googleapis.com/…")],
        ),
    ],
    ids=lambda v: str(v)[:50] if isinstance(v, dict) else "",
)
def test_exact_problem(ours: dict[str, Any], expected: list[tuple[str, str, str]]) -> None:
    assert problems(**ours) == expected


@pytest.mark.parametrize(
    "members",
    [
        ["domain:example.com", "principal://iam.googleapis.com/projects/1/x"],
        ["principalSet://iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/*"],
        ["serviceAccount:a@p.iam.gserviceaccount.com", "group:g@acme.test", "user:u@acme.test"],
    ],
)
def test_members_accepted(members: list[str]) -> None:
    assert problems(enqueuers=members) == []


@pytest.mark.parametrize(
    ("cpu", "service", "normalized"),
    [
        (0.5, {"concurrency": 1}, "0.5"),
        ("500m", {"concurrency": 1}, "0.5"),
        ("83m", {"concurrency": 1, "memory": "128Mi"}, "0.083"),
        ("0.25", {"concurrency": 1, "memory": "256Mi"}, "0.25"),
        ("0.083", {"concurrency": 1, "memory": "128Mi"}, "0.083"),
        ("1.000", {}, "1"),
        ("1000m", {}, "1"),
        (1, {}, "1"),
        ("2000m", {"memory": "1Gi"}, "2"),
        ("2.0", {"memory": "1Gi"}, "2"),
        (4, {"memory": "2Gi"}, "4"),
    ],
)
def test_cpu_normalized(cpu: Any, service: dict[str, Any], normalized: str) -> None:
    assert cpu_of(cpu, **service) == normalized


def test_helpers_at_their_edges() -> None:
    assert [cpu_millis(c) for c in ("0.08", "0.5", "0.583", "1", "2", "8")] == [80, 500, 583, 1000, 2000, 8000]
    assert [memory_mib(m) for m in ("128Mi", "1Gi", "2Gi", "32Gi", "1000Mi")] == [128, 1024, 2048, 32768, 1000]
    # The memory page's rows, and between them rounded up to the next 0.001 CPU.
    assert [min_cpu_millis(m) for m in (127, 128, 129, 256, 512, 513, 1024, 1536, 2048, 2049)] == [
        None,
        83,
        84,
        167,
        333,
        334,
        583,
        792,
        1000,
        None,
    ]
    with pytest.raises(ValueError, match="not a memory size: '512M'"):
        memory_mib("512M")


@pytest.mark.parametrize(
    ("stack", "label"),
    [
        ("prod", "prod"),
        ("Feature/Login.Page", "feature-login-page"),
        ("a_b-c", "a_b-c"),
        ("s" * 64, "s" * 63),
    ],
)
def test_stack_label(stack: str, label: str) -> None:
    assert stack_label(stack) == label
