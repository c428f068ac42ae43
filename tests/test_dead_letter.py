"""DeadLetter under the harness, its worker env vars, and the handler example that uses them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pulumi
import pytest

import settings
from components import dead_letter as dl
from components.dead_letter import DeadLetter, DeadLetterArgs, QueueRetry, worker_env
from examples import dead_letter_handler as handler
from policy.rules import ResourceView, check
from settings import resolve
from settings.resolve import Grant
from tests.component_run import run_components
from tests.conformance import check_subscription, check_topic
from tools.harness import Run

TOPIC = "gcp:pubsub/topic:Topic"
SUBSCRIPTION = "gcp:pubsub/subscription:Subscription"
TOPIC_IAM = "gcp:pubsub/topicIAMMember:TopicIAMMember"
SUBSCRIPTION_IAM = "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember"
RUNTIME = "serviceAccount:tw-test-run@test-project.iam.gserviceaccount.com"
OPS = "group:ops@example.com"


@pytest.fixture(scope="module")
def run() -> Run:
    def build() -> None:
        # Outputs are made inside the program run (its event loop), as the program makes them.
        args = DeadLetterArgs(
            project="test-project",
            publisher_member=pulumi.Output.from_input(RUNTIME),
            subscribers=(Grant("tw-dead-letter-subscriber-group-ops-example-com", OPS, "deadLetter.subscribers[0]"),),
            labels={"stack": "test"},
        )
        DeadLetter("tw-dead-letter", args)

    return run_components(build)


def iam_grants(run: Run) -> list[Any]:
    return [r for r in run.resources if r.custom and ("role" in r.inputs or "policyData" in r.inputs)]


def test_publish_is_granted_on_the_one_topic_to_the_runtime_account_only(run: Run) -> None:
    topic = run.one(TOPIC)
    publishers = [r for r in iam_grants(run) if r.inputs.get("role") == dl.PUBLISHER]
    assert len(publishers) == 1
    (grant,) = publishers
    assert grant.type == TOPIC_IAM
    assert grant.inputs["member"] == RUNTIME
    assert grant.inputs["topic"] == topic.outputs["name"]  # the computed name reached the grant
    # Nothing else is granted but pulling from the subscription, to the named subscribers.
    others = [r for r in iam_grants(run) if r is not grant]
    assert [(r.type, r.inputs["role"], r.inputs["member"]) for r in others] == [(SUBSCRIPTION_IAM, dl.SUBSCRIBER, OPS)]


def test_the_subscription_pulls_from_the_topic_and_keeps_messages(run: Run) -> None:
    topic, subscription = run.one(TOPIC), run.one(SUBSCRIPTION)
    assert subscription.inputs["topic"] == topic.outputs["id"]
    assert subscription.inputs["messageRetentionDuration"] == "604800s"
    assert subscription.inputs["expirationPolicy"] == {"ttl": ""}  # never expires while nobody pulls
    assert "pushConfig" not in subscription.inputs  # pull
    assert topic.inputs["labels"] == {"stack": "test", dl.PURPOSE_LABEL: dl.DEAD_LETTER}


def test_topic_and_subscription_conform_to_pubsub(run: Run) -> None:
    assert check_topic(run.one(TOPIC).inputs) == []
    assert check_subscription(run.one(SUBSCRIPTION).inputs) == []
    assert check_subscription({"ackDeadlineSeconds": "60", "pushConfigg": {}})


def test_the_dead_letter_resources_pass_the_policy_pack(run: Run) -> None:
    views = [ResourceView(r.urn, r.type, r.outputs) for r in run.resources if r.custom]
    assert [v for v in check(views) if v.mandatory] == []


def test_the_component_outputs_the_topic_id(run: Run) -> None:
    topic = run.one(TOPIC)
    assert topic.outputs["id"] == f"projects/test-project/topics/{topic.outputs['name']}"


# --- Env vars -----------------------------------------------------------------------------------
# Retention limits are config (settings.DeadLetterSettings): tests/test_operations_config.py.

QUEUES = [
    QueueRetry("default", None, "tw-default", 1, 5, "0s"),  # auto-named
    QueueRetry("bulk-import", "bulk", None, 3, -1, "0s"),  # named, 3 shards: bulk, bulk-1, bulk-2
    QueueRetry("slow", None, "tw-slow", 2, 3, "3600s"),  # auto-named, 2 shards
]
TOPIC_ID = "projects/p/topics/tw-dead-letter-7a8b"
DEFAULT_QUEUE = "tw-default-1a2b3c4"


def env() -> dict[str, str]:
    rendered = worker_env(TOPIC_ID, "p", "europe-west1", QUEUES)
    assert all(isinstance(v, str) for v in rendered.values())
    return {k: str(v) for k, v in rendered.items()}


def test_worker_env_names_and_values() -> None:
    assert env() == {
        "TASK_WORKER_DEAD_LETTER_TOPIC": TOPIC_ID,
        "TASK_WORKER_PROJECT": "p",
        "TASK_WORKER_LOCATION": "europe-west1",
        "TASK_WORKER_QUEUES": "default,bulk-import,slow",
        "TASK_WORKER_QUEUE_DEFAULT_AUTONAME_PREFIX": "tw-default",
        "TASK_WORKER_QUEUE_DEFAULT_SHARDS": "1",
        "TASK_WORKER_QUEUE_DEFAULT_MAX_ATTEMPTS": "5",
        "TASK_WORKER_QUEUE_DEFAULT_MAX_RETRY_DURATION": "0s",
        "TASK_WORKER_QUEUE_BULK_IMPORT_QUEUE_ID": "bulk",
        "TASK_WORKER_QUEUE_BULK_IMPORT_SHARDS": "3",
        "TASK_WORKER_QUEUE_BULK_IMPORT_MAX_ATTEMPTS": "-1",
        "TASK_WORKER_QUEUE_BULK_IMPORT_MAX_RETRY_DURATION": "0s",
        "TASK_WORKER_QUEUE_SLOW_AUTONAME_PREFIX": "tw-slow",
        "TASK_WORKER_QUEUE_SLOW_SHARDS": "2",
        "TASK_WORKER_QUEUE_SLOW_MAX_ATTEMPTS": "3",
        "TASK_WORKER_QUEUE_SLOW_MAX_RETRY_DURATION": "3600s",
    }
    assert "TASK_WORKER_DEAD_LETTER_TOPIC" not in worker_env(None, "p", "europe-west1", QUEUES)


def test_worker_env_count_is_what_settings_reserves() -> None:
    fixed, per_queue = settings.DEAD_LETTER_ENV_VARS
    assert len(env()) == fixed + per_queue * len(QUEUES)


def test_the_handler_reads_what_the_component_writes() -> None:
    assert (handler.ENV_TOPIC, handler.ENV_QUEUES) == (dl.ENV_TOPIC, dl.ENV_QUEUES)
    assert (handler.ENV_PROJECT, handler.ENV_LOCATION) == (dl.ENV_PROJECT, dl.ENV_LOCATION)
    assert handler._AUTONAME_SUFFIX.pattern == resolve.AUTONAME_SUFFIX
    limits = handler.queue_limits(env())
    assert {k: (q.queue_id, q.autoname_prefix, q.shards, q.max_attempts) for k, q in limits.items()} == {
        q.key: (q.queue_id, q.autoname_prefix, q.shards, q.max_attempts) for q in QUEUES
    }
    assert limits["slow"].max_retry_seconds == 3600


@pytest.mark.parametrize(
    ("queue_name", "key"),
    [
        (DEFAULT_QUEUE, "default"),  # auto-name: logical name + "-" + 7 hex
        (f"projects/p/locations/europe-west1/queues/{DEFAULT_QUEUE}", "default"),  # a full path too
        ("tw-default-1a2b3c", None),  # 6 hex
        ("tw-default-1a2b3cg", None),  # not hex
        ("tw-default-1A2B3C4", None),  # Pulumi draws lowercase
        ("tw-default-1-1a2b3c4", None),  # default has one shard
        ("tw-default", None),  # the logical name alone is not an auto-name
        ("bulk", "bulk-import"),  # named: exact
        ("bulk-1", "bulk-import"),
        ("bulk-2", "bulk-import"),
        ("bulk-3", None),  # 3 shards: 0, 1, 2
        ("bulk-01", None),
        ("bulk-x", None),
        ("tw-slow-9f8e7d6", "slow"),
        ("tw-slow-1-0a0b0c0", "slow"),  # shard 1's logical name is tw-slow-1
        ("tw-slow-2-0a0b0c0", None),
        ("other-1a2b3c4", None),
    ],
)
def test_the_handler_recognises_each_queue_by_id_or_auto_name(queue_name: str, key: str | None) -> None:
    found = handler.find_queue(env(), queue_name)
    assert (found.key if found else None) == key


def headers(queue: str = DEFAULT_QUEUE, retries: int = 0) -> dict[str, str]:
    # Real header spellings; lookups must not depend on case (HTTP servers lower-case them).
    return {
        "X-CloudTasks-QueueName": queue,
        "x-cloudtasks-taskname": f"task-{retries}",
        "X-CloudTasks-TaskRetryCount": str(retries),
        "X-CloudTasks-TaskExecutionCount": "0",  # undercounts (no 5xx-before-handler): not used
    }


@pytest.mark.parametrize(
    ("queue", "retries", "final"),
    [
        (DEFAULT_QUEUE, 0, False),  # first of 5
        (DEFAULT_QUEUE, 3, False),  # 4th of 5
        (DEFAULT_QUEUE, 4, True),  # 5th of 5: the last
        (DEFAULT_QUEUE, 9, True),  # past it (a redelivery): still final
        ("bulk-2", 10_000, False),  # maxAttempts -1: never final by count
    ],
)
def test_is_final_attempt_by_count(queue: str, retries: int, final: bool) -> None:
    assert handler.is_final_attempt(headers(queue, retries), env()) is final


def test_a_positive_max_retry_duration_needs_both_limits() -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    last = headers("tw-slow-1-0a0b0c0", retries=2)  # 3rd of 3
    assert not handler.is_final_attempt(headers("tw-slow-1-0a0b0c0", 1), env())
    recent = handler.attempt(last, env(), first_attempt_at=now - timedelta(minutes=10), now=now)
    assert (recent.final, recent.certain) == (False, True)  # Cloud Tasks keeps retrying for the hour
    old = handler.attempt(last, env(), first_attempt_at=now - timedelta(hours=2), now=now)
    assert (old.final, old.certain) == (True, True)
    unknown = handler.attempt(last, env())
    assert (unknown.final, unknown.certain) == (True, False)  # the count says so; the time is unknown


# Google (RetryConfig.max_retry_duration): "Once max_retry_duration time has passed *and* the task
# has been attempted max_attempts times, no further attempts will be made"; v2beta2's task_age_limit:
# "retried until both limits are reached". At exactly the duration the limit is reached: final (a
# duplicate dead letter is the lesser error than a task lost unseen). The API keeps whole seconds.
@pytest.mark.parametrize(
    ("elapsed", "final"),
    [
        (timedelta(seconds=3599), False),  # one second short: Cloud Tasks may still retry
        (timedelta(seconds=3600) - timedelta(microseconds=1), False),
        (timedelta(seconds=3600), True),  # exactly maxRetryDuration: reached
        (timedelta(seconds=3601), True),
    ],
)
def test_the_final_attempt_boundary_is_exactly_max_retry_duration(elapsed: timedelta, final: bool) -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    last = headers("tw-slow-9f8e7d6", retries=2)  # the 3rd of maxAttempts 3; maxRetryDuration 3600s
    this = handler.attempt(last, env(), first_attempt_at=now - elapsed, now=now)
    assert (this.final, this.certain) == (final, True)
    assert handler.is_final_attempt(last, env(), first_attempt_at=now - elapsed, now=now) is final
    # One attempt short of maxAttempts is never final, whatever the time.
    assert not handler.is_final_attempt(headers("tw-slow-9f8e7d6", 1), env(), first_attempt_at=now - elapsed, now=now)


# maxAttempts -1 (no count limit): Google's RetryConfig says a task retries "infinitely" only with -1
# AND max_retry_duration 0; with a positive duration retrying stops once it has passed (queue.yaml's
# task_age_limit). So -1 with "7200s" has a final attempt, decided by the duration alone.
CAPPED = [QueueRetry("capped", "capped", None, 1, -1, "7200s"), QueueRetry("forever", "forever", None, 1, -1, "0s")]


def capped_env() -> dict[str, str]:
    return {k: str(v) for k, v in worker_env(TOPIC_ID, "p", "europe-west1", CAPPED).items()}


@pytest.mark.parametrize(
    ("elapsed", "final"),
    [
        (timedelta(seconds=7199), False),
        (timedelta(seconds=7200) - timedelta(microseconds=1), False),
        (timedelta(seconds=7200), True),  # exactly maxRetryDuration: reached, as for a positive maxAttempts
        (timedelta(days=3), True),
    ],
)
@pytest.mark.parametrize("retries", [0, 1, 10_000])
def test_unlimited_attempts_with_a_max_retry_duration_end_at_the_duration(
    elapsed: timedelta, final: bool, retries: int
) -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    this = handler.attempt(headers("capped", retries), capped_env(), first_attempt_at=now - elapsed, now=now)
    assert (this.final, this.certain) == (final, True)


def test_unlimited_attempts_with_a_duration_but_no_first_attempt_time_are_final_but_uncertain() -> None:
    # The count never decides for -1 and no header tells the elapsed time: every failure may be the last.
    this = handler.attempt(headers("capped", 3), capped_env())
    assert (this.final, this.certain) == (True, False)


@pytest.mark.parametrize("retries", [0, 99, 10_000])
def test_unlimited_attempts_and_no_duration_are_never_final(retries: int) -> None:
    now = datetime(2026, 1, 1, 12, tzinfo=UTC)
    first = now - timedelta(days=30)
    this = handler.attempt(headers("forever", retries), capped_env(), first_attempt_at=first, now=now)
    assert (this.final, this.certain) == (False, True)


def test_an_adopted_queue_is_told_to_the_worker_by_its_imported_id() -> None:
    """importId set, no name: the env names the adopted queue's own ID, the one its requests carry."""
    from tests.conftest import stack_config
    from tools.harness import run_program

    imported = "projects/test-project/locations/europe-west1/queues/legacy-orders"
    run = run_program(stack_config(deadLetter={"enabled": True}, queues={"default": {"importId": imported}}))
    assert run.error is None, run.error
    (queue,) = run.of_type("gcp:cloudtasks/queue:Queue")
    assert (queue.import_id, queue.inputs["name"]) == (imported, "legacy-orders")
    (container,) = run.one("gcp:cloudrunv2/service:Service").inputs["template"]["containers"]
    worker = {e["name"]: e.get("value") for e in container["envs"] if e["name"].startswith(dl.ENV_PREFIX)}
    assert worker["TASK_WORKER_QUEUE_DEFAULT_QUEUE_ID"] == "legacy-orders"
    assert "TASK_WORKER_QUEUE_DEFAULT_AUTONAME_PREFIX" not in worker
    found = handler.find_queue(worker, "legacy-orders")
    assert found is not None
    assert found.key == "default"


