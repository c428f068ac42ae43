"""Alerts and a dashboard for one stack: queues that pile up, fail or fall behind; a service that errs,
runs out of time or out of instances. Every alert carries a runbook for the person paged at night.

Filters are plain Monitoring filters (cloud.google.com/monitoring/api/v3/filters) on the metrics in
METRICS below; shares are ratio conditions (MetricThreshold.denominatorFilter), no MQL or PromQL.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

import pulumi
import pulumi_gcp as gcp

from settings.limits import (
    CONDITIONS_MAX,
    DASHBOARD_COLUMNS,
    DOCUMENTATION_MAX_BYTES,
    DOCUMENTATION_MAX_CHARS,
    FILTER_MAX_CHARS,
    MAX_QUEUE_ID_CHARS,
    MAX_TIMEOUT_SECONDS,
)

# --- Facts this module relies on, with their sources ------------------------------------------------
#
# Metric types, their kind, value type, unit and metric labels. Sources:
#   [metrics]  cloud.google.com/monitoring/api/metrics_gcp (sections "cloudtasks" and "run"; the page is
#              split as metrics_gcp_c#gcp-cloudtasks and metrics_gcp_p_z#gcp-run).
#   [tasks]    cloud.google.com/tasks/docs/monitor: Cloud Tasks sends exactly four metrics,
#              api/request_count, queue/depth, queue/task_attempt_count, queue/task_attempt_delays.
#   [run]      cloud.google.com/run/docs/monitoring: request count, request latencies, container
#              instance count for services; monitored resource `cloud_run_revision`.
#   [facts]    /work/shared/gcp-facts.md "Monitoring" (kinds and labels as checked for this project).
#   [resources] cloud.google.com/monitoring/api/resources: cloud_tasks_queue labels project_id,
#              queue_id, target_type, location; cloud_run_revision labels project_id, service_name,
#              revision_name, configuration_name, location.
# ⚠ Values of Cloud Tasks' `response_code` label: lowercase canonical codes ("ok", "unavailable", …)
#   as Cloud Tasks reports them; the failing-share filter counts everything but "ok".


class MetricFact(NamedTuple):
    kind: str  # GAUGE | DELTA
    value: str  # INT64 | DISTRIBUTION
    unit: str
    resource: str
    labels: frozenset[str]
    source: str


CLOUD_TASKS_QUEUE = "cloud_tasks_queue"
CLOUD_RUN_REVISION = "cloud_run_revision"

RESOURCE_LABELS: Mapping[str, frozenset[str]] = {
    CLOUD_TASKS_QUEUE: frozenset({"project_id", "queue_id", "target_type", "location"}),
    CLOUD_RUN_REVISION: frozenset({"project_id", "service_name", "revision_name", "configuration_name", "location"}),
}

QUEUE_DEPTH = "cloudtasks.googleapis.com/queue/depth"
TASK_ATTEMPT_COUNT = "cloudtasks.googleapis.com/queue/task_attempt_count"
TASK_ATTEMPT_DELAYS = "cloudtasks.googleapis.com/queue/task_attempt_delays"
RUN_REQUEST_COUNT = "run.googleapis.com/request_count"
RUN_REQUEST_LATENCIES = "run.googleapis.com/request_latencies"
RUN_INSTANCE_COUNT = "run.googleapis.com/container/instance_count"

METRICS: Mapping[str, MetricFact] = {
    # "The number of tasks in the queue."
    QUEUE_DEPTH: MetricFact("GAUGE", "INT64", "1", CLOUD_TASKS_QUEUE, frozenset(), "[metrics] [tasks] [facts]"),
    # "Count of task attempts broken down by response code."
    TASK_ATTEMPT_COUNT: MetricFact(
        "DELTA", "INT64", "1", CLOUD_TASKS_QUEUE, frozenset({"response_code"}), "[metrics] [tasks] [facts]"
    ),
    # "Delay between each scheduled attempt time and actual attempt time."
    TASK_ATTEMPT_DELAYS: MetricFact(
        "DELTA", "DISTRIBUTION", "ms", CLOUD_TASKS_QUEUE, frozenset({"response_code"}), "[metrics] [tasks] [facts]"
    ),
    # "Number of requests reaching the revision."
    RUN_REQUEST_COUNT: MetricFact(
        "DELTA",
        "INT64",
        "1",
        CLOUD_RUN_REVISION,
        frozenset({"response_code", "response_code_class", "route_type"}),
        "[metrics] [run] [facts]",
    ),
    # "Distribution of request latency in milliseconds reaching the revision."
    RUN_REQUEST_LATENCIES: MetricFact(
        "DELTA",
        "DISTRIBUTION",
        "ms",
        CLOUD_RUN_REVISION,
        frozenset({"response_code", "response_code_class", "route_type"}),
        "[metrics] [run] [facts]",
    ),
    # "Number of container instances that exist, broken down by state" (active, idle).
    RUN_INSTANCE_COUNT: MetricFact(
        "GAUGE", "INT64", "1", CLOUD_RUN_REVISION, frozenset({"state"}), "[metrics] [run] [facts]"
    ),
}

# Which aligner/reducer accepts which (kind, value): Google's own enum descriptions in the Monitoring v3
# discovery document (Aggregation.perSeriesAligner / crossSeriesReducer), e.g. "ALIGN_PERCENTILE_99 …
# is valid for GAUGE and DELTA metrics with distribution values", "ALIGN_RATE … valid for CUMULATIVE
# and DELTA metrics with numeric values". Percentile aligners output GAUGE DOUBLE.
ALIGNERS: Mapping[str, frozenset[tuple[str, str]]] = {
    "ALIGN_MAX": frozenset({("GAUGE", "INT64"), ("DELTA", "INT64")}),
    "ALIGN_MEAN": frozenset({("GAUGE", "INT64"), ("DELTA", "INT64")}),
    "ALIGN_DELTA": frozenset({("DELTA", "INT64"), ("DELTA", "DISTRIBUTION")}),
    "ALIGN_RATE": frozenset({("DELTA", "INT64")}),
    "ALIGN_PERCENTILE_99": frozenset({("GAUGE", "DISTRIBUTION"), ("DELTA", "DISTRIBUTION")}),
    "ALIGN_PERCENTILE_95": frozenset({("GAUGE", "DISTRIBUTION"), ("DELTA", "DISTRIBUTION")}),
    "ALIGN_PERCENTILE_50": frozenset({("GAUGE", "DISTRIBUTION"), ("DELTA", "DISTRIBUTION")}),
}
# Google's limits (Documentation content/subject, filter length, conditions per policy, queue IDs):
# settings/limits.py, each with its source.
QUEUE_ID_MAX_CHARS = MAX_QUEUE_ID_CHARS
# Documentation variables (cloud.google.com/monitoring/alerts/doc-variables): "resource.label.[KEY] The
# value of the resource label [KEY]", filled in per incident. The conditions group by these labels, so
# an incident's notification names its queue (or service). A literal "${" would be written "$${".
QUEUE_ID_VAR = "${resource.label.queue_id}"
# Aggregation.alignmentPeriod: at least 60 s, at most 90,000 s for alerting policies; duration: whole minutes.
ALIGNMENT_SECONDS = 60
RATIO_ALIGNMENT_SECONDS = 300
PERCENTILES = (50, 95, 99)

NO_CHANNELS_NOTICE = (
    "no notification channels configured: the alert policies exist and show in the console, but page nobody"
)
ALERT_POLICY_TYPE = "gcp:monitoring/alertPolicy:AlertPolicy"


def policy_pages_nobody(inputs: Mapping[str, Any]) -> bool:
    """For the plan: an AlertPolicy's rendered (camelCase) inputs name no notification channel."""
    return not inputs.get("notificationChannels")


