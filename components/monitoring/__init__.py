"""Alerts and a dashboard for one stack: queues that pile up, fail or fall behind; a service that errs,
runs out of time or out of instances. Every alert carries a runbook for the person paged at night.

Filters are plain Monitoring filters (cloud.google.com/monitoring/api/v3/filters) on the metrics in
METRICS below; shares are ratio conditions (MetricThreshold.denominatorFilter), no MQL or PromQL.

  model.py       the metrics and their facts, thresholds, filters, which policy watches which queues
  conditions.py  the alert conditions
  runbooks.py    the runbook each alert carries
  dashboard.py   the dashboard
  __init__.py    the component, TaskWorkerMonitoring (and the names above, re-exported)
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

import pulumi
import pulumi_gcp as gcp

from components.monitoring.conditions import (  # noqa: F401
    _BY_QUEUE,
    _QUEUE_CONDITIONS,
    _backlog_condition,
    _condition,
    _delay_condition,
    _denominator_aggregation,
    _DenominatorAggregation,
    _failing_condition,
    _threshold_aggregation,
)
from components.monitoring.dashboard import (  # noqa: F401
    _COLUMNS,
    _aggregation,
    _chart,
    _service_labels,
    dashboard,
)
from components.monitoring.model import (  # noqa: F401
    ALERT_POLICY_TYPE,
    ALIGNERS,
    ALIGNMENT_SECONDS,
    CLOUD_RUN_REVISION,
    CLOUD_TASKS_QUEUE,
    METRICS,
    NO_CHANNELS_NOTICE,
    PERCENTILES,
    QUEUE_DEPTH,
    QUEUE_ID_MAX_CHARS,
    QUEUE_ID_VAR,
    RATIO_ALIGNMENT_SECONDS,
    RESOURCE_LABELS,
    RUN_INSTANCE_COUNT,
    RUN_REQUEST_COUNT,
    RUN_REQUEST_LATENCIES,
    SIGNAL_FIELDS,
    TASK_ATTEMPT_COUNT,
    TASK_ATTEMPT_DELAYS,
    MetricFact,
    QueueAlertThresholds,
    QueuePolicy,
    ServiceAlertThresholds,
    TaskWorkerMonitoringArgs,
    _batches,
    _check,
    _queue_labels,
    channel_names,
    metric_filter,
    policy_pages_nobody,
    queue_filters,
    queue_policies,
    queue_selector,
    queues_per_condition,
)
from components.monitoring.runbooks import (  # noqa: F401
    _fits,
    _Names,
    _pause_all,
    _pause_resume,
    _purge,
    _queue_common,
    _queue_list,
    _rollback,
    _service_common,
    _worker_logs,
    fitted,
    runbook_backlog,
    runbook_delay,
    runbook_errors,
    runbook_failing,
    runbook_latency,
    runbook_saturation,
)

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
