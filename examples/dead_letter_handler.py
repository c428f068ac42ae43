"""How a worker handler puts a task whose last attempt fails on the dead-letter topic.

Plain Python, no dependencies: it runs inside your container, which needs neither Pulumi nor this
repository. Publishing goes through a callable you pass, e.g. with google-cloud-pubsub:

    from google.cloud import pubsub_v1
    client = pubsub_v1.PublisherClient()
    publish = lambda topic, data, attributes: client.publish(topic, data, **attributes).result()

What the handler can know, and what it cannot:
- The attempt number: `X-CloudTasks-TaskRetryCount` + 1. The retry count includes attempts that
  failed with 5xx before reaching the handler; `X-CloudTasks-TaskExecutionCount` does not (it counts
  only responses the handler gave), so it undercounts and is not used here.
- `maxAttempts` counts the first try; -1 means unlimited: such a queue has no final attempt by count
  (Cloud Tasks keeps retrying until the task's 31-day lifetime ends, and that is not announced).
- Retrying stops only when BOTH maxAttempts is reached AND maxRetryDuration (measured from the
  first attempt) has passed; "0s" means no time limit. No header says when the first attempt was,
  so with a positive maxRetryDuration the handler cannot be sure: pass `first_attempt_at` if your
  payload carries it, else the count alone decides and the dead letter is marked `certain=false`
  (it may be published while Cloud Tasks still retries: consumers must tolerate that, and the
  duplicates at-least-once delivery brings anyway).
- The attempt whose dispatch deadline passes is counted as failed by Cloud Tasks even if the
  handler later succeeds: keep the service timeout equal to the tasks' dispatch deadline.
"""

from __future__ import annotations

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
ENV_QUEUES = "TASK_WORKER_QUEUES"

# Pub/Sub: an attribute value is at most 1024 bytes.
_ATTRIBUTE_MAX_BYTES = 1024

Publish = Callable[[str, bytes, Mapping[str, str]], Any]


def _queue_prefix(key: str) -> str:
    return f"TASK_WORKER_QUEUE_{key.upper().replace('-', '_')}_"


@dataclass(frozen=True)
class QueueLimits:
    key: str
    path: str  # projects/P/locations/L/queues/ID
    max_attempts: int  # -1: unlimited
    max_retry_seconds: float  # 0: no time limit

    @property
    def queue_id(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def queue_limits(env: Mapping[str, str]) -> dict[str, QueueLimits]:
    """Each queue the worker was told about, by its queue ID (what `X-CloudTasks-QueueName` carries)."""
    found: dict[str, QueueLimits] = {}
    for key in filter(None, env.get(ENV_QUEUES, "").split(",")):
        prefix = _queue_prefix(key)
        limits = QueueLimits(
            key=key,
            path=env[prefix + "PATH"],
            max_attempts=int(env[prefix + "MAX_ATTEMPTS"]),
            max_retry_seconds=float(env[prefix + "MAX_RETRY_DURATION"].removesuffix("s")),
        )
        found[limits.queue_id] = limits
    return found


@dataclass(frozen=True)
class Attempt:
    queue: QueueLimits
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
    queues = queue_limits(env)
    queue = queues.get(queue_name.rsplit("/", 1)[-1])
    if queue is None:
        raise ValueError(f"queue {queue_name!r} is not one of this worker's queues ({', '.join(queues) or 'none'})")
    number = int(_header(headers, HEADER_RETRY_COUNT) or "0") + 1
    if queue.max_attempts == -1 or number < queue.max_attempts:
        return Attempt(queue, number, final=False, certain=True)
    if queue.max_retry_seconds == 0:
        return Attempt(queue, number, final=True, certain=True)
    if first_attempt_at is None:
        return Attempt(queue, number, final=True, certain=False)
    elapsed = ((now or datetime.now(UTC)) - first_attempt_at).total_seconds()
    return Attempt(queue, number, final=elapsed >= queue.max_retry_seconds, certain=True)


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
        "queue": this.queue.path,
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
