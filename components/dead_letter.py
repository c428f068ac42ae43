"""Opt-in dead letters: where the worker puts a task whose last attempt failed.

Cloud Tasks deletes a task silently once its retries are exhausted. The worker, told its queues'
retry limits through env vars (`worker_env`), can recognise the final attempt and publish the task
to this stack's Pub/Sub topic; a pull subscription keeps it for an operator to inspect or replay.
The runtime account may publish to this one topic, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_gcp as gcp

from components.naming import slug

PUBLISHER = "roles/pubsub.publisher"
SUBSCRIBER = "roles/pubsub.subscriber"
# Marks the topic for the policy rule that allows roles/pubsub.publisher only on dead-letter topics.
PURPOSE_LABEL = "task-worker-purpose"
DEAD_LETTER = "dead-letter"

# Subscription.messageRetentionDuration: "Defaults to 7 days. Cannot be more than 31 days or less than
# 10 minutes." ExpirationPolicy: "If expiration_policy is not set, a default policy with ttl of 31 days
# will be used … If expiration_policy is set, but expiration_policy.ttl is not set, the subscription
# never expires." Subscription.ackDeadlineSeconds: 10–600. (Pub/Sub v1 discovery document.)
MIN_RETENTION_SECONDS = 600
MAX_RETENTION_SECONDS = 31 * 24 * 3600
DEFAULT_RETENTION_SECONDS = 7 * 24 * 3600

# Env var names the worker reads (see examples/dead_letter_handler.py).
ENV_PREFIX = "TASK_WORKER_"
ENV_TOPIC = f"{ENV_PREFIX}DEAD_LETTER_TOPIC"
ENV_QUEUES = f"{ENV_PREFIX}QUEUES"


def queue_env_prefix(key: str) -> str:
    """`TASK_WORKER_QUEUE_<KEY>_`: queue keys are [a-z][a-z0-9-]*, so `-` → `_` is one-to-one."""
    return f"{ENV_PREFIX}QUEUE_{key.upper().replace('-', '_')}_"


@dataclass(frozen=True)
class QueueRetry:
    """What a handler needs to know about one queue to tell its final attempt."""

    key: str
    path: pulumi.Input[str]  # projects/P/locations/L/queues/ID
    max_attempts: int  # -1: unlimited; counts the first try
    max_retry_duration: str  # "<seconds>s"; "0s": no time limit


def worker_env(topic: pulumi.Input[str] | None, queues: Sequence[QueueRetry]) -> dict[str, pulumi.Input[str]]:
    """Env vars for the worker: the dead-letter topic and, per queue, its path and retry limits.

    TASK_WORKER_DEAD_LETTER_TOPIC            projects/P/topics/T (left out when topic is None)
    TASK_WORKER_QUEUES                       comma-separated queue keys
    TASK_WORKER_QUEUE_<KEY>_PATH             projects/P/locations/L/queues/ID
    TASK_WORKER_QUEUE_<KEY>_MAX_ATTEMPTS     e.g. "100"; "-1" is unlimited
    TASK_WORKER_QUEUE_<KEY>_MAX_RETRY_DURATION   e.g. "0s" (no time limit) or "3600s"
    """
    env: dict[str, pulumi.Input[str]] = {}
    if topic is not None:
        env[ENV_TOPIC] = topic
    env[ENV_QUEUES] = ",".join(q.key for q in queues)
    for q in queues:
        prefix = queue_env_prefix(q.key)
        env[prefix + "PATH"] = q.path
        env[prefix + "MAX_ATTEMPTS"] = str(q.max_attempts)
        env[prefix + "MAX_RETRY_DURATION"] = q.max_retry_duration
    return env


@dataclass(frozen=True)
class DeadLetterArgs:
    project: str
    # The runtime service account's member ("serviceAccount:…"): the only publisher.
    publisher_member: pulumi.Input[str]
    message_retention_seconds: int = DEFAULT_RETENTION_SECONDS
    # Who may pull dead letters (operators, a replay job); each gets roles/pubsub.subscriber on the
    # subscription only.
    subscribers: Sequence[str] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    depends_on: Sequence[pulumi.Resource] = ()  # e.g. the Pub/Sub API enablement

    def __post_init__(self) -> None:
        if not MIN_RETENTION_SECONDS <= self.message_retention_seconds <= MAX_RETENTION_SECONDS:
            raise ValueError(
                f"message_retention_seconds {self.message_retention_seconds}: Pub/Sub allows "
                f"{MIN_RETENTION_SECONDS} (10 minutes) to {MAX_RETENTION_SECONDS} (31 days)"
            )


class DeadLetter(pulumi.ComponentResource):
    """A Pub/Sub topic for dead tasks, a pull subscription that keeps them, publish for one account."""

    topic: gcp.pubsub.Topic
    subscription: gcp.pubsub.Subscription
    topic_id: pulumi.Output[str]  # projects/P/topics/T: what TASK_WORKER_DEAD_LETTER_TOPIC carries
    subscription_id: pulumi.Output[str]

    def __init__(self, name: str, args: DeadLetterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("task-worker:gcp:DeadLetter", name, None, opts)
        retention = f"{args.message_retention_seconds}s"
        labels = {**args.labels, PURPOSE_LABEL: DEAD_LETTER}
        # Auto-named (name + suffix): a topic deleted and recreated under the same name would orphan
        # the subscription ("_deleted-topic_"), so a replacement gets a new name.
        self.topic = gcp.pubsub.Topic(
            name,
            gcp.pubsub.TopicArgs(project=args.project, labels=labels),
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on)),
        )
        self.subscription = gcp.pubsub.Subscription(
            f"{name}-pull",
            gcp.pubsub.SubscriptionArgs(
                project=args.project,
                topic=self.topic.id,
                labels=labels,
                message_retention_duration=retention,
                ack_deadline_seconds=60,
                # Nobody may pull for weeks: never let the subscription expire (default: 31 days idle).
                expiration_policy=gcp.pubsub.SubscriptionExpirationPolicyArgs(ttl=""),
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Resource-scoped: publish on this one topic, never project-wide.
        gcp.pubsub.TopicIAMMember(
            f"{name}-publisher",
            gcp.pubsub.TopicIAMMemberArgs(
                project=args.project,
                topic=self.topic.name,
                role=PUBLISHER,
                member=args.publisher_member,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        for member in args.subscribers:
            gcp.pubsub.SubscriptionIAMMember(
                f"{name}-subscriber-{slug(member)}",
                gcp.pubsub.SubscriptionIAMMemberArgs(
                    project=args.project,
                    subscription=self.subscription.name,
                    role=SUBSCRIBER,
                    member=member,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.topic_id = self.topic.id
        self.subscription_id = self.subscription.id
        self.register_outputs({"topic": self.topic_id, "subscription": self.subscription_id})
