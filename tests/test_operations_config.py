"""Issue 9 wired end to end: `task-worker:monitoring` and `task-worker:deadLetter` in the config, their
limits (each at the limit and one past it), hostile values, and what the stack declares from them."""

from __future__ import annotations

import json
from typing import Any

import pytest

import settings as s
from components import dead_letter as dl
from components.monitoring import QueueAlertThresholds, ServiceAlertThresholds
from examples import dead_letter_handler as handler
from policy.rules import ResourceView, check
from tests import conformance
from tests.conftest import run_ok, stack_config
from tools import plan
from tools.harness import Run

POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
DASHBOARD = "gcp:monitoring/dashboard:Dashboard"
TOPIC = "gcp:pubsub/topic:Topic"
SUBSCRIPTION = "gcp:pubsub/subscription:Subscription"
TOPIC_IAM = "gcp:pubsub/topicIAMMember:TopicIAMMember"
SUBSCRIPTION_IAM = "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember"
SERVICE = "gcp:cloudrunv2/service:Service"
API = "gcp:projects/service:Service"
OPS = "group:ops@acme.test"


def problems(**ours: Any) -> list[tuple[str, str]]:
    try:
        s.parse_settings(stack_config(**ours).values, "t")
    except s.SettingsError as err:
        return [(p.key, p.allowed) for p in err.problems]
    return []


def keys(**ours: Any) -> list[str]:
    return [k for k, _ in problems(**ours)]


# --- Limits: at the limit accepted, one past it refused, with the key named ----------------------

MINUTES = ("backlogMinutes", "failingMinutes", "delayMinutes")
SERVICE_MINUTES = ("errorMinutes", "latencyMinutes", "saturationMinutes")

# (field, values at the limits, values one past them): written out, never read from settings'
# constants, so a changed constant fails here (dev/mutate_limits.py checks that it does).
LIMITS: list[tuple[str, list[Any], list[Any]]] = [
    *[(f, [1, 1440], [0, 1441]) for f in MINUTES + SERVICE_MINUTES],
    ("backlogDepth", [1, 2_147_483_647], [0, 2_147_483_648]),
    ("failingPercent", [0.001, 100], [0, 100.001, -1]),
    ("errorPercent", [0.001, 100], [0, 100.001]),
    ("latencyFraction", [0.001, 1], [0, 1.001]),
    ("saturationFraction", [0.001, 1], [0, 1.001]),
    ("delaySeconds", [0.001, 2_678_400], [0, 2_678_401]),  # 31 days, a task's longest life
    ("delayPercentile", [50, 95, 99], [90, 100, 0]),
    ("latencyPercentile", [50, 95, 99], [90, 100]),
]


@pytest.mark.parametrize(("field", "good", "bad"), LIMITS, ids=[x[0] for x in LIMITS])
def test_monitoring_thresholds_at_and_past_their_limits(field: str, good: list[Any], bad: list[Any]) -> None:
    for value in good:
        assert problems(monitoring={field: value}) == [], (field, value)
    for value in bad:
        assert keys(monitoring={field: value}) == [f"task-worker:monitoring.{field}"], (field, value)


_QUEUE_ALIASES = {i.alias for i in s.QueueAlertSettings.model_fields.values()}
QUEUE_LIMITS = [x for x in LIMITS if x[0] in _QUEUE_ALIASES]


@pytest.mark.parametrize(("field", "good", "bad"), QUEUE_LIMITS, ids=[x[0] for x in QUEUE_LIMITS])
def test_a_queues_alert_overrides_have_the_same_limits(field: str, good: list[Any], bad: list[Any]) -> None:
    for value in good:
        assert problems(queues={"a": {"alerts": {field: value}}}) == [], (field, value)
    for value in bad:
        assert keys(queues={"a": {"alerts": {field: value}}}) == [f"task-worker:queues.a.alerts.{field}"]


def test_every_queue_threshold_is_overridable_per_queue_and_nothing_else() -> None:
    queue = {i.alias for i in s.QueueAlertSettings.model_fields.values()}
    stack = {i.alias for n, i in s.MonitoringSettings.model_fields.items() if n in s.QueueAlertSettings.model_fields}
    assert (
        queue
        == stack
        == {"backlogDepth", "backlogMinutes", "failingPercent", "failingMinutes"}
        | {
            "delayPercentile",
            "delaySeconds",
            "delayMinutes",
        }
    )