# --- Arguments -------------------------------------------------------------------------------------


# Thresholds arrive checked: their limits live in settings.py (QueueAlertSettings, MonitoringSettings),
# the one place; the defaults here equal the config's (a test holds them together).


class QueueAlertThresholds(NamedTuple):
    """When a queue's alerts fire. Minutes are how long the condition must hold."""

    backlog_depth: int = 1000  # tasks waiting in the queue …
    backlog_minutes: int = 15  # … for this long
    failing_percent: float = 10.0  # share of attempts answered with anything but OK …
    failing_minutes: int = 10
    delay_percentile: int = 99  # this percentile of attempt delay (scheduled → dispatched) …
    delay_seconds: float = 300.0  # … above this
    delay_minutes: int = 10


class ServiceAlertThresholds(NamedTuple):
    """When the service's alerts fire."""

    error_percent: float = 5.0  # share of requests answered 5xx …
    error_minutes: int = 5
    latency_fraction: float = 0.8  # latency percentile above this fraction of the request timeout …
    latency_percentile: int = 99
    latency_minutes: int = 5
    saturation_fraction: float = 1.0  # instance count at (this fraction of) maxInstances …
    saturation_minutes: int = 10


def _check(name: str, value: object, ok: bool, allowed: str) -> None:
    if not ok:
        raise ValueError(f"{name} {value}: expected {allowed}")


