"""Runbooks for the person paged at night (markdown; Documentation.content), one per alert."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import NamedTuple

from components.monitoring.model import (
    CLOUD_RUN_REVISION,
    QUEUE_ID_VAR,
    QueueAlertThresholds,
    ServiceAlertThresholds,
)
from settings.limits import (
    DOCUMENTATION_MAX_BYTES,
    DOCUMENTATION_MAX_CHARS,
    MAX_TIMEOUT_SECONDS,
)


class _Names(NamedTuple):
    """The real names a runbook quotes, once the Outputs are known."""

    project: str
    location: str
    service: str
    # Queue key -> queue ID: the queues the policy watches (or, for the service, every queue).
    queues: Mapping[str, str] = MappingProxyType({})
    # False when the list would not fit Google's limit for the runbook: it then points to the output.
    list_queues: bool = True

    @property
    def queue_id(self) -> str:
        # The incident's queue, filled in by Monitoring in the notification.
        return QUEUE_ID_VAR

    @property
    def queue_path(self) -> str:
        return f"projects/{self.project}/locations/{self.location}/queues/{self.queue_id}"

    @property
    def where(self) -> str:
        return f"--location={self.location} --project={self.project}"


def _fits(text: str) -> bool:
    return len(text) <= DOCUMENTATION_MAX_CHARS and len(text.encode()) <= DOCUMENTATION_MAX_BYTES


def fitted(render: Callable[[_Names], str], names: _Names) -> str:
    """The runbook with its list of queues, or without it when the list would break Google's limit."""
    text = render(names)
    return text if _fits(text) else render(names._replace(list_queues=False))


# --- Runbooks (markdown; Documentation.content) --------------------------------------------------------


def _worker_logs(n: _Names) -> str:
    return (
        "gcloud logging read \\\n"
        f'  \'resource.type="{CLOUD_RUN_REVISION}" AND resource.labels.service_name="{n.service}" '
        "AND severity>=WARNING' \\\n"
        f"  --project={n.project} --freshness=1h --limit=50"
    )


def _queue_list(n: _Names) -> str:
    if not n.list_queues:
        return (
            f"This policy watches {len(n.queues)} queues of the stack; `pulumi stack output queues` "
            "maps each key of the stack file to its queue path.\n"
        )
    lines = "\n".join(f"- `{qid}`: key `{key}`" for key, qid in n.queues.items())
    return f"This policy watches these queues (queue ID: key in the stack file):\n\n{lines}\n"


def _queue_common(n: _Names) -> str:
    return f"""**Queue** `{n.queue_path}` (the incident's), **service** `{n.service}` in `{n.location}`.

{_queue_list(n)}
Check the queue's state and retry settings:

```
gcloud tasks queues describe {n.queue_id} {n.where}
gcloud tasks list --queue={n.queue_id} {n.where} --limit=20
```

Check the worker's logs (errors and warnings of the last hour):

```
{_worker_logs(n)}
```
"""


def _rollback(n: _Names) -> str:
    return (
        f"   gcloud run revisions list --service={n.service} --region={n.location} --project={n.project}\n"
        f"   gcloud run services update-traffic {n.service} --to-revisions=PREVIOUS_REVISION=100 \\\n"
        f"     --region={n.location} --project={n.project}"
    )


def _pause_resume(n: _Names) -> str:
    return f"""**Stop the bleeding: pause the queue** (dispatch stops; producers can still add tasks, nothing is lost):

```
gcloud tasks queues pause {n.queue_id} {n.where}
gcloud tasks queues resume {n.queue_id} {n.where}   # when fixed
```

No deploy resumes it: Pulumi never reads a queue's pause state back, so it stays paused through every
`pulumi up`, with or without `--refresh`, until someone runs `resume` above. (Pulumi pauses or resumes only when
`task-worker:queues.<key>.paused` changes in the stack file; the queue's key: see the list above.)
"""


