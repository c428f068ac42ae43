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
server-assigned name for unnamed tasks.

Faults, scripted per task ID or for the next calls (`fail`, `stall`), or at random (`chaos`):
- an error before the task is stored;
- an error after it is stored (`after_storing=True`): the answer is lost, the task exists;
- a slow answer (`stall`): stored at once, answered late, so a client deadline cuts it off;
- an outage (`restart`): the server stops, dropping every call in flight (some stored, some not),
  refuses connections for a while, then listens again on the same port.

It listens on 127.0.0.1 only, runs on its own thread and event loop, caps concurrent calls and
stops itself after `max_lifetime` seconds if nobody stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
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
_OK = grpc.StatusCode.OK


def _serialize(message: Any) -> bytes:
    return message.SerializeToString()


@dataclass(frozen=True)
class Call:
    """One CreateTask call as the server saw it."""

    at: float  # time.monotonic() on arrival
    parent: str
    task_id: str | None  # None for an unnamed task
    code: grpc.StatusCode  # what it answered (or meant to: a call cut off by the client or a restart)
    size: int  # serialized Task bytes
    stored: bool = False  # this call stored the task (whatever it answered)
    timeout: float | None = None  # seconds the client's deadline left on arrival; None: no deadline


@dataclass(frozen=True)
class Fault:
    """What to do with one call instead of answering at once: error `code` (None: answer OK),
    before or after storing the task, after waiting `stall` seconds."""

    code: grpc.StatusCode | None = None
    after_storing: bool = False
    stall: float = 0.0


@dataclass(frozen=True)
class Chaos:
    """Random faults, each call drawing once: `errors` of the calls fail before storing, `lost` fail
    after storing (the answer is lost), `slow` are stored and answered after `slow_for` seconds."""

    errors: float = 0.0
    lost: float = 0.0
    slow: float = 0.0
    slow_for: float = 1.0
    codes: tuple[grpc.StatusCode, ...] = (grpc.StatusCode.UNAVAILABLE,)
    lost_codes: tuple[grpc.StatusCode, ...] = (
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.CANCELLED,
    )
    seed: int = 0


