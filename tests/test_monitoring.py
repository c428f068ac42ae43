"""TaskWorkerMonitoring under the harness: real metrics and labels, configured channels, runbooks with
real names, a dashboard Google accepts, and at most one more step on the deploy's critical path."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pulumi
import pytest

from components import monitoring as m
from components.dead_letter import DeadLetter, DeadLetterArgs
from components.monitoring import (
    ALIGNERS,
    METRICS,
    RESOURCE_LABELS,
    QueueAlertThresholds,
    ServiceAlertThresholds,
    TaskWorkerMonitoring,
    TaskWorkerMonitoringArgs,
)
from components.monitoring import runbooks as monitoring_runbooks
from components.task_worker import TaskWorker, TaskWorkerArgs
from settings import limits, parse_settings
from tests.component_run import run_components
from tests.conformance import check_alert_policy, check_dashboard_json, monitoring_v3_doc
from tests.conftest import stack_config
from tools.harness import Resource, Run
from tools.plan import CRITICAL_PATH_FLOOR, critical_path

POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
DASHBOARD = "gcp:monitoring/dashboard:Dashboard"
PROJECT = "test-project"
LOCATION = "europe-west1"
SERVICE = "tw-svc-1a2b3c4"
QUEUE_IDS = {"default": "tw-default-9f8e7d6", "bulk-import": "tw-bulk-import-0a1b2c3"}


def monitoring_args(**changes: Any) -> TaskWorkerMonitoringArgs:
    base: dict[str, Any] = {
        "project": PROJECT,
        "location": LOCATION,
        # Outputs, as the program passes them (the service's and queues' names are computed).
        "service_name": pulumi.Output.from_input(SERVICE),
        "queue_ids": {k: pulumi.Output.from_input(v) for k, v in QUEUE_IDS.items()},
        "max_instances": 10,
        "timeout_seconds": 600,
        "queue_thresholds": {"bulk-import": QueueAlertThresholds(backlog_depth=50000, delay_percentile=95)},
        "notification_channels": ("1234567890", "projects/ops-project/notificationChannels/42"),
        "labels": {"stack": "test"},
    }
    return TaskWorkerMonitoringArgs(**(base | changes))


def run_monitoring(make: Callable[[], TaskWorkerMonitoringArgs] = monitoring_args) -> tuple[Run, list[Any]]:
    built: list[Any] = []
    run = run_components(lambda: built.append(TaskWorkerMonitoring("tw-monitoring", make())))
    return run, built


@pytest.fixture(scope="module")
def paged() -> Run:
    return run_monitoring()[0]


def policies(run: Run) -> list[Resource]:
    found = run.of_type(POLICY)
    assert found, "no alert policy rendered: the checks would pass vacuously"
    return found


def thresholds(policy: Resource) -> Mapping[str, Any]:
    (condition,) = policy.inputs["conditions"]
    return condition["conditionThreshold"]


def by_signal(run: Run) -> dict[str, Resource]:
    return {p.name.removeprefix("tw-monitoring-"): p for p in policies(run)}


# --- Filters name only what Google documents ----------------------------------------------------

_TERM = re.compile(r'^(metric\.type|resource\.type|resource\.label\.(\w+)|metric\.label\.(\w+))(=|!=)"([^"]*)"$')
# Several queues: an alternation of queue IDs (letters, digits, hyphens: nothing to escape).
_QUEUES = re.compile(r'^resource\.label\.queue_id=monitoring\.regex\.full_match\("[A-Za-z0-9-]+(\|[A-Za-z0-9-]+)+"\)$')


def filter_problems(text: str) -> list[str]:
    """Every term of a rendered filter that is not a documented metric, resource type or label."""
    terms = dict.fromkeys(text.split(" AND "))
    values = {t.split("=", 1)[0]: t.split('"')[1] for t in terms if "=" in t and '"' in t}
    metric, resource = values.get("metric.type"), values.get("resource.type")
    fact = METRICS.get(metric or "")
    if fact is None:
        return [f"{text}: metric {metric!r} is not in METRICS"]
    problems = [] if resource == fact.resource else [f"{text}: resource type {resource!r}; {metric} is {fact.resource}"]
    for term in terms:
        match = _TERM.match(term)
        if _QUEUES.match(term) and fact.resource == m.CLOUD_TASKS_QUEUE:
            continue
        if match is None:
            problems.append(f"{text}: term {term!r} is not a metric/resource selector")
        elif match.group(2) and match.group(2) not in RESOURCE_LABELS[fact.resource]:
            problems.append(f"{text}: {fact.resource} has no label {match.group(2)!r}")
        elif match.group(3) and match.group(3) not in fact.labels:
            problems.append(f"{text}: {metric} has no metric label {match.group(3)!r}")
    return problems


def aggregation_problems(metric: str, aggregation: Mapping[str, Any]) -> list[str]:
    fact = METRICS[metric]
    aligner = aggregation["perSeriesAligner"]
    problems = [] if (fact.kind, fact.value) in ALIGNERS.get(aligner, ()) else [f"{aligner} on {metric}"]
    for group in aggregation.get("groupByFields", []):
        scope, _, label = group.split(".")
        known = RESOURCE_LABELS[fact.resource] if scope == "resource" else fact.labels
        if label not in known:
            problems.append(f"group by {group}: not a label of {metric}")
    return problems


def _metric(text: str) -> str:
    return text.split('metric.type="', 1)[1].split('"', 1)[0]


def test_every_alert_filter_names_documented_metrics_labels_and_resources(paged: Run) -> None:
    seen: set[str] = set()
    for policy in policies(paged):
        t = thresholds(policy)
        for key in ("filter", "denominatorFilter"):
            if key in t:
                assert filter_problems(t[key]) == [], policy.name
                assert len(t[key]) <= limits.FILTER_MAX_CHARS
                seen.add(_metric(t[key]))
        for agg in t["aggregations"]:
            assert aggregation_problems(_metric(t["filter"]), agg) == [], policy.name
        for agg in t.get("denominatorAggregations", []):
            assert aggregation_problems(_metric(t["denominatorFilter"]), agg) == [], policy.name
    # Every signal the issue asks for is alerted on.
    assert seen == set(METRICS)


def test_the_checker_refuses_undocumented_names() -> None:
    q = 'resource.label.queue_id="q"'
    bad = {
        'metric.type="cloudtasks.googleapis.com/queue/oldest_age" AND resource.type="cloud_tasks_queue"': "METRICS",
        f'metric.type="{m.QUEUE_DEPTH}" AND resource.type="cloud_run_revision"': "resource type",
        f'metric.type="{m.QUEUE_DEPTH}" AND resource.type="cloud_tasks_queue" AND resource.label.queue="q"': "no label",
        f'metric.type="{m.TASK_ATTEMPT_COUNT}" AND resource.type="cloud_tasks_queue" AND {q} AND '
        'metric.label.status="ok"': "no metric label",
    }
    for text, words in bad.items():
        problems = filter_problems(text)
        assert problems
        assert words in problems[0]
    assert aggregation_problems(m.QUEUE_DEPTH, {"perSeriesAligner": "ALIGN_PERCENTILE_99"})
    assert aggregation_problems(m.TASK_ATTEMPT_DELAYS, {"perSeriesAligner": "ALIGN_RATE"})


def test_aligner_table_agrees_with_googles_enum_descriptions() -> None:
    enum = monitoring_v3_doc()["schemas"]["Aggregation"]["properties"]["perSeriesAligner"]
    described = dict(zip(enum["enum"], enum["enumDescriptions"], strict=True))
    for aligner, kinds in ALIGNERS.items():
        text = described[aligner]
        for kind, value in kinds:
            assert kind in text, (aligner, kind)
            assert ("distribution values" if value == "DISTRIBUTION" else "numeric values") in text or (
                aligner == "ALIGN_DELTA"  # "valid for CUMULATIVE and DELTA metrics" (any value type)
            ), (aligner, value)


def test_every_metric_fact_has_a_source_and_known_resource() -> None:
    for metric, fact in METRICS.items():
        assert fact.source.strip(), metric
        assert fact.resource in RESOURCE_LABELS
        assert metric.startswith({"cloud_tasks_queue": "cloudtasks.", "cloud_run_revision": "run."}[fact.resource])


QUEUE_POLICIES = ("backlog", "bulk-import-backlog", "failing", "delay", "bulk-import-delay")


def conditions(policy: Resource) -> list[Mapping[str, Any]]:
    return [c["conditionThreshold"] for c in policy.inputs["conditions"]]


def selected(text: str) -> set[str]:
    """The queue IDs a rendered filter selects."""
    selector = text.split("resource.label.queue_id=", 1)[1].split(" AND ", 1)[0]
    if selector.startswith("monitoring.regex.full_match("):
        return set(selector.split('"')[1].split("|"))
    return {selector.strip('"')}


def test_each_queue_is_watched_once_per_signal_with_its_thresholds(paged: Run) -> None:
    signals = by_signal(paged)
    # bulk-import has its own backlog depth and delay percentile: policies of its own for those two;
    # both queues share the failing policy. 5 for the queues (not 3 per queue), 3 for the service.
    assert sorted(signals) == sorted([*QUEUE_POLICIES, "service-errors", "service-latency", "service-saturation"])
    assert selected(thresholds(signals["backlog"])["filter"]) == {QUEUE_IDS["default"]}
    assert selected(thresholds(signals["bulk-import-backlog"])["filter"]) == {QUEUE_IDS["bulk-import"]}
    assert selected(thresholds(signals["delay"])["filter"]) == {QUEUE_IDS["default"]}
    assert selected(thresholds(signals["bulk-import-delay"])["filter"]) == {QUEUE_IDS["bulk-import"]}
    failing = thresholds(signals["failing"])
    assert selected(failing["filter"]) == selected(failing["denominatorFilter"]) == set(QUEUE_IDS.values())
    assert 'metric.label.response_code!="ok"' in failing["filter"]
    assert "response_code" not in failing["denominatorFilter"]
    for name in QUEUE_POLICIES:
        t = thresholds(signals[name])
        assert f'resource.label.location="{LOCATION}"' in t["filter"]
        assert f'resource.label.project_id="{PROJECT}"' in t["filter"]
        # One time series per queue: each queue that crosses the threshold opens its own incident.
        for agg in t["aggregations"] + t.get("denominatorAggregations", []):
            assert agg["groupByFields"] == ["resource.label.queue_id"], name
    for signal in ("service-errors", "service-latency", "service-saturation"):
        assert f'resource.label.service_name="{SERVICE}"' in thresholds(signals[signal])["filter"]


def test_thresholds_are_rendered_in_the_metrics_units(paged: Run) -> None:
    s = by_signal(paged)
    assert thresholds(s["backlog"])["thresholdValue"] == 1000
    assert thresholds(s["bulk-import-backlog"])["thresholdValue"] == 50000
    assert thresholds(s["failing"])["thresholdValue"] == pytest.approx(0.10)
    assert thresholds(s["delay"])["thresholdValue"] == 300_000  # ms
    assert thresholds(s["delay"])["aggregations"][0]["perSeriesAligner"] == "ALIGN_PERCENTILE_99"
    assert thresholds(s["bulk-import-delay"])["aggregations"][0]["perSeriesAligner"] == "ALIGN_PERCENTILE_95"
    assert thresholds(s["service-errors"])["thresholdValue"] == pytest.approx(0.05)
    assert 'response_code_class="5xx"' in thresholds(s["service-errors"])["filter"]
    assert thresholds(s["service-latency"])["thresholdValue"] == 0.8 * 600 * 1000
    saturation = thresholds(s["service-saturation"])
    assert (saturation["comparison"], saturation["thresholdValue"]) == ("COMPARISON_GE", 10)
    for policy in policies(paged):
        seconds = int(thresholds(policy)["duration"].removesuffix("s"))
        assert seconds > 0
        assert seconds % 60 == 0  # "only values that are a multiple of a minute"


def test_policies_take_the_stacks_defaults_as_the_unnamed_policy() -> None:
    # The stack's own defaults (not the library's) make the policy named after the signal alone.
    stack = QueueAlertThresholds(backlog_depth=5)
    run, _ = run_monitoring(
        lambda: monitoring_args(
            queue_thresholds={"default": stack, "bulk-import": stack}, queue_defaults=stack, notification_channels=()
        )
    )
    s = by_signal(run)
    assert sorted(s) == ["backlog", "delay", "failing", "service-errors", "service-latency", "service-saturation"]
    assert thresholds(s["backlog"])["thresholdValue"] == 5
    assert s["backlog"].inputs["displayName"] == "task-worker: queue backlog"
    assert s["backlog"].inputs["userLabels"] == {"stack": "test", "signal": "backlog"}


def test_policies_conform_to_googles_alert_policy(paged: Run) -> None:
    for policy in policies(paged):
        assert check_alert_policy(policy.inputs) == [], policy.name


def test_the_conformance_check_catches_a_bad_policy() -> None:
    bad = {"combiner": "XOR", "conditions": [{"conditionThreshold": {"duration": "5m", "comparisonn": "GT"}}]}
    assert len(check_alert_policy(bad)) == 3


# --- Channels ------------------------------------------------------------------------------------


def test_each_policy_names_the_configured_channels(paged: Run) -> None:
    expected = [
        f"projects/{PROJECT}/notificationChannels/1234567890",
        "projects/ops-project/notificationChannels/42",
    ]
    for policy in policies(paged):
        assert policy.inputs["notificationChannels"] == expected
        assert not m.policy_pages_nobody(policy.inputs)


def test_no_channels_page_nobody_and_say_so() -> None:
    run, built = run_monitoring(lambda: monitoring_args(notification_channels=()))
    assert built[0].pages_nobody is True
    assert "page nobody" in m.NO_CHANNELS_NOTICE
    for policy in policies(run):
        assert policy.type == m.ALERT_POLICY_TYPE
        assert m.policy_pages_nobody(policy.inputs)
        assert policy.inputs.get("enabled") is not False  # still evaluated, shown in the console


def test_channels_page_somebody() -> None:
    assert m.channel_names("p", ["7"]) == ["projects/p/notificationChannels/7"]
    _, built = run_monitoring()
    assert built[0].pages_nobody is False


# --- Runbooks ------------------------------------------------------------------------------------


def test_each_runbook_quotes_the_real_names_and_the_commands(paged: Run) -> None:
    where = f"--location={LOCATION} --project={PROJECT}"
    var = m.QUEUE_ID_VAR
    for name in QUEUE_POLICIES:
        doc = by_signal(paged)[name].inputs["documentation"]
        text = doc["content"]
        assert doc["mimeType"] == "text/markdown"
        # The incident's queue, as Monitoring fills it in; the project and location are the stack's.
        assert f"projects/{PROJECT}/locations/{LOCATION}/queues/{var}" in text
        assert f"gcloud tasks queues pause {var} {where}" in text
        assert f'resource.labels.service_name="{SERVICE}"' in text  # the worker's logs
        # desiredState is never read back: a hand-made pause outlives every deploy (gcp-facts.md).
        assert "No deploy resumes it" in text
        assert "task-worker:queues.<key>.paused` changes" in text
        assert doc["subject"].startswith(f"task-worker: queue {var} ")  # the notification names the queue
    backlog = by_signal(paged)["backlog"].inputs["documentation"]["content"]
    # The queues a policy watches, by ID and key: only its own.
    assert f"- `{QUEUE_IDS['default']}`: key `default`" in backlog
    assert QUEUE_IDS["bulk-import"] not in backlog
    failing = by_signal(paged)["failing"].inputs["documentation"]["content"]
    assert all(f"- `{qid}`: key `{key}`" in failing for key, qid in QUEUE_IDS.items())
    assert "gcloud tasks queues purge" in backlog
    errors = by_signal(paged)["service-errors"].inputs["documentation"]["content"]
    for key, queue_id in QUEUE_IDS.items():
        assert f"gcloud tasks queues pause {queue_id} {where}   # {key}" in errors
    saturation = by_signal(paged)["service-saturation"].inputs["documentation"]["content"]
    assert f"gcloud run services update {SERVICE} --max-instances=20" in saturation


_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def test_runbooks_use_only_documented_variables(paged: Run) -> None:
    # "Only the variables in the table are supported"; a literal "${" would have to be "$${".
    for policy in policies(paged):
        doc = policy.inputs["documentation"]
        found = set(_VARIABLE.findall(doc["content"] + doc["subject"]))
        queue_policy = "service" not in policy.name
        assert found == ({"resource.label.queue_id"} if queue_policy else set()), policy.name
        assert "$${" not in doc["content"]
    # The variable is the label the conditions group by: each incident has it.
    (group_by,) = thresholds(by_signal(paged)["backlog"])["aggregations"][0]["groupByFields"]
    assert "${" + group_by + "}" == m.QUEUE_ID_VAR


def test_runbooks_fit_googles_documentation_limits(paged: Run) -> None:
    for policy in policies(paged):
        text = policy.inputs["documentation"]["content"]
        assert len(text) <= limits.DOCUMENTATION_MAX_CHARS
        assert len(text.encode()) <= limits.DOCUMENTATION_MAX_BYTES
        assert "None" not in text  # an Output that never resolved would print as None


# --- Dashboard -----------------------------------------------------------------------------------


def dashboard_doc(run: Run) -> dict[str, Any]:
    return json.loads(run.one(DASHBOARD).inputs["dashboardJson"])


def test_the_dashboard_renders_and_parses(paged: Run) -> None:
    doc = dashboard_doc(paged)
    tiles = doc["mosaicLayout"]["tiles"]
    assert len(tiles) == 3 + 3  # a row of queue charts (a line per queue), a row for the service
    titles = [t["widget"]["title"] for t in tiles]
    assert sum(title.startswith("Queues:") for title in titles) == 3
    assert sum(title.startswith(f"Service {SERVICE}:") for title in titles) == 3
    for tile in tiles:
        assert tile["xPos"] + tile["width"] <= doc["mosaicLayout"]["columns"]
        for data_set in tile["widget"]["xyChart"]["dataSets"]:
            query = data_set["timeSeriesQuery"]["timeSeriesFilter"]
            assert filter_problems(query["filter"]) == []
            assert aggregation_problems(_metric(query["filter"]), query["aggregation"]) == []
            if tile["widget"]["title"].startswith("Queues:"):
                assert selected(query["filter"]) == set(QUEUE_IDS.values())
    positions = {(t["xPos"], t["yPos"]) for t in tiles}
    assert len(positions) == len(tiles)  # no two tiles on one spot


def test_the_dashboard_conforms_to_googles_dashboard(paged: Run) -> None:
    assert check_dashboard_json(paged.one(DASHBOARD).inputs["dashboardJson"]) == []
    assert check_dashboard_json('{"mosaicLayout": {"columns": "48", "tilez": []}}')
    assert check_dashboard_json("not json")


# --- Arguments ----------------------------------------------------------------------------------


# Threshold limits are config (settings.py, the one place): tests/test_operations_config.py.


def test_thresholds_for_an_unknown_queue_are_refused() -> None:
    def build() -> None:
        TaskWorkerMonitoring("m", monitoring_args(queue_thresholds={"nope": QueueAlertThresholds()}))

    with pytest.raises(AssertionError, match="unknown queue keys"):
        run_components(build)


def test_saturation_threshold_rounds_up() -> None:
    run, _ = run_monitoring(
        lambda: monitoring_args(max_instances=7, service_thresholds=ServiceAlertThresholds(saturation_fraction=0.9))
    )
    assert thresholds(by_signal(run)["service-saturation"])["thresholdValue"] == math.ceil(7 * 0.9)


# --- The whole program with monitoring and dead letters: critical path --------------------------


def _whole(with_operations: bool) -> Callable[[], None]:
    # With an enqueuer, as the stacks have: queue IAM is the last step of the floor.
    config = stack_config(queues={"default": {}, "bulk": {"path": "/bulk"}}, enqueuers=["group:producers@example.com"])

    def build() -> None:
        settings = parse_settings(config.values, "test")
        worker = TaskWorker("task-worker", TaskWorkerArgs(settings=settings))
        if not with_operations:
            return
        TaskWorkerMonitoring(
            "task-worker-monitoring",
            TaskWorkerMonitoringArgs(
                project=settings.project,
                location=settings.location,
                service_name=worker.service.name,
                queue_ids={k: q.queue.name for k, q in worker.queues.items()},
                max_instances=settings.service.max_instances,
                timeout_seconds=settings.service.timeout_seconds,
            ),
        )
        DeadLetter(
            "task-worker-dead-letter",
            DeadLetterArgs(project=settings.project, publisher_member=worker.service.runtime_account.member),
        )

    return build


def _custom(run: Run, prefix: str) -> Sequence[Resource]:
    return [r for r in run.resources if r.custom and r.type.startswith(prefix)]


def test_monitoring_and_pubsub_add_at_most_one_step_to_the_critical_path() -> None:
    base = run_components(_whole(False))
    full = run_components(_whole(True))
    assert critical_path(base.resources) == CRITICAL_PATH_FLOOR
    assert _custom(full, "gcp:monitoring/")
    assert _custom(full, "gcp:pubsub/")
    assert critical_path(full.resources) <= critical_path(base.resources) + 1
    # Wired to the real queues: the policies carry the auto-named queue IDs.
    queue_names = {q.outputs["name"] for q in full.of_type("gcp:cloudtasks/queue:Queue")}
    watched = set().union(
        *(selected(t["filter"]) for p in full.of_type(POLICY) if "service" not in p.name for t in conditions(p))
    )
    assert watched == queue_names


# --- At Google's limits: filter length, conditions per policy, runbook size, dashboard widgets -------

LONGEST_PROJECT = "p" + "-" * 28 + "p"  # project IDs: 6–30 characters
LONGEST_ID = "q" * m.QUEUE_ID_MAX_CHARS


def longest_location() -> str:
    from settings import CLOUD_TASKS_LOCATIONS

    return max(sorted(CLOUD_TASKS_LOCATIONS), key=len)


@pytest.mark.parametrize("place", [(PROJECT, LOCATION), (LONGEST_PROJECT, "longest")])
def test_a_condition_holds_as_many_of_the_longest_queue_ids_as_fit_and_no_more(place: tuple[str, str]) -> None:
    project, location = place[0], longest_location() if place[1] == "longest" else place[1]
    n = m.queues_per_condition(project, location)
    at_limit = m.queue_filters(project, location, [LONGEST_ID] * n)
    assert max(map(len, at_limit)) <= limits.FILTER_MAX_CHARS
    past = m.queue_filters(project, location, [LONGEST_ID] * (n + 1))
    assert max(map(len, past)) > limits.FILTER_MAX_CHARS
    assert n >= 15  # ~17: a 1,000-queue stack needs 10 policies a signal, not 1,000


def _policies(n: int, per_condition: int = 2, **own: QueueAlertThresholds) -> list[m.QueuePolicy]:
    keys = [f"k{i}" for i in range(n)]
    return m.queue_policies(keys, own, QueueAlertThresholds(), per_condition)


def test_a_policy_takes_at_most_six_conditions_then_another_policy_follows() -> None:
    # per_condition 2: 12 queues fill one policy's 6 conditions; the 13th needs a second policy.
    at_limit = [p for p in _policies(12) if p.signal == "backlog"]
    assert [(p.suffix, len(p.conditions)) for p in at_limit] == [("backlog", limits.CONDITIONS_MAX)]
    past = [p for p in _policies(13) if p.signal == "backlog"]
    assert [(p.suffix, len(p.conditions), p.part) for p in past] == [("backlog", 6, 1), ("backlog-2", 1, 2)]
    assert past[1].conditions == (("k12",),)
    assert [c for p in past for c in p.conditions][:2] == [("k0", "k1"), ("k2", "k3")]


def test_queues_with_their_own_thresholds_get_a_policy_named_by_the_first() -> None:
    own = QueueAlertThresholds(backlog_depth=5)
    found = {p.suffix: p for p in _policies(4, per_condition=17, k1=own, k3=own)}
    assert sorted(found) == ["backlog", "delay", "failing", "k1-backlog"]
    assert found["k1-backlog"].keys == ("k1", "k3")
    assert found["k1-backlog"].thresholds == own
    assert (found["k1-backlog"].at_defaults, found["backlog"].at_defaults) == (False, True)
    assert found["backlog"].keys == ("k0", "k2")
    assert found["failing"].keys == found["delay"].keys == ("k0", "k1", "k2", "k3")  # own only for backlog


@pytest.mark.parametrize("n", [1, 17, 120])
def test_every_queue_is_watched_exactly_once_per_signal(n: int) -> None:
    found = _policies(n, per_condition=17, k0=QueueAlertThresholds(delay_seconds=1))
    for signal in m.SIGNAL_FIELDS:
        keys = [k for p in found if p.signal == signal for k in p.keys]
        assert sorted(keys) == sorted(f"k{i}" for i in range(n))
    assert all(1 <= len(p.conditions) <= limits.CONDITIONS_MAX for p in found)
    assert all(1 <= len(c) <= 17 for p in found for c in p.conditions)


def test_at_scale_filters_runbooks_and_the_dashboard_stay_within_googles_limits() -> None:
    # 120 queues with the longest IDs, in the longest project and location.
    ids = {f"q{i:03d}": f"{i:03d}" + LONGEST_ID[3:] for i in range(120)}
    location = longest_location()
    run, _ = run_monitoring(
        lambda: monitoring_args(
            project=LONGEST_PROJECT,
            location=location,
            queue_ids={k: pulumi.Output.from_input(v) for k, v in ids.items()},
            queue_thresholds={},
        )
    )
    found = policies(run)
    per_policy = limits.CONDITIONS_MAX * m.queues_per_condition(LONGEST_PROJECT, location)
    assert len(found) == 3 * math.ceil(120 / per_policy) + 3
    watched: dict[str, list[str]] = {}
    for policy in found:
        assert 1 <= len(policy.inputs["conditions"]) <= limits.CONDITIONS_MAX
        assert check_alert_policy(policy.inputs) == [], policy.name
        text = policy.inputs["documentation"]["content"]
        assert len(text) <= limits.DOCUMENTATION_MAX_CHARS
        assert len(text.encode()) <= limits.DOCUMENTATION_MAX_BYTES
        for t in conditions(policy):
            for key in ("filter", "denominatorFilter"):
                if key in t:
                    assert len(t[key]) <= limits.FILTER_MAX_CHARS
                    assert filter_problems(t[key]) == []
            if "service" not in policy.name:
                signal = policy.inputs["userLabels"]["signal"]
                watched[signal] = watched.get(signal, []) + sorted(selected(t["filter"]))
    assert sorted(watched) == ["backlog", "delay", "failing"]
    assert all(sorted(v) == sorted(ids.values()) for v in watched.values())
    # Too many queues to list within the runbook's limit: it points to the stack output instead.
    errors = next(p for p in found if p.name.endswith("service-errors")).inputs["documentation"]["content"]
    assert "pulumi stack output queues" in errors
    assert ids["q000"] not in errors
    assert check_dashboard_json(run.one(DASHBOARD).inputs["dashboardJson"]) == []


def test_the_runbook_keeps_its_list_of_queues_when_it_fits() -> None:
    names = m._Names(PROJECT, LOCATION, SERVICE, dict(QUEUE_IDS))
    text = m.fitted(lambda n: m.runbook_errors(n, ServiceAlertThresholds()), names)
    assert f"gcloud tasks queues pause {QUEUE_IDS['default']}" in text
    many = m._Names(PROJECT, LOCATION, SERVICE, {f"k{i}": f"{i:03d}" + LONGEST_ID[3:] for i in range(102)})
    for render in (
        lambda n: m.runbook_errors(n, ServiceAlertThresholds()),
        lambda n: m.runbook_failing(n, QueueAlertThresholds()),
    ):
        assert len(render(many)) > limits.DOCUMENTATION_MAX_CHARS  # the list would break the limit …
        fitted = m.fitted(render, many)
        assert len(fitted) <= limits.DOCUMENTATION_MAX_CHARS  # … so it gives way to the pointer
        assert "pulumi stack output queues" in fitted


def test_the_latency_runbook_states_the_stacks_timeout_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    # The cap is settings.MAX_TIMEOUT_SECONDS (the tasks' dispatch deadline), not Cloud Run's 3600.
    import settings

    names = m._Names(PROJECT, LOCATION, SERVICE, dict(QUEUE_IDS))
    text = m.runbook_latency(names, ServiceAlertThresholds(), 600)
    assert f"`task-worker:service.timeoutSeconds` (≤ {settings.MAX_TIMEOUT_SECONDS}:" in text
    assert "3600" not in text
    monkeypatch.setattr(monitoring_runbooks, "MAX_TIMEOUT_SECONDS", 1234)  # read from settings, not written again
    assert "(≤ 1234:" in m.runbook_latency(names, ServiceAlertThresholds(), 600)


def test_the_dashboard_stays_within_its_widget_limit_at_cloud_tasks_queue_limit() -> None:
    from settings import MAX_QUEUES_PER_LOCATION

    args = TaskWorkerMonitoringArgs(
        project=LONGEST_PROJECT,
        location=longest_location(),
        service_name=SERVICE,
        queue_ids={},
        max_instances=10,
        timeout_seconds=600,
    )
    ids = {f"q{i}": f"{i:04d}" + LONGEST_ID[4:] for i in range(MAX_QUEUES_PER_LOCATION)}
    doc = m.dashboard(args, SERVICE, ids)
    tiles = doc["mosaicLayout"]["tiles"]
    assert len(tiles) <= limits.DASHBOARD_MAX_WIDGETS
    shown: list[str] = []
    for tile in tiles:
        data_sets = tile["widget"]["xyChart"]["dataSets"]
        assert len(data_sets) <= limits.CONDITIONS_MAX
        for data_set in data_sets:
            text = data_set["timeSeriesQuery"]["timeSeriesFilter"]["filter"]
            assert len(text) <= limits.FILTER_MAX_CHARS
            if "depth by queue" in tile["widget"]["title"]:
                shown += selected(text)
    assert sorted(shown) == sorted(ids.values())  # every queue on the depth charts, once
    assert check_dashboard_json(json.dumps(doc)) == []
