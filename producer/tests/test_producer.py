"""task_worker_producer against a real gRPC server on loopback (task_worker_producer.testing).

The real google-cloud-tasks clients (blocking and asyncio) build, serialize and send every
request; the fake answers like Cloud Tasks, with scripted failures.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import random
import socket
import ssl
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.api_core import exceptions as api_exceptions
from google.auth.exceptions import RefreshError
from google.cloud import tasks_v2
from hypothesis import given, settings
from hypothesis import strategies as st

from task_worker_producer import (
    EnqueueError,
    EnqueueInterruptedError,
    EnqueueResult,
    Producer,
    RetryPolicy,
    StackOutputs,
    Status,
    TaskSpec,
    shard_for_key,
)
from task_worker_producer.testing import SAMPLE_SERVICE_URL, FakeCloudTasks, sample_outputs

SERVICE_URL = SAMPLE_SERVICE_URL
QUEUE = "projects/my-proj/locations/europe-west1/queues/task-worker-bulk-"
SHARDS = [f"{QUEUE}{i}" for i in range(8)]
ONE = "projects/my-proj/locations/europe-west1/queues/task-worker-default-9f8e7d6"
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
FAST = RetryPolicy(max_attempts=4, initial_backoff=0.02, max_backoff=0.05)


def raw_outputs(**extra: Any) -> dict[str, Any]:
    """The stack outputs contract, as `pulumi stack output --json` prints it."""
    return sample_outputs({"default": ([ONE], "/"), "bulk": (SHARDS, "/bulk")}, **extra)


OUTPUTS = StackOutputs.from_json(raw_outputs())


@pytest.fixture
def fake() -> Iterator[FakeCloudTasks]:
    with FakeCloudTasks(max_lifetime=30) as server:
        yield server


def producer_for(fake: FakeCloudTasks, **kwargs: Any) -> Producer:
    kwargs.setdefault("retry", FAST)
    return Producer(OUTPUTS, emulator_host=fake.address, **kwargs)


def enqueue(producer: Producer, specs: list[TaskSpec]) -> list[EnqueueResult]:
    return asyncio.run(producer.enqueue_many(specs))


def body(n: int) -> TaskSpec:
    return TaskSpec(queue="bulk", body=b"x" * n, content_type="text/plain", task_id="t")


# --- stack outputs ------------------------------------------------------------------------


def test_outputs_from_file_and_dict(tmp_path: Path) -> None:
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(raw_outputs()))
    for source in (path, str(path), raw_outputs()):
        outputs = StackOutputs.from_json(source)
        assert outputs.queue("bulk").paths == tuple(SHARDS)
        assert outputs.queue("bulk").path == SHARDS[0]
        assert outputs.timeout_seconds == 900
        assert outputs.url_for(outputs.queue("bulk")) == SERVICE_URL + "/bulk"


def test_outputs_before_sharding_and_timeout_export() -> None:
    raw = raw_outputs(queues={"default": {"path": ONE, "targetPath": "/"}})
    del raw["timeoutSeconds"]
    outputs = StackOutputs.from_json(raw)
    assert outputs.queue("default").paths == (ONE,)
    assert outputs.timeout_seconds is None
    request = Producer(outputs).build_request(TaskSpec(queue="default"))
    assert "dispatch_deadline" not in request.task  # Cloud Tasks' own default (10 min) applies


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"serviceUrl": "http://x.run.app"}, "must start with https://"),
        ({"queues": {}}, "non-empty object"),
        ({"queues": {"q": {"paths": [], "targetPath": "/"}}}, r"'queues.q.paths' must be a non-empty list"),
        ({"queues": {"q": {"paths": [ONE, ONE], "targetPath": "/"}}}, "lists a queue twice"),
        ({"queues": {"q": {"path": SHARDS[1], "paths": SHARDS, "targetPath": "/"}}}, "must be the first of"),
        ({"queues": {"q": {"paths": [ONE + "\n"], "targetPath": "/"}}}, r"'queues.q.paths\[0\]' must look like"),
        ({"queues": {"q": {"paths": [ONE], "targetPath": "x"}}}, "must start with '/'"),
        ({"queues": {"q": {"paths": [ONE]}}}, "missing 'queues.q.targetPath'"),
        ({"queues": {"q": [ONE]}}, "must be an object"),
        ({"timeoutSeconds": True}, "timeoutSeconds"),
        ({"timeoutSeconds": "900"}, "timeoutSeconds"),
        ({"timeoutSeconds": 14}, "timeoutSeconds"),
        ({"timeoutSeconds": 1801}, "timeoutSeconds"),
    ],
)
def test_bad_outputs(change: dict[str, Any], match: str) -> None:
    with pytest.raises(EnqueueError, match=match):
        StackOutputs.from_json({**raw_outputs(), **change})


@pytest.mark.parametrize("seconds", [15, 1800])
def test_timeout_output_edges(seconds: int) -> None:
    assert StackOutputs.from_json(raw_outputs(timeoutSeconds=seconds)).timeout_seconds == seconds


def test_outputs_file_errors(tmp_path: Path) -> None:
    with pytest.raises(EnqueueError, match="cannot read outputs file"):
        StackOutputs.from_json(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_bytes(b"\xff\xfe")
    with pytest.raises(EnqueueError, match="is not JSON"):
        StackOutputs.from_json(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(EnqueueError, match="must be a JSON object, got list"):
        StackOutputs.from_json(tmp_path / "list.json")


# --- building: deadline, schedule, names, size ----------------------------------------------


def test_request_shape_and_no_task_level_token() -> None:
    request = Producer(OUTPUTS).build_request(TaskSpec.of_json("default", {"order": 42}, task_id="order-42"))
    assert request.parent == ONE
    task = request.task
    assert task.name == f"{ONE}/tasks/order-42"
    assert task.http_request.http_method == tasks_v2.HttpMethod.POST
    assert task.http_request.url == SERVICE_URL + "/"
    assert task.http_request.body == b'{"order":42}'
    assert dict(task.http_request.headers) == {"Content-Type": "application/json"}
    # The queue's httpTarget carries the OIDC token; a task never does.
    assert "oidc_token" not in task.http_request
    assert "oauth_token" not in task.http_request


def test_dispatch_deadline_defaults_to_the_service_timeout() -> None:
    task = Producer(OUTPUTS).build_request(TaskSpec(queue="default")).task
    assert task.dispatch_deadline == timedelta(seconds=900)


@pytest.mark.parametrize("seconds", [15, 600, 900])
def test_dispatch_deadline_up_to_the_timeout(seconds: int) -> None:
    spec = TaskSpec(queue="default", dispatch_deadline=timedelta(seconds=seconds))
    assert Producer(OUTPUTS).build_request(spec).task.dispatch_deadline == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("outputs", "seconds", "match"),
    [
        (OUTPUTS, 901, r"longer than the service's request timeout \(900s\)"),
        (OUTPUTS, 14.999, "15s to 1800s"),
        (StackOutputs.from_json(raw_outputs(timeoutSeconds=1800)), 1800.001, "15s to 1800s"),
        (StackOutputs.from_json(raw_outputs(timeoutSeconds=1800)), 0, "15s to 1800s"),
    ],
)
def test_dispatch_deadline_refused(outputs: StackOutputs, seconds: float, match: str) -> None:
    with pytest.raises(EnqueueError, match=match):
        Producer(outputs).build_request(TaskSpec(queue="default", dispatch_deadline=timedelta(seconds=seconds)))


def test_dispatch_deadline_range_without_a_timeout_output() -> None:
    raw = raw_outputs()
    del raw["timeoutSeconds"]
    producer = Producer(StackOutputs.from_json(raw))
    spec = TaskSpec(queue="default", dispatch_deadline=timedelta(seconds=1800))
    assert producer.build_request(spec).task.dispatch_deadline == timedelta(seconds=1800)
    with pytest.raises(EnqueueError, match="15s to 1800s"):
        producer.build_request(TaskSpec(queue="default", dispatch_deadline=timedelta(seconds=1801)))


def schedule_of(task: tasks_v2.Task) -> datetime:
    # proto-plus returns a datetime at runtime, but the stubs say Timestamp.
    return tasks_v2.Task.pb(task).schedule_time.ToDatetime(tzinfo=UTC)


def test_schedule_up_to_30_days() -> None:
    producer = Producer(OUTPUTS)
    edge = TaskSpec(queue="default", delay=timedelta(days=30))
    assert schedule_of(producer.build_request(edge, now=NOW).task) == NOW + timedelta(days=30)
    at = TaskSpec(queue="default", schedule_time=NOW + timedelta(days=30))
    assert schedule_of(producer.build_request(at, now=NOW).task) == NOW + timedelta(days=30)
    assert "schedule_time" not in producer.build_request(TaskSpec(queue="default"), now=NOW).task
    local = datetime(2030, 1, 2, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    sent = schedule_of(producer.build_request(TaskSpec(queue="default", schedule_time=local), now=NOW).task)
    assert sent == datetime(2030, 1, 2, 12, 0, tzinfo=UTC)  # the same instant, in UTC


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        (TaskSpec(queue="default", delay=timedelta(days=30, seconds=1)), "more than 30 days"),
        (TaskSpec(queue="default", schedule_time=NOW + timedelta(days=30, seconds=1)), "more than 30 days ahead"),
        (TaskSpec(queue="default", schedule_time=datetime(2030, 1, 2)), "no UTC offset"),
        (TaskSpec(queue="default", delay=timedelta(seconds=-1)), "negative"),
        (TaskSpec(queue="default", delay=timedelta(1), schedule_time=NOW), "not both"),
        (TaskSpec(queue="nope"), "unknown queue 'nope'; known queues: bulk, default"),
        (TaskSpec(queue="default", body="text"), "TaskSpec.body must be bytes"),  # pyright: ignore[reportArgumentType]
    ],
)
def test_refused_before_sending(spec: TaskSpec, match: str) -> None:
    with pytest.raises(EnqueueError, match=match):
        Producer(OUTPUTS).build_request(spec, now=NOW)


@pytest.mark.parametrize("task_id", ["a", "A-z_09", "x" * 500])
def test_good_task_ids(task_id: str) -> None:
    task = Producer(OUTPUTS).build_request(TaskSpec(queue="default", task_id=task_id)).task
    assert task.name == f"{ONE}/tasks/{task_id}"


@pytest.mark.parametrize("task_id", ["", "a/b", "a b", "a.b", "é", "ok\n", "x" * 501])
def test_bad_task_ids(task_id: str) -> None:
    with pytest.raises(EnqueueError, match="bad task id"):
        Producer(OUTPUTS).build_request(TaskSpec(queue="default", task_id=task_id))


def test_task_size_limit_is_one_million_serialized_bytes() -> None:
    producer = Producer(OUTPUTS)

    def size(n: int) -> int:
        return len(tasks_v2.Task.serialize(producer.build_request(body(n)).task))

    probe = 999_000  # near the limit, so the body's length prefix has its final width
    fits = probe + 1_000_000 - size(probe)
    assert size(fits) == 1_000_000  # a literal, not the constant: the documented 1 MB, read as 10**6
    with pytest.raises(EnqueueError, match="task too large: 1000001 bytes"):
        size(fits + 1)


# --- bad input of any kind: a FAILED result or EnqueueError, never an escape -------------------------

# Values of the wrong type, as an untyped caller passes them: each names the field in its error.
WRONG_TYPES = [
    (TaskSpec(queue="bulk", shard_key=7), "TaskSpec.shard_key must be a str or None, got int 7"),  # pyright: ignore[reportArgumentType]
    (TaskSpec(queue="bulk", schedule_time="2030-01-01T00:00:00Z"), "TaskSpec.schedule_time must be a datetime"),  # pyright: ignore[reportArgumentType]
    (TaskSpec(queue="bulk", delay=5), "TaskSpec.delay must be a datetime.timedelta or None, got int 5"),  # pyright: ignore[reportArgumentType]
    (TaskSpec(queue="bulk", dispatch_deadline=60), "TaskSpec.dispatch_deadline must be a datetime.timedelta"),  # pyright: ignore[reportArgumentType]
    (TaskSpec(queue="bulk", content_type=1), "TaskSpec.content_type must be a str or None, got int 1"),  # pyright: ignore[reportArgumentType]
    (TaskSpec(queue="bulk", task_id=42), "TaskSpec.task_id must be a str or None, got int 42"),  # pyright: ignore[reportArgumentType]
    (TaskSpec(queue=["bulk"]), "TaskSpec.queue must be a str, got list ['bulk']"),  # pyright: ignore[reportArgumentType]
    (TaskSpec(queue="bulk", body=bytearray(b"x")), "TaskSpec.body must be bytes, got bytearray"),  # pyright: ignore[reportArgumentType]
    ({"queue": "bulk", "body": b"x"}, "expected a TaskSpec, got dict (build one with TaskSpec(**d)"),
    (None, "expected a TaskSpec, got NoneType"),
]


@pytest.mark.parametrize(("spec", "message"), WRONG_TYPES)
def test_wrong_types_are_failed_results_in_a_batch(fake: FakeCloudTasks, spec: Any, message: str) -> None:
    specs = [TaskSpec(queue="bulk", task_id="before"), spec, TaskSpec(queue="bulk", task_id="after")]
    before, bad, after = enqueue(producer_for(fake, max_concurrency=1), specs)
    assert (before.status, after.status) == (Status.CREATED, Status.CREATED)
    assert (bad.index, bad.status, bad.attempts, bad.parent) == (1, Status.FAILED, 0, None)
    assert isinstance(bad.error, EnqueueError)
    assert str(bad.error).startswith(message)
    assert [c.task_id for c in fake.calls] == ["before", "after"]  # nothing sent for it


@pytest.mark.parametrize(("spec", "message"), WRONG_TYPES)
def test_wrong_types_raise_enqueue_error_from_create_task(fake: FakeCloudTasks, spec: Any, message: str) -> None:
    with producer_for(fake) as producer, pytest.raises(EnqueueError) as err:
        producer.create_task(spec)
    assert str(err.value).startswith(message)
    assert fake.calls == []


def test_a_failure_the_checks_do_not_foresee_is_still_an_enqueue_error(fake: FakeCloudTasks) -> None:
    # A naive `now` cannot be compared with an aware schedule time: a TypeError inside, typed outside.
    spec = TaskSpec(queue="bulk", schedule_time=NOW)
    (result,) = asyncio.run(producer_for(fake).enqueue_many([spec], now=datetime(2030, 1, 1)))
    assert (result.status, result.attempts) == (Status.FAILED, 0)
    assert isinstance(result.error, EnqueueError)
    assert str(result.error).startswith("cannot build the task: TypeError: ")
    assert isinstance(result.error.__cause__, TypeError)
    with pytest.raises(EnqueueError, match="cannot build the task: TypeError"):
        producer_for(fake).create_task(spec, now=datetime(2030, 1, 1))
    assert fake.calls == []


ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=20),
    st.binary(max_size=20),
    st.timedeltas(),
    st.datetimes(timezones=st.none() | st.timezones()),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
SPEC_FIELDS = ["queue", "body", "content_type", "task_id", "shard_key", "delay", "schedule_time", "dispatch_deadline"]


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(SPEC_FIELDS), ANY_VALUE), st.sampled_from(["default", "bulk"]))
def test_any_field_value_builds_or_is_refused_with_enqueue_error(values: dict[str, Any], queue: str) -> None:
    spec = TaskSpec(**{"queue": queue, **values})
    with contextlib.suppress(EnqueueError):  # the only exception allowed out
        Producer(OUTPUTS).build_request(spec, now=NOW)


def test_specs_that_are_not_iterable_are_refused() -> None:
    with pytest.raises(EnqueueError, match="specs must be an iterable of TaskSpec, got int"):
        asyncio.run(Producer(OUTPUTS).enqueue_many(42))  # pyright: ignore[reportArgumentType]


# --- sharding -----------------------------------------------------------------------------------


def test_key_sharding_is_deterministic() -> None:
    # Pinned: BLAKE2b + jump hash give these in every process (no salted hash()), on every machine.
    assert {k: shard_for_key(k, 8) for k in ("a", "b", "c", "order-42")} == {"a": 6, "b": 0, "c": 7, "order-42": 6}
    assert {shard_for_key(k, 1) for k in ("a", "b", "c")} == {0}
    a = Producer(OUTPUTS, rng=random.Random(1))
    b = Producer(OUTPUTS, rng=random.Random(2))
    for key in ("customer-1", "customer-2", "x" * 300):
        spec = TaskSpec(queue="bulk", shard_key=key)
        parents = {a.build_request(spec).parent, b.build_request(spec).parent}
        assert parents == {SHARDS[shard_for_key(key, 8)]}


def test_key_sharding_follows_the_outputs_shard_order_not_a_sorted_one() -> None:
    # The stack output's order is the contract: index i of shard_for_key is the i-th listed path.
    listed = [SHARDS[i] for i in (3, 0, 7, 5, 1, 6, 2, 4)]
    producer = Producer(StackOutputs.from_json(raw_outputs(queues={"bulk": {"paths": listed, "targetPath": "/"}})))
    assert producer.outputs.queue("bulk").paths == tuple(listed)  # kept, not sorted
    keys = [f"customer-{i}" for i in range(40)]
    parents = [producer.build_request(TaskSpec(queue="bulk", shard_key=k)).parent for k in keys]
    assert parents == [listed[shard_for_key(k, 8)] for k in keys]
    assert parents != [sorted(listed)[shard_for_key(k, 8)] for k in keys]
    assert producer.build_request(TaskSpec(queue="bulk", shard_key="a")).parent == listed[6] == SHARDS[2]  # pinned


def test_named_tasks_are_sharded_by_id_so_names_deduplicate() -> None:
    producer = Producer(OUTPUTS, rng=random.Random(3))
    parents = {producer.build_request(TaskSpec(queue="bulk", task_id="order-42")).parent for _ in range(20)}
    assert parents == {SHARDS[shard_for_key("order-42", 8)]}
    # An explicit shard key wins, and the name follows the shard.
    request = producer.build_request(TaskSpec(queue="bulk", task_id="order-42", shard_key="b"))
    assert request.parent == SHARDS[shard_for_key("b", 8)]
    assert request.task.name == f"{request.parent}/tasks/order-42"


def test_growing_shards_moves_keys_only_to_the_new_shard() -> None:
    keys = [f"customer-{i}" for i in range(2000)]
    moved = [k for k in keys if shard_for_key(k, 8) != shard_for_key(k, 9)]
    assert all(shard_for_key(k, 9) == 8 for k in moved)
    assert 2000 / 9 * 0.7 < len(moved) < 2000 / 9 * 1.3  # about 1/9 of them


def test_random_sharding_is_roughly_even(fake: FakeCloudTasks) -> None:
    n = 800
    results = enqueue(producer_for(fake, rng=random.Random(7)), [TaskSpec(queue="bulk")] * n)
    assert Counter(r.status for r in results) == {Status.CREATED: n}
    seen = Counter(call.parent for call in fake.calls)
    assert set(seen) == set(SHARDS)
    expected = n / len(SHARDS)
    chi_square = sum((seen[s] - expected) ** 2 / expected for s in SHARDS)
    assert chi_square < 24.32  # 7 degrees of freedom, p = 0.001


def test_key_sharding_through_the_server(fake: FakeCloudTasks) -> None:
    specs = [TaskSpec(queue="bulk", shard_key=f"customer-{i % 5}") for i in range(50)]
    results = enqueue(producer_for(fake), specs)
    by_key: dict[str, set[str]] = {}
    for spec, result in zip(specs, results, strict=True):
        assert result.status is Status.CREATED
        assert result.name is not None
        assert result.name.startswith(f"{result.parent}/tasks/")
        by_key.setdefault(spec.shard_key or "", set()).add(result.parent or "")
    assert all(len(parents) == 1 for parents in by_key.values())
    assert sorted(Counter(c.parent for c in fake.calls).values()) != [50]  # 5 keys did not all land on one shard


# --- names: every task created exactly once --------------------------------------------------------


def test_tasks_without_an_id_get_a_random_well_spread_name() -> None:
    a = Producer(OUTPUTS, rng=random.Random(1))
    b = Producer(OUTPUTS, rng=random.Random(1))  # the same seed: names must still differ
    names = [p.build_request(TaskSpec(queue="default")).task.name for p in (a, b) for _ in range(2000)]
    ids = [n.rpartition("/tasks/")[2] for n in names]
    assert all(n.startswith(f"{ONE}/tasks/") for n in names)
    assert all(len(i) == 32 and set(i) <= set("0123456789abcdef") for i in ids)
    assert len(set(ids)) == len(ids)
    # The first character, which Google's index spreads on, is uniform over 16 values.
    first = Counter(i[0] for i in ids)
    expected = len(ids) / 16
    assert sum((first[c] - expected) ** 2 / expected for c in "0123456789abcdef") < 37.7  # 15 dof, p = 0.001


def test_the_opt_out_leaves_naming_to_the_server(fake: FakeCloudTasks) -> None:
    producer = producer_for(fake, name_tasks=False)
    assert producer.build_request(TaskSpec(queue="default")).task.name == ""
    assert producer.build_request(TaskSpec(queue="default", task_id="mine")).task.name == f"{ONE}/tasks/mine"
    (result,) = enqueue(producer, [TaskSpec(queue="default")])
    assert result.name == f"{ONE}/tasks/1"  # the fake's own numbering
    assert fake.calls[0].task_id is None


@pytest.mark.parametrize(
    "code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED]
)
def test_a_lost_answer_is_created_once_and_reported_created(fake: FakeCloudTasks, code: grpc.StatusCode) -> None:
    fake.fail(None, code, after_storing=True)  # stored, then the answer is lost
    (result,) = enqueue(producer_for(fake), [TaskSpec(queue="bulk")])
    first, retry = fake.calls
    assert (first.stored, first.code, retry.code) == (True, code, grpc.StatusCode.ALREADY_EXISTS)
    assert first.task_id == retry.task_id  # the same name on the retry
    assert (result.status, result.attempts, result.error) == (Status.CREATED, 2, None)
    assert list(fake.created) == [result.name]

    fake.fail(None, code, after_storing=True)
    with producer_for(fake) as producer:
        blocking = producer.create_task(TaskSpec(queue="bulk"))
    assert (blocking.status, blocking.attempts) == (Status.CREATED, 2)
    assert len(fake.created) == 2


def test_a_callers_name_keeps_its_meaning_after_a_lost_answer(fake: FakeCloudTasks) -> None:
    # The caller's ID may have been taken by anyone (an earlier run): ALREADY_EXISTS stays DUPLICATE.
    fake.fail("order-1", grpc.StatusCode.UNAVAILABLE, after_storing=True)
    (result,) = enqueue(producer_for(fake), [TaskSpec(queue="bulk", task_id="order-1")])
    assert (result.status, result.attempts) == (Status.DUPLICATE, 2)
    assert len(fake.created) == 1


def test_a_slow_answer_cut_off_by_the_deadline_is_created_once(fake: FakeCloudTasks) -> None:
    fake.stall(None, 1.0)  # stored at once, answered after 1 s
    retry = RetryPolicy(initial_backoff=0.01, attempt_timeout=0.2)
    (result,) = enqueue(producer_for(fake, retry=retry), [TaskSpec(queue="bulk")])
    assert (result.status, result.attempts) == (Status.CREATED, 2)
    assert [c.code for c in fake.calls] == [grpc.StatusCode.OK, grpc.StatusCode.ALREADY_EXISTS]
    assert len(fake.created) == 1


# --- retries, duplicates, failures ---------------------------------------------------------------


@pytest.mark.parametrize("code", [grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED])
def test_batch_retries_retryable_codes_with_backoff(fake: FakeCloudTasks, code: grpc.StatusCode) -> None:
    fake.fail("flaky", code, times=3)
    results = enqueue(producer_for(fake), [TaskSpec(queue="bulk", task_id="flaky"), TaskSpec(queue="bulk")])
    assert [(r.status, r.attempts) for r in results] == [(Status.CREATED, 4), (Status.CREATED, 1)]
    calls = fake.calls_for("flaky")
    assert [c.code for c in calls] == [code, code, code, grpc.StatusCode.OK]
    gaps = [b.at - a.at for a, b in itertools.pairwise(calls)]
    floors = [0.01, 0.02, 0.025]  # half of each step: 0.02, 0.04, then capped at 0.05
    assert all(gap >= floor - 0.001 for gap, floor in zip(gaps, floors, strict=True)), gaps


def test_sync_create_task_retries_unavailable(fake: FakeCloudTasks) -> None:
    fake.fail("flaky", grpc.StatusCode.UNAVAILABLE, times=2)
    with producer_for(fake) as producer:
        result = producer.create_task(TaskSpec(queue="default", task_id="flaky"))
    assert (result.status, result.attempts, result.name) == (Status.CREATED, 3, f"{ONE}/tasks/flaky")
    assert len(fake.calls_for("flaky")) == 3


@pytest.mark.parametrize(
    "code", [grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.INTERNAL, grpc.StatusCode.PERMISSION_DENIED]
)
def test_no_retry_on_other_codes(fake: FakeCloudTasks, code: grpc.StatusCode) -> None:
    fake.fail("bad", code)
    (result,) = enqueue(producer_for(fake), [TaskSpec(queue="bulk", task_id="bad")])
    assert (result.status, result.attempts) == (Status.FAILED, 1)
    assert isinstance(result.error, api_exceptions.GoogleAPICallError)
    assert result.error.grpc_status_code == code
    assert len(fake.calls_for("bad")) == 1
    with producer_for(fake) as producer:
        fake.fail("bad", code)
        with pytest.raises(api_exceptions.GoogleAPICallError):
            producer.create_task(TaskSpec(queue="bulk", task_id="bad"))
    assert len(fake.calls_for("bad")) == 2


@pytest.mark.parametrize("code", [grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED])
def test_ambiguous_failures_are_retried_unless_the_server_names_the_task(
    fake: FakeCloudTasks, code: grpc.StatusCode
) -> None:
    producer = producer_for(fake)
    fake.fail("named", code)
    (named,) = enqueue(producer, [TaskSpec(queue="bulk", task_id="named")])
    fake.fail(None, code)  # the next call, whatever its task: here one the library names
    (auto_named,) = enqueue(producer, [TaskSpec(queue="bulk")])
    assert [(r.status, r.attempts) for r in (named, auto_named)] == [(Status.CREATED, 2)] * 2
    fake.fail(None, code)
    (unnamed,) = enqueue(producer_for(fake, name_tasks=False), [TaskSpec(queue="bulk")])
    # A retry could create a second copy of a server-named task that did get created.
    assert (unnamed.status, unnamed.attempts) == (Status.FAILED, 1)
    assert isinstance(unnamed.error, api_exceptions.DeadlineExceeded | api_exceptions.Cancelled)


def test_retries_run_out(fake: FakeCloudTasks) -> None:
    fake.fail("down", grpc.StatusCode.UNAVAILABLE, times=10)
    (result,) = enqueue(producer_for(fake), [TaskSpec(queue="bulk", task_id="down")])
    assert (result.status, result.attempts) == (Status.FAILED, 4)
    assert isinstance(result.error, api_exceptions.ServiceUnavailable)
    assert len(fake.calls_for("down")) == 4


def test_already_exists_is_a_duplicate_not_an_error(fake: FakeCloudTasks) -> None:
    fake.preexisting(f"{ONE}/tasks/done-before")
    specs = [TaskSpec(queue="default", task_id=i) for i in ("done-before", "fresh", "fresh")]
    results = enqueue(producer_for(fake, max_concurrency=1), specs)
    assert [r.status for r in results] == [Status.DUPLICATE, Status.CREATED, Status.DUPLICATE]
    assert all(r.ok and r.error is None for r in results)
    assert [r.name for r in results] == [f"{ONE}/tasks/{i}" for i in ("done-before", "fresh", "fresh")]
    with producer_for(fake) as producer:
        again = producer.create_task(TaskSpec(queue="default", task_id="fresh"))
    assert (again.status, again.attempts) == (Status.DUPLICATE, 1)


def test_size_limit_enforced_before_sending(fake: FakeCloudTasks) -> None:
    producer = producer_for(fake)
    too_big = TaskSpec(queue="bulk", body=b"x" * 1_000_000, task_id="big")
    results = enqueue(producer, [TaskSpec(queue="bulk", task_id="small"), too_big, TaskSpec(queue="nope")])
    assert [r.status for r in results] == [Status.CREATED, Status.FAILED, Status.FAILED]
    assert isinstance(results[1].error, EnqueueError)
    assert "task too large" in str(results[1].error)
    assert (results[1].attempts, results[2].attempts) == (0, 0)
    assert [c.task_id for c in fake.calls] == ["small"]  # the server never saw the others
    with pytest.raises(EnqueueError, match="task too large"):
        producer.create_task(too_big)
    assert len(fake.calls) == 1


def test_every_task_accounted_for_in_order_with_bounded_concurrency() -> None:
    with FakeCloudTasks(delay=0.005, max_lifetime=30) as fake:
        fake.fail(None, grpc.StatusCode.INVALID_ARGUMENT, times=3)
        specs = (TaskSpec.of_json("bulk", {"i": i}, task_id=f"t{i}") for i in range(300))  # a generator
        results = enqueue(producer_for(fake, max_concurrency=7), [*specs, TaskSpec(queue="bulk", task_id="t299")])
    assert [r.index for r in results] == list(range(301))
    assert Counter(r.status for r in results) == {Status.CREATED: 297, Status.FAILED: 3, Status.DUPLICATE: 1}
    assert all(r.name == f"{r.parent}/tasks/t{r.index}" for r in results[:300])
    assert 1 < fake.max_in_flight <= 7
    assert len(fake.created) == 297


def test_a_generator_is_consumed_once(fake: FakeCloudTasks) -> None:
    specs = (TaskSpec(queue="default", task_id=f"g{i}") for i in range(40))
    results = enqueue(producer_for(fake, max_concurrency=3), specs)  # pyright: ignore[reportArgumentType]
    assert [r.name for r in results] == [f"{ONE}/tasks/g{i}" for i in range(40)]


def test_unreachable_server_is_a_failed_result_per_task() -> None:
    with socket.socket() as sock:  # a free loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    producer = Producer(OUTPUTS, emulator_host=address, retry=RetryPolicy(max_attempts=2, initial_backoff=0.001))
    results = asyncio.run(producer.enqueue_many([TaskSpec(queue="default")] * 3))
    assert [(r.status, r.attempts) for r in results] == [(Status.FAILED, 2)] * 3
    assert all(isinstance(r.error, api_exceptions.ServiceUnavailable) for r in results)


@pytest.mark.parametrize("attempts", [1, 3])
def test_blocking_create_task_makes_exactly_max_attempts_calls(fake: FakeCloudTasks, attempts: int) -> None:
    fake.fail("down", grpc.StatusCode.UNAVAILABLE, times=10)
    retry = RetryPolicy(max_attempts=attempts, initial_backoff=0.001, max_backoff=0.001)
    with producer_for(fake, retry=retry) as producer, pytest.raises(api_exceptions.ServiceUnavailable):
        producer.create_task(TaskSpec(queue="bulk", task_id="down"))
    assert len(fake.calls_for("down")) == attempts
    fake.fail("up", grpc.StatusCode.UNAVAILABLE, times=attempts - 1)
    with producer_for(fake, retry=retry) as producer:
        assert producer.create_task(TaskSpec(queue="bulk", task_id="up")).attempts == attempts


def test_retries_stop_when_the_time_budget_is_spent(fake: FakeCloudTasks) -> None:
    """No attempt starts after total_timeout since the first; without max_attempts that is the only bound."""
    fake.fail(None, grpc.StatusCode.UNAVAILABLE, times=1000)
    retry = RetryPolicy(initial_backoff=0.02, max_backoff=0.02, total_timeout=0.5)
    assert retry.max_attempts is None
    (result,) = enqueue(producer_for(fake, retry=retry), [TaskSpec(queue="bulk")])
    with producer_for(fake, retry=retry) as producer, pytest.raises(api_exceptions.ServiceUnavailable):
        producer.create_task(TaskSpec(queue="bulk"))
    batch_calls, blocking_calls = fake.calls[: result.attempts], fake.calls[result.attempts :]
    assert result.status is Status.FAILED
    for calls in (batch_calls, blocking_calls):
        assert len(calls) > 5  # retried many times (the old 5-attempt cap is gone) ...
        # ... but none starts past the budget (the server sees a call a transport hop after it starts).
        assert calls[-1].at - calls[0].at <= 0.5 + 0.1


def test_the_first_attempt_gets_a_whole_attempt_timeout_and_retries_what_is_left(fake: FakeCloudTasks) -> None:
    fake.stall(None, 5.0, times=10)  # every answer comes too late
    # Seconds, not tenths: a loaded 2-core machine must not turn the margins into failures.
    retry = RetryPolicy(initial_backoff=0.01, max_backoff=0.01, attempt_timeout=1.0, total_timeout=1.5)
    (result,) = enqueue(producer_for(fake, retry=retry), [TaskSpec(queue="bulk")])
    assert (result.status, type(result.error)) == (Status.FAILED, api_exceptions.DeadlineExceeded)
    timeouts = [c.timeout for c in fake.calls]
    assert len(timeouts) == 2
    assert timeouts[0] is not None
    assert timeouts[1] is not None
    assert 0.6 < timeouts[0] <= 1.05  # the whole attempt_timeout (the server rounds the deadline it reads)
    assert timeouts[1] <= 0.6  # cut to the ~0.49 s left of the 1.5 s budget, not another 1.0 s


def test_under_a_lasting_outage_a_batch_gives_up_once_not_per_wave() -> None:
    """Once no healthy answer has come for total_timeout, tasks still to start get one attempt each."""
    with socket.socket() as sock:  # a free loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{sock.getsockname()[1]}"
    retry = RetryPolicy(initial_backoff=0.01, max_backoff=0.05, total_timeout=0.5)
    producer = Producer(OUTPUTS, emulator_host=address, retry=retry, max_concurrency=4)
    results = asyncio.run(producer.enqueue_many([TaskSpec(queue="default")] * 40))
    assert {r.status for r in results} == {Status.FAILED}
    assert all(isinstance(r.error, api_exceptions.ServiceUnavailable) for r in results)
    assert min(r.attempts for r in results[:4]) > 1  # the first wave retried
    assert [r.attempts for r in results[-8:]] == [1] * 8  # the rest did not wait all over again


class ScriptedAsyncClient:
    """An AsyncTaskCreator raising a given exception for given bodies, creating the rest."""

    def __init__(self, errors: dict[bytes, Exception]) -> None:
        self.errors = errors
        self.calls: list[bytes] = []

    async def create_task(self, *, request: tasks_v2.CreateTaskRequest, retry: Any, timeout: float) -> tasks_v2.Task:
        body = request.task.http_request.body
        self.calls.append(body)
        if body in self.errors:
            raise self.errors[body]
        return tasks_v2.Task(name=request.task.name)


@pytest.mark.parametrize(
    "error",
    [RefreshError("invalid_grant: token expired"), ssl.SSLError("certificate verify failed"), KeyError("bug")],
)
def test_a_non_api_exception_fails_that_task_only(error: Exception) -> None:
    client = ScriptedAsyncClient({b"2": error})
    specs = [TaskSpec(queue="bulk", body=str(i).encode()) for i in range(5)]
    results = asyncio.run(Producer(OUTPUTS, async_client=client, retry=FAST).enqueue_many(specs))
    assert [r.status for r in results] == [Status.CREATED] * 2 + [Status.FAILED] + [Status.CREATED] * 2
    assert (results[2].error, results[2].attempts) == (error, 1)  # not retried: not a transient API error
    assert sorted(client.calls) == [b"0", b"1", b"2", b"3", b"4"]


# --- batches: intake, progress, interruption -------------------------------------------------------


def test_on_result_sees_every_result_once(fake: FakeCloudTasks) -> None:
    seen: list[EnqueueResult] = []
    specs = [TaskSpec(queue="bulk"), TaskSpec(queue="nope"), *[TaskSpec(queue="bulk")] * 30]
    results = asyncio.run(producer_for(fake, max_concurrency=5).enqueue_many(specs, on_result=seen.append))
    assert sorted(seen, key=lambda r: r.index) == results
    assert len(seen) == 32


def failing_source(n: int) -> Iterator[TaskSpec]:
    for i in range(n):
        yield TaskSpec.of_json("bulk", {"i": i})
    raise ConnectionError("orders database went away")


def test_a_source_that_raises_stops_intake_and_hands_back_every_result(fake: FakeCloudTasks) -> None:
    fake.delay = 0.005  # tasks are in flight when the source fails
    with pytest.raises(EnqueueInterruptedError) as err:
        asyncio.run(producer_for(fake, max_concurrency=7).enqueue_many(failing_source(50)))
    interrupted = err.value
    assert isinstance(interrupted.__cause__, ConnectionError)
    assert "the task source raised ConnectionError: orders database went away" in str(interrupted)
    assert "the 50 taken were finished (50 ok, 0 failed)" in str(interrupted)
    assert [r.index for r in interrupted.results] == list(range(50))
    assert {r.status for r in interrupted.results} == {Status.CREATED}
    assert sorted(r.name or "" for r in interrupted.results) == sorted(fake.created)  # in-flight ones finished


def test_resuming_after_an_interruption_creates_each_task_once(fake: FakeCloudTasks) -> None:
    """The README's recipe: a bad record stops the source; resume from len(results) once it is fixed."""
    orders: list[dict[str, Any]] = [{"order": i, "customer": f"c{i % 7}"} for i in range(100)]
    del orders[60]["customer"]
    producer = producer_for(fake, max_concurrency=8)

    def specs(batch: list[dict[str, Any]]) -> Iterator[TaskSpec]:
        return (TaskSpec.of_json("bulk", o, shard_key=o["customer"]) for o in batch)

    with pytest.raises(EnqueueInterruptedError) as err:
        asyncio.run(producer.enqueue_many(specs(orders)))
    assert isinstance(err.value.__cause__, KeyError)
    done = err.value.results
    orders[60]["customer"] = "c4"
    rest = asyncio.run(producer.enqueue_many(specs(orders[len(done) :])))
    stored = Counter(json.loads(tasks_v2.Task.deserialize(t).http_request.body)["order"] for t in fake.created.values())
    assert stored == Counter(range(100))  # each order once: none lost, none twice
    assert len(done) + len(rest) == 100


