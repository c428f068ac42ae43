"""The dashboard: a row of queue charts (a line per queue) per ~100 queues, one row for the service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from components.monitoring.model import (
    ALIGNMENT_SECONDS,
    QUEUE_DEPTH,
    RUN_INSTANCE_COUNT,
    RUN_REQUEST_COUNT,
    RUN_REQUEST_LATENCIES,
    TASK_ATTEMPT_COUNT,
    TASK_ATTEMPT_DELAYS,
    TaskWorkerMonitoringArgs,
    _batches,
    _queue_labels,
    metric_filter,
    queues_per_condition,
)
from settings.limits import (
    CONDITIONS_MAX,
    DASHBOARD_COLUMNS,
)

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
