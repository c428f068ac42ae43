"""Alert conditions: a queue condition watches one share of a policy's queues, grouped by queue ID."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import pulumi
import pulumi_gcp as gcp

from components.monitoring.model import (
    ALIGNMENT_SECONDS,
    QUEUE_DEPTH,
    RATIO_ALIGNMENT_SECONDS,
    TASK_ATTEMPT_COUNT,
    TASK_ATTEMPT_DELAYS,
    QueueAlertThresholds,
    metric_filter,
)

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
