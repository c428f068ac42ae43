"""The monitoring component's grouping, filters, policies and dashboard, exact (written out whole).

Each case writes out the whole expected value: filters from the filter language's terms, limits from
Google's own words (the discovery documents shipped with google-api-python-client), never from the
component's constants or from the stack files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import pulumi
import pytest

from components import monitoring as m
from components.monitoring import QueueAlertThresholds, ServiceAlertThresholds, TaskWorkerMonitoringArgs
from components.monitoring import model as monitoring_model
from settings import limits
from tests.conformance import cloudtasks_doc, monitoring_v1_doc, monitoring_v3_doc
from tests.test_monitoring import (
    DASHBOARD,
    LOCATION,
    LONGEST_PROJECT,
    POLICY,
    PROJECT,
    QUEUE_IDS,
    SERVICE,
    longest_location,
    monitoring_args,
    run_monitoring,
)
from tools.harness import Run

# Google's limits, written out: MetricThreshold.filter "must not exceed 2048 Unicode characters";
# Cloud Tasks' QUEUE_ID "The maximum length is 100 characters" (checked against the documents below).
FILTER_LIMIT = 2048
LONGEST_QUEUE_ID = "q" * 100

# --- Filters, written out term by term -------------------------------------------------------------


def _selector(ids: Sequence[str]) -> str:
    if len(ids) == 1:
        return f'resource.label.queue_id="{ids[0]}"'
    return 'resource.label.queue_id=monitoring.regex.full_match("' + "|".join(ids) + '")'


def _queue_filter(metric: str, ids: Sequence[str], project: str, location: str, label: str = "") -> str:
    return (
        f'metric.type="cloudtasks.googleapis.com/queue/{metric}" AND resource.type="cloud_tasks_queue" AND '
        f'resource.label.project_id="{project}" AND resource.label.location="{location}" AND {_selector(ids)}{label}'
    )


def depth(ids: Sequence[str], project: str = PROJECT, location: str = LOCATION) -> str:
    return _queue_filter("depth", ids, project, location)


def attempts(ids: Sequence[str], project: str = PROJECT, location: str = LOCATION, failing: bool = False) -> str:
    label = ' AND metric.label.response_code!="ok"' if failing else ""
    return _queue_filter("task_attempt_count", ids, project, location, label)


def delays(ids: Sequence[str], project: str = PROJECT, location: str = LOCATION) -> str:
    return _queue_filter("task_attempt_delays", ids, project, location)


def run_filter(metric: str, label: str = "") -> str:
    return (
        f'metric.type="run.googleapis.com/{metric}" AND resource.type="cloud_run_revision" AND '
        f'resource.label.project_id="{PROJECT}" AND resource.label.location="{LOCATION}" AND '
        f'resource.label.service_name="{SERVICE}"{label}'
    )


def longest_filter(k: int, project: str, location: str) -> int:
    """The longest of the four queue filters for k queue IDs of the longest kind."""
    ids = [LONGEST_QUEUE_ID] * k
    return max(
        len(f)
        for f in (
            depth(ids, project, location),
            attempts(ids, project, location, failing=True),
            attempts(ids, project, location),
            delays(ids, project, location),
        )
    )


def per_condition(project: str, location: str, limit: int = FILTER_LIMIT) -> int:
    return max(k for k in range(1, 100) if longest_filter(k, project, location) <= limit)


PER = per_condition(PROJECT, LOCATION)


def test_queue_filters_are_the_four_a_queue_condition_or_chart_renders() -> None:
    assert m.queue_filters(PROJECT, LOCATION, ["a"]) == [
        depth(["a"]),
        attempts(["a"], failing=True),
        attempts(["a"]),
        delays(["a"]),
    ]
    assert m.queue_filters("other-project", "us-west1", ["a", "b-2"]) == [
        depth(["a", "b-2"], "other-project", "us-west1"),
        attempts(["a", "b-2"], "other-project", "us-west1", failing=True),
        attempts(["a", "b-2"], "other-project", "us-west1"),
        delays(["a", "b-2"], "other-project", "us-west1"),
    ]
    # The last one written out whole: the helpers above are the filter language, not the component.
    assert m.queue_filters("p", "l", ["x", "y"])[1] == (
        'metric.type="cloudtasks.googleapis.com/queue/task_attempt_count" AND resource.type="cloud_tasks_queue" '
        'AND resource.label.project_id="p" AND resource.label.location="l" AND '
        'resource.label.queue_id=monitoring.regex.full_match("x|y") AND metric.label.response_code!="ok"'
    )


@pytest.mark.parametrize("place", [(PROJECT, LOCATION), (LONGEST_PROJECT, "longest")])
def test_queues_per_condition_at_googles_limit(place: tuple[str, str]) -> None:
    project, location = place[0], longest_location() if place[1] == "longest" else place[1]
    assert m.queues_per_condition(project, location) == per_condition(project, location) == 17


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_queues_per_condition_is_exactly_what_fits_the_limit(monkeypatch: pytest.MonkeyPatch, k: int) -> None:
    # The limit exactly at k IDs' longest filter, and one character short of k + 1's: k either way,
    # in the stack's own project and location (the count depends on their lengths).
    project, location = LONGEST_PROJECT, longest_location()
    monkeypatch.setattr(monitoring_model, "FILTER_MAX_CHARS", longest_filter(k, project, location))
    assert m.queues_per_condition(project, location) == k
    monkeypatch.setattr(monitoring_model, "FILTER_MAX_CHARS", longest_filter(k + 1, project, location) - 1)
    assert m.queues_per_condition(project, location) == k


def test_one_queue_when_not_even_one_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(monitoring_model, "FILTER_MAX_CHARS", 10)
    assert m.queues_per_condition(PROJECT, LOCATION) == 1


# --- Google's limits, from Google's own words --------------------------------------------------------

_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}


def _number(text: str, pattern: str) -> int:
    found = re.search(pattern, text)
    assert found, (pattern, text)
    return int(found.group(1).replace(",", ""))


def test_the_limits_are_googles() -> None:
    v3 = monitoring_v3_doc()["schemas"]
    threshold = v3["MetricThreshold"]["properties"]
    assert _number(threshold["filter"]["description"], r"must not exceed ([\d,]+) Unicode characters") == FILTER_LIMIT
    assert _number(threshold["denominatorFilter"]["description"], r"may not exceed ([\d,]+) Unicode") == FILTER_LIMIT
    assert limits.FILTER_MAX_CHARS == FILTER_LIMIT
    conditions = re.search(
        r"from one to (\w+) conditions", v3["AlertPolicy"]["properties"]["conditions"]["description"]
    )
    assert conditions
    assert limits.CONDITIONS_MAX == _WORDS[conditions.group(1)] == 6
    content = v3["Documentation"]["properties"]["content"]["description"]
    assert limits.DOCUMENTATION_MAX_CHARS == _number(content, r"may not exceed ([\d,]+) Unicode characters") == 8192
    assert limits.DOCUMENTATION_MAX_BYTES == _number(content, r"may not exceed more than ([\d,]+) bytes") == 10240
    subject = v3["Documentation"]["properties"]["subject"]["description"]
    assert limits.SUBJECT_MAX_BYTES == _number(subject, r"truncated to (\d+) bytes") == 255
    queue_name = cloudtasks_doc()["schemas"]["Queue"]["properties"]["name"]["description"]
    queue_id = _number(queue_name, r"`QUEUE_ID` can contain [^*]*The maximum length is (\d+) characters")
    assert m.QUEUE_ID_MAX_CHARS == queue_id == len(LONGEST_QUEUE_ID)
    columns = monitoring_v1_doc()["schemas"]["MosaicLayout"]["properties"]["columns"]["description"]
    assert m._COLUMNS == _number(columns, r"between 1 and (\d+)") == 48
    # Widgets on one dashboard: 100 (Monitoring release notes, 2025-05-02); not in the discovery document.
    assert limits.DASHBOARD_MAX_WIDGETS == 100


def test_the_documentation_fits_at_both_limits_exactly() -> None:
    assert m._fits("a" * 8192)
    assert not m._fits("a" * 8193)
    assert m._fits("é" * 5120)  # 5,120 characters, 10,240 bytes
    assert not m._fits("é" * 5120 + "a")  # 5,121 characters (far under 8,192), 10,241 bytes
    assert not m._fits("é" * 8000)  # under the character limit, over the byte limit


# --- Runbook parts that name the queues ---------------------------------------------------------------

_TWO = m._Names(PROJECT, LOCATION, SERVICE, {"a": "id-a", "b": "id-b"})
_WHERE = f"--location={LOCATION} --project={PROJECT}"


def test_the_queue_list_listed_and_pointed_to() -> None:
    assert m._queue_list(_TWO) == (
        "This policy watches these queues (queue ID: key in the stack file):\n\n- `id-a`: key `a`\n- `id-b`: key `b`\n"
    )
    assert m._queue_list(_TWO._replace(list_queues=False)) == (
        "This policy watches 2 queues of the stack; `pulumi stack output queues` maps each key of the stack file "
        "to its queue path.\n"
    )


def test_pausing_all_queues_listed_and_pointed_to() -> None:
    assert m._pause_all(_TWO) == (
        "To stop tasks from burning their retries meanwhile, pause the queues (resume with `resume`):\n\n```\n"
        f"gcloud tasks queues pause id-a {_WHERE}   # a\n"
        f"gcloud tasks queues pause id-b {_WHERE}   # b\n"
        "```\n"
    )
    assert m._pause_all(_TWO._replace(list_queues=False)) == (
        "To stop tasks from burning their retries meanwhile, pause the stack's 2 queues\n"
        "(`pulumi stack output queues` lists them; resume with `resume`):\n\n```\n"
        f"gcloud tasks queues pause QUEUE_ID {_WHERE}\n"
        "```\n"
    )


def test_fitted_keeps_the_list_or_renders_without_it() -> None:
    seen: list[bool] = []

    def render(n: m._Names) -> str:
        seen.append(n.list_queues)
        return "x" * (10 if not n.list_queues else 8192 if len(n.queues) == 2 else 8193)

    assert m.fitted(render, _TWO) == "x" * 8192
    assert seen == [True]
    three = _TWO._replace(queues={"a": "1", "b": "2", "c": "3"})
    assert m.fitted(render, three) == "x" * 10
    assert seen == [True, True, False]


# --- Every policy of a stack, written out ----------------------------------------------------------


def agg(seconds: int, aligner: str, reducer: str, group_by: str) -> dict[str, Any]:
    return {
        "alignmentPeriod": f"{seconds}s",
        "perSeriesAligner": aligner,
        "crossSeriesReducer": reducer,
        "groupByFields": [group_by],
    }


BY_QUEUE = "resource.label.queue_id"
BY_SERVICE = "resource.label.service_name"
DEFAULT_ID, BULK_ID = QUEUE_IDS["default"], QUEUE_IDS["bulk-import"]
BOTH = [DEFAULT_ID, BULK_ID]


def policy(display: str, subject: str, severity: str, signal: str, conditions: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "project": PROJECT,
        "displayName": display,
        "combiner": "OR",
        "severity": severity,
        "conditions": conditions,
        "notificationChannels": [
            f"projects/{PROJECT}/notificationChannels/1234567890",
            "projects/ops-project/notificationChannels/42",
        ],
        "documentation": {"mimeType": "text/markdown", "subject": subject},
        "alertStrategy": {"autoClose": "1800s"},
        "userLabels": {"stack": "test", "signal": signal},
    }


def condition(display: str, **threshold: Any) -> dict[str, Any]:
    return {"displayName": display, "conditionThreshold": {"comparison": "COMPARISON_GT", **threshold}}


def backlog(ids: list[str], depth_: int, part: str = "") -> dict[str, Any]:
    return condition(
        f"queue depth > {depth_} for 15 min{part}",
        filter=depth(ids),
        aggregations=[agg(60, "ALIGN_MAX", "REDUCE_SUM", BY_QUEUE)],
        thresholdValue=depth_,
        duration="900s",
    )


def failing(ids: list[str], part: str = "") -> dict[str, Any]:
    return condition(
        f"non-OK attempts > 10 % for 10 min{part}",
        filter=attempts(ids, failing=True),
        aggregations=[agg(300, "ALIGN_DELTA", "REDUCE_SUM", BY_QUEUE)],
        denominatorFilter=attempts(ids),
        denominatorAggregations=[agg(300, "ALIGN_DELTA", "REDUCE_SUM", BY_QUEUE)],
        thresholdValue=0.1,
        duration="600s",
    )


def delay(ids: list[str], percentile: int, part: str = "") -> dict[str, Any]:
    return condition(
        f"p{percentile} attempt delay > 300 s for 10 min{part}",
        filter=delays(ids),
        aggregations=[agg(300, f"ALIGN_PERCENTILE_{percentile}", "REDUCE_MAX", BY_QUEUE)],
        thresholdValue=300_000,  # ms
        duration="600s",
    )


QUEUE_SUBJECT = "task-worker: queue ${resource.label.queue_id} "

EXPECTED_POLICIES = {
    "backlog": policy(
        "task-worker: queue backlog",
        QUEUE_SUBJECT + "backlog",
        "WARNING",
        "backlog",
        [backlog([DEFAULT_ID], 1000)],
    ),
    "bulk-import-backlog": policy(
        "task-worker: queue backlog (bulk-import)",
        QUEUE_SUBJECT + "backlog",
        "WARNING",
        "backlog",
        [backlog([BULK_ID], 50000)],
    ),
    "failing": policy(
        "task-worker: queue failing tasks", QUEUE_SUBJECT + "failing tasks", "ERROR", "failing", [failing(BOTH)]
    ),
    "delay": policy(
        "task-worker: queue falling behind",
        QUEUE_SUBJECT + "falling behind",
        "WARNING",
        "delay",
        [delay([DEFAULT_ID], 99)],
    ),
    "bulk-import-delay": policy(
        "task-worker: queue falling behind (bulk-import)",
        QUEUE_SUBJECT + "falling behind",
        "WARNING",
        "delay",
        [delay([BULK_ID], 95)],
    ),
    "service-errors": policy(
        "task-worker: service 5xx",
        "task-worker: service 5xx",
        "ERROR",
        "errors",
        [
            condition(
                "5xx share > 5 % for 5 min",
                filter=run_filter("request_count", ' AND metric.label.response_code_class="5xx"'),
                aggregations=[agg(300, "ALIGN_DELTA", "REDUCE_SUM", BY_SERVICE)],
                denominatorFilter=run_filter("request_count"),
                denominatorAggregations=[agg(300, "ALIGN_DELTA", "REDUCE_SUM", BY_SERVICE)],
                thresholdValue=0.05,
                duration="300s",
            )
        ],
    ),
    "service-latency": policy(
        "task-worker: service latency near timeout",
        "task-worker: service latency near timeout",
        "WARNING",
        "latency",
        [
            condition(
                "p99 latency > 480 s (80% of the 600 s timeout)",
                filter=run_filter("request_latencies"),
                aggregations=[agg(300, "ALIGN_PERCENTILE_99", "REDUCE_MAX", BY_SERVICE)],
                thresholdValue=480_000,  # ms
                duration="300s",
            )
        ],
    ),
    "service-saturation": policy(
        "task-worker: service at max instances",
        "task-worker: service at max instances",
        "WARNING",
        "saturation",
        [
            {
                "displayName": "instances >= 10 (maxInstances 10) for 10 min",
                "conditionThreshold": {
                    "filter": run_filter("container/instance_count"),
                    "aggregations": [agg(60, "ALIGN_MAX", "REDUCE_SUM", BY_SERVICE)],
                    "comparison": "COMPARISON_GE",
                    "thresholdValue": 10,
                    "duration": "600s",
                },
            }
        ],
    ),
}


def rendered(run: Run, prefix: str = "tw-monitoring-") -> dict[str, dict[str, Any]]:
    """Each policy's inputs by suffix, the runbook's text left out (its parts are tested above)."""
    found: dict[str, dict[str, Any]] = {}
    for p in run.of_type(POLICY):
        inputs = json.loads(json.dumps(p.inputs))
        del inputs["documentation"]["content"]
        found[p.name.removeprefix(prefix)] = inputs
    return found


@pytest.fixture(scope="module")
def paged() -> Run:
    return run_monitoring()[0]


def test_every_policy_of_the_stack_written_out(paged: Run) -> None:
    assert rendered(paged) == EXPECTED_POLICIES


def test_the_runbooks_list_the_policys_own_queues_and_the_5xx_one_pauses_all(paged: Run) -> None:
    content = {
        p.name.removeprefix("tw-monitoring-"): p.inputs["documentation"]["content"] for p in paged.of_type(POLICY)
    }
    assert (
        m._queue_list(m._Names(PROJECT, LOCATION, SERVICE, {"bulk-import": BULK_ID})) in content["bulk-import-backlog"]
    )
    assert m._queue_list(m._Names(PROJECT, LOCATION, SERVICE, dict(QUEUE_IDS))) in content["failing"]
    assert (
        "pause the queues (resume with `resume`):\n\n```\n"
        f"gcloud tasks queues pause {DEFAULT_ID} {_WHERE}   # default\n"
        f"gcloud tasks queues pause {BULK_ID} {_WHERE}   # bulk-import\n```\n"
    ) in content["service-errors"]


def _stack(n: int, own: dict[str, QueueAlertThresholds] | None = None) -> tuple[dict[str, dict[str, Any]], list[str]]:
    keys = [f"k{i:03d}" for i in range(n)]
    run, _ = run_monitoring(
        lambda: monitoring_args(
            queue_ids={k: pulumi.Output.from_input(f"id-{k}") for k in keys},
            queue_thresholds=own or {},
            notification_channels=(),
        )
    )
    return rendered(run), [f"id-{k}" for k in keys]


def _names(policy_: dict[str, Any]) -> list[str]:
    return [c["displayName"] for c in policy_["conditions"]]


def test_two_conditions_are_parts_1_and_2_and_two_own_queues_are_named_by_the_first() -> None:
    own = QueueAlertThresholds(backlog_depth=5)
    found, ids = _stack(PER + 1, {"k003": own, "k007": own})
    assert sorted(found) == sorted(
        ["backlog", "k003-backlog", "failing", "delay", "service-errors", "service-latency", "service-saturation"]
    )
    mine = ["id-k003", "id-k007"]
    rest = [i for i in ids if i not in mine]
    assert found["k003-backlog"]["displayName"] == "task-worker: queue backlog (k003 +)"
    assert found["k003-backlog"]["conditions"] == [backlog(mine, 5)]
    assert found["backlog"]["displayName"] == "task-worker: queue backlog"
    assert found["backlog"]["conditions"] == [backlog(rest, 1000)]
    assert found["failing"]["displayName"] == "task-worker: queue failing tasks"
    assert found["failing"]["conditions"] == [
        failing(ids[:PER], " (part 1 of 2)"),
        failing(ids[PER:], " (part 2 of 2)"),
    ]
    assert found["delay"]["conditions"] == [
        delay(ids[:PER], 99, " (part 1 of 2)"),
        delay(ids[PER:], 99, " (part 2 of 2)"),
    ]
    assert {k: p["severity"] for k, p in found.items()} == {
        "backlog": "WARNING",
        "k003-backlog": "WARNING",
        "failing": "ERROR",
        "delay": "WARNING",
        "service-errors": "ERROR",
        "service-latency": "WARNING",
        "service-saturation": "WARNING",
    }


def test_a_second_policy_for_one_set_of_thresholds_is_numbered() -> None:
    found, ids = _stack(6 * PER + 1)
    names = {k: p["displayName"] for k, p in found.items() if not k.startswith("service-")}
    assert names == {
        "backlog": "task-worker: queue backlog",
        "backlog-2": "task-worker: queue backlog [2]",
        "failing": "task-worker: queue failing tasks",
        "failing-2": "task-worker: queue failing tasks [2]",
        "delay": "task-worker: queue falling behind",
        "delay-2": "task-worker: queue falling behind [2]",
    }
    assert _names(found["backlog"]) == [f"queue depth > 1000 for 15 min (part {i} of 6)" for i in range(1, 7)]
    assert found["backlog-2"]["conditions"] == [backlog(ids[6 * PER :], 1000)]
    assert found["backlog"]["conditions"][5] == backlog(ids[5 * PER : 6 * PER], 1000, " (part 6 of 6)")


def test_every_part_of_the_policies_of_own_thresholds_is_named_by_the_groups_first_key() -> None:
    # 6 × PER + 1 queues with thresholds of their own, after one at the stack's: two policies, the
    # second's resource name and display name both from the group's first key (k001), not its own.
    own = QueueAlertThresholds(backlog_depth=5)
    n = 6 * PER + 2
    found, _ = _stack(n, {f"k{i:03d}": own for i in range(1, n)})
    assert found["k001-backlog"]["displayName"] == "task-worker: queue backlog (k001 +)"
    assert found["k001-backlog-2"]["displayName"] == "task-worker: queue backlog (k001 +) [2]"


@pytest.mark.parametrize(("max_instances", "fraction", "at"), [(1, 1.0, 1), (10, 0.05, 1), (7, 0.9, 7), (10, 0.5, 5)])
def test_saturation_fires_at_the_fraction_of_max_instances_rounded_up_and_at_least_one(
    max_instances: int, fraction: float, at: int
) -> None:
    run, _ = run_monitoring(
        lambda: monitoring_args(
            max_instances=max_instances, service_thresholds=ServiceAlertThresholds(saturation_fraction=fraction)
        )
    )
    (c,) = rendered(run)["service-saturation"]["conditions"]
    assert c["conditionThreshold"]["thresholdValue"] == at
    assert c["displayName"] == f"instances >= {at} (maxInstances {max_instances}) for 10 min"


# --- The dashboard, written out ----------------------------------------------------------------------


def chart(
    title: str, filters: list[str], aggregation: dict[str, Any], plot: str = "LINE", threshold: float | None = None
) -> dict[str, Any]:
    data_sets = [
        {
            "timeSeriesQuery": {"timeSeriesFilter": {"filter": f, "aggregation": aggregation}},
            "plotType": plot,
            "targetAxis": "Y1",
        }
        for f in filters
    ]
    xy: dict[str, Any] = {"dataSets": data_sets, "yAxis": {"scale": "LINEAR"}}
    if threshold is not None:
        xy["thresholds"] = [{"value": threshold, "targetAxis": "Y1"}]
    return {"title": title, "xyChart": xy}


def chart_agg(aligner: str, reducer: str, group_by: str) -> dict[str, Any]:
    return {
        "alignmentPeriod": "60s",
        "perSeriesAligner": aligner,
        "crossSeriesReducer": reducer,
        "groupByFields": [group_by],
    }


def queue_row(shares: list[list[str]], part: str = "") -> list[dict[str, Any]]:
    return [
        chart(
            f"Queues{part}: depth by queue (tasks; line: the stack's backlog threshold)",
            [depth(s) for s in shares],
            chart_agg("ALIGN_MAX", "REDUCE_SUM", BY_QUEUE),
            threshold=1000,
        ),
        chart(
            f"Queues{part}: attempts by response code (/s)",
            [attempts(s) for s in shares],
            chart_agg("ALIGN_RATE", "REDUCE_SUM", "metric.label.response_code"),
            plot="STACKED_BAR",
        ),
        chart(
            f"Queues{part}: p99 attempt delay by queue (ms)",
            [delays(s) for s in shares],
            chart_agg("ALIGN_PERCENTILE_99", "REDUCE_MAX", BY_QUEUE),
            threshold=300_000,
        ),
    ]


SERVICE_ROW = [
    chart(
        f"Service {SERVICE}: requests by response class (/s)",
        [run_filter("request_count")],
        chart_agg("ALIGN_RATE", "REDUCE_SUM", "metric.label.response_code_class"),
        plot="STACKED_BAR",
    ),
    chart(
        f"Service {SERVICE}: p99 latency (ms; timeout 600 s)",
        [run_filter("request_latencies")],
        chart_agg("ALIGN_PERCENTILE_99", "REDUCE_MAX", BY_SERVICE),
        threshold=600_000,
    ),
    chart(
        f"Service {SERVICE}: instances by state (max 10)",
        [run_filter("container/instance_count")],
        chart_agg("ALIGN_MAX", "REDUCE_SUM", "metric.label.state"),
        plot="STACKED_AREA",
        threshold=10,
    ),
]


def layout(widgets: list[dict[str, Any]]) -> dict[str, Any]:
    # Tiles of 16 × 16 on 48 columns: three a row.
    tiles = [
        {"xPos": (i % 3) * 16, "yPos": (i // 3) * 16, "width": 16, "height": 16, "widget": w}
        for i, w in enumerate(widgets)
    ]
    return {"displayName": "task-worker: queues and worker", "mosaicLayout": {"columns": 48, "tiles": tiles}}


def test_the_dashboard_written_out(paged: Run) -> None:
    assert json.loads(paged.one(DASHBOARD).inputs["dashboardJson"]) == {
        **layout([*queue_row([BOTH]), *SERVICE_ROW]),
        "labels": {"stack": "test"},
    }


def _args(project: str = PROJECT, location: str = LOCATION) -> TaskWorkerMonitoringArgs:
    return TaskWorkerMonitoringArgs(
        project=project, location=location, service_name=SERVICE, queue_ids={}, max_instances=10, timeout_seconds=600
    )


def test_a_dashboard_row_per_six_shares_of_queues() -> None:
    ids = {f"k{i:03d}": f"id-{i:03d}" for i in range(6 * PER + 1)}
    values = list(ids.values())
    shares = [values[i : i + PER] for i in range(0, 6 * PER, PER)]
    assert m.dashboard(_args(), SERVICE, ids) == {
        **layout([*queue_row(shares, " (1 of 2)"), *queue_row([values[6 * PER :]], " (2 of 2)"), *SERVICE_ROW]),
        "labels": {},
    }


def test_the_dashboards_rows_follow_the_stacks_own_project_and_location(monkeypatch: pytest.MonkeyPatch) -> None:
    # A limit one character short of 3 IDs in the longest project and location: 2 IDs a share there,
    # 12 a row, so 13 queues take two rows (a shorter project or location would fit 3 a share).
    project, location = LONGEST_PROJECT, longest_location()
    monkeypatch.setattr(monitoring_model, "FILTER_MAX_CHARS", longest_filter(3, project, location) - 1)
    ids = {f"k{i}": f"id-{i}" for i in range(13)}
    doc = m.dashboard(_args(project, location), SERVICE, ids)
    titles = [t["widget"]["title"] for t in doc["mosaicLayout"]["tiles"]]
    assert titles[:6] == [
        "Queues (1 of 2): depth by queue (tasks; line: the stack's backlog threshold)",
        "Queues (1 of 2): attempts by response code (/s)",
        "Queues (1 of 2): p99 attempt delay by queue (ms)",
        "Queues (2 of 2): depth by queue (tasks; line: the stack's backlog threshold)",
        "Queues (2 of 2): attempts by response code (/s)",
        "Queues (2 of 2): p99 attempt delay by queue (ms)",
    ]
    first = doc["mosaicLayout"]["tiles"][0]["widget"]["xyChart"]["dataSets"]
    assert [d["timeSeriesQuery"]["timeSeriesFilter"]["filter"] for d in first] == [
        depth([f"id-{i}", f"id-{i + 1}"], project, location) for i in range(0, 12, 2)
    ]
