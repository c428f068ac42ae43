"""What to enqueue (`TaskSpec`) and the checks every task passes before it is sent."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from datetime import datetime, timedelta

from .errors import EnqueueError
from .limits import MAX_DISPATCH_DEADLINE, MAX_SCHEDULE_AHEAD, MIN_DISPATCH_DEADLINE, TASK_ID_RE

JSON_CONTENT_TYPE = "application/json"


@dataclass(frozen=True, kw_only=True)
class TaskSpec:
    """One task to create on the queue named by `queue` (a key of the `queues` stack output).

    - `body`, `content_type`: the POST body and its Content-Type (Cloud Tasks sets none itself).
    - `task_id`: names the task, which makes Cloud Tasks refuse a second task of the same name
      on the same queue (ALREADY_EXISTS, reported as a duplicate). The name stays taken after
      the task is executed or deleted: ~1 hour for queues created through the Cloud Tasks API
      (as this stack's are), 9 days for queue.yaml queues. Use a hash of what identifies the
      work, not a timestamp or counter: sequential IDs raise latency and error rates.
    - `shard_key`: tasks with the same key always go to the same shard; without one a shard is
      picked at random, except that a named task is sharded by its ID (a name is unique per queue,
      so the same ID on two shards would not be de-duplicated).
    - `delay` / `schedule_time`: when to dispatch, at most 30 days ahead (one or the other).
    - `dispatch_deadline`: how long Cloud Tasks waits for the handler, 15 s-30 min; by default the
      service's request timeout, and never more (see `Producer`).
    """

    queue: str
    body: bytes = b""
    content_type: str | None = None
    task_id: str | None = None
    shard_key: str | None = None
    delay: timedelta | None = None
    schedule_time: datetime | None = None
    dispatch_deadline: timedelta | None = None

    @classmethod
    def of_json(
        cls,
        queue: str,
        value: object,
        *,
        task_id: str | None = None,
        shard_key: str | None = None,
        delay: timedelta | None = None,
        schedule_time: datetime | None = None,
        dispatch_deadline: timedelta | None = None,
    ) -> TaskSpec:
        """A task whose body is `value` as compact JSON (Content-Type application/json)."""
        return cls(
            queue=queue,
            body=json.dumps(value, separators=(",", ":")).encode(),
            content_type=JSON_CONTENT_TYPE,
            task_id=task_id,
            shard_key=shard_key,
            delay=delay,
            schedule_time=schedule_time,
            dispatch_deadline=dispatch_deadline,
        )


# Each field's accepted types, for a message naming the field when a caller passes something else
# (an int shard key, a str schedule time, ...): the type hints are not enforced at runtime.
_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "queue": (str,),
    "body": (bytes,),
    "content_type": (str, type(None)),
    "task_id": (str, type(None)),
    "shard_key": (str, type(None)),
    "delay": (timedelta, type(None)),
    "schedule_time": (datetime, type(None)),
    "dispatch_deadline": (timedelta, type(None)),
}
_TYPE_NAMES = {str: "a str", bytes: "bytes", timedelta: "a datetime.timedelta", datetime: "a datetime.datetime"}


_SPEC_FIELDS = tuple((f.name, _FIELD_TYPES[f.name]) for f in fields(TaskSpec))  # KeyError here: a new field


def check_spec(spec: object) -> TaskSpec:
    """`spec` itself if it is a TaskSpec whose every field has a type the library takes; else EnqueueError."""
    if not isinstance(spec, TaskSpec):
        hint = " (build one with TaskSpec(**d) or TaskSpec.of_json(...))" if isinstance(spec, dict) else ""
        raise EnqueueError(f"expected a TaskSpec, got {type(spec).__name__}{hint}")
    for name, allowed in _SPEC_FIELDS:
        value = getattr(spec, name)
        if not isinstance(value, allowed):
            wanted = " or ".join(_TYPE_NAMES.get(t, "None") for t in allowed)
            shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:60] + "..."
            raise EnqueueError(f"TaskSpec.{name} must be {wanted}, got {type(value).__name__} {shown}")
    return spec


def check_task_id(task_id: str) -> str:
    if not isinstance(task_id, str):
        raise EnqueueError(f"bad task id {task_id!r}: must be a string")
    if not TASK_ID_RE.fullmatch(task_id):
        shown = f"{task_id[:60]!r}{'...' if len(task_id) > 60 else ''} ({len(task_id)} chars)"
        raise EnqueueError(f"bad task id {shown}: use only letters, digits, '-' and '_', 1-500 characters")
    return task_id


def resolve_schedule(delay: timedelta | None, schedule_time: datetime | None, now: datetime) -> datetime | None:
    """The dispatch time, or None for "now"; refuses what Cloud Tasks would refuse."""
    if delay is not None and schedule_time is not None:
        raise EnqueueError("give either a delay or a schedule time, not both")
    if delay is not None:
        if delay < timedelta(0):
            raise EnqueueError(f"delay {delay} is negative")
        if delay > MAX_SCHEDULE_AHEAD:
            raise EnqueueError(f"delay {delay} is more than 30 days; Cloud Tasks refuses it")
        return now + delay
    if schedule_time is not None:
        if schedule_time.tzinfo is None:
            raise EnqueueError(f"schedule time {schedule_time.isoformat()} has no UTC offset; use e.g. ...Z or +02:00")
        if schedule_time - now > MAX_SCHEDULE_AHEAD:
            raise EnqueueError(
                f"schedule time {schedule_time.isoformat()} is more than 30 days ahead "
                f"(now {now.isoformat(timespec='seconds')}); Cloud Tasks refuses it"
            )
    return schedule_time


def resolve_dispatch_deadline(deadline: timedelta | None, service_timeout: int | None) -> timedelta | None:
    """The task's dispatch deadline: the service timeout by default, never above it, 15 s-30 min."""
    if deadline is None:
        return None if service_timeout is None else timedelta(seconds=service_timeout)
    if not MIN_DISPATCH_DEADLINE <= deadline <= MAX_DISPATCH_DEADLINE:
        raise EnqueueError(
            f"dispatch deadline {deadline.total_seconds():g}s is out of range: HTTP tasks allow 15s to 1800s (30m)"
        )
    if service_timeout is not None and deadline > timedelta(seconds=service_timeout):
        raise EnqueueError(
            f"dispatch deadline {deadline.total_seconds():g}s is longer than the service's request timeout "
            f"({service_timeout}s): the service would cut the request first; leave it unset to use the timeout"
        )
    return deadline
