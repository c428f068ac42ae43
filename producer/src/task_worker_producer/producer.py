"""`Producer`: create tasks on a task-worker stack's queues, one at a time or many concurrently."""

from __future__ import annotations

import asyncio
import enum
import random
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, Self

from google.api_core import exceptions as api_exceptions
from google.api_core.client_options import ClientOptions
from google.cloud import tasks_v2

from .errors import EnqueueError, EnqueueInterruptedError
from .limits import MAX_TASK_BYTES
from .outputs import QueueTarget, StackOutputs
from .sharding import random_shard, shard_for_key
from .tasks import TaskSpec, check_spec, check_task_id, resolve_dispatch_deadline, resolve_schedule

# google-cloud-tasks' own per-call default for CreateTask (transports/base.py: default_timeout=20.0).
DEFAULT_ATTEMPT_TIMEOUT = 20.0
# How long a task keeps retrying. gRPC reconnects a dropped channel after 1 s, then 1.6x longer each
# time (up to 120 s, ±20 %: grpc/doc/connection-backoff.md), failing calls fast in between; 60 s
# outlasts the first five reconnect attempts, so outages of ~20 s fail no task.
DEFAULT_TOTAL_TIMEOUT = 60.0
DEFAULT_MAX_CONCURRENCY = 100
_CreateTaskRequestPb: Any = tasks_v2.CreateTaskRequest.pb()
_POST = int(tasks_v2.HttpMethod.POST)


# A local server (emulator_host) that restarts is back within a second or so: reconnect at least
# once a second instead of gRPC's default backoff (1 s growing 1.6x to 120 s), which would keep
# a channel idle for seconds after the server is back. Google's endpoint keeps gRPC's defaults.
_LOCAL_CHANNEL_OPTIONS = [("grpc.initial_reconnect_backoff_ms", 100), ("grpc.max_reconnect_backoff_ms", 1000)]
_PENDING: Any = None  # a result slot whose task is still in flight


class TaskCreator(Protocol):
    """What `Producer.create_task` needs: `tasks_v2.CloudTasksClient` is one."""

    def create_task(self, *, request: tasks_v2.CreateTaskRequest, retry: Any, timeout: float) -> tasks_v2.Task: ...


class AsyncTaskCreator(Protocol):
    """What `Producer.enqueue_many` needs: `tasks_v2.CloudTasksAsyncClient` is one."""

    async def create_task(
        self, *, request: tasks_v2.CreateTaskRequest, retry: Any, timeout: float
    ) -> tasks_v2.Task: ...


class Status(enum.StrEnum):
    CREATED = "created"
    DUPLICATE = "duplicate"  # ALREADY_EXISTS for a caller's task_id: a task of that name exists or existed recently
    FAILED = "failed"


@dataclass(frozen=True)
class EnqueueResult:
    """What became of one task. `name` is the full task name (the library's or the caller's)."""

    index: int  # position in the batch (0 for create_task)
    status: Status
    queue: str  # queue key ("" when the spec was not a TaskSpec with a str queue)
    parent: str | None  # the shard's queue path; None when the task was refused before a shard was picked
    name: str | None = None
    attempts: int = 0  # CreateTask calls made; 0 when refused before sending
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """Created now or already there: either way the task exists on the queue."""
        return self.status is not Status.FAILED


