"""Sharded queues: N queues with one queue's settings, each with its own grants, exported as a list."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from settings import SettingsError, parse_settings
from tests import conformance
from tests.conftest import run_ok, stack_config
from tools import plan

POLICY = "gcp:monitoring/alertPolicy:AlertPolicy"
QUEUE = "gcp:cloudtasks/queue:Queue"
QUEUE_IAM = "gcp:cloudtasks/queueIamMember:QueueIamMember"
ENQUEUERS = ["serviceAccount:producer@test-project.iam.gserviceaccount.com", "group:producers@test.org"]


def test_shards_are_queues_with_the_same_settings_and_their_own_grants() -> None:
    run = run_ok(stack_config(queues={"bulk": {"shards": 3, "path": "/bulk", "maxAttempts": 7}}, enqueuers=ENQUEUERS))
    queues = sorted(run.of_type(QUEUE), key=lambda r: r.name)
    assert [q.name for q in queues] == ["task-worker-bulk", "task-worker-bulk-1", "task-worker-bulk-2"]
    settings_of = [{k: v for k, v in q.inputs.items() if k != "name"} for q in queues]
    assert settings_of[0] == settings_of[1] == settings_of[2]
    assert queues[0].inputs["retryConfig"]["maxAttempts"] == 7
    assert queues[0].inputs["httpTarget"]["uriOverride"]["pathOverride"]["path"] == "/bulk"
    grants = run.of_type(QUEUE_IAM)
    assert len(grants) == 3 * len(ENQUEUERS)
    by_queue = {q.outputs["name"]: q.urn for q in queues}
    for grant in grants:
        assert grant.inputs["role"] == "roles/cloudtasks.enqueuer"
        assert grant.inputs["member"] in ENQUEUERS
        assert by_queue[grant.inputs["name"]] in grant.dependencies
    assert {g.inputs["name"] for g in grants} == set(by_queue)


def test_shards_are_exported_as_a_list() -> None:
    run = run_ok(stack_config(queues={"bulk": {"shards": 2}, "fast": {}}))
    out = run.exports["queues"]
    names = {r.name: r.outputs["name"] for r in run.of_type(QUEUE)}
    base = "projects/test-project/locations/europe-west1/queues/"
    assert out["bulk"]["paths"] == [base + names["task-worker-bulk"], base + names["task-worker-bulk-1"]]
    assert out["bulk"]["path"] == out["bulk"]["paths"][0]
    assert out["fast"]["paths"] == [base + names["task-worker-fast"]]


def test_adding_shards_keeps_the_first_queue() -> None:
    # Shard 0 keeps the unsharded URN: going from 1 to 3 shards replaces nothing.
    one = run_ok(stack_config(queues={"bulk": {}}, enqueuers=ENQUEUERS))
    three = run_ok(stack_config(queues={"bulk": {"shards": 3}}, enqueuers=ENQUEUERS))
    assert {r.urn for r in one.resources} <= {r.urn for r in three.resources}


@pytest.mark.parametrize(
    ("queues", "key"),
    [
        ({"q": {"shards": 0}}, "task-worker:queues.q.shards"),
        ({"q": {"shards": 1001}}, "task-worker:queues.q.shards"),
        ({"q": {"shards": 2.5}}, "task-worker:queues.q.shards"),
        ({"a": {"shards": 500}, "b": {"shards": 501}}, "task-worker:queues"),
        ({"a": {"shards": 3}, "a-2": {}}, "task-worker:queues.a-2"),
    ],
)
def test_bad_shards_refused(queues: dict[str, Any], key: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_settings(stack_config(queues=queues).values, "t")
    assert [p.key for p in caught.value.problems] == [key]


def test_shard_limits_accepted() -> None:
    assert parse_settings(stack_config(queues={"a": {"shards": 500}, "b": {"shards": 500}}).values, "t")
    assert parse_settings(stack_config(queues={"a": {"shards": 2}, "a-2": {}}).values, "t").queues[1].key == "a-2"


def test_capacity_counts_every_shard_and_the_plan_explains_the_ramp_up() -> None:
    config = stack_config(
        service={"maxInstances": 10, "concurrency": 10},
        queues={"q": {"shards": 3, "maxConcurrentDispatches": 40, "maxDispatchesPerSecond": 200}},
    )
    warnings = parse_settings(config.values, "t").warnings
    assert any("3 shards × 40 = 120" in w and "= 100" in w for w in warnings), warnings
    assert any("3 × 200 = 600 tasks/s" in w and "500/50/5" in w for w in warnings), warnings
    # 2 × 40 = 80 fits 100: no capacity warning.
    fits = stack_config(
        service={"maxInstances": 10, "concurrency": 10}, queues={"q": {"shards": 2, "maxConcurrentDispatches": 40}}
    )
    assert not any("capacity" in w for w in parse_settings(fits.values, "t").warnings)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(1, 50), st.booleans())
def test_any_shard_count_plans_passes_policy_conforms_and_keeps_the_critical_path(n: int, enqueuers: bool) -> None:
    run = run_ok(
        stack_config(
            service={"maxInstances": 100, "concurrency": 80},
            queues={"q": {"shards": n, "maxConcurrentDispatches": 100}},
            enqueuers=ENQUEUERS[:1] if enqueuers else None,
            # Alerts per shard have their own test below (they would dominate this one's time).
            monitoring={"enabled": False},
        )
    )
    result = plan.make_plan(run)
    assert result.mandatory == []
    assert result.critical_path == (plan.CRITICAL_PATH_FLOOR if enqueuers else plan.CRITICAL_PATH_FLOOR - 1)
    queues = run.of_type(QUEUE)
    assert len(queues) == n
    assert len(run.of_type(QUEUE_IAM)) == (n if enqueuers else 0)
    assert all(conformance.check_queue(q.inputs) == [] for q in queues)
    assert len(run.exports["queues"]["q"]["paths"]) == n


def test_each_shard_is_watched_with_the_keys_thresholds() -> None:
    run = run_ok(stack_config(queues={"q": {"shards": 3, "alerts": {"backlogDepth": 7}}, "r": {"name": "orders"}}))
    policies = {p.name.removeprefix("task-worker-monitoring-"): p for p in run.of_type(POLICY)}
    # Backlog: q's shards share q's threshold (a policy of their own), r the stack's; failing and
    # delay: every queue at the stack's thresholds, one policy each; and the service's 3.
    assert sorted(policies) == sorted(
        ["q-backlog", "backlog", "failing", "delay", "service-errors", "service-latency", "service-saturation"]
    )
    ids = {q.name: q.outputs["name"] for q in run.of_type(QUEUE)}
    assert ids["task-worker-r"] == "orders"
    shards = {ids["task-worker-q"], ids["task-worker-q-1"], ids["task-worker-q-2"]}

    def watched(policy: str) -> tuple[set[str], float]:
        (condition,) = policies[policy].inputs["conditions"]
        t = condition["conditionThreshold"]
        selector = t["filter"].split("resource.label.queue_id=", 1)[1].split(" AND ", 1)[0]
        if selector.startswith("monitoring.regex.full_match("):
            return set(selector.split('"')[1].split("|")), t["thresholdValue"]
        return {selector.strip('"')}, t["thresholdValue"]

    assert watched("q-backlog") == (shards, 7)
    assert watched("backlog") == ({"orders"}, 1000)  # the stack's default
    assert watched("failing")[0] == watched("delay")[0] == shards | {"orders"}
    assert plan.make_plan(run).critical_path == plan.CRITICAL_PATH_FLOOR  # policies follow the queues
