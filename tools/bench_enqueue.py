"""Benchmark: enqueueing with the producer library against the 2019 guide's pattern.

    uv run python -m tools.bench_enqueue [--sequential N] [--batch N] [--ceiling N] [--memory N]

Both talk through the real google-cloud-tasks clients to `task_worker_producer.testing.FakeCloudTasks`,
a gRPC server on 127.0.0.1 in this process that answers each CreateTask after a fixed delay
standing for the round trip to Google (20 ms):
- sequential: the pattern of Google's 2019 Cloud Run + Cloud Tasks guide, one blocking
  `client.create_task(request={"parent": ..., "task": ...})` after another (its 1.x call
  `create_task(parent, task)` ported to the 2.x form), over a few hundred tasks;
- batch: `Producer.enqueue_many` (asyncio client, 100 calls in flight) over 5,000 tasks, named
  by the library (the default: exactly once), then the same with `name_tasks=False` (server-named);
- ceiling: a batch of 2,000 with no delay: what one process can do. The fake server shares the
  process (and the GIL) with the client, so this is a lower bound of the library's own ceiling;
- memory (`--memory N`, off by default: ~40 s at 20,000): the peak RSS growth of a process
  enqueueing N tasks from a generator with the library, and of one doing it with a raw
  `CloudTasksAsyncClient`, a semaphore of 100 and `asyncio.gather` (each in its own process,
  the fake server in a third, so only the client side is measured).
Every task is accounted for: the counts of results and of tasks the server stored must match.
Lines printed: `enqueue sequential ...`, `enqueue batch ...`, `enqueue batch, server-named ...`,
`batch_vs_sequential=R (goal ≥ 10)`, `library ceiling (no delay) ...`, and with --memory
`memory ... library=X MiB raw=Y MiB`.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Self

import grpc
from google.cloud import tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks.transports import (
    CloudTasksGrpcAsyncIOTransport,
    CloudTasksGrpcTransport,
)

from task_worker_producer import Producer, StackOutputs, Status, TaskSpec
from task_worker_producer.testing import FakeCloudTasks

ROUND_TRIP = 0.020  # seconds: the stated delay of each fake CreateTask answer
GOAL = 10.0
QUEUE = "projects/bench-project/locations/europe-west1/queues/task-worker-bench-"
OUTPUTS = StackOutputs.from_json(
    {
        "serviceUrl": "https://task-worker-service-bench-ew.a.run.app",
        "timeoutSeconds": 900,
        "queues": {"bench": {"paths": [f"{QUEUE}{i}" for i in range(4)], "targetPath": "/"}},
    }
)


@dataclass(frozen=True)
class Figures:
    sequential_tps: float
    batch_tps: float
    ceiling_tps: float

    @property
    def ratio(self) -> float:
        return self.batch_tps / self.sequential_tps


def sequential(n: int) -> float:
    """The guide's loop, ported to 2.x: build a task dict, create it, wait, repeat. Tasks/s."""
    with FakeCloudTasks(delay=ROUND_TRIP, max_lifetime=120) as fake:
        client = tasks_v2.CloudTasksClient(
            transport=CloudTasksGrpcTransport(channel=grpc.insecure_channel(fake.address))
        )
        queue = OUTPUTS.queue("bench")
        url = OUTPUTS.url_for(queue)
        try:
            client.create_task(request={"parent": queue.path, "task": {}})  # connect outside the timing
            start = time.perf_counter()
            for i in range(n):
                task = {
                    "http_request": {
                        "http_method": tasks_v2.HttpMethod.POST,
                        "url": url,
                        "headers": {"Content-Type": "application/json"},
                        "body": b'{"i":%d}' % i,
                    }
                }
                client.create_task(request={"parent": queue.path, "task": task})
            elapsed = time.perf_counter() - start
        finally:
            client.transport.close()
        assert len(fake.created) == n + 1, f"server stored {len(fake.created)} of {n + 1} tasks"
    return n / elapsed


def batch(n: int, delay: float, *, name_tasks: bool = True) -> float:
    """`Producer.enqueue_many` over n tasks; every one must come back CREATED and be stored. Tasks/s."""
    with FakeCloudTasks(delay=delay, max_lifetime=120) as fake:
        producer = Producer(OUTPUTS, emulator_host=fake.address, name_tasks=name_tasks)
        specs = [TaskSpec.of_json("bench", {"i": i}) for i in range(n)]
        start = time.perf_counter()
        results = asyncio.run(producer.enqueue_many(specs))
        elapsed = time.perf_counter() - start
        statuses = Counter(r.status for r in results)
        assert len(results) == n, f"{len(results)} results for {n} tasks"
        assert statuses == {Status.CREATED: n}, f"not all created: {dict(statuses)}"
        assert len(fake.created) == n, f"server stored {len(fake.created)} of {n} tasks"
    return n / elapsed