def _purge(n: _Names) -> str:
    return f"""**Last resort: purge** (permanently deletes every task in the queue; only if the tasks are
worthless or can be recreated by the producers; takes up to a minute):

```
gcloud tasks queues purge {n.queue_id} {n.where}
```
"""


def runbook_backlog(n: _Names, t: QueueAlertThresholds) -> str:
    return f"""## Queue `{n.queue_id}`: backlog above {t.backlog_depth} tasks for {t.backlog_minutes} min

**What it means.** Tasks arrive faster than the queue dispatches them, or dispatch is stuck (queue
paused, the service answering errors so tasks wait in backoff, rate limits too low). Nothing is lost
yet: tasks live up to 31 days in a queue.

{_queue_common(n)}
**What to do.**
1. Queue `state` is PAUSED? Resume it if that was not intended (see below).
2. Errors in the worker logs? Then this is the failing-tasks alert's matter: fix the worker first;
   raising limits only multiplies the errors.
3. Worker healthy but too slow? Raise the queue's dispatch limits in the stack file
   (`task-worker:queues.<key>.maxDispatchesPerSecond`, ≤ 500, and `maxConcurrentDispatches`,
   ≤ maxInstances × concurrency) and the service's `maxInstances`, then `pulumi up`. Stop-gap, until the
   next `pulumi up --refresh` (the deploy's) reverts it — a plain `pulumi up` neither sees nor reverts it:
   ```
   gcloud tasks queues update {n.queue_id} {n.where} --max-dispatches-per-second=50 --max-concurrent-dispatches=200
   ```
4. A producer gone wild? Find it, stop it; pause the queue meanwhile.

{_pause_resume(n)}
{_purge(n)}"""


def runbook_failing(n: _Names, t: QueueAlertThresholds) -> str:
    return f"""## Queue `{n.queue_id}`: over {t.failing_percent:g} % of task attempts fail ({t.failing_minutes} min)

**What it means.** The worker answers tasks of this queue with non-2xx codes, times out, or cannot be
reached (401/403: the invoker's token or `roles/run.invoker`; 404: wrong path; 429/503: no capacity;
5xx: the handler fails). Cloud Tasks retries with backoff; **when a task's last attempt fails, Cloud
Tasks deletes it silently** (the dead-letter topic gets it only if the handler's own code failed on that
last attempt: not on a timeout, 401/403, 429/503, OOM or a 5xx before the handler).

{_queue_common(n)}
See which codes fail: the dashboard's "attempts by response code" chart.

**What to do.**
1. 401/403: check `roles/run.invoker` of the invoker account on `{n.service}` and the queue's
   `httpTarget.oidcToken` (audience = the service URL) — `pulumi preview --refresh` shows drift (a plain
   preview compares with the recorded state only).
2. 5xx or timeouts after a deploy: send traffic back to the previous revision, or fix forward:
   ```
{_rollback(n)}
   ```
3. While the cause is unknown and retries are running out, **pause the queue** so that no task
   reaches its last attempt:

{_pause_resume(n)}
{_purge(n)}"""


def runbook_delay(n: _Names, t: QueueAlertThresholds) -> str:
    title = f"p{t.delay_percentile} attempt delay above {t.delay_seconds:g} s ({t.delay_minutes} min)"
    return f"""## Queue `{n.queue_id}`: {title}

**What it means.** Attempts start well after their scheduled time: the queue is falling behind
(dispatch rate or concurrency limits reached, Cloud Tasks throttling because the service answers
429/503, or a long retry backoff). Producers' deadlines may be missed even though nothing fails.

{_queue_common(n)}
**What to do.**
1. Is the service saturated (the instance-count alert, 429s in the attempts chart)? Raise its
   `maxInstances` (stack file `task-worker:service.maxInstances`, then `pulumi up`).
2. Is the queue at its own limits? Raise `maxDispatchesPerSecond` / `maxConcurrentDispatches` for
   its key in the stack file (stop-gap: `gcloud tasks queues update {n.queue_id} {n.where}
   --max-dispatches-per-second=…`; the next `pulumi up --refresh` reverts it).
3. Many retries? Then the failing-tasks alert tells the cause; pausing is better than letting
   retries crowd out fresh work:

{_pause_resume(n)}"""


