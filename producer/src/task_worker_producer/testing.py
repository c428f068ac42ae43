"""A fake Cloud Tasks server for tests and benchmarks: real gRPC, CreateTask only, loopback only.

    with FakeCloudTasks(delay=0.02) as fake:
        producer = Producer(outputs, emulator_host=fake.address)
        fake.fail("order-1", grpc.StatusCode.UNAVAILABLE, times=2)
        ...
        assert len(fake.created) == n

The real client library talks to it over a real HTTP/2 connection, so its request building,
serialization, routing headers and error mapping are all exercised. It serves
`google.cloud.tasks.v2.CloudTasks/CreateTask` with the request and Task messages of the installed
google-cloud-tasks (its gRPC method handler is registered generically: the package ships no
servicer) and answers like Cloud Tasks where it matters here: ALREADY_EXISTS for a name it has
seen on that queue, INVALID_ARGUMENT for a task over 1 MB or a name outside its queue, a
server-assigned name for unnamed tasks. Failures are scripted per task ID or for the next calls.

It listens on 127.0.0.1 only, runs on its own thread and event loop, caps concurrent calls and
stops itself after `max_lifetime` seconds if nobody stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import grpc
from google.cloud import tasks_v2

from .limits import MAX_TASK_BYTES

_SERVICE = "google.cloud.tasks.v2.CloudTasks"
_RequestPb: Any = tasks_v2.CreateTaskRequest.pb()
_TaskPb: Any = tasks_v2.Task.pb()


def _serialize(message: Any) -> bytes:
    return message.SerializeToString()


@dataclass(frozen=True)
class Call:
    """One CreateTask call as the server saw it."""

    at: float  # time.monotonic() on arrival
    parent: str
    task_id: str | None  # None for an unnamed task
    code: grpc.StatusCode  # what it answered
    size: int  # serialized Task bytes


class FakeCloudTasks:
    def __init__(self, *, delay: float = 0.0, max_lifetime: float = 300.0, max_concurrent_rpcs: int = 10_000) -> None:
        self.delay = delay  # seconds before each answer: the round trip to Google it stands for
        self.max_lifetime = max_lifetime
        self.max_concurrent_rpcs = max_concurrent_rpcs
        self.calls: list[Call] = []
        self.created: dict[str, bytes] = {}  # task name -> serialized Task
        self._names: set[str] = set()
        self._by_id: dict[str, deque[grpc.StatusCode]] = {}
        self._next: deque[grpc.StatusCode] = deque()
        self._counter = itertools.count(1)
        self._in_flight = 0
        self.max_in_flight = 0  # the most calls it held at once
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._startup_error: BaseException | None = None
        self.port = 0

    # --- scripting ----------------------------------------------------------------------------

    def fail(self, task_id: str | None, code: grpc.StatusCode, times: int = 1) -> None:
        """Answer `code` to the next `times` calls for `task_id` (None: the next calls of any task)."""
        with self._lock:
            target = self._next if task_id is None else self._by_id.setdefault(task_id, deque())
            target.extend([code] * times)

    def preexisting(self, *names: str) -> None:
        """Task names taken already, as after an earlier run (ALREADY_EXISTS on create)."""
        with self._lock:
            self._names.update(names)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def calls_for(self, task_id: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.task_id == task_id]

    # --- serving ------------------------------------------------------------------------------

    async def _create_task(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            return await self._answer(request, context)
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _answer(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        arrived = time.monotonic()
        task = request.task
        size = task.ByteSize()
        task_id = task.name.rpartition("/tasks/")[2] if task.name else None
        with self._lock:
            scripted = self._by_id.get(task_id) if task_id is not None else None
            code = scripted.popleft() if scripted else (self._next.popleft() if self._next else None)
        if self.delay:
            await asyncio.sleep(self.delay)
        message = "scripted failure"
        if code is None:
            code, message = self._check(request, size)
        name = task.name
        if code is None:
            with self._lock:
                if not name:
                    name = f"{request.parent}/tasks/{next(self._counter)}"
                if name in self._names:
                    code, message = grpc.StatusCode.ALREADY_EXISTS, "Requested entity already exists"
                else:
                    self._names.add(name)
        with self._lock:
            self.calls.append(Call(arrived, request.parent, task_id, code or grpc.StatusCode.OK, size))
        if code is not None:
            await context.abort(code, message)
        answer = _TaskPb()
        answer.CopyFrom(task)
        answer.name = name
        answer.ClearField("http_request")  # response_view BASIC leaves the body out
        with self._lock:
            self.created[name] = task.SerializeToString()
        return answer

    @staticmethod
    def _check(request: Any, size: int) -> tuple[grpc.StatusCode | None, str]:
        if size > MAX_TASK_BYTES:
            return grpc.StatusCode.INVALID_ARGUMENT, f"Task size {size} exceeds the limit"
        if request.task.name and not request.task.name.startswith(request.parent + "/tasks/"):
            return grpc.StatusCode.INVALID_ARGUMENT, "Task name must be under the request's parent queue"
        return None, ""

    async def _serve(self) -> None:
        server = grpc.aio.server(maximum_concurrent_rpcs=self.max_concurrent_rpcs)
        handler = grpc.unary_unary_rpc_method_handler(
            self._create_task,
            request_deserializer=_RequestPb.FromString,
            response_serializer=_serialize,
        )
        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(_SERVICE, {"CreateTask": handler})])
        self.port = server.add_insecure_port("127.0.0.1:0")  # loopback only
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        await server.start()
        self._ready.set()
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=self.max_lifetime)
        except TimeoutError:
            pass  # nobody stopped it: stop anyway
        finally:
            await server.stop(grace=None)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported by start(), not lost on a thread
            self._startup_error = exc
            self._ready.set()

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name="fake-cloud-tasks", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=10) or self._startup_error is not None:
            raise RuntimeError(f"fake Cloud Tasks server did not start: {self._startup_error!r}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            # RuntimeError: its loop is closed, it stopped itself (max_lifetime).
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


SAMPLE_SERVICE_URL = "https://task-worker-service-1a2b3c4-ew.a.run.app"


def sample_outputs(queues: Mapping[str, tuple[Sequence[str], str]], /, **extra: Any) -> dict[str, Any]:
    """Stack outputs as `pulumi stack output --json` prints them, for tests: queue key -> (paths, target path)."""
    return {
        "project": "my-proj",
        "location": "europe-west1",
        "serviceName": "task-worker-service-1a2b3c4",
        "serviceUrl": SAMPLE_SERVICE_URL,
        "audience": SAMPLE_SERVICE_URL,
        "invokerEmail": "tw-invoker@my-proj.iam.gserviceaccount.com",
        "runtimeEmail": "tw-run@my-proj.iam.gserviceaccount.com",
        "timeoutSeconds": 900,
        "queues": {
            key: {"path": paths[0], "paths": list(paths), "targetPath": target}
            for key, (paths, target) in queues.items()
        },
        **extra,
    }