class TaskWorkerMonitoringArgs(NamedTuple):
    project: str
    location: str
    service_name: pulumi.Input[str]
    # Queue key -> the queue's short ID (Cloud Tasks' `queue_id` metric label; TaskQueue.queue.name).
    # A policy waits on the queues it watches only: never on every queue (the cost would grow as
    # policies × queues). A pattern would not do: auto-names carry no stack, and two stacks may
    # share a project.
    queue_ids: Mapping[str, pulumi.Input[str]]
    max_instances: int
    timeout_seconds: int
    # Per queue key; a key not given gets queue_defaults. Queues with equal thresholds for a signal
    # share its policy; the policy of the queues at queue_defaults is named after the signal alone.
    queue_thresholds: Mapping[str, QueueAlertThresholds] = MappingProxyType({})
    queue_defaults: QueueAlertThresholds = QueueAlertThresholds()
    service_thresholds: ServiceAlertThresholds = ServiceAlertThresholds()
    # Existing notification channels: IDs or full names (projects/P/notificationChannels/ID).
    # Empty: the policies exist and show in the console but page nobody.
    notification_channels: tuple[str, ...] = ()
    labels: Mapping[str, str] = MappingProxyType({})
    title: str = "task-worker"
    # What must exist first (the Monitoring API enablement, when the caller manages it).
    depends_on: Sequence[pulumi.Resource] = ()


# --- Filters ---------------------------------------------------------------------------------------


def queue_selector(queue_ids: Sequence[str]) -> str:
    """The queues a condition watches: one by its ID, several by a regular expression of their IDs.

    `monitoring.regex.full_match` is the filter language's (cloud.google.com/monitoring/api/v3/filters);
    queue IDs are letters, digits and hyphens, so an alternation of them needs no escaping.
    """
    if len(queue_ids) == 1:
        return f'resource.label.queue_id="{queue_ids[0]}"'
    return f'resource.label.queue_id=monitoring.regex.full_match("{"|".join(queue_ids)}")'


def metric_filter(
    metric: str,
    resource_labels: Mapping[str, str],
    metric_labels: Sequence[tuple[str, str, str]] = (),
    queue_ids: Sequence[str] = (),
) -> str:
    """`metric.type="…" AND resource.type="…" AND resource.label.k="v" …` for a metric in METRICS."""
    fact = METRICS[metric]
    parts = [f'metric.type="{metric}"', f'resource.type="{fact.resource}"']
    parts += [f'resource.label.{k}="{v}"' for k, v in resource_labels.items()]
    parts += [queue_selector(queue_ids)] if queue_ids else []
    parts += [f'metric.label.{k}{op}"{v}"' for k, op, v in metric_labels]
    return " AND ".join(parts)


def _queue_labels(project: str, location: str) -> dict[str, str]:
    return {"project_id": project, "location": location}


def queue_filters(project: str, location: str, queue_ids: Sequence[str]) -> list[str]:
    """Every filter a queue condition or chart renders for these queues."""
    q = _queue_labels(project, location)
    return [
        metric_filter(QUEUE_DEPTH, q, queue_ids=queue_ids),
        metric_filter(TASK_ATTEMPT_COUNT, q, [("response_code", "!=", "ok")], queue_ids=queue_ids),
        metric_filter(TASK_ATTEMPT_COUNT, q, queue_ids=queue_ids),
        metric_filter(TASK_ATTEMPT_DELAYS, q, queue_ids=queue_ids),
    ]


def queues_per_condition(project: str, location: str) -> int:
    """How many queues one condition (or chart data set) watches: as many IDs of the longest kind
    (QUEUE_ID_MAX_CHARS) as every queue filter holds within FILTER_MAX_CHARS — about 17."""
    longest = "q" * QUEUE_ID_MAX_CHARS
    n = 1
    while max(map(len, queue_filters(project, location, [longest] * (n + 1)))) <= FILTER_MAX_CHARS:
        n += 1
    return n


def channel_names(project: str, channels: Sequence[str]) -> list[str]:
    """Full notification channel names; a bare ID is taken to be in the stack's project."""
    return [c if c.startswith("projects/") else f"projects/{project}/notificationChannels/{c}" for c in channels]


# --- Which policy watches which queues ------------------------------------------------------------