@dataclass(frozen=True)
class RetryPolicy:
    """Which CreateTask failures are retried, for how long, and how long to wait in between.

    Every task is named before it is sent (the caller's `task_id`, else a random ID the library
    makes once per task), so a retry can never add a second task: if an earlier attempt was
    stored and only its answer was lost, the retry meets ALREADY_EXISTS. That makes every
    transient failure safe to retry: UNAVAILABLE (what a dropped or refused connection gives,
    and AIP-194's retryable code), RESOURCE_EXHAUSTED (a queue scaling up: Cloud Tasks "Manage
    scaling risks"), DEADLINE_EXCEEDED and CANCELLED (the call's fate is unknown). INVALID_ARGUMENT,
    PERMISSION_DENIED, NOT_FOUND, INTERNAL, UNKNOWN and the rest surface at once (AIP-194).
    Tasks left to the server to name (`Producer(name_tasks=False)`) retry UNAVAILABLE and
    RESOURCE_EXHAUSTED only: an ambiguous failure retried could create a second copy.

    A task retries until `total_timeout` seconds have passed since its first attempt (the last
    attempt's deadline is cut to fit), or until `max_attempts` calls if that is set.
    """

    max_attempts: int | None = None  # None: bounded by total_timeout alone
    initial_backoff: float = 0.1  # seconds
    max_backoff: float = 10.0
    multiplier: float = 2.0
    attempt_timeout: float = DEFAULT_ATTEMPT_TIMEOUT
    total_timeout: float = DEFAULT_TOTAL_TIMEOUT

    def __post_init__(self) -> None:
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1 (or None), got {self.max_attempts}")
        if not 0 <= self.initial_backoff <= self.max_backoff or self.multiplier < 1 or self.attempt_timeout <= 0:
            raise ValueError("need 0 <= initial_backoff <= max_backoff, multiplier >= 1 and attempt_timeout > 0")
        if self.total_timeout < 0:
            raise ValueError(f"total_timeout must be 0 or more seconds, got {self.total_timeout}")

    def retryable(self, error: Exception, named: bool) -> bool:
        if isinstance(error, api_exceptions.ServiceUnavailable | api_exceptions.TooManyRequests):
            return True  # UNAVAILABLE; RESOURCE_EXHAUSTED maps to TooManyRequests (HTTP 429)
        return named and isinstance(error, api_exceptions.DeadlineExceeded | api_exceptions.Cancelled)

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number `retry` (1 for the first retry).

        Half fixed, half random ("equal jitter"): retries of many tasks that failed together
        spread out, and each still waits at least half the exponential step.
        """
        step = min(self.max_backoff, self.initial_backoff * self.multiplier ** (retry - 1))
        return step / 2 + rng.uniform(0, step / 2)


class _Retrying:
    """One task's retry state: attempts made and the time left.

    `since` is when the budget started counting: the task's first attempt or, in a batch, the
    batch's last healthy answer if that is earlier, so under a lasting outage a whole batch gives
    up after `total_timeout`, not each wave of `max_concurrency` tasks in turn.
    """

    __slots__ = ("attempt", "deadline", "named", "policy")

    def __init__(self, policy: RetryPolicy, named: bool, since: float) -> None:
        self.policy = policy
        self.named = named
        self.deadline = since + policy.total_timeout
        self.attempt = 0

    def timeout(self) -> float:
        """The next attempt's deadline: the first gets a whole attempt, retries what is left."""
        if self.attempt == 1:
            return self.policy.attempt_timeout
        return max(0.001, min(self.policy.attempt_timeout, self.deadline - time.monotonic()))

    def wait_before_retry(self, error: Exception, rng: random.Random) -> float | None:
        """Seconds to wait before retrying after `error`, or None: give up."""
        policy = self.policy
        if not policy.retryable(error, self.named):
            return None
        if policy.max_attempts is not None and self.attempt >= policy.max_attempts:
            return None
        wait = policy.backoff(self.attempt, rng)
        return wait if time.monotonic() + wait < self.deadline else None


class _Batch:
    """What the tasks of one enqueue_many call share: when the server last answered healthily."""

    __slots__ = ("last_answer",)

    def __init__(self) -> None:
        self.last_answer = time.monotonic()


def _generated_task_id() -> str:
    # 122 random bits as 32 hex digits: evenly spread from the first character, as Google asks of
    # task IDs ("hashed strings ... recommended"; sequential IDs raise latency and error rates).
    # From the OS's randomness, never from `Producer.rng`: a seeded rng would repeat names across runs.
    return uuid.uuid4().hex


