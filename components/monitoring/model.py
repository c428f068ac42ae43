"""What monitoring watches: the metrics and their facts, the thresholds, the filters, and which alert
policy watches which queues. Plain Python: no resources here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, NamedTuple

import pulumi

from settings.limits import (
    CONDITIONS_MAX,
    FILTER_MAX_CHARS,
    MAX_QUEUE_ID_CHARS,
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
