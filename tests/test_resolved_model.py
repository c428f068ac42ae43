"""What the stack declares, not only what was typed: names, queue IDs, labels, env vars and IAM members
derived from the keys are checked against Google's limits and against each other (settings/resolve.py).
Each limit at the limit and one step past it; each refusal names the key behind it. Google's numbers
are written out, not read from settings/limits.py: a wrong number there fails here
(dev/mutate_limits.py checks it)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from settings import SettingsError, parse_settings
from settings.limits import LIMITS
from settings.resolve import Resolved, resolve_stack
from tests.conftest import problems, run_ok, stack_config

NS = "task-worker:"
HERE = "projects/test-project/locations/europe-west1"
ACCOUNT = "projects/test-project/serviceAccounts/{}@test-project.iam.gserviceaccount.com"
# Google's limits (settings/limits.py names the sources) and Pulumi's auto-name suffix ("-" + 7 hex).
QUEUE_ID_CHARS = 100
LABELS = 64
ENV_VARS = 1000
POLICY_PRINCIPALS = 1500
POLICY_GROUPS = 250
AUTONAME_CHARS = 8


def refusals(**ours: Any) -> list[tuple[str, str, str]]:
    """Every problem written out: (key, value, allowed), in the order they are reported."""
    try:
        parse_settings(stack_config(**ours).values, "test")
    except SettingsError as err:
        return [(p.key, p.value, p.allowed) for p in err.problems]
    return []


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


# --- The model itself, written out ---------------------------------------------------------------


def _resolved_example() -> Resolved:
    config = stack_config(
        "Prod.EU",
        labels={"team": "ops"},
        queues={"jobs": {"name": "jobs-q", "shards": 2}, "mail": {}},
        enqueuers=["user:a@x.com"],
        accounts={"runtime": {"importId": ACCOUNT.format("my-runtime")}},
        service={"env": {"E": "x"}, "secrets": {"A": "s1", "B": "projects/other-proj/secrets/s2"}},
        deadLetter={"enabled": True, "subscribers": ["group:ops@x.com"]},
    )
    return resolve_stack(parse_settings(config.values, "Prod.EU"), "tw")


def test_the_model_holds_the_stack_and_its_accounts_labels_and_grants() -> None:
    r = _resolved_example()
    assert (r.name, r.stack, r.project, r.location) == ("tw", "Prod.EU", "test-project", "europe-west1")
    runtime_id = "projects/test-project/serviceAccounts/my-runtime@test-project.iam.gserviceaccount.com"
    assert r.runtime == ("my-runtime", runtime_id)
    assert r.invoker == ("tw-prod-eu-invoker", None)  # created: named from the component and the stack
    assert dict(r.labels) == {"managed-by": "pulumi", "stack": "prod-eu", "team": "ops"}
    assert dict(r.dead_letter_labels) == {**r.labels, "task-worker-purpose": "dead-letter"}
    assert r.secret_grants == (
        ("tw-service-secret-test-project-s1", "test-project", "s1", ("A",)),
        ("tw-service-secret-other-proj-s2", "other-proj", "s2", ("B",)),
    )
    assert r.subscriber_grants == (
        ("tw-dead-letter-subscriber-group-ops-x-com", "group:ops@x.com", NS + "deadLetter.subscribers[0]"),
    )


def test_the_model_lists_the_env_vars_as_sent_a_named_queue_by_id_an_auto_named_one_by_prefix() -> None:
    per_queue = ("SHARDS", "MAX_ATTEMPTS", "MAX_RETRY_DURATION")
    assert _resolved_example().env_names == (
        "E",
        "A",
        "B",
        "TASK_WORKER_DEAD_LETTER_TOPIC",
        "TASK_WORKER_PROJECT",
        "TASK_WORKER_LOCATION",
        "TASK_WORKER_QUEUES",
        "TASK_WORKER_QUEUE_JOBS_QUEUE_ID",
        *(f"TASK_WORKER_QUEUE_JOBS_{x}" for x in per_queue),
        "TASK_WORKER_QUEUE_MAIL_AUTONAME_PREFIX",
        *(f"TASK_WORKER_QUEUE_MAIL_{x}" for x in per_queue),
    )


def test_the_model_shards_a_named_queue_as_id_dash_i() -> None:
    jobs, mail = _resolved_example().queues
    assert (jobs.key, jobs.component_name, mail.component_name) == ("jobs", "tw-jobs", "tw-mail")
    grant = ("user:a@x.com", NS + "enqueuers[0]")
    assert jobs.shards == (
        ("jobs", 0, "tw-jobs", "jobs", "jobs-q", None, (("tw-jobs-enqueuer-user-a-x-com", *grant),)),
        ("jobs", 1, "tw-jobs-1", "jobs-1", "jobs-q-1", None, (("tw-jobs-1-enqueuer-user-a-x-com", *grant),)),
    )
    assert mail.shards == (("mail", 0, "tw-mail", "mail", None, None, (("tw-mail-enqueuer-user-a-x-com", *grant),)),)
    assert [s.id_pattern for s in jobs.shards + mail.shards] == ["jobs-q", "jobs-q-1", "tw-mail-[0-9a-f]{7}"]


def test_only_shard_0_of_an_adopted_queue_is_imported_the_others_are_created() -> None:
    adopted = f"{HERE}/queues/old-jobs"
    config = stack_config(queues={"jobs": {"importId": adopted, "shards": 3}})
    shards = resolve_stack(parse_settings(config.values, "test")).shards
    assert [(s.queue_id, s.import_id) for s in shards] == [
        ("old-jobs", adopted),
        ("old-jobs-1", None),
        ("old-jobs-2", None),
    ]


def test_the_model_grants_network_user_on_a_shared_vpc_hosts_subnetwork_only_when_asked() -> None:
    subnetwork = "projects/host-proj/regions/europe-west1/subnetworks/w"
    config = stack_config(service={"vpc": {"subnetwork": subnetwork, "grantNetworkUser": True}})
    r = resolve_stack(parse_settings(config.values, "test"), "tw")
    assert r.network_user == ("tw-service-network-user", "host-proj", "europe-west1", "w")
    config = stack_config(service={"vpc": {"subnetwork": subnetwork}})
    assert resolve_stack(parse_settings(config.values, "test")).network_user is None


def test_dead_letters_off_grant_no_subscriber_and_add_no_env_var() -> None:
    config = stack_config(
        deadLetter={"enabled": False, "subscribers": ["group:ops@x.com"]}, service={"env": {"E": "x"}}
    )
    r = resolve_stack(parse_settings(config.values, "test"))
    assert (r.subscriber_grants, r.env_names) == ((), ("E",))


# --- Queue IDs: shards, names and adopted queues ---------------------------------------------------


def test_a_shard_id_at_the_queue_id_limit_passes_and_one_past_is_refused() -> None:
    # Shard i of a named queue is "<name>-<i>": with 3 shards, the longest is "<name>-2".
    longest = QUEUE_ID_CHARS - len("-2")
    assert problems(queues={"a": {"name": "x" * longest, "shards": 3}}) == {}
    found = problems(queues={"a": {"name": "x" * (longest + 1), "shards": 3}})
    assert set(found) == {NS + "queues.a.name"}
    assert f"at most {QUEUE_ID_CHARS}" in found[NS + "queues.a.name"]


def test_a_too_long_shard_id_is_refused_once_naming_the_first_shard_past_the_limit() -> None:
    name = "jobs-" + "x" * 94  # 99 characters: shard 0 fits, "-1" and "-2" make 101
    assert refusals(queues={"a": {"name": name, "shards": 3}}) == [
        (
            NS + "queues.a.name",
            repr(name),
            f"shard 1's queue ID {name}-1 has 101 characters; a queue ID holds at most 100 "
            "(shard i is named ID-i): shorten it or use fewer shards",
        )
    ]


def test_an_adopted_queues_shard_ids_are_checked_under_import_id() -> None:
    longest = QUEUE_ID_CHARS - len("-1")
    assert problems(queues={"a": {"importId": f"{HERE}/queues/{'y' * longest}", "shards": 2}}) == {}
    found = problems(queues={"a": {"importId": f"{HERE}/queues/{'y' * (longest + 1)}", "shards": 2}})
    assert set(found) == {NS + "queues.a.importId"}


def test_an_auto_named_shard_at_the_limit_passes_and_one_past_is_refused() -> None:
    # Pulumi names shard i "<component>-<key>-<i>" + "-" + 7 hex digits. Under the program's name
    # ("task-worker") a key (at most 50 characters) cannot reach the limit ...
    assert problems(queues={"k" * 50: {"shards": 1000}}) == {}
    # ... a longer component name can: shards 1 and 2 of key "k" are the longest; one problem for both.
    settings = parse_settings(stack_config(queues={"k": {"shards": 3}}).values, "test")
    longest = "n" * (QUEUE_ID_CHARS - AUTONAME_CHARS - len("-k-1"))
    assert resolve_stack(settings, longest).shards[1].resource_name == longest + "-k-1"
    with pytest.raises(SettingsError) as err:
        resolve_stack(settings, longest + "n")
    [problem] = err.value.problems
    assert (problem.key, problem.value) == (NS + "queues.k", "'k'")
    assert f"shard 1's queue {longest}n-k-1-xxxxxxx ({QUEUE_ID_CHARS + 1} characters)" in problem.allowed
    assert f"at most {QUEUE_ID_CHARS}" in problem.allowed


def test_a_shard_id_equal_to_another_queues_name_is_refused() -> None:
    found = problems(queues={"a": {"name": "jobs", "shards": 2}, "b": {"name": "jobs-1"}})
    assert set(found) == {NS + "queues.b.name"}
    assert "queues.a's (its shard 1)" in found[NS + "queues.b.name"]
    assert problems(queues={"a": {"name": "jobs", "shards": 2}, "b": {"name": "jobs-2"}}) == {}


def test_a_shard_id_equal_to_another_queues_id_is_refused_written_out() -> None:
    two = ": two declarations of one queue (an import and a create, or two creates) fail at pulumi up"
    # b's shard 1 is a's shard 1, or a's own ID (shard 0: no shard named).
    assert refusals(queues={"a": {"name": "jobs", "shards": 2}, "b": {"importId": f"{HERE}/queues/jobs-1"}}) == [
        (
            NS + "queues.b.importId",
            repr(f"{HERE}/queues/jobs-1"),
            "the queue ID jobs-1 is also queues.a's (its shard 1)" + two,
        )
    ]
    assert refusals(queues={"a": {"name": "jobs-1"}, "b": {"name": "jobs", "shards": 2}}) == [
        (NS + "queues.b.name", "'jobs'", "the queue ID jobs-1 is also queues.a's" + two)  # b's own value
    ]


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


def test_an_adopted_queue_in_the_form_of_another_queues_auto_name_is_refused_under_import_id() -> None:
    assert refusals(queues={"a": {}, "b": {"importId": f"{HERE}/queues/task-worker-a-0123abc"}}) == [
        (
            NS + "queues.b.importId",
            repr(f"{HERE}/queues/task-worker-a-0123abc"),
            "its shard 0's ID task-worker-a-0123abc has the form of queues.a's auto-name (task-worker-a-xxxxxxx): "
            "choose another ID",
        )
    ]


# --- Resource names: one URN each ------------------------------------------------------------------


def test_two_secrets_whose_grants_would_share_a_name_are_refused() -> None:
    assert refusals(service={"secrets": {"A": "db_pass", "B": "db-pass"}}) == [
        (
            NS + "service.secrets.B",
            "'db-pass'",
            "its SecretIamMember would be named 'task-worker-service-secret-test-project-db-pass', as "
            "task-worker:service.secrets.A's is (names keep only lowercase letters, digits and -): the engine "
            "refuses two resources of one name; change one",
        )
    ]
    # One secret under two variables is one grant, not a collision.
    assert problems(service={"secrets": {"A": "db-pass", "B": "db-pass"}}) == {}


def test_a_queue_key_crafted_to_meet_another_queues_grant_name_is_refused() -> None:
    # Queue "a" grants user:x.com-enqueuer-user-x@x.com as "task-worker-a-enqueuer-user-x-com-enqueuer-user-x-x-com";
    # queue "a-enqueuer-user-x-com" grants user:x@x.com under that very name.
    enqueuers = ["user:x@x.com", "user:x.com-enqueuer-user-x@x.com"]
    assert refusals(queues={"a": {}, "a-enqueuer-user-x-com": {}}, enqueuers=enqueuers) == [
        (
            NS + "enqueuers[0]",
            "'user:x@x.com'",
            "its QueueIamMember on queues.a-enqueuer-user-x-com would be named "
            "'task-worker-a-enqueuer-user-x-com-enqueuer-user-x-x-com', as task-worker:enqueuers[1] on queues.a's "
            "is (names keep only lowercase letters, digits and -): the engine refuses two resources of one name; "
            "change one",
        )
    ]
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
    assert refusals(accounts={"runtime": {"importId": ACCOUNT.format("task-worker-test-invoker")}}) == [
        (
            NS + "accounts.runtime.importId",
            repr(ACCOUNT.format("task-worker-test-invoker")),
            "the account task-worker-test-invoker would be both the runtime and the invoker account; they must "
            "differ (the invoker's tokens are the only way into the service)",
        )
    ]
    assert problems(accounts={"runtime": {"importId": ACCOUNT.format("task-worker-test-other")}}) == {}


def test_an_adopted_invoker_may_not_be_the_runtime_account_the_stack_creates() -> None:
    assert refusals(accounts={"invoker": {"importId": ACCOUNT.format("task-worker-test-run")}}) == [
        (
            NS + "accounts.invoker.importId",
            repr(ACCOUNT.format("task-worker-test-run")),
            "the account task-worker-test-run would be both the runtime and the invoker account; they must "
            "differ (the invoker's tokens are the only way into the service)",
        )
    ]


# --- Labels as sent, the stack's own included -------------------------------------------------------


def test_labels_fill_the_service_to_googles_limit_with_the_stacks_own() -> None:
    at_limit = {f"k{i}": "v" for i in range(LABELS - 2)}  # + managed-by, stack
    assert problems(labels=at_limit) == {}
    # Refused as typed (settings/fields.py), before the model counts them as sent.
    [(key, _, allowed)] = refusals(labels={**at_limit, "one-more": "v"})
    assert key == NS + "labels"
    assert allowed.endswith(
        f"at most {LABELS - 2}, {LABELS - 3} with dead letters on (Google allows {LABELS} per resource, the "
        "stack's own included); not managed-by, stack"
    )


def test_dead_letters_carry_one_label_more_so_the_users_limit_is_one_less() -> None:
    at_limit = {f"k{i}": "v" for i in range(LABELS - 3)}  # + managed-by, stack, task-worker-purpose
    assert problems(labels=at_limit, deadLetter={"enabled": True}) == {}
    assert refusals(labels={**at_limit, "one-more": "v"}, deadLetter={"enabled": True}) == [
        (
            NS + "labels",
            f"{LABELS - 2} labels",
            f"expected at most {LABELS - 3}: the dead-letter topic carries them with the stack's own 3 "
            f"(managed-by, stack, task-worker-purpose), and Google allows {LABELS} per resource",
        )
    ]


def test_the_purpose_label_is_the_stacks_own() -> None:
    assert refusals(labels={"task-worker-purpose": "x"}) == [
        (NS + "labels.task-worker-purpose", "'task-worker-purpose'", "set by the stack itself: choose another key")
    ]


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


def test_dead_letter_env_vars_count_with_the_users_env_and_secrets() -> None:
    env = {f"V{i}": "x" for i in range(ENV_VARS - 8 - 1)}  # + 1 secret + 8 of ours
    assert refusals(service={"env": env, "secrets": {"S": "s"}}, deadLetter={"enabled": True}) == []
    env["ONE_MORE"] = "x"
    assert refusals(service={"env": env, "secrets": {"S": "s"}}, deadLetter={"enabled": True}) == [
        (
            NS + "deadLetter.enabled",
            "true",
            "expected env + secrets + the 8 TASK_WORKER_* variables of dead letters (4 + 4 per queue key) "
            f"≤ {ENV_VARS} (Cloud Run's limit); it is {ENV_VARS + 1}",
        )
    ]


def test_dead_letter_env_vars_count_with_the_users_toward_cloud_runs_limit() -> None:
    ours = 4 + 4  # TASK_WORKER_*: 4, and 4 for the one queue key
    env = {f"V{i}": "x" for i in range(ENV_VARS - ours)}
    assert problems(service={"env": env}, deadLetter={"enabled": True}) == {}
    found = problems(service={"env": {**env, "ONE_MORE": "x"}}, deadLetter={"enabled": True})
    assert set(found) == {NS + "deadLetter.enabled"}
    assert found[NS + "deadLetter.enabled"] == (
        "expected env + secrets + the 8 TASK_WORKER_* variables of dead letters (4 + 4 per queue key) "
        f"≤ {ENV_VARS} (Cloud Run's limit); it is {ENV_VARS + 1}"
    )


# --- IAM members per policy ----------------------------------------------------------------------


def test_enqueuers_at_the_policy_principal_limit_pass_and_one_more_is_refused() -> None:
    members = [f"user:u{i}@example.com" for i in range(POLICY_PRINCIPALS)]
    assert problems(enqueuers=members) == {}
    assert refusals(enqueuers=[*members, "user:one-more@example.com"]) == [
        (
            NS + "enqueuers",
            f"{POLICY_PRINCIPALS + 1} members",
            f"expected at most {POLICY_PRINCIPALS}: each is a principal in one resource's IAM policy (Google's "
            "limit per policy); grant a group instead",
        )
    ]


def test_enqueuer_groups_at_their_limit_pass_and_one_more_is_refused() -> None:
    groups = [f"group:g{i}@example.com" for i in range(POLICY_GROUPS)]
    assert problems(enqueuers=groups) == {}
    assert refusals(enqueuers=[*groups, "group:one-more@example.com"]) == [
        (
            NS + "enqueuers",
            f"{POLICY_GROUPS + 1} groups",
            f"expected at most {POLICY_GROUPS} group: members (Google's limit per IAM policy)",
        )
    ]


def test_dead_letter_subscribers_are_one_policy_too() -> None:
    groups = [f"group:g{i}@example.com" for i in range(POLICY_GROUPS + 1)]
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