@dataclass(eq=False)
class Producer:
    """Creates HTTP tasks on the queues in a task-worker stack's outputs.

    Tasks carry no OIDC token of their own: each queue's httpTarget holds the invoker account's
    token (and the service's host and path) and overrides whatever a task says, so a token on the
    task would only oblige the caller to hold actAs on the invoker account, a grant that would
    also let it sign as the invoker outside the queue. Producers need `roles/cloudtasks.enqueuer`
    on the queues and nothing else.

    Each task's dispatch deadline defaults to the service's request timeout (`timeoutSeconds`)
    and may not exceed it: with a longer deadline the service cuts the request first, and with a
    shorter one Cloud Tasks retries while the first attempt still runs. Delivery is at least once
    either way, so handlers must be idempotent.

    Tasks without a `task_id` get a random name, made once and kept across retries, so that each
    is created exactly once even when an answer is lost (`name_tasks=False` leaves naming to the
    server: lower CreateTask latency, but a retry after a lost answer may add a second copy).

    Clients: by default Google's `CloudTasksClient` (blocking calls) and, per `enqueue_many` call,
    a `CloudTasksAsyncClient`, with Application Default Credentials. Pass `client` / `async_client`
    to use your own, or `emulator_host="127.0.0.1:PORT"` for a plaintext local server (such as
    `task_worker_producer.testing.FakeCloudTasks`).
    """

    outputs: StackOutputs
    client: TaskCreator | None = None
    async_client: AsyncTaskCreator | None = None
    emulator_host: str | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    rng: random.Random = field(default_factory=random.Random)
    client_options: ClientOptions | None = None  # e.g. ClientOptions(quota_project_id=...)
    name_tasks: bool = True  # name tasks without a task_id, for exactly-once creation

    def __post_init__(self) -> None:
        if self.max_concurrency < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {self.max_concurrency}")
        self._owns_client = False

    # --- building ---------------------------------------------------------------------------

    def pick_shard(self, queue: QueueTarget, spec: TaskSpec) -> str:
        """The queue path for `spec`: by shard key, else by task ID, else at random."""
        if len(queue.paths) == 1:
            return queue.paths[0]
        key = spec.shard_key if spec.shard_key is not None else spec.task_id
        if key is not None:
            return queue.paths[shard_for_key(key, len(queue.paths))]
        return queue.paths[random_shard(len(queue.paths), self.rng)]

    def build_request(self, spec: TaskSpec, *, now: datetime | None = None) -> tasks_v2.CreateTaskRequest:
        """The CreateTaskRequest for `spec`; raises EnqueueError for anything Cloud Tasks would refuse.

        A task without a `task_id` gets a fresh random name on each call (unless `name_tasks` is off).
        """
        return self._build(spec, now)[0]

    def _build(self, spec: object, now: datetime | None) -> tuple[tasks_v2.CreateTaskRequest, bool]:
        """The request, and whether its name is the library's; any failure to build is an EnqueueError."""
        try:
            return self._build_checked(check_spec(spec), now)
        except EnqueueError:
            raise
        except Exception as exc:  # a case the checks above missed: still the caller's input, still typed
            raise EnqueueError(f"cannot build the task: {type(exc).__name__}: {exc}") from exc

    def _build_checked(self, spec: TaskSpec, now: datetime | None) -> tuple[tasks_v2.CreateTaskRequest, bool]:
        queue = self.outputs.queue(spec.queue)
        schedule_time = resolve_schedule(spec.delay, spec.schedule_time, now or datetime.now(UTC))
        deadline = resolve_dispatch_deadline(spec.dispatch_deadline, self.outputs.timeout_seconds)

        parent = self.pick_shard(queue, spec)
        # Built on the protobuf message itself (6x faster than through proto-plus), then wrapped.
        request = _CreateTaskRequestPb(parent=parent)
        task = request.task
        http_request = task.http_request
        http_request.http_method = _POST
        # HttpRequest.url is required by the API; the queue's uriOverride enforces host and path anyway.
        http_request.url = self.outputs.url_for(queue)
        http_request.body = spec.body
        if spec.content_type:
            http_request.headers["Content-Type"] = spec.content_type  # Cloud Tasks sets none itself
        generated = False
        if spec.task_id is not None:
            task.name = f"{parent}/tasks/{check_task_id(spec.task_id)}"
        elif self.name_tasks:
            task.name = f"{parent}/tasks/{_generated_task_id()}"
            generated = True
        if schedule_time is not None:
            task.schedule_time.FromDatetime(schedule_time)
        if deadline is not None:
            task.dispatch_deadline.FromTimedelta(deadline)

        size = task.ByteSize()
        if size > MAX_TASK_BYTES:
            raise EnqueueError(
                f"task too large: {size} bytes serialized (body {len(spec.body)} bytes); "
                f"Cloud Tasks takes at most 1 MB per task, checked here as {MAX_TASK_BYTES} bytes"
            )
        return tasks_v2.CreateTaskRequest.wrap(request), generated

    # --- one task, blocking -----------------------------------------------------------------

    def create_task(self, spec: TaskSpec, *, now: datetime | None = None) -> EnqueueResult:
        """Create one task, retrying per `retry`; returns a CREATED or DUPLICATE result.

        Raises EnqueueError for bad input of any kind (nothing sent), and the last error when the
        task could not be created: a Google API error, or whatever else the transport raised.
        """
        request, generated = self._build(spec, now)
        client = self._sync_client()
        retrying = _Retrying(self.retry, bool(request.task.name), time.monotonic())
        while True:
            retrying.attempt += 1
            try:
                task = client.create_task(request=request, retry=None, timeout=retrying.timeout())
            except api_exceptions.AlreadyExists:
                status = Status.CREATED if generated else Status.DUPLICATE
                return self._result(0, spec, request, status, request.task.name, retrying.attempt)
            except api_exceptions.GoogleAPICallError as exc:
                wait = retrying.wait_before_retry(exc, self.rng)
                if wait is None:
                    raise
                time.sleep(wait)
            else:
                return self._result(0, spec, request, Status.CREATED, task.name, retrying.attempt)

    # --- many tasks, concurrently -----------------------------------------------------------

    async def enqueue_many(
        self,
        specs: Iterable[TaskSpec],
        *,
        now: datetime | None = None,
        on_result: Callable[[EnqueueResult], object] | None = None,
    ) -> list[EnqueueResult]:
        """Create every task in `specs`, at most `max_concurrency` calls in flight; one result per task, in order.

        Never raises for a task's own failure: bad input of any type is a FAILED result carrying an
        EnqueueError (attempts 0), and API or transport errors are FAILED results carrying the error.
        `specs` may be a generator; it is read as the calls go, so a long one is not held in memory.
        If it raises, no more tasks are taken, those in flight finish, and EnqueueInterruptedError is
        raised with every result so far. `on_result` is called with each result as it is known
        (in completion order), e.g. to drive a progress bar; if it raises, the same happens.
        """
        try:
            source = iter(specs)
        except TypeError:
            raise EnqueueError(f"specs must be an iterable of TaskSpec, got {type(specs).__name__}") from None
        results: list[EnqueueResult] = []
        batch = _Batch()
        stop: list[tuple[str, Exception]] = []  # why intake stopped: the first cause only

        async with self._batch_client() as client:

            async def worker() -> None:
                # One shared iterator: asyncio switches only at awaits, so each item is taken once.
                while not stop:
                    try:
                        spec = next(source)
                    except StopIteration:
                        return
                    except Exception as exc:
                        stop.append(("the task source", exc))
                        return
                    index = len(results)
                    results.append(_PENDING)
                    result = await self._create_async(client, index, spec, now, batch)
                    results[index] = result
                    if on_result is not None:
                        try:
                            on_result(result)
                        except Exception as exc:
                            stop.append(("on_result", exc))
                            return

            # The workers never raise for a task (see _create_async), so none can end the others.
            await asyncio.gather(*(worker() for _ in range(self.max_concurrency)))
        if stop:
            where, cause = stop[0]
            failed = sum(1 for r in results if r.status is Status.FAILED)
            raise EnqueueInterruptedError(
                f"enqueue_many stopped taking tasks after {len(results)}: {where} raised "
                f"{type(cause).__name__}: {cause}; the {len(results)} taken were finished "
                f"({len(results) - failed} ok, {failed} failed) and are in .results",
                results,
            ) from cause
        return results

    async def _create_async(
        self, client: AsyncTaskCreator, index: int, spec: object, now: datetime | None, batch: _Batch
    ) -> EnqueueResult:
        """One task's whole life in a batch; returns its result and raises nothing but cancellation."""
        try:
            request, generated = self._build(spec, now)
        except EnqueueError as exc:
            queue = spec.queue if isinstance(spec, TaskSpec) and isinstance(spec.queue, str) else ""
            return EnqueueResult(index, Status.FAILED, queue, None, attempts=0, error=exc)
        assert isinstance(spec, TaskSpec)  # _build checked it
        retrying = _Retrying(self.retry, bool(request.task.name), min(time.monotonic(), batch.last_answer))
        retrying.deadline = max(retrying.deadline, time.monotonic())  # every task gets one attempt
        while True:
            retrying.attempt += 1
            try:
                task = await client.create_task(request=request, retry=None, timeout=retrying.timeout())
            except api_exceptions.AlreadyExists:
                batch.last_answer = time.monotonic()
                # The library's random name can only exist because an earlier attempt stored it.
                status = Status.CREATED if generated else Status.DUPLICATE
                return self._result(index, spec, request, status, request.task.name, retrying.attempt)
            except api_exceptions.GoogleAPICallError as exc:
                wait = retrying.wait_before_retry(exc, self.rng)
                if wait is None:
                    if not self.retry.retryable(exc, retrying.named):
                        batch.last_answer = time.monotonic()  # the server answered: it is up
                    return self._failed(index, spec, request, retrying.attempt, exc)
                await asyncio.sleep(wait)
            except Exception as exc:  # auth, TLS, a bug in a transport callback: this task's failure only
                return self._failed(index, spec, request, retrying.attempt, exc)
            else:
                batch.last_answer = time.monotonic()
                return self._result(index, spec, request, Status.CREATED, task.name, retrying.attempt)

    def _failed(
        self, index: int, spec: TaskSpec, request: tasks_v2.CreateTaskRequest, attempts: int, error: Exception
    ) -> EnqueueResult:
        return self._result(index, spec, request, Status.FAILED, request.task.name or None, attempts, error)

    @staticmethod
    def _result(
        index: int,
        spec: TaskSpec,
        request: tasks_v2.CreateTaskRequest,
        status: Status,
        name: str | None,
        attempts: int,
        error: Exception | None = None,
    ) -> EnqueueResult:
        return EnqueueResult(index, status, spec.queue, request.parent, name, attempts, error)

    # --- clients ----------------------------------------------------------------------------

    def _sync_client(self) -> TaskCreator:
        if self.client is None:
            if self.emulator_host is not None:
                import grpc
                from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

                channel = grpc.insecure_channel(self.emulator_host, options=_LOCAL_CHANNEL_OPTIONS)
                transport = CloudTasksGrpcTransport(channel=channel)
                self.client = tasks_v2.CloudTasksClient(transport=transport)
            else:
                self.client = tasks_v2.CloudTasksClient(client_options=self.client_options)
            self._owns_client = True
        return self.client

    @asynccontextmanager
    async def _batch_client(self) -> AsyncIterator[AsyncTaskCreator]:
        if self.async_client is not None:
            yield self.async_client
            return
        # A grpc.aio channel belongs to the event loop it was made in: one per call, closed after.
        if self.emulator_host is not None:
            import grpc
            from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcAsyncIOTransport

            channel = grpc.aio.insecure_channel(self.emulator_host, options=_LOCAL_CHANNEL_OPTIONS)
            client = tasks_v2.CloudTasksAsyncClient(transport=CloudTasksGrpcAsyncIOTransport(channel=channel))
        else:
            client = tasks_v2.CloudTasksAsyncClient(client_options=self.client_options)
        try:
            yield client
        finally:
            await client.transport.close()

    def close(self) -> None:
        """Close the blocking client if this Producer made it."""
        if self._owns_client and self.client is not None:
            self.client.transport.close()  # pyright: ignore[reportAttributeAccessIssue]  # a CloudTasksClient
            self.client = None
            self._owns_client = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
