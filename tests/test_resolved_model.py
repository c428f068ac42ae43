"""What the stack declares, not only what was typed: names, queue IDs, labels, env vars and IAM members
derived from the keys are checked against Google's limits and against each other (settings/resolve.py).
Each limit at the limit and one step past it; each refusal names the key behind it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settings import SettingsError, parse_settings
from settings.limits import (
    LIMITS,
    MAX_ENV_VARS,
    MAX_LABELS,
    MAX_POLICY_GROUPS,
    MAX_POLICY_PRINCIPALS,
    MAX_QUEUE_ID_CHARS,
)
from settings.resolve import AUTONAME_CHARS, resolve_stack
from tests.conftest import run_ok, stack_config

NS = "task-worker:"
HERE = "projects/test-project/locations/europe-west1"
ACCOUNT = "projects/test-project/serviceAccounts/{}@test-project.iam.gserviceaccount.com"


def problems(**ours: Any) -> dict[str, str]:
    """{key: allowed} of every problem the config has ({} when it is accepted)."""
    try:
        parse_settings(stack_config(**ours).values, "test")
    except SettingsError as err:
        return {p.key: p.allowed for p in err.problems}
    return {}


# --- The limits table ----------------------------------------------------------------------------


def test_every_limit_names_its_source() -> None:
    for name, limit in LIMITS.items():
        assert limit.source.strip(), name
        assert limit.what.strip(), name
        assert limit.value > 0, name


def test_the_limits_page_is_generated_from_the_table() -> None:
    from tools import limits as limits_doc

    assert limits_doc.main(["--check"]) == 0, "run: uv run python -m tools.limits"
    page = limits_doc.limits_page()
    for name in LIMITS:
        assert f"| `{name}` |" in page


def test_each_limit_constant_is_the_tables_value() -> None:
    from settings import limits

    for name, limit in LIMITS.items():
        assert getattr(limits, name) == limit.value, name


# --- Queue IDs: shards, names and adopted queues ---------------------------------------------------


def test_a_shard_id_at_the_queue_id_limit_passes_and_one_past_is_refused() -> None:
    # Shard i of a named queue is "<name>-<i>": with 3 shards, the longest is "<name>-2".
    longest = MAX_QUEUE_ID_CHARS - len("-2")
    assert problems(queues={"a": {"name": "x" * longest, "shards": 3}}) == {}
    found = problems(queues={"a": {"name": "x" * (longest + 1), "shards": 3}})
    assert set(found) == {NS + "queues.a.name"}
    assert f"at most {MAX_QUEUE_ID_CHARS}" in found[NS + "queues.a.name"]


def test_an_adopted_queues_shard_ids_are_checked_under_import_id() -> None:
    longest = MAX_QUEUE_ID_CHARS - len("-1")
    assert problems(queues={"a": {"importId": f"{HERE}/queues/{'y' * longest}", "shards": 2}}) == {}
    found = problems(queues={"a": {"importId": f"{HERE}/queues/{'y' * (longest + 1)}", "shards": 2}})
    assert set(found) == {NS + "queues.a.importId"}


def test_an_auto_named_shard_at_the_limit_passes_and_one_past_is_refused() -> None:
    # Logical name "task-worker-<key>-<i>" + Pulumi's "-" + 7 hex digits.
    room = MAX_QUEUE_ID_CHARS - AUTONAME_CHARS - len("task-worker-") - len("-9")
    assert room < 50 or problems(queues={"k" * 50: {"shards": 10}}) == {}
    # The key is at most 50 characters, so an auto-name cannot pass 100: the limit holds by construction.
    assert len("task-worker-" + "k" * 50 + "-999") + AUTONAME_CHARS <= MAX_QUEUE_ID_CHARS
    assert problems(queues={"k" * 50: {"shards": 1000}}) == {}


def test_a_shard_id_equal_to_another_queues_name_is_refused() -> None:
    found = problems(queues={"a": {"name": "jobs", "shards": 2}, "b": {"name": "jobs-1"}})
    assert set(found) == {NS + "queues.b.name"}
    assert "queues.a's (its shard 1)" in found[NS + "queues.b.name"]
    assert problems(queues={"a": {"name": "jobs", "shards": 2}, "b": {"name": "jobs-2"}}) == {}


def test_an_adopted_queue_that_is_another_queues_shard_is_refused() -> None:
    found = problems(queues={"a": {"name": "jobs", "shards": 3}, "b": {"importId": f"{HERE}/queues/jobs-2"}})
    assert set(found) == {NS + "queues.b.importId"}
    assert "an import and a create" in found[NS + "queues.b.importId"]


def test_shards_of_two_named_queues_may_not_meet() -> None:
    # a-1's shard 1 is "x-1-1"; x's shard 1 is "x-1": apart. "x" with 12 shards reaches "x-11".
    assert problems(queues={"a": {"name": "x", "shards": 2}, "b": {"name": "x-1-1"}}) == {}
    found = problems(queues={"a": {"name": "x", "shards": 12}, "b": {"name": "x-11"}})
    assert set(found) == {NS + "queues.b.name"}


def test_a_name_in_the_form_of_another_queues_auto_name_is_refused() -> None:
    found = problems(queues={"a": {}, "b": {"name": "task-worker-a-0123abc"}})
    assert set(found) == {NS + "queues.b.name"}
    assert "auto-name" in found[NS + "queues.b.name"]
    # Not hex, or another length: no auto-name of ours can take it.
    assert problems(queues={"a": {}, "b": {"name": "task-worker-a-0123abz"}}) == {}
    assert problems(queues={"a": {}, "b": {"name": "task-worker-a-0123abcd"}}) == {}


# --- Resource names: one URN each ------------------------------------------------------------------


def test_two_secrets_whose_grants_would_share_a_name_are_refused() -> None:
    found = problems(service={"secrets": {"A": "db_pass", "B": "db-pass"}})
    assert set(found) == {NS + "service.secrets.B"}
    assert "task-worker-service-secret-test-project-db-pass" in found[NS + "service.secrets.B"]
    # One secret under two variables is one grant, not a collision.
    assert problems(service={"secrets": {"A": "db-pass", "B": "db-pass"}}) == {}


def test_a_queue_key_crafted_to_meet_another_queues_grant_name_is_refused() -> None:
    # Queue "a" grants user:x.com-enqueuer-user-x@x.com as "task-worker-a-enqueuer-user-x-com-enqueuer-user-x-x-com";
    # queue "a-enqueuer-user-x-com" grants user:x@x.com under that very name.
    enqueuers = ["user:x@x.com", "user:x.com-enqueuer-user-x@x.com"]
    found = problems(queues={"a": {}, "a-enqueuer-user-x-com": {}}, enqueuers=enqueuers)
    assert list(found) == [NS + "enqueuers[0]"]
    assert "task-worker-a-enqueuer-user-x-com-enqueuer-user-x-x-com" in found[NS + "enqueuers[0]"]
    assert problems(queues={"a": {}, "b-enqueuer-user-x-com": {}}, enqueuers=enqueuers) == {}


def test_dead_letter_subscribers_whose_grants_would_share_a_name_are_refused() -> None:
    found = problems(deadLetter={"enabled": True, "subscribers": ["user:a.b@x.com", "user:a-b@x.com"]})
    assert set(found) == {NS + "deadLetter.subscribers[1]"}


@settings(max_examples=max(settings().max_examples // 4, 3))  # a program run per example
@given(
    keys=st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True), min_size=1, max_size=4, unique=True),
    shards=st.integers(1, 3),
)
def test_the_program_declares_exactly_the_names_the_model_checked(keys: list[str], shards: int) -> None:
    queues = {k: {"shards": shards} for k in keys}
    enqueuers = ["user:a@x.com", "group:ops@x.com"]
    config = stack_config(queues=queues, enqueuers=enqueuers, service={"secrets": {"A": "s1", "B": "s2"}})
    try:
        settings = parse_settings(config.values, "test")
    except SettingsError:
        return  # keys that meet each other's shards: refused, tested above
    model = resolve_stack(settings)
    run = run_ok(config)
    declared = {(r.type, r.name) for r in run.resources}
    expected = {("gcp:cloudtasks/queue:Queue", s.resource_name) for s in model.shards}
    expected |= {
        ("gcp:cloudtasks/queueIamMember:QueueIamMember", g.resource_name) for s in model.shards for g in s.grants
    }
    expected |= {("gcp:secretmanager/secretIamMember:SecretIamMember", g.resource_name) for g in model.secret_grants}
    kinds = {kind for kind, _ in expected}
    assert {d for d in declared if d[0] in kinds} == expected
    runtime = next(r for r in run.resources if r.name.endswith("-runtime"))
    assert runtime.inputs["accountId"] == model.runtime.account_id


# --- Accounts --------------------------------------------------------------------------------------


def test_an_adopted_runtime_account_may_not_be_the_invoker_the_stack_creates() -> None:
    # The stack creates the invoker as "task-worker-<stack>-invoker".
    found = problems(accounts={"runtime": {"importId": ACCOUNT.format("task-worker-test-invoker")}})
    assert set(found) == {NS + "accounts.runtime.importId"}
    assert problems(accounts={"runtime": {"importId": ACCOUNT.format("task-worker-test-other")}}) == {}


def test_an_adopted_invoker_may_not_be_the_runtime_account_the_stack_creates() -> None:
    found = problems(accounts={"invoker": {"importId": ACCOUNT.format("task-worker-test-run")}})
    assert set(found) == {NS + "accounts.invoker.importId"}


# --- Labels as sent, the stack's own included -------------------------------------------------------


def test_labels_fill_the_service_to_googles_limit_with_the_stacks_own() -> None:
    at_limit = {f"k{i}": "v" for i in range(MAX_LABELS - 2)}  # + managed-by, stack
    assert problems(labels=at_limit) == {}
    assert set(problems(labels={**at_limit, "one-more": "v"})) == {NS + "labels"}


def test_dead_letters_carry_one_label_more_so_the_users_limit_is_one_less() -> None:
    at_limit = {f"k{i}": "v" for i in range(MAX_LABELS - 3)}  # + managed-by, stack, task-worker-purpose
    assert problems(labels=at_limit, deadLetter={"enabled": True}) == {}
    found = problems(labels={**at_limit, "one-more": "v"}, deadLetter={"enabled": True})
    assert set(found) == {NS + "labels"}
    assert f"at most {MAX_LABELS - 3}" in found[NS + "labels"]


def test_the_purpose_label_is_the_stacks_own() -> None:
    assert set(problems(labels={"task-worker-purpose": "x"})) == {NS + "labels.task-worker-purpose"}


@pytest.mark.parametrize(
    ("labels", "ok"),
    [
        ({"équipe-données": "données"}, True),
        ({"日本": "東京"}, True),  # caseless letters (Lo)
        ({"team": "ünïcödé_1-2"}, True),
        ({"Équipe": "x"}, False),  # an uppercase letter
        ({"1team": "x"}, False),  # a key starts with a letter
        ({"team": "A"}, False),
        ({"team": "x" * 63}, True),
        ({"team": "x" * 64}, False),
        ({"é" * 63: "x"}, True),
        ({"é" * 64: "x"}, False),
    ],
)
def test_international_labels_as_google_allows_them(labels: dict[str, str], ok: bool) -> None:
    assert (problems(labels=labels) == {}) is ok


# --- Env vars as sent ---------------------------------------------------------------------------


def test_dead_letter_env_vars_count_with_the_users_toward_cloud_runs_limit() -> None:
    ours = 4 + 4  # TASK_WORKER_*: 4, and 4 for the one queue key
    env = {f"V{i}": "x" for i in range(MAX_ENV_VARS - ours)}
    assert problems(service={"env": env}, deadLetter={"enabled": True}) == {}
    found = problems(service={"env": {**env, "ONE_MORE": "x"}}, deadLetter={"enabled": True})
    assert set(found) == {NS + "deadLetter.enabled"}


# --- IAM members per policy ----------------------------------------------------------------------


def test_enqueuers_at_the_policy_principal_limit_pass_and_one_more_is_refused() -> None:
    members = [f"user:u{i}@example.com" for i in range(MAX_POLICY_PRINCIPALS)]
    assert problems(enqueuers=members) == {}
    found = problems(enqueuers=[*members, "user:one-more@example.com"])
    assert set(found) == {NS + "enqueuers"}
    assert str(MAX_POLICY_PRINCIPALS) in found[NS + "enqueuers"]


def test_enqueuer_groups_at_their_limit_pass_and_one_more_is_refused() -> None:
    groups = [f"group:g{i}@example.com" for i in range(MAX_POLICY_GROUPS)]
    assert problems(enqueuers=groups) == {}
    assert set(problems(enqueuers=[*groups, "group:one-more@example.com"])) == {NS + "enqueuers"}


def test_dead_letter_subscribers_are_one_policy_too() -> None:
    groups = [f"group:g{i}@example.com" for i in range(MAX_POLICY_GROUPS + 1)]
    assert set(problems(deadLetter={"enabled": True, "subscribers": groups})) == {NS + "deadLetter.subscribers"}
    # Off: nothing is granted, nothing is counted.
    assert problems(deadLetter={"enabled": False, "subscribers": groups}) == {}


def test_a_gke_workload_identity_member_is_an_enqueuer() -> None:
    assert problems(enqueuers=["serviceAccount:my-proj.svc.id.goog[jobs/producer]"]) == {}
    assert set(problems(enqueuers=["serviceAccount:my-proj.svc.id.goog[jobs]"])) == {NS + "enqueuers[0]"}


def test_secret_version_alias_new_is_refused() -> None:
    assert set(problems(service={"secrets": {"A": {"secret": "s", "version": "NEW"}}})) == {
        NS + "service.secrets.A.version"
    }
    assert problems(service={"secrets": {"A": {"secret": "s", "version": "new"}}}) == {}
    assert problems(service={"secrets": {"A": {"secret": "s", "version": "prod"}}}) == {}


def refusal(**ours: Any) -> list[tuple[str, str]]:
    with pytest.raises(SettingsError) as caught:
        parse_settings(stack_config(**ours).values, "test")
    return [(p.key, p.value) for p in caught.value.problems]


def test_a_queue_id_problem_is_given_once_per_key_however_many_shards() -> None:
    assert refusal(queues={"a": {"name": "x" * 99, "shards": 1000}}) == [(NS + "queues.a.name", repr("x" * 99))]


def test_a_taken_id_shows_the_adopting_keys_own_value() -> None:
    import_id = f"{HERE}/queues/jobs-2"
    found = refusal(queues={"a": {"name": "jobs", "shards": 3}, "b": {"importId": import_id}})
    assert found == [(NS + "queues.b.importId", repr(import_id))]
