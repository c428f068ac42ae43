"""The producer's limits and messages written out whole (at the limit and one step past it).

Each refusal is compared with its whole message, and each limit is tried at the limit and one step
past it. Expectations are written out, never read from task_worker_producer.limits.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from task_worker_producer import EnqueueError, Producer, StackOutputs, TaskSpec
from task_worker_producer.tasks import check_task_id, resolve_dispatch_deadline, resolve_schedule

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
URL = "https://task-worker-service-1a2b3c4-ew.a.run.app"
ONE = "projects/my-proj/locations/europe-west1/queues/task-worker-default-9f8e7d6"
OUTPUTS = StackOutputs.from_json(
    {
        "project": "my-proj",
        "location": "europe-west1",
        "serviceName": "task-worker-service-1a2b3c4",
        "serviceUrl": URL,
        "audience": URL,
        "invokerEmail": "tw-invoker@my-proj.iam.gserviceaccount.com",
        "runtimeEmail": "tw-run@my-proj.iam.gserviceaccount.com",
        "timeoutSeconds": 900,
        "queues": {"default": {"path": ONE, "paths": [ONE], "targetPath": "/"}},
    }
)
BAD_ID = "use only letters, digits, '-' and '_', 1-500 characters"


def refused(call: object, *args: object) -> str:
    with pytest.raises(EnqueueError) as err:
        call(*args)  # type: ignore[operator]
    return str(err.value)


@pytest.mark.parametrize(
    ("task_id", "message"),
    [
        (42, "bad task id 42: must be a string"),
        ("", f"bad task id '' (0 chars): {BAD_ID}"),
        ("a.b", f"bad task id 'a.b' (3 chars): {BAD_ID}"),
        # Shown whole up to 60 characters; longer ones are cut at 60 and marked.
        ("." * 60, f"bad task id '{'.' * 60}' (60 chars): {BAD_ID}"),
        ("." * 61, f"bad task id '{'.' * 60}'... (61 chars): {BAD_ID}"),
        ("x" * 501, f"bad task id '{'x' * 60}'... (501 chars): {BAD_ID}"),
    ],
)
def test_task_id_messages(task_id: str, message: str) -> None:
    assert refused(check_task_id, task_id) == message


def test_task_id_edges() -> None:
    assert check_task_id("x" * 500) == "x" * 500
    assert check_task_id("a") == "a"


def test_schedule_edges_and_messages() -> None:
    assert resolve_schedule(None, None, NOW) is None
    assert resolve_schedule(timedelta(0), None, NOW) == NOW
    assert resolve_schedule(timedelta(hours=1), None, NOW) == NOW + timedelta(hours=1)
    assert resolve_schedule(timedelta(days=30), None, NOW) == NOW + timedelta(days=30)
    assert resolve_schedule(None, NOW + timedelta(days=30), NOW) == NOW + timedelta(days=30)
    assert resolve_schedule(None, NOW - timedelta(days=1), NOW) == NOW - timedelta(days=1)
    assert refused(resolve_schedule, timedelta(1), NOW, NOW) == "give either a delay or a schedule time, not both"
    assert (
        refused(resolve_schedule, timedelta(microseconds=-1), None, NOW) == "delay -1 day, 23:59:59.999999 is negative"
    )
    assert (
        refused(resolve_schedule, timedelta(days=30, microseconds=1), None, NOW)
        == "delay 30 days, 0:00:00.000001 is more than 30 days; Cloud Tasks refuses it"
    )
    assert (
        refused(resolve_schedule, None, datetime(2030, 1, 2), NOW)
        == "schedule time 2030-01-02T00:00:00 has no UTC offset; use e.g. ...Z or +02:00"
    )
    assert refused(resolve_schedule, None, NOW + timedelta(days=30, microseconds=1), NOW) == (
        "schedule time 2030-01-31T12:00:00.000001+00:00 is more than 30 days ahead "
        "(now 2030-01-01T12:00:00+00:00); Cloud Tasks refuses it"
    )


def test_dispatch_deadline_edges_and_messages() -> None:
    out_of_range = "is out of range: HTTP tasks allow 15s to 1800s (30m)"
    assert resolve_dispatch_deadline(None, None) is None
    assert resolve_dispatch_deadline(None, 900) == timedelta(seconds=900)
    assert resolve_dispatch_deadline(timedelta(seconds=15), None) == timedelta(seconds=15)
    assert resolve_dispatch_deadline(timedelta(seconds=1800), None) == timedelta(seconds=1800)
    assert resolve_dispatch_deadline(timedelta(seconds=900), 900) == timedelta(seconds=900)
    assert (
        refused(resolve_dispatch_deadline, timedelta(seconds=14.999), None)
        == f"dispatch deadline 14.999s {out_of_range}"
    )
    assert (
        refused(resolve_dispatch_deadline, timedelta(seconds=1800.001), None)
        == f"dispatch deadline 1800s {out_of_range}"
    )
    assert refused(resolve_dispatch_deadline, timedelta(seconds=900.5), 900) == (
        "dispatch deadline 900.5s is longer than the service's request timeout (900s): the service would cut "
        "the request first; leave it unset to use the timeout"
    )


def test_of_json_passes_every_field() -> None:
    at = NOW + timedelta(hours=1)
    spec = TaskSpec.of_json(
        "default",
        {"a": 1, "b": [1, 2]},
        task_id="t",
        shard_key="k",
        delay=timedelta(seconds=5),
        schedule_time=at,
        dispatch_deadline=timedelta(seconds=30),
    )
    assert spec == TaskSpec(
        queue="default",
        body=b'{"a":1,"b":[1,2]}',
        content_type="application/json",
        task_id="t",
        shard_key="k",
        delay=timedelta(seconds=5),
        schedule_time=at,
        dispatch_deadline=timedelta(seconds=30),
    )


def test_build_request_without_now_compares_in_utc() -> None:
    """Without `now`, an aware schedule time is compared with the current time in UTC."""
    at = datetime.now(UTC) + timedelta(days=1)
    task = Producer(OUTPUTS).build_request(TaskSpec(queue="default", schedule_time=at)).task
    assert "schedule_time" in task


def test_body_must_be_bytes_message() -> None:
    spec = TaskSpec(queue="default", body="text")  # pyright: ignore[reportArgumentType]
    assert refused(Producer(OUTPUTS).build_request, spec) == "TaskSpec.body must be bytes, got str 'text'"