# The thresholds each queue signal compares with: queues equal in these share a policy.
SIGNAL_FIELDS: Mapping[str, tuple[str, ...]] = {
    "backlog": ("backlog_depth", "backlog_minutes"),
    "failing": ("failing_percent", "failing_minutes"),
    "delay": ("delay_percentile", "delay_seconds", "delay_minutes"),
}


class QueuePolicy(NamedTuple):
    """One alert policy over queues: a signal, its thresholds, the queue keys of each condition."""

    suffix: str  # "backlog"; "<first key>-backlog" for queues with their own thresholds; "…-2" and on
    signal: str
    thresholds: QueueAlertThresholds
    conditions: tuple[tuple[str, ...], ...]
    at_defaults: bool = True  # False: queues with thresholds of their own for this signal
    part: int = 1  # of the policies one set of thresholds needs (beyond CONDITIONS_MAX conditions)
    group: tuple[str, ...] = ()  # every queue key with these thresholds (all parts), first one names it

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(key for condition in self.conditions for key in condition)


def _batches(items: Sequence[Any], size: int) -> list[tuple[Any, ...]]:
    return [tuple(items[i : i + size]) for i in range(0, len(items), size)]


def queue_policies(
    keys: Sequence[str],
    thresholds: Mapping[str, QueueAlertThresholds],
    defaults: QueueAlertThresholds,
    per_condition: int,
) -> list[QueuePolicy]:
    """The queue policies of a stack: per signal, one per set of equal thresholds, split into
    conditions of `per_condition` queues and policies of CONDITIONS_MAX conditions.

    A condition groups by queue ID, so each queue is its own time series: a queue that crosses the
    threshold opens its own incident, named in the notification. 50 queues at the defaults take 3
    policies, not 150 (alerting policies are a per-project quota, shared by every stack there).
    """
    policies: list[QueuePolicy] = []
    for signal, fields in SIGNAL_FIELDS.items():
        groups: dict[tuple[Any, ...], list[str]] = {}
        for key in keys:
            t = thresholds.get(key, defaults)
            groups.setdefault(tuple(getattr(t, f) for f in fields), []).append(key)
        at_defaults = tuple(getattr(defaults, f) for f in fields)
        for values, members in groups.items():
            base = signal if values == at_defaults else f"{members[0]}-{signal}"
            parts = _batches(_batches(members, per_condition), CONDITIONS_MAX)
            for i, conditions in enumerate(parts):
                policies.append(
                    QueuePolicy(
                        base if i == 0 else f"{base}-{i + 1}",
                        signal,
                        thresholds.get(members[0], defaults),
                        conditions,
                        at_defaults=values == at_defaults,
                        part=i + 1,
                        group=tuple(members),
                    )
                )
    return policies


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


# --- Dashboard -------------------------------------------------------------------------------------

_COLUMNS = DASHBOARD_COLUMNS
# ⚠ Widgets on one custom dashboard: 100 since Google's Monitoring release notes of 2025-05-02 (40
# before), as GoogleCloudPlatform/monitoring-dashboard-samples#1004 quotes them; not read on the
# quotas page itself. The layout below needs 3 + 3 per ~100 queues: 33 at Cloud Tasks' 1,000.
# (DASHBOARD_MAX_WIDGETS: settings/limits.py.)
_TILE_W, _TILE_H = 16, 16


def _aggregation(aligner: str, reducer: str | None = None, group_by: Sequence[str] = ()) -> dict[str, Any]:
    agg: dict[str, Any] = {"alignmentPeriod": f"{ALIGNMENT_SECONDS}s", "perSeriesAligner": aligner}
    if reducer:
        agg["crossSeriesReducer"] = reducer
        agg["groupByFields"] = list(group_by)
    return agg


def _chart(
    title: str,
    filters: Sequence[str],
    aggregation: Mapping[str, Any],
    plot: str = "LINE",
    threshold: float | None = None,
    unit: str = "",
) -> dict[str, Any]:
    data_sets: list[dict[str, Any]] = []
    for filter_ in filters:
        data_set: dict[str, Any] = {
            "timeSeriesQuery": {"timeSeriesFilter": {"filter": filter_, "aggregation": dict(aggregation)}},
            "plotType": plot,
            "targetAxis": "Y1",
        }
        if unit:
            data_set["timeSeriesQuery"]["unitOverride"] = unit
        data_sets.append(data_set)
    chart: dict[str, Any] = {"dataSets": data_sets, "yAxis": {"scale": "LINEAR"}}
    if threshold is not None:
        chart["thresholds"] = [{"value": threshold, "targetAxis": "Y1"}]
    return {"title": title, "xyChart": chart}


