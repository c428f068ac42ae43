"""Exactly once under faults: whole batches against the fault-injecting fake server.

Every task carries a unique body ({"i": i}), so the server's store can be counted per task:
lost = bodies never stored, duplicated = bodies stored twice, misreported = a result that is
not CREATED, or names a task the server does not hold with that body.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass

import grpc
import pytest
from google.cloud import tasks_v2

from task_worker_producer import EnqueueResult, Producer, RetryPolicy, StackOutputs, Status, TaskSpec
from task_worker_producer.testing import Chaos, FakeCloudTasks, sample_outputs

QUEUE = "projects/my-proj/locations/europe-west1/queues/task-worker-bulk-"
OUTPUTS = StackOutputs.from_json(sample_outputs({"bulk": ([f"{QUEUE}{i}" for i in range(4)], "/bulk")}))
# Slow answers take 0.5 s; a 0.2 s attempt deadline cuts them off after the task is stored.
QUICK_DEADLINES = RetryPolicy(initial_backoff=0.01, max_backoff=0.2, attempt_timeout=0.2)


@dataclass(frozen=True)
class Tally:
    results: Counter[Status]
    lost: int
    duplicated: int
    misreported: int


def run_batch(fake: FakeCloudTasks, n: int, retry: RetryPolicy, **kwargs: object) -> Tally:
    producer = Producer(OUTPUTS, emulator_host=fake.address, retry=retry, **kwargs)  # type: ignore[arg-type]
    results = asyncio.run(producer.enqueue_many(TaskSpec.of_json("bulk", {"i": i}) for i in range(n)))
    return tally(fake, n, results)


def tally(fake: FakeCloudTasks, n: int, results: list[EnqueueResult]) -> Tally:
    stored = {
        name: json.loads(tasks_v2.Task.deserialize(raw).http_request.body)["i"] for name, raw in fake.created.items()
    }
    copies = Counter(stored.values())
    misreported = sum(
        1
        for r in results
        if r.status is not Status.CREATED or r.error is not None or stored.get(r.name or "") != r.index
    )
    assert [r.index for r in results] == list(range(n))
    return Tally(
        Counter(r.status for r in results),
        lost=n - len(copies),
        duplicated=sum(c - 1 for c in copies.values()),
        misreported=misreported,
    )


def clean(n: int) -> Tally:
    return Tally(Counter({Status.CREATED: n}), lost=0, duplicated=0, misreported=0)


@pytest.mark.parametrize("n", [1000, 5000])
def test_random_errors_lost_answers_and_slow_calls(n: int) -> None:
    chaos = Chaos(errors=0.05, lost=0.10, slow=0.02, slow_for=0.5, seed=n)
    with FakeCloudTasks(max_lifetime=60) as fake:
        fake.chaos(chaos)
        assert run_batch(fake, n, QUICK_DEADLINES) == clean(n)
    codes = Counter(c.code for c in fake.calls)
    # Every kind of fault happened, and lost answers were met by ALREADY_EXISTS on the retry.
    assert {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED, grpc.StatusCode.DEADLINE_EXCEEDED} <= set(codes)
    lost_answers = sum(1 for c in fake.calls if c.stored and c.code is not grpc.StatusCode.OK)
    assert lost_answers > n * 0.05
    assert codes[grpc.StatusCode.ALREADY_EXISTS] >= lost_answers


def test_a_three_second_outage_mid_batch_fails_no_task() -> None:
    """The server stops a third of the way in (dropping the calls in flight) and is back 3 s later.

    The default time budget (total_timeout) is what is tested; the backoff is capped at 0.5 s
    only so that the batch resumes within half a second of the restart, not up to 10 s later.
    """
    n = 1000
    retry = RetryPolicy(max_backoff=0.5)
    assert (retry.total_timeout, retry.max_attempts) == (RetryPolicy().total_timeout, None)
    with FakeCloudTasks(delay=0.002, max_lifetime=60) as fake:
        fake.restart(3.0, after_calls=n // 3)
        assert run_batch(fake, n, retry) == clean(n)
    ((down, up),) = fake.outages
    assert up - down >= 3.0
    assert any(c.at > up for c in fake.calls)  # the batch went on after the restart


def test_restart_mid_batch_of_5000() -> None:
    n = 5000
    with FakeCloudTasks(delay=0.002, max_lifetime=60) as fake:
        fake.restart(0.5, after_calls=n // 2)
        assert run_batch(fake, n, RetryPolicy(max_backoff=0.5)) == clean(n)
    assert len(fake.outages) == 1


def test_server_named_tasks_are_the_opt_out_and_may_duplicate() -> None:
    """name_tasks=False: no lost task, but a lost answer retried (UNAVAILABLE) adds a second copy.

    This is the trade-off the README states for the opt-out; named tasks (the default) avoid it.
    """
    n = 300
    with FakeCloudTasks(max_lifetime=60) as fake:
        fake.chaos(Chaos(lost=0.2, lost_codes=(grpc.StatusCode.UNAVAILABLE,), seed=3))
        # A generous attempt timeout: a server-named task that times out is not retried (it could
        # duplicate), and a loaded machine must not turn slowness into a lost task here.
        patient = RetryPolicy(initial_backoff=0.01, max_backoff=0.2, attempt_timeout=5.0)
        outcome = run_batch(fake, n, patient, name_tasks=False)
    assert outcome.lost == 0
    assert outcome.duplicated > 0
    assert all(c.task_id is None for c in fake.calls)  # the server named every task