def test_a_request_from_another_queue_or_none_is_refused() -> None:
    with pytest.raises(ValueError, match="not one of this worker's queues"):
        handler.is_final_attempt(headers("someone-elses-queue"), env())
    with pytest.raises(ValueError, match="not a Cloud Tasks request"):
        handler.is_final_attempt({}, env())


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes, dict[str, str]]] = []

    def __call__(self, topic: str, data: bytes, attributes: Any) -> str:
        self.calls.append((topic, data, dict(attributes)))
        return "message-id-1"


def fail(_: bytes) -> None:
    raise RuntimeError("database down " + "x" * 2000)


def test_the_final_failure_is_published_with_its_origin() -> None:
    publish = Recorder()
    assert handler.handle(headers(retries=4), b'{"order": 7}', env(), fail, publish) == 500
    ((topic, data, attributes),) = publish.calls
    assert (topic, data) == (TOPIC_ID, b'{"order": 7}')
    assert attributes["queue"] == f"projects/p/locations/europe-west1/queues/{DEFAULT_QUEUE}"
    assert attributes["queue_key"] == "default"
    assert (attributes["attempt"], attributes["max_attempts"], attributes["certain"]) == ("5", "5", "true")
    assert attributes["task"] == "task-4"
    assert attributes["reason"].startswith("RuntimeError: database down")
    assert all(len(v.encode()) <= 1024 for v in attributes.values())  # Pub/Sub's attribute limit


