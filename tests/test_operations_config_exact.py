"""The monitoring and dead-letter config and wiring, exact (written out whole).

Each case writes out every expected problem or value; expectations are never read from settings.py
or the components.
"""

from __future__ import annotations

from typing import Any

import pytest

import settings as s
from policy.rules import ResourceRule, ResourceView, StackRule, Violation
from tests.conftest import stack_config

# Pulumi's secret wrapper and an "unknown during preview" string, as the engine sends them.
SECRET = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "value": "hidden"}
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


def problems(**ours: Any) -> list[tuple[str, str, str]]:
    try:
        s.parse_settings(stack_config(**ours).values, "t")
    except s.SettingsError as err:
        return [(p.key, p.value, p.allowed) for p in err.problems]
    return []


# --- _distinct_members: each member once, and no two whose slugs collide --------------------------


def test_members_whose_resource_names_collide_are_refused_with_the_first_named() -> None:
    members = ["user:a.b@x.test", "user:a-b@x.test", "user:A-B@x.test"]
    assert problems(deadLetter={"subscribers": members}) == [
        (
            "task-worker:deadLetter.subscribers[1]",
            "'user:a-b@x.test'",
            "each member once (resource names too): it is subscribers[0]",
        ),
        (
            "task-worker:deadLetter.subscribers[2]",
            "'user:A-B@x.test'",
            "each member once (resource names too): it is subscribers[1]",
        ),
    ]


# --- _check_dead_letter_env_fits: env + secrets + 4 + 4 per queue key ≤ 1000 -----------------------

SECRETS = {f"S{i}": "db-password" for i in range(3)}


def test_secrets_count_with_env_against_the_limit() -> None:
    # 2 queue keys: 4 + 8 = 12 of ours; 3 secrets; 985 env vars: exactly 1000.
    queues = {"a": {}, "b": {}}
    env = {f"V{i}": "x" for i in range(985)}
    on = {"enabled": True}
    assert problems(service={"env": env, "secrets": SECRETS}, queues=queues, deadLetter=on) == []
    env["ONE_MORE"] = "x"
    assert problems(service={"env": env, "secrets": SECRETS}, queues=queues, deadLetter=on) == [
        (
            "task-worker:deadLetter.enabled",
            "true",
            "expected env + secrets + the 12 TASK_WORKER_* variables of dead letters (4 + 4 per queue key) "
            "≤ 1000 (Cloud Run's limit); it is 1001",
        )
    ]


# --- Queue alert fields: descriptions, allowed texts and defaults (`_queue_alert`) -----------------


def test_queue_alert_fields_describe_themselves_and_default_to_the_stacks() -> None:
    queue = s.QueueAlertSettings.model_fields["backlog_depth"]
    stack = s.MonitoringSettings.model_fields["backlog_depth"]
    assert queue.description == (
        "Backlog alert: more tasks than this waiting in the queue … Unset: task-worker:monitoring's. "
        "Allowed: a whole number from 1 to 2147483647"
    )
    assert stack.description == (
        "Backlog alert: more tasks than this waiting in the queue … Allowed: a whole number from 1 to 2147483647"
    )
    assert queue.json_schema_extra == {"x-allowed": "a whole number from 1 to 2147483647"}
    assert stack.json_schema_extra == {"x-allowed": "a whole number from 1 to 2147483647"}
    assert queue.default is None
    assert stack.default == 1000
    assert s.MonitoringSettings().queue_thresholds(s.QueueSettings()) == {
        "backlog_depth": 1000,
        "backlog_minutes": 15,
        "failing_percent": 10.0,
        "failing_minutes": 10,
        "delay_percentile": 99,
        "delay_seconds": 300.0,
        "delay_minutes": 10,
    }


# --- ResourceRule.run / StackRule.run called alone: they normalize the engine's values ------------


def _seen(view: ResourceView) -> list[str]:
    return [f"{view.urn} {view.type} {view.props}"]


def test_a_resource_rule_alone_normalizes_and_names_the_urn() -> None:
    rule = ResourceRule("r", "d", True, _seen)
    raw = ResourceView("urn:x", "t:m:T", {"a": SECRET, "b": UNKNOWN, "c": ("x",)})
    assert rule.run(raw) == [Violation("r", "urn:x", "urn:x t:m:T {'a': 'hidden', 'b': None, 'c': ['x']}", True)]


def test_a_stack_rule_alone_normalizes_and_names_each_urn() -> None:
    rule = StackRule("r", "d", False, lambda views: [(v.urn, f"{v.type} {v.props}") for v in views])
    raw = [ResourceView("urn:x", "t:m:T", {"a": SECRET}), ResourceView("urn:y", "t:m:U", {"b": UNKNOWN})]
    assert rule.run(raw) == [
        Violation("r", "urn:x", "t:m:T {'a': 'hidden'}", False),
        Violation("r", "urn:y", "t:m:U {'b': None}", False),
    ]


@pytest.mark.parametrize("normalized", [True])
def test_already_normalized_views_pass_through_unchanged(normalized: bool) -> None:
    rule = ResourceRule("r", "d", True, _seen)
    view = ResourceView("urn:x", "t:m:T", {"a": ("x",)})
    assert rule.run(view, normalized=normalized) == [Violation("r", "urn:x", "urn:x t:m:T {'a': ('x',)}", True)]


def test_already_normalized_views_reach_a_stack_rule_unchanged() -> None:
    rule = StackRule("r", "d", True, lambda views: [(v.urn, f"{v.props}") for v in views])
    views = [ResourceView("urn:x", "t:m:T", {"a": ("x",)})]
    assert rule.run(views, normalized=True) == [Violation("r", "urn:x", "{'a': ('x',)}", True)]