@pytest.mark.parametrize(
    ("seconds", "ok"),
    [
        (s.MIN_RETENTION_SECONDS, True),
        (s.MIN_RETENTION_SECONDS - 1, False),
        (s.MAX_RETENTION_SECONDS, True),
        (s.MAX_RETENTION_SECONDS + 1, False),
    ],
)
def test_retention_at_and_past_pubsubs_limits(seconds: int, ok: bool) -> None:
    assert (s.MIN_RETENTION_SECONDS, s.MAX_RETENTION_SECONDS) == (600, 2678400)  # 10 minutes, 31 days
    found = keys(deadLetter={"enabled": True, "retentionSeconds": seconds})
    assert found == ([] if ok else ["task-worker:deadLetter.retentionSeconds"])


def test_defaults_of_config_and_component_agree() -> None:
    monitoring = s.MonitoringSettings()
    queue = s.named_queue("a")
    assert QueueAlertThresholds(**monitoring.queue_thresholds(queue)) == QueueAlertThresholds()
    assert ServiceAlertThresholds(**monitoring.service_thresholds()) == ServiceAlertThresholds()
    assert set(QueueAlertThresholds._fields) == set(monitoring.queue_thresholds(queue))
    assert set(ServiceAlertThresholds._fields) == set(monitoring.service_thresholds())
    assert (monitoring.enabled, s.DeadLetterSettings().enabled) == (True, False)  # alerts on, dead letters opt-in
    assert s.DeadLetterSettings().retention_seconds == 7 * 24 * 3600


def test_a_queues_own_threshold_wins_over_the_stacks() -> None:
    config = stack_config(
        monitoring={"backlogDepth": 50, "delaySeconds": 60}, queues={"a": {"alerts": {"backlogDepth": 9}}}
    )
    settings = s.parse_settings(config.values, "t")
    t = settings.monitoring.queue_thresholds(settings.queues[0])
    assert (t["backlog_depth"], t["delay_seconds"], t["failing_percent"]) == (9, 60, 10.0)
    defaults = settings.monitoring.queue_defaults()
    assert (defaults["backlog_depth"], defaults["delay_seconds"], defaults["failing_percent"]) == (50, 60, 10.0)
    assert set(defaults) == set(t)


def test_queues_at_the_stacks_thresholds_share_the_policy_named_after_the_signal() -> None:
    run = run_ok(
        stack_config(
            monitoring={"backlogDepth": 50},
            queues={"a": {}, "b": {"path": "/b", "alerts": {"backlogDepth": 9}}, "c": {"path": "/c"}},
        )
    )
    found = {p.name.removeprefix("task-worker-monitoring-"): p for p in run.of_type(POLICY)}
    ids = {q.name.removeprefix("task-worker-"): q.outputs["name"] for q in run.of_type("gcp:cloudtasks/queue:Queue")}

    def backlog(name: str) -> tuple[float, str]:
        (condition,) = found[name].inputs["conditions"]
        t = condition["conditionThreshold"]
        return t["thresholdValue"], t["filter"].split("resource.label.queue_id=", 1)[1]

    assert backlog("backlog") == (50, f'monitoring.regex.full_match("{ids["a"]}|{ids["c"]}")')
    assert backlog("b-backlog") == (9, f'"{ids["b"]}"')
    assert found["b-backlog"].inputs["displayName"] == "task-worker (test): queue backlog (b)"


# --- Channels, members, env names: hostile values ------------------------------------------------


@pytest.mark.parametrize(
    "channel", ["1234567890", "projects/ops-project/notificationChannels/42", "projects/123/notificationChannels/7"]
)
def test_channel_ids_and_full_names_are_accepted(channel: str) -> None:
    assert problems(monitoring={"notificationChannels": [channel]}) == []