def test_earlier_failures_and_successes_publish_nothing() -> None:
    publish = Recorder()
    assert handler.handle(headers(retries=3), b"{}", env(), fail, publish) == 500
    assert handler.handle(headers(retries=4), b"{}", env(), lambda _: None, publish) == 200
    assert publish.calls == []


def test_without_a_topic_dead_letters_are_off() -> None:
    no_topic = {k: v for k, v in env().items() if k != dl.ENV_TOPIC}
    with pytest.raises(ValueError, match="not enabled"):
        handler.publish_dead_letter(Recorder(), headers(retries=4), b"", no_topic, reason="x")


def test_an_error_after_the_deferred_publisher_ends_the_run_instead_of_hanging(monkeypatch: pytest.MonkeyPatch) -> None:
    # The publisher grant waits on a deferred Output (the runtime account, made with the service).
    # If building the service raises, that Output must still resolve: Pulumi waits for every
    # Output before it reports an error, so `pulumi preview` would otherwise hang for ever.
    import signal

    from components import task_worker
    from tests.conftest import stack_config
    from tools.harness import run_program

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the service could not be declared")

    monkeypatch.setattr(task_worker, "PrivateService", broken)

    def hung(signum: int, frame: Any) -> None:
        raise TimeoutError("the run hung on the unresolved publisher")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        run = run_program(stack_config(deadLetter={"enabled": True}))
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert isinstance(run.error, RuntimeError | pulumi.RunError), run.error
    assert "the service could not be declared" in str(run.error)