def _rss_mib() -> float:
    """This process's resident set now (Linux /proc), in MiB."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


class _PeakRss:
    """Samples the RSS every 5 ms on a thread: the peak above the RSS at the start.

    (ru_maxrss is a high-water mark since the process began: a start-up spike can hide a batch.)
    """

    def __enter__(self) -> Self:
        self.base = self.peak = _rss_mib()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._done.wait(0.005):
            self.peak = max(self.peak, _rss_mib())

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_mib())

    @property
    def grown(self) -> float:
        return self.peak - self.base


def memory_child(pattern: str, n: int) -> float:
    """In this process: MiB the peak RSS grew by while enqueueing n tasks with `pattern`.

    The fake server runs in a process of its own, so only the client side is measured.
    """
    with _fake_process(ROUND_TRIP) as (address, stored):
        producer = Producer(OUTPUTS, emulator_host=address)
        with _PeakRss() as rss:
            if pattern == "library":
                results = asyncio.run(producer.enqueue_many(TaskSpec.of_json("bench", {"i": i}) for i in range(n)))
                done = sum(1 for r in results if r.status is Status.CREATED)
            else:
                done = asyncio.run(_raw_gather(address, n))
    assert done == n == stored[0], f"{pattern}: {done} results, {stored[0]} stored of {n}"
    return rss.grown


@contextmanager
def _fake_process(delay: float) -> Iterator[tuple[str, list[int]]]:
    """A FakeCloudTasks in a child process: yields its address and, after, [tasks it stored]."""
    child = subprocess.Popen(
        [sys.executable, "-m", "tools.bench_enqueue", "--serve-fake", str(delay)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    stored: list[int] = [-1]
    try:
        yield child.stdout.readline().strip(), stored
    finally:
        child.stdin.close()  # the child stops serving at EOF and prints how many tasks it stored
        stored[0] = int(child.stdout.readline() or -1)
        child.wait(timeout=30)


def _serve_fake(delay: float) -> None:
    with FakeCloudTasks(delay=delay, max_lifetime=600) as fake:
        print(fake.address, flush=True)
        sys.stdin.read()
        print(len(fake.created), flush=True)


async def _raw_gather(address: str, n: int) -> int:
    """The raw pattern: Google's async client, 100 calls in flight, one coroutine per task, gathered."""
    channel = grpc.aio.insecure_channel(address)
    client = tasks_v2.CloudTasksAsyncClient(transport=CloudTasksGrpcAsyncIOTransport(channel=channel))
    queue = OUTPUTS.queue("bench")
    url = OUTPUTS.url_for(queue)
    gate = asyncio.Semaphore(100)

    async def one(i: int) -> tasks_v2.Task:
        task = {
            "http_request": {
                "http_method": tasks_v2.HttpMethod.POST,
                "url": url,
                "headers": {"Content-Type": "application/json"},
                "body": b'{"i":%d}' % i,
            }
        }
        async with gate:
            return await client.create_task(request={"parent": queue.paths[i % len(queue.paths)], "task": task})

    try:
        return len(await asyncio.gather(*(one(i) for i in range(n))))
    finally:
        await client.transport.close()


def memory(n: int) -> tuple[float, float]:
    """(library, raw): peak RSS growth in MiB, each measured in a fresh process."""
    grown = []
    for pattern in ("library", "raw"):
        out = subprocess.run(
            [sys.executable, "-m", "tools.bench_enqueue", "--memory-child", pattern, str(n)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        grown.append(float(out.strip()))
    return grown[0], grown[1]


def run(sequential_n: int = 300, batch_n: int = 5000, ceiling_n: int = 2000) -> Figures:
    """The three figures, for tools.bench."""
    return Figures(
        sequential_tps=sequential(sequential_n),
        batch_tps=batch(batch_n, ROUND_TRIP),
        ceiling_tps=batch(ceiling_n, 0.0),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.bench_enqueue",
        description="Enqueue throughput: the producer library against the 2019 guide's pattern.",
    )
    parser.add_argument("--sequential", type=int, default=300, metavar="N", help="tasks, one by one (default 300)")
    parser.add_argument("--batch", type=int, default=5000, metavar="N", help="tasks in one batch (default 5000)")
    parser.add_argument("--ceiling", type=int, default=2000, metavar="N", help="tasks, no delay (default 2000)")
    parser.add_argument(
        "--memory", type=int, default=0, metavar="N", help="compare peak memory at N tasks (default: off)"
    )
    parser.add_argument("--memory-child", nargs=2, metavar=("PATTERN", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--serve-fake", type=float, metavar="DELAY", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve_fake is not None:
        _serve_fake(args.serve_fake)
        return 0
    if args.memory_child:
        print(f"{memory_child(args.memory_child[0], int(args.memory_child[1])):.1f}")
        return 0
    ms = f"{ROUND_TRIP * 1000:g} ms"
    seq_tps = sequential(args.sequential)
    print(f"enqueue sequential (2019 guide pattern) {args.sequential} tasks, {ms} per call: {seq_tps:.0f} tasks/s")
    batch_tps = batch(args.batch, ROUND_TRIP)
    print(f"enqueue batch (enqueue_many) {args.batch} tasks, {ms} per call: {batch_tps:.0f} tasks/s")
    unnamed_tps = batch(args.batch, ROUND_TRIP, name_tasks=False)
    print(
        f"enqueue batch, server-named (name_tasks=False) {args.batch} tasks, {ms} per call: {unnamed_tps:.0f} tasks/s"
    )
    print(f"batch_vs_sequential={batch_tps / seq_tps:.1f} (goal ≥ {GOAL:g})")
    ceiling = batch(args.ceiling, 0.0)
    print(f"library ceiling (no delay) {args.ceiling} tasks, one process with the fake server: {ceiling:.0f} tasks/s")
    if args.memory:
        library, raw = memory(args.memory)
        print(
            f"memory (peak RSS growth, client process) {args.memory} tasks, {ms} per call: "
            f"library={library:.1f} MiB raw={raw:.1f} MiB"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