def dashboard(args: TaskWorkerMonitoringArgs, service: str, queue_ids: Mapping[str, str]) -> dict[str, Any]:
    """The dashboard as Google's Monitoring v1 Dashboard JSON: a row of queue charts (a line per queue)
    for every CONDITIONS_MAX × queues_per_condition queues, one row for the service.

    A chart holds one data set per filter-sized share of the queues, at most CONDITIONS_MAX of them; a
    dashboard grows by a row per ~100 queues, not per queue (Google caps a dashboard's widgets).
    """
    per_condition = queues_per_condition(args.project, args.location)
    rows = _batches(_batches(list(queue_ids), per_condition), CONDITIONS_MAX)
    q = _queue_labels(args.project, args.location)
    d = args.queue_defaults
    by_queue = ["resource.label.queue_id"]
    widgets: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        part = f" ({i + 1} of {len(rows)})" if len(rows) > 1 else ""
        shares = [[queue_ids[key] for key in share] for share in row]
        widgets += [
            _chart(
                f"Queues{part}: depth by queue (tasks; line: the stack's backlog threshold)",
                [metric_filter(QUEUE_DEPTH, q, queue_ids=ids) for ids in shares],
                _aggregation("ALIGN_MAX", "REDUCE_SUM", by_queue),
                threshold=d.backlog_depth,
            ),
            _chart(
                f"Queues{part}: attempts by response code (/s)",
                [metric_filter(TASK_ATTEMPT_COUNT, q, queue_ids=ids) for ids in shares],
                _aggregation("ALIGN_RATE", "REDUCE_SUM", ["metric.label.response_code"]),
                plot="STACKED_BAR",
            ),
            _chart(
                f"Queues{part}: p{d.delay_percentile} attempt delay by queue (ms)",
                [metric_filter(TASK_ATTEMPT_DELAYS, q, queue_ids=ids) for ids in shares],
                _aggregation(f"ALIGN_PERCENTILE_{d.delay_percentile}", "REDUCE_MAX", by_queue),
                threshold=d.delay_seconds * 1000,
            ),
        ]
    s = args.service_thresholds
    svc = _service_labels(args, service)
    widgets += [
        _chart(
            f"Service {service}: requests by response class (/s)",
            [metric_filter(RUN_REQUEST_COUNT, svc)],
            _aggregation("ALIGN_RATE", "REDUCE_SUM", ["metric.label.response_code_class"]),
            plot="STACKED_BAR",
        ),
        _chart(
            f"Service {service}: p{s.latency_percentile} latency (ms; timeout {args.timeout_seconds} s)",
            [metric_filter(RUN_REQUEST_LATENCIES, svc)],
            _aggregation(f"ALIGN_PERCENTILE_{s.latency_percentile}", "REDUCE_MAX", ["resource.label.service_name"]),
            threshold=args.timeout_seconds * 1000,
        ),
        _chart(
            f"Service {service}: instances by state (max {args.max_instances})",
            [metric_filter(RUN_INSTANCE_COUNT, svc)],
            _aggregation("ALIGN_MAX", "REDUCE_SUM", ["metric.label.state"]),
            plot="STACKED_AREA",
            threshold=args.max_instances,
        ),
    ]
    per_row = _COLUMNS // _TILE_W
    tiles = [
        {
            "xPos": (i % per_row) * _TILE_W,
            "yPos": (i // per_row) * _TILE_H,
            "width": _TILE_W,
            "height": _TILE_H,
            "widget": widget,
        }
        for i, widget in enumerate(widgets)
    ]
    return {
        "displayName": f"{args.title}: queues and worker",
        "mosaicLayout": {"columns": _COLUMNS, "tiles": tiles},
        "labels": dict(args.labels),
    }


def _service_labels(args: TaskWorkerMonitoringArgs, service: str) -> dict[str, str]:
    return {"project_id": args.project, "location": args.location, "service_name": service}


# --- The component ---------------------------------------------------------------------------------


class _Alert(NamedTuple):
    suffix: str
    display_name: str
    subject: str
    severity: str
    conditions: Sequence[gcp.monitoring.AlertPolicyConditionArgs]
    runbook: pulumi.Output[str]
    labels: Mapping[str, str]


# Per queue signal: the policy's title, severity and runbook.
_QUEUE_SIGNALS: Mapping[str, tuple[str, str, Callable[[_Names, QueueAlertThresholds], str]]] = {
    "backlog": ("backlog", "WARNING", runbook_backlog),
    "failing": ("failing tasks", "ERROR", runbook_failing),
    "delay": ("falling behind", "WARNING", runbook_delay),
}


def _ids(queue_ids: Mapping[str, pulumi.Input[str]], keys: Sequence[str]) -> pulumi.Output[dict[str, str]]:
    """These queues' IDs, by key, as one Output that depends on these queues only."""
    return pulumi.Output.all(*(queue_ids[key] for key in keys)).apply(lambda v: dict(zip(keys, v, strict=True)))


class TaskWorkerMonitoring(pulumi.ComponentResource):
    """Alert policies over the queues (per signal and thresholds) and for the service, and one
    dashboard, for one stack."""

    policies: dict[str, gcp.monitoring.AlertPolicy]
    dashboard: gcp.monitoring.Dashboard
    # True when no notification channel is configured: the policies page nobody.
    pages_nobody: bool
    notification_channels: list[str]

    def __init__(self, name: str, args: TaskWorkerMonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("task-worker:gcp:TaskWorkerMonitoring", name, None, opts)
        unknown = sorted(set(args.queue_thresholds) - set(args.queue_ids))
        _check("queue_thresholds", unknown, not unknown, "only keys of queue_ids (unknown queue keys)")
        self.notification_channels = channel_names(args.project, args.notification_channels)
        self.pages_nobody = not self.notification_channels
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on))
        service = pulumi.Output.from_input(args.service_name)
        keys = list(args.queue_ids)
        queue_ids = _ids(args.queue_ids, keys)

        per_condition = queues_per_condition(args.project, args.location)
        alerts = [
            # Each policy waits on the queues it watches, not on all of them.
            self._queue_alert(args, policy, _ids(args.queue_ids, policy.keys), service)
            for policy in queue_policies(keys, args.queue_thresholds, args.queue_defaults, per_condition)
        ]
        alerts += self._service_alerts(args, service, queue_ids)

        self.policies = {}
        for alert in alerts:
            self.policies[alert.suffix] = gcp.monitoring.AlertPolicy(
                f"{name}-{alert.suffix}",
                gcp.monitoring.AlertPolicyArgs(
                    project=args.project,
                    display_name=alert.display_name,
                    combiner="OR",
                    severity=alert.severity,
                    conditions=list(alert.conditions),
                    notification_channels=self.notification_channels,
                    documentation=gcp.monitoring.AlertPolicyDocumentationArgs(
                        mime_type="text/markdown",
                        subject=alert.subject,
                        content=alert.runbook,
                    ),
                    # An incident whose signal stops (no failing attempts any more) closes after 30 min.
                    alert_strategy=gcp.monitoring.AlertPolicyAlertStrategyArgs(auto_close="1800s"),
                    user_labels={**args.labels, **alert.labels},
                ),
                opts=child,
            )

        self.dashboard = gcp.monitoring.Dashboard(
            f"{name}-dashboard",
            gcp.monitoring.DashboardArgs(
                project=args.project,
                dashboard_json=pulumi.Output.all(service, queue_ids).apply(
                    lambda v: json.dumps(dashboard(args, v[0], v[1]))
                ),
            ),
            opts=child,
        )
        self.register_outputs(
            {
                "policies": {k: p.name for k, p in self.policies.items()},
                "dashboard": self.dashboard.id,
                "pagesNobody": self.pages_nobody,
            }
        )

    @staticmethod
    def _queue_alert(
        args: TaskWorkerMonitoringArgs,
        policy: QueuePolicy,
        queue_ids: pulumi.Output[dict[str, str]],
        service: pulumi.Output[str],
    ) -> _Alert:
        title, severity, runbook = _QUEUE_SIGNALS[policy.signal]
        t = policy.thresholds
        condition = _QUEUE_CONDITIONS[policy.signal]
        q = _queue_labels(args.project, args.location)
        n = len(policy.conditions)
        conditions = [
            condition(
                t,
                q,
                queue_ids.apply(lambda ids, share=share: [ids[key] for key in share]),
                f" (part {i + 1} of {n})" if n > 1 else "",
            )
            for i, share in enumerate(policy.conditions)
        ]
        watched = policy.keys
        names = pulumi.Output.all(service, queue_ids).apply(
            lambda v: _Names(args.project, args.location, v[0], {key: v[1][key] for key in watched})
        )
        # Queues with their own thresholds are named by the first key, as the policy's resource
        # name is ("+": and more), in every part.
        group = policy.group
        own = "" if policy.at_defaults else f" ({group[0]}{' +' if len(group) > 1 else ''})"
        part = f" [{policy.part}]" if policy.part > 1 else ""
        display_name = f"{args.title}: queue {title}{own}{part}"
        return _Alert(
            policy.suffix,
            display_name,
            f"{args.title}: queue {QUEUE_ID_VAR} {title}",
            severity,
            conditions,
            names.apply(lambda names_: fitted(lambda x: runbook(x, t), names_)),
            {"signal": policy.signal},
        )

    @staticmethod
    def _service_alerts(
        args: TaskWorkerMonitoringArgs, service: pulumi.Output[str], queue_ids: pulumi.Output[dict[str, str]]
    ) -> list[_Alert]:
        t = args.service_thresholds
        # Only the 5xx runbook lists the queues (to pause them all): the others wait for the service only.
        with_queues = pulumi.Output.all(service, queue_ids).apply(
            lambda v: _Names(args.project, args.location, v[0], v[1])
        )
        names = service.apply(lambda s: _Names(args.project, args.location, s))
        labels = service.apply(lambda s: _service_labels(args, s))
        by_service = ["resource.label.service_name"]
        at = max(1, math.ceil(args.max_instances * t.saturation_fraction))
        latency_ms = t.latency_fraction * args.timeout_seconds * 1000
        errors, latency, saturation = (
            f"{args.title}: service 5xx",
            f"{args.title}: service latency near timeout",
            f"{args.title}: service at max instances",
        )
        return [
            _Alert(
                "service-errors",
                errors,
                errors,
                "ERROR",
                [
                    _condition(
                        f"5xx share > {t.error_percent:g} % for {t.error_minutes} min",
                        labels.apply(
                            lambda s: metric_filter(RUN_REQUEST_COUNT, s, [("response_code_class", "=", "5xx")])
                        ),
                        _threshold_aggregation(RATIO_ALIGNMENT_SECONDS, "ALIGN_DELTA", "REDUCE_SUM", by_service),
                        t.error_percent / 100,
                        t.error_minutes,
                        denominator=(
                            labels.apply(lambda s: metric_filter(RUN_REQUEST_COUNT, s)),
                            _denominator_aggregation(RATIO_ALIGNMENT_SECONDS, "ALIGN_DELTA", "REDUCE_SUM", by_service),
                        ),
                    )
                ],
                with_queues.apply(lambda n: fitted(lambda x: runbook_errors(x, t), n)),
                {"signal": "errors"},
            ),
            _Alert(
                "service-latency",
                latency,
                latency,
                "WARNING",
                [
                    _condition(
                        f"p{t.latency_percentile} latency > {latency_ms / 1000:g} s "
                        f"({t.latency_fraction:.0%} of the {args.timeout_seconds} s timeout)",
                        labels.apply(lambda s: metric_filter(RUN_REQUEST_LATENCIES, s)),
                        _threshold_aggregation(
                            RATIO_ALIGNMENT_SECONDS,
                            f"ALIGN_PERCENTILE_{t.latency_percentile}",
                            "REDUCE_MAX",
                            by_service,
                        ),
                        latency_ms,
                        t.latency_minutes,
                    )
                ],
                names.apply(lambda n: runbook_latency(n, t, args.timeout_seconds)),
                {"signal": "latency"},
            ),
            _Alert(
                "service-saturation",
                saturation,
                saturation,
                "WARNING",
                [
                    _condition(
                        f"instances >= {at} (maxInstances {args.max_instances}) for {t.saturation_minutes} min",
                        labels.apply(lambda s: metric_filter(RUN_INSTANCE_COUNT, s)),
                        # Max per revision and state, summed: every instance of the service.
                        _threshold_aggregation(ALIGNMENT_SECONDS, "ALIGN_MAX", "REDUCE_SUM", by_service),
                        at,
                        t.saturation_minutes,
                        comparison="COMPARISON_GE",
                    )
                ],
                names.apply(lambda n: runbook_saturation(n, t, args.max_instances, at)),
                {"signal": "saturation"},
            ),
        ]


