"""Enqueue one task on a task-worker queue with google-cloud-tasks 2.x.

Google's Cloud Run guide sample calls ``client.create_task(parent, task)`` (the
1.x positional form), which raises TypeError on 2.x: every method now takes one
``request``. This module builds that request from the stack's outputs.

The stack's queues carry a queue-level httpTarget (host, path and an OIDC token
of the invoker account, audience = the service URL), so a task needs only a
body. ``HttpRequest.url`` is still required by the API, so it is always set to
serviceUrl + targetPath, which is what the queue's override enforces anyway.

CLI (needs the ``client`` dependency group: ``uv sync --group client``)::

    python -m tools.enqueue --stack dev --queue default --json '{"order": 42}'
    python -m tools.enqueue --outputs outputs.json --queue bulk --data @body.bin \\
        --content-type application/octet-stream --task-id order-42 --delay 5m
    python -m tools.enqueue --stack dev --queue default --json @order.json \\
        --schedule-time 2030-01-01T08:00:00Z --dispatch-deadline 15m --token-on-task

It prints the created task's name. ``--dry-run`` prints the request instead.
Invalid input exits 2 with one line on stderr; API/credential failures exit 1.

Library::

    from google.cloud import tasks_v2
    from tools.enqueue import Payload, StackOutputs, build_request, enqueue

    outputs = StackOutputs.from_json(outputs_dict)  # `pulumi stack output --json`
    request = build_request(outputs, "default", Payload.of_json({"order": 42}))
    name = enqueue(tasks_v2.CloudTasksClient(), request)

Permissions: ``roles/cloudtasks.enqueuer`` on the queue; with ``token_on_task``
also ``roles/iam.serviceAccountUser`` on the invoker account.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, Unpack

if TYPE_CHECKING:
    from google.cloud import tasks_v2

# Cloud Tasks system limits (cloud.google.com/tasks/docs/quotas; Task docstrings).
# "Maximum task size: 1 MB" does not say how it is measured nor whether MB is
# 10**6 or 2**20: we check the serialized Task (body, headers, url, name, token)
# against the smaller reading so nothing we let through is refused for size.
MAX_TASK_BYTES = 1_000_000
MAX_SCHEDULE_AHEAD = timedelta(days=30)
MIN_DISPATCH_DEADLINE = timedelta(seconds=15)
MAX_DISPATCH_DEADLINE = timedelta(seconds=1800)
TASK_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,500}")
QUEUE_PATH_RE = re.compile(r"projects/[^/]+/locations/[^/]+/queues/[A-Za-z0-9-]{1,100}")
JSON_CONTENT_TYPE = "application/json"
INSTALL_HINT = "install with `uv sync --group client`"

_DURATION_RE = re.compile(r"(\d+)([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# Where Pulumi.yaml lives, so `pulumi stack output` works from any cwd.
_PROJECT_DIR = Path(__file__).resolve().parent.parent


class EnqueueError(Exception):
    """Bad input for an enqueue: the message names the problem and the fix."""


class TaskCreator(Protocol):
    """What `enqueue` needs: `tasks_v2.CloudTasksClient` satisfies it."""

    def create_task(self, *, request: tasks_v2.CreateTaskRequest) -> tasks_v2.Task: ...


@dataclass(frozen=True)
class QueueTarget:
    """One entry of the `queues` stack output."""

    path: str  # projects/P/locations/L/queues/Q
    target_path: str  # path on the service, e.g. "/bulk"


@dataclass(frozen=True)
class StackOutputs:
    """The stack outputs a producer needs, parsed from `pulumi stack output --json`."""

    service_url: str
    audience: str
    invoker_email: str
    queues: Mapping[str, QueueTarget] = field(hash=False)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StackOutputs:
        """Parse and check the outputs; unknown extra keys are ignored."""
        if not isinstance(data, Mapping):
            raise EnqueueError(f"stack outputs must be a JSON object, got {type(data).__name__}")
        service_url = _required_str(data, "serviceUrl")
        if not service_url.startswith("https://"):
            raise EnqueueError(f"stack output serviceUrl must start with https://, got {service_url!r}")
        raw_queues = data.get("queues")
        if raw_queues is None:
            raise EnqueueError("stack outputs are missing 'queues'")
        if not isinstance(raw_queues, Mapping) or not raw_queues:
            raise EnqueueError("stack output 'queues' must be a non-empty object of queue key -> {path, targetPath}")
        queues: dict[str, QueueTarget] = {}
        for key, entry in raw_queues.items():
            where = f"queues.{key}"
            if not isinstance(entry, Mapping):
                raise EnqueueError(f"stack output '{where}' must be an object with path and targetPath")
            path = _required_str(entry, "path", where)
            if not QUEUE_PATH_RE.fullmatch(path):
                raise EnqueueError(
                    f"stack output '{where}.path' must look like projects/P/locations/L/queues/Q, got {path!r}"
                )
            target_path = _required_str(entry, "targetPath", where)
            if not target_path.startswith("/"):
                raise EnqueueError(f"stack output '{where}.targetPath' must start with '/', got {target_path!r}")
            queues[str(key)] = QueueTarget(path=path, target_path=target_path)
        return cls(
            service_url=service_url,
            audience=_required_str(data, "audience"),
            invoker_email=_required_str(data, "invokerEmail"),
            queues=MappingProxyType(queues),
        )

    def queue(self, key: str) -> QueueTarget:
        """The queue for `key`, or an error listing the known keys."""
        try:
            return self.queues[key]
        except KeyError:
            known = ", ".join(sorted(self.queues))
            raise EnqueueError(f"unknown queue {key!r}; known queues: {known}") from None

    def url_for(self, queue: QueueTarget) -> str:
        return self.service_url.rstrip("/") + queue.target_path


def _required_str(data: Mapping[str, Any], key: str, where: str = "") -> str:
    full = f"{where}.{key}" if where else key
    if key not in data:
        raise EnqueueError(f"stack outputs are missing '{full}'")
    value = data[key]
    if not isinstance(value, str) or not value:
        raise EnqueueError(f"stack output '{full}' must be a non-empty string, got {value!r}")
    return value


@dataclass(frozen=True)
class Payload:
    """A task body and its Content-Type (None: no header; Cloud Tasks sets none)."""

    body: bytes
    content_type: str | None = None

    @classmethod
    def of_json(cls, value: object) -> Payload:
        return cls(json.dumps(value, separators=(",", ":")).encode(), JSON_CONTENT_TYPE)


def _tasks_v2_module():  # return type inferred: the tasks_v2 module
    # Imported lazily so that a missing optional group gives one clear line.
    try:
        from google.cloud import tasks_v2
    except ImportError as exc:
        raise EnqueueError(f"google-cloud-tasks is not installed: {INSTALL_HINT}") from exc
    return tasks_v2


def check_task_id(task_id: str) -> str:
    if not TASK_ID_RE.fullmatch(task_id):
        raise EnqueueError(
            f"bad task id {task_id[:60]!r}{'...' if len(task_id) > 60 else ''} ({len(task_id)} chars): "
            "use only letters, digits, '-' and '_', 1-500 characters"
        )
    return task_id


def check_schedule_time(schedule_time: datetime, now: datetime) -> datetime:
    if schedule_time.tzinfo is None:
        raise EnqueueError(f"schedule time {schedule_time.isoformat()} has no UTC offset; use e.g. ...Z or +02:00")
    if schedule_time - now > MAX_SCHEDULE_AHEAD:
        raise EnqueueError(
            f"schedule time {schedule_time.isoformat()} is more than 30 days ahead "
            f"(now {now.isoformat(timespec='seconds')}); Cloud Tasks refuses it"
        )
    return schedule_time


def check_dispatch_deadline(deadline: timedelta) -> timedelta:
    if not MIN_DISPATCH_DEADLINE <= deadline <= MAX_DISPATCH_DEADLINE:
        raise EnqueueError(
            f"dispatch deadline {deadline.total_seconds():g}s is out of range: HTTP tasks allow 15s to 1800s (30m)"
        )
    return deadline


class TaskOptions(TypedDict, total=False):
    """Keyword options of `build_task` / `build_request`."""

    task_id: str | None
    delay: timedelta | None
    schedule_time: datetime | None
    dispatch_deadline: timedelta | None
    token_on_task: bool
    now: datetime | None


def build_task(
    outputs: StackOutputs,
    queue_key: str,
    payload: Payload,
    *,
    task_id: str | None = None,
    delay: timedelta | None = None,
    schedule_time: datetime | None = None,
    dispatch_deadline: timedelta | None = None,
    token_on_task: bool = False,
    now: datetime | None = None,
) -> tasks_v2.Task:
    """A POST task for `queue_key`; raises EnqueueError on any bad input.

    `delay` and `schedule_time` are exclusive; either may be at most 30 days
    ahead of `now` (default: the current UTC time). With `token_on_task` the
    task also carries the invoker's OIDC token (the guide's method), which the
    queue-level token would otherwise supply.
    """
    tasks_v2 = _tasks_v2_module()
    queue = outputs.queue(queue_key)
    now = now or datetime.now(UTC)
    if delay is not None and schedule_time is not None:
        raise EnqueueError("give either a delay or a schedule time, not both")
    if delay is not None:
        if delay < timedelta(0):
            raise EnqueueError(f"delay {delay} is negative")
        if delay > MAX_SCHEDULE_AHEAD:
            raise EnqueueError(f"delay {delay} is more than 30 days; Cloud Tasks refuses it")
        schedule_time = now + delay
    elif schedule_time is not None:
        check_schedule_time(schedule_time, now)

    http_request = tasks_v2.HttpRequest(
        http_method=tasks_v2.HttpMethod.POST,
        url=outputs.url_for(queue),
        body=payload.body,
    )
    if payload.content_type:
        # Cloud Tasks sets no Content-Type itself.
        http_request.headers["Content-Type"] = payload.content_type
    if token_on_task:
        http_request.oidc_token = tasks_v2.OidcToken(
            service_account_email=outputs.invoker_email, audience=outputs.audience
        )

    task = tasks_v2.Task(http_request=http_request)
    if task_id is not None:
        task.name = f"{queue.path}/tasks/{check_task_id(task_id)}"
    if schedule_time is not None:
        task.schedule_time = schedule_time  # pyright: ignore[reportAttributeAccessIssue]  # proto-plus marshals datetime
    if dispatch_deadline is not None:
        task.dispatch_deadline = check_dispatch_deadline(dispatch_deadline)  # pyright: ignore[reportAttributeAccessIssue]

    size = len(tasks_v2.Task.serialize(task))
    if size > MAX_TASK_BYTES:
        raise EnqueueError(
            f"task too large: {size} bytes serialized (body {len(payload.body)} bytes); "
            f"Cloud Tasks takes at most 1 MB per task, checked here as {MAX_TASK_BYTES} bytes"
        )
    return task


def build_request(
    outputs: StackOutputs, queue_key: str, payload: Payload, **options: Unpack[TaskOptions]
) -> tasks_v2.CreateTaskRequest:
    """The 2.x CreateTaskRequest (parent = the queue path); options as for `build_task`."""
    tasks_v2 = _tasks_v2_module()
    task = build_task(outputs, queue_key, payload, **options)
    return tasks_v2.CreateTaskRequest(parent=outputs.queue(queue_key).path, task=task)


def enqueue(client: TaskCreator, request: tasks_v2.CreateTaskRequest) -> str:
    """Create the task; returns its full name (server-assigned if no task id)."""
    return client.create_task(request=request).name


# --- CLI -----------------------------------------------------------------------


def parse_duration(text: str, what: str) -> timedelta:
    """'90', '30s', '5m', '2h', '1d' -> timedelta."""
    match = _DURATION_RE.fullmatch(text.strip())
    if not match:
        raise EnqueueError(f"bad {what} {text!r}: use a whole number with s, m, h or d, e.g. 30s, 5m, 2h")
    return timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])


def parse_rfc3339(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise EnqueueError(f"bad schedule time {text!r}: use RFC 3339, e.g. 2030-01-01T08:00:00Z") from None
    if value.tzinfo is None:
        raise EnqueueError(f"schedule time {text!r} has no UTC offset: add Z or e.g. +02:00")
    return value


def _read_arg(value: str) -> bytes:
    """'@path' reads a file ('@-' stdin); anything else is the value itself."""
    if not value.startswith("@"):
        return value.encode()
    path = value[1:]
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise EnqueueError(f"cannot read {path}: {exc.strerror or exc}") from None


def load_outputs_file(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except OSError as exc:
        raise EnqueueError(f"cannot read outputs file {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise EnqueueError(f"outputs file {path} is not JSON: {exc}") from None


def load_stack_outputs(stack: str, cwd: Path = _PROJECT_DIR) -> dict[str, Any]:
    """`pulumi stack output --json --stack STACK`, run in the Pulumi project dir."""
    try:
        proc = subprocess.run(
            ["pulumi", "stack", "output", "--json", "--stack", stack],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        raise EnqueueError(
            "the pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/) "
            "or pass --outputs FILE with the stack's outputs as JSON"
        ) from None
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no error output"])[-1]
        raise EnqueueError(f"`pulumi stack output --stack {stack}` failed ({proc.returncode}): {detail}")
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise EnqueueError(f"`pulumi stack output --stack {stack}` did not print JSON: {exc}") from None


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.enqueue",
        description="Create one task on a task-worker Cloud Tasks queue; prints the task name.",
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--stack", help="read outputs with `pulumi stack output --json --stack STACK`")
    src.add_argument("--outputs", type=Path, metavar="FILE", help="JSON file of the stack's outputs")
    p.add_argument("--queue", default="default", help="queue key in the `queues` output (default: default)")
    body = p.add_mutually_exclusive_group(required=True)
    body.add_argument("--json", metavar="JSON", help="JSON body (or @file, @- for stdin); sets Content-Type")
    body.add_argument("--data", metavar="DATA", help="raw body (or @file, @- for stdin)")
    p.add_argument("--content-type", help="Content-Type for --data (default: none)")
    p.add_argument("--task-id", help="task id for de-duplication: letters, digits, - and _, max 500")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--delay", help="dispatch after this long: 30s, 5m, 2h, 1d (max 30d)")
    when.add_argument("--schedule-time", help="dispatch at this RFC 3339 time (max 30 days ahead)")
    p.add_argument("--dispatch-deadline", help="worker deadline, 15s-1800s (Cloud Tasks default 10m)")
    p.add_argument(
        "--token-on-task",
        action="store_true",
        help="also put the invoker's OIDC token on the task (needs serviceAccountUser on it)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the request as JSON; do not send it")
    return p


def _payload(args: argparse.Namespace) -> Payload:
    if args.json is not None:
        raw = _read_arg(args.json)
        try:
            json.loads(raw)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise EnqueueError(f"--json is not valid JSON: {exc}") from None
        if args.content_type:
            raise EnqueueError("--content-type goes with --data; --json always sends application/json")
        return Payload(raw, JSON_CONTENT_TYPE)  # sent as given: no re-encoding
    return Payload(_read_arg(args.data), args.content_type)


def main(argv: Sequence[str] | None = None, client: TaskCreator | None = None) -> int:
    """CLI entry point; `client` is injectable (tests, custom credentials)."""
    args = _parser().parse_args(argv)
    try:
        raw = load_outputs_file(args.outputs) if args.outputs else load_stack_outputs(args.stack)
        request = build_request(
            StackOutputs.from_json(raw),
            args.queue,
            _payload(args),
            task_id=args.task_id,
            delay=parse_duration(args.delay, "delay") if args.delay else None,
            schedule_time=parse_rfc3339(args.schedule_time) if args.schedule_time else None,
            dispatch_deadline=(
                parse_duration(args.dispatch_deadline, "dispatch deadline") if args.dispatch_deadline else None
            ),
            token_on_task=args.token_on_task,
        )
    except EnqueueError as exc:
        print(f"enqueue: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(type(request).to_json(request, use_integers_for_enums=False))
        return 0
    return _send(request, client)


def _send(request: tasks_v2.CreateTaskRequest, client: TaskCreator | None) -> int:
    from google.api_core.exceptions import GoogleAPIError
    from google.auth.exceptions import GoogleAuthError

    try:
        if client is None:
            client = _tasks_v2_module().CloudTasksClient()
        print(enqueue(client, request))
    except (GoogleAPIError, GoogleAuthError) as exc:
        # e.g. AlreadyExists for a reused task id, PermissionDenied, no ADC.
        message = " ".join(str(exc).split())
        print(f"enqueue: {type(exc).__name__}: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