@pytest.mark.parametrize(
    "channel",
    [
        "",
        "ops-email",  # a display name, not an ID
        "projects/p/notificationChannels/42",  # p is no project ID
        "projects/ops-project/notificationChannels/",
        "projects/ops-project/alertPolicies/42",
        '42" OR resource.type="x',
        "42\n",
        " 42",
        "x" * 5000,
    ],
)
def test_hostile_channels_are_refused_by_name(channel: str) -> None:
    assert keys(monitoring={"notificationChannels": [channel]}) == ["task-worker:monitoring.notificationChannels[0]"]


def test_a_channel_twice_is_refused() -> None:
    found = problems(monitoring={"notificationChannels": ["42", "projects/ops-project/notificationChannels/42"]})
    assert found == [
        ("task-worker:monitoring.notificationChannels[1]", "each channel once: it is notificationChannels[0]")
    ]


@pytest.mark.parametrize(
    "value",
    [{"enabled": "true"}, {"enabled": 1}, {"retentionSeconds": "604800"}, {"retentionSeconds": 6.5e5}, {"nope": 1}],
)
def test_hostile_dead_letter_values_are_refused(value: dict[str, Any]) -> None:
    found = keys(deadLetter=value)
    assert len(found) == 1
    assert found[0].startswith("task-worker:deadLetter.")


@pytest.mark.parametrize(
    "value", [{"enabled": "yes"}, {"errorPercent": "5"}, {"backlogDepth": 1.5}, {"errorPercent": True}]
)
def test_hostile_monitoring_values_are_refused(value: dict[str, Any]) -> None:
    assert [k.split(".")[0] for k in keys(monitoring=value)] == ["task-worker:monitoring"]


@pytest.mark.parametrize("member", ["allUsers", "allAuthenticatedUsers", "ops@acme.test", "group:not-an-email"])
def test_subscribers_follow_the_enqueuers_rules(member: str) -> None:
    assert keys(deadLetter={"subscribers": [member]}) == ["task-worker:deadLetter.subscribers[0]"]


def test_a_subscriber_twice_is_refused() -> None:
    assert keys(deadLetter={"subscribers": [OPS, OPS.upper().replace("GROUP", "group")]}) == [
        "task-worker:deadLetter.subscribers[1]"
    ]


@pytest.mark.parametrize("where", ["env", "secrets"])
def test_the_stacks_env_prefix_is_reserved_whether_dead_letters_are_on_or_not(where: str) -> None:
    value = "x" if where == "env" else "db-password"
    for dead_letter in (True, False):
        found = problems(service={where: {"TASK_WORKER_QUEUES": value}}, deadLetter={"enabled": dead_letter})
        assert found == [
            (f"task-worker:service.{where}.TASK_WORKER_QUEUES", "TASK_WORKER_* names are the stack's own: use another")
        ]
    assert problems(service={"env": {"TASK_WORKERS": "x"}}) == []  # only the prefix itself


def test_dead_letter_env_vars_count_against_cloud_runs_limit() -> None:
    fixed, per_queue = s.DEAD_LETTER_ENV_VARS
    n_queues = 3
    room = s.MAX_ENV_VARS - fixed - per_queue * n_queues
    queues = {f"q{i}": {} for i in range(n_queues)}
    env = {f"V{i}": "x" for i in range(room)}
    assert problems(service={"env": env}, queues=queues, deadLetter={"enabled": True}) == []
    env["ONE_MORE"] = "x"
    assert keys(service={"env": env}, queues=queues, deadLetter={"enabled": True}) == ["task-worker:deadLetter.enabled"]
    assert problems(service={"env": env}, queues=queues) == []  # dead letters off: no variables of ours


# --- Config → resources ---------------------------------------------------------------------------

CHANNELS = ["1234567890", "projects/ops-project/notificationChannels/42"]


@pytest.fixture(scope="module")
def operated() -> Run:
    return run_ok(
        stack_config(
            queues={"default": {"maxAttempts": 5}, "bulk": {"shards": 2, "name": "bulk", "maxRetryDuration": "3600s"}},
            monitoring={"notificationChannels": CHANNELS, "errorPercent": 2.5},
            deadLetter={"enabled": True, "retentionSeconds": 86400, "subscribers": [OPS]},
        )
    )