def test_a_progress_callback_that_raises_stops_intake_the_same_way(fake: FakeCloudTasks) -> None:
    def on_result(result: EnqueueResult) -> None:
        if result.index == 3:
            raise RuntimeError("progress bar closed")

    specs = (TaskSpec(queue="bulk") for _ in range(100))
    with pytest.raises(EnqueueInterruptedError) as err:
        asyncio.run(producer_for(fake, max_concurrency=2).enqueue_many(specs, on_result=on_result))
    results = err.value.results
    assert "on_result raised RuntimeError: progress bar closed" in str(err.value)
    assert 4 <= len(results) < 100
    assert len(fake.created) == len(results)  # nothing taken is left unreported


# --- policy and server plumbing ------------------------------------------------------------------


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(initial_backoff=1.0, max_backoff=5.0, multiplier=2.0)
    rng = random.Random(0)
    for retry, step in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0), (10, 5.0)]:
        delays = [policy.backoff(retry, rng) for _ in range(200)]
        assert step / 2 <= min(delays)
        assert max(delays) <= step
        assert max(delays) - min(delays) > step / 4  # jittered, not fixed


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"initial_backoff": 2.0, "max_backoff": 1.0},
        {"multiplier": 0.5},
        {"attempt_timeout": 0},
        {"total_timeout": -0.001},
    ],
)
def test_bad_retry_policy(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"must be at least 1|need 0|must be 0 or more seconds"):
        RetryPolicy(**kwargs)