def _service_common(n: _Names) -> str:
    return f"""**Service** `{n.service}` in `{n.location}`, project `{n.project}`.

```
gcloud run services describe {n.service} --region={n.location} --project={n.project}
gcloud run revisions list --service={n.service} --region={n.location} --project={n.project}
{_worker_logs(n)}
```
"""


def _pause_all(n: _Names) -> str:
    if not n.list_queues:
        return f"""To stop tasks from burning their retries meanwhile, pause the stack's {len(n.queues)} queues
(`pulumi stack output queues` lists them; resume with `resume`):

```
gcloud tasks queues pause QUEUE_ID {n.where}
```
"""
    lines = "\n".join(f"gcloud tasks queues pause {qid} {n.where}   # {key}" for key, qid in n.queues.items())
    return f"""To stop tasks from burning their retries meanwhile, pause the queues (resume with `resume`):

```
{lines}
```
"""


def runbook_errors(n: _Names, t: ServiceAlertThresholds) -> str:
    return f"""## Service `{n.service}`: over {t.error_percent:g} % of requests answered 5xx ({t.error_minutes} min)

**What it means.** The worker fails (crashes, unhandled exceptions, out of memory) or Cloud Run
cannot serve (no instance available: 503/429 show as failures in the queues). Every failed request is
a task attempt that Cloud Tasks will retry — and drop after its last attempt.

{_service_common(n)}
**What to do.**
1. Started with a deploy? Send traffic back to the previous revision:
   ```
{_rollback(n)}
   ```
2. Out of memory ("Memory limit … exceeded" in the logs)? Raise `task-worker:service.memory`.
3. A dependency down (database, API)? Pause the queues until it is back.

{_pause_all(n)}"""


def runbook_latency(n: _Names, t: ServiceAlertThresholds, timeout_seconds: int) -> str:
    limit = t.latency_fraction * timeout_seconds
    share = f"{t.latency_fraction:.0%} of the {timeout_seconds} s timeout"
    title = f"p{t.latency_percentile} latency above {limit:g} s ({share})"
    return f"""## Service `{n.service}`: {title}

**What it means.** Requests run close to the service's request timeout. When they pass it, Cloud Run
answers 504 while the handler may still be working, and Cloud Tasks retries: duplicate work, and
tasks that fail every attempt.

{_service_common(n)}
**What to do.**
1. Slow dependency? Check it; pause the queues if it is down.
2. Work legitimately longer? Raise `task-worker:service.timeoutSeconds` (≤ {MAX_TIMEOUT_SECONDS}: a task's
   dispatch deadline is at most 30 min) and the tasks' `dispatchDeadline` with it, or split the work into smaller tasks.
3. CPU-starved (instances at their limit)? Raise `task-worker:service.cpu` or lower `concurrency`.
"""


def runbook_saturation(n: _Names, t: ServiceAlertThresholds, max_instances: int, at: int) -> str:
    title = f"{at} or more instances (maxInstances {max_instances}) for {t.saturation_minutes} min"
    return f"""## Service `{n.service}`: {title}

**What it means.** The service cannot scale further. New requests queue inside Cloud Run and then get
429: Cloud Tasks backs off, queues grow and fall behind (the backlog and delay alerts follow).

{_service_common(n)}
**What to do.**
1. Expected load? Raise `task-worker:service.maxInstances` (and check project quota), then `pulumi up`.
   Stop-gap, until the next `pulumi up --refresh` (the deploy's) reverts it:
   ```
   gcloud run services update {n.service} --max-instances={max_instances * 2} \\
     --region={n.location} --project={n.project}
   ```
2. Instances busy but slow? Latency alert and logs tell why; more instances won't help a slow dependency.
3. Keep each queue's `maxConcurrentDispatches` ≤ maxInstances × concurrency, or lower it to shed load.
"""
