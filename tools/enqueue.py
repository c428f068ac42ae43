"""Enqueue tasks on a task-worker queue: a command-line front-end of `task_worker_producer`.

CLI (needs the ``client`` dependency group: ``uv sync --group client``)::

    python -m tools.enqueue --stack dev --queue default --json '{"order": 42}'
    python -m tools.enqueue --outputs outputs.json --queue bulk --data @body.bin \\
        --content-type application/octet-stream --task-id order-42 --delay 5m
    python -m tools.enqueue --stack dev --queue default --json @order.json \\
        --schedule-time 2030-01-01T08:00:00Z --shard-key customer-7 --dispatch-deadline 5m
    python -m tools.enqueue --stack dev --queue bulk --jsonl orders.jsonl   # one task per line

It prints the task's name (with ``--jsonl``, one name per line, in input order). A task whose
``--task-id`` is taken is not created again: the name is printed and a note goes to stderr
(exit 0). ``--dry-run`` prints the request instead, its body readable (``bodyJson``,
``bodyText``, or ``bodyBase64`` when it is not UTF-8). Invalid input exits 2 with one line on
stderr; API/credential failures exit 1 (with ``--jsonl``: when any task failed, each failure on
its own line). A batch prints its progress on stderr when stderr is a terminal and the batch
runs longer than a couple of seconds.

The dispatch deadline defaults to the service's request timeout (stack output
``timeoutSeconds``) and may not exceed it. Tasks carry no OIDC token: the queue's httpTarget
holds it. Producers need ``roles/cloudtasks.enqueuer`` on the queue and nothing else.
In code, use the library itself (``producer/README.md``).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from google.cloud import tasks_v2

    from task_worker_producer import EnqueueResult, Producer, TaskSpec
    from task_worker_producer.producer import AsyncTaskCreator, TaskCreator

INSTALL_HINT = "install with `uv sync --group client`"
JSON_CONTENT_TYPE = "application/json"

_DURATION_RE = re.compile(r"(\d+)([smhd]?)")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
# Where Pulumi.yaml lives, so `pulumi stack output` works from any cwd.
_PROJECT_DIR = Path(__file__).resolve().parent.parent


class UsageError(Exception):
    """Bad command-line input: exit 2 with this one line."""


def parse_duration(text: str, what: str) -> timedelta:
    """'90', '30s', '5m', '2h', '1d' -> timedelta."""
    match = _DURATION_RE.fullmatch(text.strip())
    if not match:
        raise UsageError(f"bad {what} {text!r}: use a whole number with s, m, h or d, e.g. 30s, 5m, 2h")
    return timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])


def parse_rfc3339(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"bad schedule time {text!r}: use RFC 3339, e.g. 2030-01-01T08:00:00Z") from None
    if value.tzinfo is None:
        raise UsageError(f"schedule time {text!r} has no UTC offset: add Z or e.g. +02:00")
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
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}") from None


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
        raise UsageError(
            "the pulumi CLI is not on PATH: install it (https://www.pulumi.com/docs/install/) "
            "or pass --outputs FILE with the stack's outputs as JSON"
        ) from None
    if proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or ["no error output"])[-1]
        raise UsageError(f"`pulumi stack output --stack {stack}` failed ({proc.returncode}): {detail}")
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise UsageError(f"`pulumi stack output --stack {stack}` did not print JSON: {exc}") from None


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
    body.add_argument(
        "--jsonl", metavar="FILE", help="many tasks: one JSON body per line of FILE (- for stdin); sets Content-Type"
    )
    p.add_argument("--content-type", help="Content-Type for --data (default: none)")
    p.add_argument("--task-id", help="task id for de-duplication: letters, digits, - and _, max 500")
    p.add_argument("--shard-key", help="tasks with the same key go to the same queue shard (default: random)")
    when = p.add_mutually_exclusive_group()
    when.add_argument("--delay", help="dispatch after this long: 30s, 5m, 2h, 1d (max 30d)")
    when.add_argument("--schedule-time", help="dispatch at this RFC 3339 time (max 30 days ahead)")
    p.add_argument(
        "--dispatch-deadline",
        help="how long Cloud Tasks waits for the handler, 15s-30m (default and maximum: the service timeout)",
    )
    p.add_argument("--dry-run", action="store_true", help="print the request as JSON; do not send it")
    p.add_argument("--emulator-host", metavar="HOST:PORT", help="a local Cloud Tasks server (plaintext, no auth)")
    return p


def _spec(args: argparse.Namespace, body: bytes | None = None) -> TaskSpec:
    """The task the options describe; `body` (checked JSON) for one line of --jsonl."""
    from task_worker_producer import TaskSpec

    if body is not None:
        content_type = JSON_CONTENT_TYPE
    elif args.json is not None:
        raw = _read_arg(args.json)
        try:
            json.loads(raw)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise UsageError(f"--json is not valid JSON: {exc}") from None
        if args.content_type:
            raise UsageError("--content-type goes with --data; --json always sends application/json")
        body, content_type = raw, JSON_CONTENT_TYPE  # sent as given: no re-encoding
    else:
        body, content_type = _read_arg(args.data), args.content_type
    return TaskSpec(
        queue=args.queue,
        body=body,
        content_type=content_type,
        task_id=args.task_id,
        shard_key=args.shard_key,
        delay=parse_duration(args.delay, "delay") if args.delay else None,
        schedule_time=parse_rfc3339(args.schedule_time) if args.schedule_time else None,
        dispatch_deadline=(
            parse_duration(args.dispatch_deadline, "dispatch deadline") if args.dispatch_deadline else None
        ),
    )


def _jsonl_bodies(source: str) -> list[bytes]:
    """The non-blank lines of FILE (- for stdin), each checked to be JSON, sent as given."""
    raw = _read_arg("@" + source)
    bodies: list[bytes] = []
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            json.loads(line)
        except ValueError as exc:
            raise UsageError(f"--jsonl line {number} is not valid JSON: {exc}") from None
        bodies.append(line)
    if not bodies:
        raise UsageError("--jsonl: no tasks (every line is blank)")
    return bodies


def readable_request(request: tasks_v2.CreateTaskRequest) -> dict[str, Any]:
    """The request as JSON, with the body shown as JSON, text, or (marked) base64 instead of always base64."""
    data = json.loads(type(request).to_json(request, use_integers_for_enums=False))
    http = data["task"]["httpRequest"]
    raw: bytes = request.task.http_request.body
    http.pop("body", None)
    if not raw:
        return data
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        http["bodyBase64"] = base64.b64encode(raw).decode()
        return data
    if "json" in request.task.http_request.headers.get("Content-Type", ""):
        try:
            http["bodyJson"] = json.loads(text)
            return data
        except ValueError:
            pass  # labelled JSON but is not: show it as the text it is
    http["bodyText"] = text
    return data


def main(
    argv: Sequence[str] | None = None,
    client: TaskCreator | None = None,
    async_client: AsyncTaskCreator | None = None,
) -> int:
    """CLI entry point; `client` / `async_client` (for --jsonl) are injectable (tests, custom credentials)."""
    args = _parser().parse_args(argv)
    try:
        from task_worker_producer import EnqueueError, Producer, StackOutputs
    except ImportError:
        print(f"enqueue: task-worker-producer is not installed: {INSTALL_HINT}", file=sys.stderr)
        return 2
    try:
        if args.jsonl is not None and (args.task_id or args.content_type):
            raise UsageError(
                "--jsonl makes many tasks: each is named by the library; --task-id and --content-type do not apply"
            )
        outputs = StackOutputs.from_json(args.outputs if args.outputs else load_stack_outputs(args.stack))
        specs = [_spec(args, body) for body in _jsonl_bodies(args.jsonl)] if args.jsonl is not None else [_spec(args)]
        with Producer(outputs, client=client, async_client=async_client, emulator_host=args.emulator_host) as producer:
            if args.dry_run:
                for spec in specs:
                    print(json.dumps(readable_request(producer.build_request(spec)), indent=None if args.jsonl else 2))
                return 0
            if args.jsonl is not None:
                return _send_many(producer, specs)
            return _send(producer, specs[0])
    except (UsageError, EnqueueError) as exc:  # refused before anything was sent
        print(f"enqueue: {exc}", file=sys.stderr)
        return 2


class Progress:
    """`done/total` on one rewritten stderr line, only on a terminal and only once a batch has run `after` seconds."""

    def __init__(
        self,
        total: int,
        stream: TextIO,
        *,
        after: float = 2.0,
        every: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total, self.stream, self.after, self.every, self.clock = total, stream, after, every, clock
        self.done = self.failed = 0
        self.start = clock()
        self.shown_at: float | None = None
        self.enabled = stream.isatty()

    def update(self, result: EnqueueResult) -> None:
        self.done += 1
        self.failed += not result.ok
        if not self.enabled:
            return
        now = self.clock()
        due = self.shown_at is None or now - self.shown_at >= self.every or self.done == self.total
        if now - self.start >= self.after and due:
            self.shown_at = now
            rate = self.done / max(now - self.start, 1e-9)
            self.stream.write(f"\renqueue: {self.done}/{self.total} tasks done, {self.failed} failed, {rate:.0f}/s")
            self.stream.flush()

    def close(self) -> None:
        if self.shown_at is not None:
            self.stream.write("\n")
            self.stream.flush()


def _send_many(producer: Producer, specs: list[TaskSpec]) -> int:
    from google.api_core.exceptions import GoogleAPIError
    from google.auth.exceptions import GoogleAuthError

    from task_worker_producer import Status

    progress = Progress(len(specs), sys.stderr)
    try:
        results = asyncio.run(producer.enqueue_many(specs, on_result=progress.update))
    except (GoogleAPIError, GoogleAuthError) as exc:  # making the client, e.g. no ADC: nothing was sent
        message = " ".join(str(exc).split())
        print(f"enqueue: {type(exc).__name__}: {message}", file=sys.stderr)
        return 1
    finally:
        progress.close()
    for result in results:
        if result.status is Status.FAILED:
            message = " ".join(str(result.error).split())
            print(f"enqueue: line {result.index + 1}: {type(result.error).__name__}: {message}", file=sys.stderr)
        else:
            print(result.name)
    counts = {status: sum(1 for r in results if r.status is status) for status in Status}
    print(
        f"enqueue: {len(results)} tasks: {counts[Status.CREATED]} created, {counts[Status.DUPLICATE]} duplicate, "
        f"{counts[Status.FAILED]} failed",
        file=sys.stderr,
    )
    return 1 if counts[Status.FAILED] else 0


def _send(producer: Producer, spec: TaskSpec) -> int:
    from google.api_core.exceptions import GoogleAPIError
    from google.auth.exceptions import GoogleAuthError

    from task_worker_producer import Status

    try:
        result = producer.create_task(spec)
    except (GoogleAPIError, GoogleAuthError) as exc:
        # e.g. PermissionDenied, InvalidArgument, no ADC; UNAVAILABLE only after the retries.
        message = " ".join(str(exc).split())
        print(f"enqueue: {type(exc).__name__}: {message}", file=sys.stderr)
        return 1
    print(result.name)
    if result.status is Status.DUPLICATE:
        print(
            f"enqueue: task id {spec.task_id!r} is taken (a task of that name exists, or ended within about "
            "an hour): not created again",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
