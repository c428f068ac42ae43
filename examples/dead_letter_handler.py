"""How a worker handler puts a task whose last attempt fails on the dead-letter topic.

Plain Python, no dependencies: it runs inside your container, which needs neither Pulumi nor this
repository. Publishing goes through a callable you pass, e.g. with google-cloud-pubsub:

    from google.cloud import pubsub_v1
    client = pubsub_v1.PublisherClient()
    publish = lambda topic, data, attributes: client.publish(topic, data, **attributes).result()

Which queue sent the request: `X-CloudTasks-QueueName` is the queue's ID. The env (see
docs/operations.md) names each queue key's queues statically — a named queue's exact ID, or an
auto-named one's logical name, followed by Pulumi's "-" + 7 hex digits — with the shard count
(`find_queue`); the stack cannot put the IDs themselves in the service's env (a cycle).

What the handler can know, and what it cannot:
- The attempt number: `X-CloudTasks-TaskRetryCount` + 1. The retry count includes attempts that
  failed with 5xx before reaching the handler; `X-CloudTasks-TaskExecutionCount` does not (it counts
  only responses the handler gave), so it undercounts and is not used here.
- `maxAttempts` counts the first try; -1 means no limit by count. With maxRetryDuration "0s" too,
  Cloud Tasks retries until the task's 31-day lifetime ends (unannounced): no final attempt. With a
  positive maxRetryDuration, -1 stops at the duration (RetryConfig: "retry infinitely" needs -1 AND
  0; queue.yaml's task_age_limit): the duration alone decides, as below.
- Retrying stops only when BOTH maxAttempts is reached AND maxRetryDuration (measured from the
  first attempt) has passed; "0s" means no time limit. No header says when the first attempt was,
  so with a positive maxRetryDuration the handler cannot be sure: pass `first_attempt_at` if your
  payload carries it, else the count alone decides and the dead letter is marked `certain=false`
  (it may be published while Cloud Tasks still retries: consumers must tolerate that, and the
  duplicates at-least-once delivery brings anyway). With -1 and no `first_attempt_at`, that is
  every failed attempt: such queues should carry the first attempt's time in their payload.
- The attempt whose dispatch deadline passes is counted as failed by Cloud Tasks even if the
  handler later succeeds: keep the service timeout equal to the tasks' dispatch deadline.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

# Headers Cloud Tasks sets on HTTP target requests (cloud.google.com/tasks/docs/creating-http-target-tasks).
HEADER_QUEUE = "X-CloudTasks-QueueName"
HEADER_TASK = "X-CloudTasks-TaskName"
HEADER_RETRY_COUNT = "X-CloudTasks-TaskRetryCount"
HEADER_EXECUTION_COUNT = "X-CloudTasks-TaskExecutionCount"

# The env vars components/dead_letter.worker_env gives the worker.
ENV_TOPIC = "TASK_WORKER_DEAD_LETTER_TOPIC"
ENV_PROJECT = "TASK_WORKER_PROJECT"
ENV_LOCATION = "TASK_WORKER_LOCATION"
ENV_QUEUES = "TASK_WORKER_QUEUES"
# An auto-named queue's ID: its logical name, "-", 7 lowercase hex digits (Pulumi's default auto-name).
_AUTONAME_SUFFIX = re.compile(r"-[0-9a-f]{7}")

# Pub/Sub: an attribute value is at most 1024 bytes.
_ATTRIBUTE_MAX_BYTES = 1024

Publish = Callable[[str, bytes, Mapping[str, str]], Any]


def _queue_prefix(key: str) -> str:
    return f"TASK_WORKER_QUEUE_{key.upper().replace('-', '_')}_"


@dataclass(frozen=True)
class QueueLimits:
    """One queue key of the stack (all its shards): how to recognise its queues, and its retry limits."""

    key: str
    queue_id: str | None  # a named queue: shard 0's ID; shard i is ID-i
    autoname_prefix: str | None  # an auto-named queue: shard 0's logical name; shard i's is NAME-i
    shards: int
    max_attempts: int  # -1: unlimited
    max_retry_seconds: float  # 0: no time limit

    def _shard_of(self, name: str, base: str) -> bool:
        if name == base:
            return True
        head, _, shard = name.rpartition("-")
        return head == base and shard.isdigit() and not shard.startswith("0") and int(shard) < self.shards

    def matches(self, queue_id: str) -> bool:
        """Whether `queue_id` (what `X-CloudTasks-QueueName` carries) is one of this key's queues."""
        if self.queue_id is not None:
            return self._shard_of(queue_id, self.queue_id)
        if self.autoname_prefix is None or not _AUTONAME_SUFFIX.fullmatch(queue_id[-8:]):
            return False
        return self._shard_of(queue_id[:-8], self.autoname_prefix)


def queue_limits(env: Mapping[str, str]) -> dict[str, QueueLimits]:
    """Each queue key the worker was told about, by key."""
    found: dict[str, QueueLimits] = {}
    for key in filter(None, env.get(ENV_QUEUES, "").split(",")):
        prefix = _queue_prefix(key)
        found[key] = QueueLimits(
            key=key,
            queue_id=env.get(prefix + "QUEUE_ID"),
            autoname_prefix=env.get(prefix + "AUTONAME_PREFIX"),
            shards=int(env[prefix + "SHARDS"]),
            max_attempts=int(env[prefix + "MAX_ATTEMPTS"]),
            max_retry_seconds=float(env[prefix + "MAX_RETRY_DURATION"].removesuffix("s")),
        )
    return found