# --- Conditions: a queue condition watches one share of a policy's queues, grouped by queue ID ------


_DenominatorAggregation = gcp.monitoring.AlertPolicyConditionConditionThresholdDenominatorAggregationArgs


def _condition(
    display_name: str,
    filter_: pulumi.Input[str],
    aggregation: gcp.monitoring.AlertPolicyConditionConditionThresholdAggregationArgs,
    threshold: float,
    minutes: int,
    *,
    comparison: str = "COMPARISON_GT",
    denominator: tuple[pulumi.Input[str], _DenominatorAggregation] | None = None,
) -> gcp.monitoring.AlertPolicyConditionArgs:
    """A metric-threshold condition; with `denominator`, a ratio (its filter and aggregation)."""
    return gcp.monitoring.AlertPolicyConditionArgs(
        display_name=display_name,
        condition_threshold=gcp.monitoring.AlertPolicyConditionConditionThresholdArgs(
            filter=filter_,
            aggregations=[aggregation],
            denominator_filter=denominator[0] if denominator else None,
            denominator_aggregations=[denominator[1]] if denominator else None,
            comparison=comparison,
            threshold_value=threshold,
            duration=f"{minutes * 60}s",
        ),
    )


_BY_QUEUE = ("resource.label.queue_id",)


def _backlog_condition(
    t: QueueAlertThresholds, q: Mapping[str, str], ids: pulumi.Output[list[str]], part: str
) -> gcp.monitoring.AlertPolicyConditionArgs:
    return _condition(
        f"queue depth > {t.backlog_depth} for {t.backlog_minutes} min{part}",
        ids.apply(lambda v: metric_filter(QUEUE_DEPTH, q, queue_ids=v)),
        _threshold_aggregation(ALIGNMENT_SECONDS, "ALIGN_MAX", "REDUCE_SUM", _BY_QUEUE),
        t.backlog_depth,
        t.backlog_minutes,
    )


