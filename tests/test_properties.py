"""Property tests: any broken key is refused by name; any valid config plans cleanly."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settings import SettingsError, parse_settings
from tests import conformance
from tests.strategies import as_stack_config, broken_configs, valid_configs
from tools import plan
from tools.harness import run_program

# The profile (tests/conftest.py: "ci" with CI=true, else "quick") sets the base count:
# validation is pure and cheap, so ten times more examples; planning is dearer.
PLAN_EXAMPLES = settings().max_examples  # a fresh settings() reads the loaded profile
VALIDATION_EXAMPLES = 10 * PLAN_EXAMPLES


@settings(max_examples=VALIDATION_EXAMPLES)
@given(broken_configs())
def test_one_broken_key_is_refused_by_name(case: tuple[dict[str, Any], str]) -> None:
    config, key = case
    stack = as_stack_config(config)
    with pytest.raises(SettingsError) as caught:
        parse_settings(stack.values, stack.stack)
    assert [p.key for p in caught.value.problems] == [key], str(caught.value)
    assert all(p.allowed for p in caught.value.problems)


@settings(max_examples=PLAN_EXAMPLES // 2)
@given(broken_configs())
def test_broken_config_declares_nothing(case: tuple[dict[str, Any], str]) -> None:
    config, key = case
    run = run_program(as_stack_config(config))
    assert run.error is not None
    assert f"  - {key}: " in str(run.error)
    assert run.resources == []


@settings(max_examples=PLAN_EXAMPLES)
@given(valid_configs())
def test_valid_config_plans_passes_policy_and_conforms(config: dict[str, Any]) -> None:
    run = run_program(as_stack_config(config))
    assert run.error is None, run.error
    result = plan.make_plan(run)
    assert result.mandatory == []
    # API → accounts → service → queues → queue IAM or alert policies; with neither, one step less.
    after_queues = config["task-worker:enqueuers"] or config["task-worker:monitoring"]["enabled"]
    floor = plan.CRITICAL_PATH_FLOOR if after_queues else plan.CRITICAL_PATH_FLOOR - 1
    # Secret Manager grants come between the runtime account and the service (a first revision
    # must be able to read its secrets): one more step.
    floor += 1 if config["task-worker:service"].get("secrets") else 0
    assert result.critical_path == floor
    assert run.invokes == []
    queues = run.of_type("gcp:cloudtasks/queue:Queue")
    assert len(queues) == sum(q.get("shards", 1) for q in config["task-worker:queues"].values())
    for queue in queues:
        assert conformance.check_queue(queue.inputs) == []
    assert conformance.check_service(run.one("gcp:cloudrunv2/service:Service").inputs) == []
    for policy in run.of_type("gcp:monitoring/alertPolicy:AlertPolicy"):
        assert conformance.check_alert_policy(policy.inputs) == []
    for topic in run.of_type("gcp:pubsub/topic:Topic"):
        assert conformance.check_topic(topic.inputs) == []


@settings(max_examples=max(PLAN_EXAMPLES // 10, 3))
@given(valid_configs(max_queues=5), st.randoms())
def test_same_config_planned_twice_gives_identical_json(config: dict[str, Any], rnd: Any) -> None:
    first = plan.to_json(plan.make_plan(run_program(as_stack_config(config))))
    # The same config with its maps in another order.
    shuffled = dict(config)
    keys = list(config["task-worker:queues"])
    rnd.shuffle(keys)
    shuffled["task-worker:queues"] = {k: config["task-worker:queues"][k] for k in keys}
    second = plan.to_json(plan.make_plan(run_program(as_stack_config(shuffled))))
    assert first == second