def find_queue(env: Mapping[str, str], queue_name: str) -> QueueLimits | None:
    """The queue key whose queues include `queue_name` (a queue ID, or a full queue path)."""
    queue_id = queue_name.rsplit("/", 1)[-1]
    return next((q for q in queue_limits(env).values() if q.matches(queue_id)), None)


def queue_path(env: Mapping[str, str], queue_name: str) -> str:
    """projects/P/locations/L/queues/ID of the queue that sent the request."""
    queue_id = queue_name.rsplit("/", 1)[-1]
    return f"projects/{env[ENV_PROJECT]}/locations/{env[ENV_LOCATION]}/queues/{queue_id}"


@dataclass(frozen=True)
class Attempt:
    queue: QueueLimits
    queue_id: str  # the shard's queue ID, from X-CloudTasks-QueueName
    number: int  # 1 for the first attempt
    final: bool  # no further attempt will follow if this one fails
    certain: bool  # False: the count says final, but maxRetryDuration may still allow retries


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def attempt(
    headers: Mapping[str, str],
    env: Mapping[str, str],
    *,
    first_attempt_at: datetime | None = None,
    now: datetime | None = None,
) -> Attempt:
    """This request's attempt: which queue, which try, and whether it is the last one."""
    queue_name = _header(headers, HEADER_QUEUE)
    if queue_name is None:
        raise ValueError(f"no {HEADER_QUEUE} header: not a Cloud Tasks request")
    queue = find_queue(env, queue_name)
    if queue is None:
        known = ", ".join(queue_limits(env)) or "none"
        raise ValueError(f"queue {queue_name!r} is not one of this worker's queues (keys: {known})")
    queue_id = queue_name.rsplit("/", 1)[-1]
    number = int(_header(headers, HEADER_RETRY_COUNT) or "0") + 1
    unlimited = queue.max_attempts == -1  # the count never stops it; only maxRetryDuration can
    if not unlimited and number < queue.max_attempts:
        return Attempt(queue, queue_id, number, final=False, certain=True)
    if queue.max_retry_seconds == 0:
        # -1 and "0s": retried until the task's lifetime ends, never a final attempt.
        return Attempt(queue, queue_id, number, final=not unlimited, certain=True)
    if first_attempt_at is None:
        return Attempt(queue, queue_id, number, final=True, certain=False)
    elapsed = ((now or datetime.now(UTC)) - first_attempt_at).total_seconds()
    # At exactly maxRetryDuration the limit is reached ("once max_retry_duration time has passed",
    # RetryConfig): final. Better a duplicate dead letter than a task dropped unseen.
    return Attempt(queue, queue_id, number, final=elapsed >= queue.max_retry_seconds, certain=True)


def is_final_attempt(
    headers: Mapping[str, str],
    env: Mapping[str, str],
    *,
    first_attempt_at: datetime | None = None,
    now: datetime | None = None,
) -> bool:
    """True when Cloud Tasks will not retry this task if this attempt fails (see `attempt` for doubt)."""
    return attempt(headers, env, first_attempt_at=first_attempt_at, now=now).final


def _attribute(value: str) -> str:
    data = value.encode()
    if len(data) <= _ATTRIBUTE_MAX_BYTES:
        return value
    return data[: _ATTRIBUTE_MAX_BYTES - 3].decode(errors="ignore") + "..."


def publish_dead_letter(
    publish: Publish,
    headers: Mapping[str, str],
    body: bytes,
    env: Mapping[str, str],
    *,
    reason: str,
    first_attempt_at: datetime | None = None,
) -> Any:
    """Publish the task's body to the dead-letter topic, with where it came from as attributes."""
    topic = env.get(ENV_TOPIC)
    if not topic:
        raise ValueError(f"{ENV_TOPIC} is not set: dead letters are not enabled for this stack")
    this = attempt(headers, env, first_attempt_at=first_attempt_at)
    attributes = {
        "queue": queue_path(env, this.queue_id),
        "queue_key": this.queue.key,
        "task": _header(headers, HEADER_TASK) or "",
        "attempt": str(this.number),
        "max_attempts": str(this.queue.max_attempts),
        "certain": "true" if this.certain else "false",
        "reason": _attribute(reason),
    }
    return publish(topic, body, attributes)


def handle(
    headers: Mapping[str, str],
    body: bytes,
    env: Mapping[str, str],
    work: Callable[[bytes], None],
    publish: Publish,
) -> int:
    """A whole handler: do the work; on failure at the final attempt, dead-letter the task.

    Returns the HTTP status to answer. A failure still answers 500 after publishing, so the queue's
    metrics (and its failing-tasks alert) see it; Cloud Tasks drops the task either way.
    """
    try:
        work(body)
    except Exception as err:
        if is_final_attempt(headers, env):
            # If publishing fails too, the exception answers 500 and the task is lost: log it loudly.
            publish_dead_letter(publish, headers, body, env, reason=f"{type(err).__name__}: {err}")
        return 500
    return 200