def test_the_public_api_stays_compatible() -> None:
    """Callers written against 0.1.0 keep working: names, positional order, result fields."""
    import task_worker_producer

    assert {"Producer", "TaskSpec", "Status", "EnqueueResult", "RetryPolicy", "StackOutputs", "EnqueueError"} <= set(
        task_worker_producer.__all__
    )
    policy = RetryPolicy(5, 0.1, 10.0, 2.0, 20.0)  # positional, as before total_timeout existed
    assert (policy.max_attempts, policy.attempt_timeout) == (5, 20.0)
    producer = Producer(OUTPUTS, None, None, None, policy, 7, random.Random(0), None)
    assert (producer.retry, producer.max_concurrency, producer.name_tasks) == (policy, 7, True)
    result = EnqueueResult(3, Status.CREATED, "bulk", SHARDS[0], "n", 1, None)
    assert (result.index, result.ok, [s.value for s in Status]) == (3, True, ["created", "duplicate", "failed"])


def test_bad_concurrency() -> None:
    with pytest.raises(ValueError, match="max_concurrency"):
        Producer(OUTPUTS, max_concurrency=0)


def test_fake_listens_on_loopback_and_stops_itself() -> None:
    fake = FakeCloudTasks(max_lifetime=0.2).start()
    assert fake.address.startswith("127.0.0.1:")
    assert fake._thread is not None
    fake._thread.join(timeout=5)
    assert not fake._thread.is_alive()
    fake.stop()  # harmless once stopped