def test_every_policy_names_the_configured_channels(operated: Run) -> None:
    expected = ["projects/test-project/notificationChannels/1234567890", CHANNELS[1]]
    policies = operated.of_type(POLICY)
    assert len(policies) == 3 + 3  # default, bulk, bulk-1 (a shard is a queue) share 3; the service's 3
    for policy in policies:
        assert policy.inputs["notificationChannels"] == expected
        assert conformance.check_alert_policy(policy.inputs) == []
    errors = next(p for p in policies if p.name.endswith("service-errors"))
    assert errors.inputs["conditions"][0]["conditionThreshold"]["thresholdValue"] == pytest.approx(0.025)
    assert operated.exports["monitoring"]["pagesNobody"] is False


def test_the_dashboard_renders_every_queue_and_the_service(operated: Run) -> None:
    dashboard = operated.one(DASHBOARD)
    assert conformance.check_dashboard_json(dashboard.inputs["dashboardJson"]) == []
    tiles = json.loads(dashboard.inputs["dashboardJson"])["mosaicLayout"]["tiles"]
    assert len(tiles) == 3 + 3  # one row of queue charts (a line per queue), one for the service
    queue_filters = [
        data_set["timeSeriesQuery"]["timeSeriesFilter"]["filter"]
        for tile in tiles
        if tile["widget"]["title"].startswith("Queues:")
        for data_set in tile["widget"]["xyChart"]["dataSets"]
    ]
    assert len(queue_filters) == 3
    ids = {q.outputs["name"] for q in operated.of_type("gcp:cloudtasks/queue:Queue")}
    assert ids == {"bulk", "bulk-1", next(i for i in ids if i.startswith("task-worker-default-"))}
    for text in queue_filters:
        selected = text.split('queue_id=monitoring.regex.full_match("', 1)[1].split('"', 1)[0]
        assert set(selected.split("|")) == ids


def test_policies_and_dashboard_wait_for_the_monitoring_api(operated: Run) -> None:
    api = next(r.urn for r in operated.of_type(API) if r.inputs["service"] == "monitoring.googleapis.com")
    for r in operated.of_type(POLICY) + operated.of_type(DASHBOARD):
        assert api in r.dependencies


def test_dead_letters_publish_on_the_one_topic_for_the_runtime_account_only(operated: Run) -> None:
    topic = operated.one(TOPIC)
    runtime = next(r for r in operated.of_type("gcp:serviceaccount/account:Account") if "PrivateService" in r.urn)
    grants = [r for r in operated.resources if r.custom and r.inputs.get("role", "").startswith("roles/pubsub.")]
    grants.sort(key=lambda r: r.type != TOPIC_IAM)  # registration order is the engine's, not ours
    assert [(g.type, g.inputs["role"], g.inputs["member"]) for g in grants] == [
        (TOPIC_IAM, "roles/pubsub.publisher", runtime.outputs["member"]),
        (SUBSCRIPTION_IAM, "roles/pubsub.subscriber", OPS),
    ]
    assert grants[0].inputs["topic"] == topic.outputs["name"]
    assert runtime.urn in grants[0].dependencies  # the deferred member carries the account dependency
    subscription = operated.one(SUBSCRIPTION)
    assert subscription.inputs["messageRetentionDuration"] == "86400s"
    assert conformance.check_topic(topic.inputs) == []
    assert conformance.check_subscription(subscription.inputs) == []
    assert operated.exports["deadLetterTopic"] == topic.outputs["id"]
    assert operated.exports["deadLetterSubscription"] == subscription.outputs["id"]
    api = next(r.urn for r in operated.of_type(API) if r.inputs["service"] == "pubsub.googleapis.com")
    assert api in topic.dependencies


def service_env(run: Run) -> dict[str, Any]:
    (container,) = run.one(SERVICE).inputs["template"]["containers"]
    return {e["name"]: e.get("value") for e in container.get("envs", [])}