class FakeCloudTasks:
    def __init__(self, *, delay: float = 0.0, max_lifetime: float = 300.0, max_concurrent_rpcs: int = 10_000) -> None:
        self.delay = delay  # seconds before each answer: the round trip to Google it stands for
        self.max_lifetime = max_lifetime
        self.max_concurrent_rpcs = max_concurrent_rpcs
        self.calls: list[Call] = []
        self.created: dict[str, bytes] = {}  # task name -> serialized Task
        self.outages: list[tuple[float, float]] = []  # (down, up) times, time.monotonic()
        self._names: set[str] = set()
        self._by_id: dict[str, deque[Fault]] = {}
        self._next: deque[Fault] = deque()
        self._chaos: Chaos | None = None
        self._chaos_rng = random.Random(0)
        self._restart_at: tuple[int, float] | None = None  # (calls seen, seconds down)
        self._counter = itertools.count(1)
        self._in_flight = 0
        self.max_in_flight = 0  # the most calls it held at once
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._server: grpc.aio.Server | None = None
        self._startup_error: BaseException | None = None
        self.port = 0

    # --- scripting ----------------------------------------------------------------------------

    def fail(self, task_id: str | None, code: grpc.StatusCode, times: int = 1, *, after_storing: bool = False) -> None:
        """Answer `code` to the next `times` calls for `task_id` (None: the next calls of any task).

        With `after_storing`, the task is stored first (when it is valid and new): a lost answer.
        """
        self._script(task_id, Fault(code, after_storing), times)

    def stall(self, task_id: str | None, seconds: float, times: int = 1) -> None:
        """Store the next `times` tasks of `task_id` (None: any) at once and answer after `seconds`."""
        self._script(task_id, Fault(None, True, seconds), times)

    def chaos(self, chaos: Chaos | None) -> None:
        """Random faults for every call from now on (None: no more)."""
        with self._lock:
            self._chaos = chaos
            self._chaos_rng = random.Random(chaos.seed if chaos else 0)

    def restart(self, down_for: float, *, after_calls: int = 0) -> None:
        """Stop serving when `after_calls` calls have arrived (0: now), for `down_for` seconds, then serve again.

        Calls in flight are dropped (the client sees UNAVAILABLE or CANCELLED); new connections
        are refused while it is down; stored tasks survive, as they would on Cloud Tasks.
        """
        with self._lock:
            self._restart_at = (after_calls, down_for)
        if after_calls <= len(self.calls):
            self._trigger_restart()

    def preexisting(self, *names: str) -> None:
        """Task names taken already, as after an earlier run (ALREADY_EXISTS on create)."""
        with self._lock:
            self._names.update(names)

    def _script(self, task_id: str | None, fault: Fault, times: int) -> None:
        with self._lock:
            target = self._next if task_id is None else self._by_id.setdefault(task_id, deque())
            target.extend([fault] * times)

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

    def _fault_for(self, task_id: str | None) -> Fault | None:
        """The scripted fault for this call, else a random one (chaos), else None. Under the lock."""
        scripted = self._by_id.get(task_id) if task_id is not None else None
        if scripted:
            return scripted.popleft()
        if self._next:
            return self._next.popleft()
        chaos, rng = self._chaos, self._chaos_rng
        if chaos is None:
            return None
        draw = rng.random()
        if draw < chaos.errors:
            return Fault(rng.choice(chaos.codes))
        if draw < chaos.errors + chaos.lost:
            return Fault(rng.choice(chaos.lost_codes), after_storing=True)
        if draw < chaos.errors + chaos.lost + chaos.slow:
            return Fault(None, True, chaos.slow_for)
        return None

    async def _answer(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        arrived = time.monotonic()
        task = request.task
        size = task.ByteSize()
        task_id = task.name.rpartition("/tasks/")[2] if task.name else None
        with self._lock:
            fault = self._fault_for(task_id)
            restart = self._restart_at is not None and len(self.calls) + 1 >= self._restart_at[0]
        code, message = (fault.code, "scripted failure") if fault else (None, "")
        name, stored = task.name, False
        if fault is None or fault.after_storing:
            check, check_message = self._check(request, size)
            if check is None:
                with self._lock:
                    if not name:
                        name = f"{request.parent}/tasks/{next(self._counter)}"
                    if name in self._names:
                        check, check_message = grpc.StatusCode.ALREADY_EXISTS, "Requested entity already exists"
                    else:
                        self._names.add(name)
                        self.created[name] = task.SerializeToString()
                        stored = True
            if code is None:
                code, message = check, check_message
        timeout = context.time_remaining()
        with self._lock:
            self.calls.append(Call(arrived, request.parent, task_id, code or _OK, size, stored, timeout))
        if restart:
            self._trigger_restart()
        wait = self.delay + (fault.stall if fault else 0.0)
        if wait:
            await asyncio.sleep(wait)
        if code is not None:
            await context.abort(code, message)
        answer = _TaskPb()
        answer.CopyFrom(task)
        answer.name = name
        answer.ClearField("http_request")  # response_view BASIC leaves the body out
        return answer

    @staticmethod
    def _check(request: Any, size: int) -> tuple[grpc.StatusCode | None, str]:
        if size > MAX_TASK_BYTES:
            return grpc.StatusCode.INVALID_ARGUMENT, f"Task size {size} exceeds the limit"
        if request.task.name and not request.task.name.startswith(request.parent + "/tasks/"):
            return grpc.StatusCode.INVALID_ARGUMENT, "Task name must be under the request's parent queue"
        return None, ""

    def _trigger_restart(self) -> None:
        with self._lock:
            planned, self._restart_at = self._restart_at, None
        if planned is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(lambda: asyncio.ensure_future(self._restart(planned[1])))

    async def _start_server(self) -> None:
        server = grpc.aio.server(maximum_concurrent_rpcs=self.max_concurrent_rpcs)
        handler = grpc.unary_unary_rpc_method_handler(
            self._create_task,
            request_deserializer=_RequestPb.FromString,
            response_serializer=_serialize,
        )
        server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler(_SERVICE, {"CreateTask": handler})])
        self.port = server.add_insecure_port(f"127.0.0.1:{self.port}")  # loopback only; 0 picks a port
        await server.start()
        self._server = server

    async def _restart(self, down_for: float) -> None:
        server, self._server = self._server, None
        down = time.monotonic()
        if server is not None:
            await server.stop(grace=None)  # drops every call in flight
        await asyncio.sleep(down_for)
        if self._stop is not None and not self._stop.is_set():
            await self._start_server()
        self.outages.append((down, time.monotonic()))

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        await self._start_server()
        self._ready.set()
        try:
            await asyncio.wait_for(self._stop.wait(), timeout=self.max_lifetime)
        except TimeoutError:
            pass  # nobody stopped it: stop anyway
        finally:
            if self._server is not None:
                await self._server.stop(grace=None)

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