def _failing_condition(
    t: QueueAlertThresholds, q: Mapping[str, str], ids: pulumi.Output[list[str]], part: str
) -> gcp.monitoring.AlertPolicyConditionArgs:
    # Numerator: attempts answered with anything but OK; denominator: all attempts.
    return _condition(
        f"non-OK attempts > {t.failing_percent:g} % for {t.failing_minutes} min{part}",
        ids.apply(lambda v: metric_filter(TASK_ATTEMPT_COUNT, q, [("response_code", "!=", "ok")], queue_ids=v)),
        _threshold_aggregation(RATIO_ALIGNMENT_SECONDS, "ALIGN_DELTA", "REDUCE_SUM", _BY_QUEUE),
        t.failing_percent / 100,
        t.failing_minutes,
        denominator=(
            ids.apply(lambda v: metric_filter(TASK_ATTEMPT_COUNT, q, queue_ids=v)),
            _denominator_aggregation(RATIO_ALIGNMENT_SECONDS, "ALIGN_DELTA", "REDUCE_SUM", _BY_QUEUE),
        ),
    )


def _delay_condition(
    t: QueueAlertThresholds, q: Mapping[str, str], ids: pulumi.Output[list[str]], part: str
) -> gcp.monitoring.AlertPolicyConditionArgs:
    return _condition(
        f"p{t.delay_percentile} attempt delay > {t.delay_seconds:g} s for {t.delay_minutes} min{part}",
        ids.apply(lambda v: metric_filter(TASK_ATTEMPT_DELAYS, q, queue_ids=v)),
        _threshold_aggregation(
            RATIO_ALIGNMENT_SECONDS, f"ALIGN_PERCENTILE_{t.delay_percentile}", "REDUCE_MAX", _BY_QUEUE
        ),
        t.delay_seconds * 1000,  # the metric is in ms
        t.delay_minutes,
    )


_QUEUE_CONDITIONS: Mapping[
    str,
    Callable[
        [QueueAlertThresholds, Mapping[str, str], pulumi.Output[list[str]], str],
        gcp.monitoring.AlertPolicyConditionArgs,
    ],
] = {"backlog": _backlog_condition, "failing": _failing_condition, "delay": _delay_condition}


def _threshold_aggregation(
    seconds: int, aligner: str, reducer: str, group_by: Sequence[str]
) -> gcp.monitoring.AlertPolicyConditionConditionThresholdAggregationArgs:
    return gcp.monitoring.AlertPolicyConditionConditionThresholdAggregationArgs(
        alignment_period=f"{seconds}s",
        per_series_aligner=aligner,
        cross_series_reducer=reducer,
        group_by_fields=list(group_by),
    )


def _denominator_aggregation(
    seconds: int, aligner: str, reducer: str, group_by: Sequence[str]
) -> gcp.monitoring.AlertPolicyConditionConditionThresholdDenominatorAggregationArgs:
    return gcp.monitoring.AlertPolicyConditionConditionThresholdDenominatorAggregationArgs(
        alignment_period=f"{seconds}s",
        per_series_aligner=aligner,
        cross_series_reducer=reducer,
        group_by_fields=list(group_by),
    )