def test_the_worker_is_told_the_topic_and_each_queues_limits(operated: Run) -> None:
    env = {k: v for k, v in service_env(operated).items() if k.startswith("TASK_WORKER_")}
    assert env == {
        "TASK_WORKER_DEAD_LETTER_TOPIC": operated.one(TOPIC).outputs["id"],
        "TASK_WORKER_PROJECT": "test-project",
        "TASK_WORKER_LOCATION": "europe-west1",
        "TASK_WORKER_QUEUES": "bulk,default",
        "TASK_WORKER_QUEUE_BULK_QUEUE_ID": "bulk",
        "TASK_WORKER_QUEUE_BULK_SHARDS": "2",
        "TASK_WORKER_QUEUE_BULK_MAX_ATTEMPTS": "100",
        "TASK_WORKER_QUEUE_BULK_MAX_RETRY_DURATION": "3600s",
        "TASK_WORKER_QUEUE_DEFAULT_AUTONAME_PREFIX": "task-worker-default",
        "TASK_WORKER_QUEUE_DEFAULT_SHARDS": "1",
        "TASK_WORKER_QUEUE_DEFAULT_MAX_ATTEMPTS": "5",
        "TASK_WORKER_QUEUE_DEFAULT_MAX_RETRY_DURATION": "0s",
    }


def test_the_handler_recognises_every_queue_the_stack_declares(operated: Run) -> None:
    """The real queue IDs (the harness auto-names as Pulumi does) against the env the service gets."""
    env = {k: str(v) for k, v in service_env(operated).items() if k.startswith("TASK_WORKER_")}
    expected = {"task-worker-default": "default", "task-worker-bulk": "bulk", "task-worker-bulk-1": "bulk"}
    for queue in operated.of_type("gcp:cloudtasks/queue:Queue"):
        found = handler.find_queue(env, queue.outputs["name"])
        assert found is not None, queue.outputs["name"]
        assert found.key == expected[queue.name]


def test_the_service_does_not_wait_on_the_queues(operated: Run) -> None:
    """No cycle: the service's env is static but for the topic, which needs nothing of the service."""
    service = operated.one(SERVICE)
    queue_urns = {q.urn for q in operated.of_type("gcp:cloudtasks/queue:Queue")}
    assert not queue_urns & set(service.dependencies)
    assert operated.one(TOPIC).urn in service.dependencies


def test_the_operated_stack_passes_the_policy_pack_and_keeps_the_critical_path(operated: Run) -> None:
    views = [ResourceView(r.urn, r.type, r.outputs) for r in operated.resources if r.custom]
    assert [v for v in check(views) if v.mandatory] == []
    assert plan.make_plan(operated).critical_path <= plan.CRITICAL_PATH_FLOOR + 1
    assert plan.make_plan(operated).critical_path == plan.CRITICAL_PATH_FLOOR  # today: no step added
    assert not plan.pages_nobody(operated)


def test_disabled_operations_declare_nothing_of_theirs() -> None:
    run = run_ok(stack_config(monitoring={"enabled": False}, deadLetter={"enabled": False, "subscribers": [OPS]}))
    types = {r.type for r in run.resources}
    assert not any(t.startswith(("gcp:monitoring/", "gcp:pubsub/")) for t in types)
    assert "task-worker:gcp:TaskWorkerMonitoring" not in types
    apis = {r.inputs["service"] for r in run.of_type(API)}
    assert not apis & {"monitoring.googleapis.com", "pubsub.googleapis.com"}
    assert not [k for k in service_env(run) if k.startswith("TASK_WORKER_")]
    assert not {"monitoring", "deadLetterTopic", "deadLetterSubscription"} & set(run.exports)
    assert not plan.pages_nobody(run)


def test_by_default_alerts_exist_page_nobody_and_dead_letters_are_off() -> None:
    run = run_ok(stack_config())
    assert run.of_type(POLICY)
    assert all(not p.inputs.get("notificationChannels") for p in run.of_type(POLICY))
    assert plan.pages_nobody(run)
    assert run.exports["monitoring"]["pagesNobody"] is True
    assert not run.of_type(TOPIC)


def test_component_env_names_stay_in_the_reserved_prefix() -> None:
    env = dl.worker_env("t", "p", "l", [dl.QueueRetry("a", None, "x", 1, 1, "0s")])
    assert all(name.startswith(s.RESERVED_ENV_PREFIX) for name in env)
