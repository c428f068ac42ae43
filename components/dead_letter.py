"""Opt-in dead letters: where the worker puts a task whose last attempt failed.

Cloud Tasks deletes a task silently once its retries are exhausted. The worker, told its queues'
retry limits through env vars (`worker_env`), can recognise the final attempt and publish the task
to this stack's Pub/Sub topic; a pull subscription keeps it for an operator to inspect or replay.
The runtime account may publish to this one topic, nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import NamedTuple

import pulumi
import pulumi_gcp as gcp

from settings import DEFAULT_RETENTION_SECONDS, RESERVED_ENV_PREFIX
from settings.resolve import DEAD_LETTER_PURPOSE, PURPOSE_LABEL, Grant

PUBLISHER = "roles/pubsub.publisher"
SUBSCRIBER = "roles/pubsub.subscriber"
# Marks the topic for the policy rule that allows roles/pubsub.publisher only on dead-letter topics.
DEAD_LETTER = DEAD_LETTER_PURPOSE

# Retention limits (Pub/Sub v1: 10 minutes to 31 days, default 7 days) live in settings.py, checked
# there once. ExpirationPolicy: "If expiration_policy is not set, a default policy with ttl of 31 days
# will be used … If expiration_policy is set, but expiration_policy.ttl is not set, the subscription
# never expires." Subscription.ackDeadlineSeconds: 10–600. (Pub/Sub v1 discovery document.)

# Env var names the worker reads (see examples/dead_letter_handler.py). The prefix is reserved in
# settings.py: a user's service.env / service.secrets name may not start with it.
ENV_PREFIX = RESERVED_ENV_PREFIX
ENV_TOPIC = f"{ENV_PREFIX}DEAD_LETTER_TOPIC"
ENV_PROJECT = f"{ENV_PREFIX}PROJECT"
ENV_LOCATION = f"{ENV_PREFIX}LOCATION"
ENV_QUEUES = f"{ENV_PREFIX}QUEUES"


def queue_env_prefix(key: str) -> str:
    """`TASK_WORKER_QUEUE_<KEY>_`: queue keys are [a-z][a-z0-9-]*, so `-` → `_` is one-to-one."""
    return f"{ENV_PREFIX}QUEUE_{key.upper().replace('-', '_')}_"


class QueueRetry(NamedTuple):
    """What a handler needs to know about one queue key (all its shards) to tell a final attempt.

    Known before `pulumi up`, never an Output: the queues need the service's URL, so the service's
    env may not wait on the queues (that would be a cycle).
    """

    key: str
    # A named (or adopted) queue: shard 0's exact ID; shard i is "<queue_id>-<i>".
    queue_id: str | None
    # An auto-named queue: shard 0's logical name; shard i's is "<prefix>-<i>"; the queue ID is the
    # logical name + AUTONAME_SUFFIX.
    autoname_prefix: str | None
    shards: int
    max_attempts: int  # -1: unlimited; counts the first try
    max_retry_duration: str  # "<seconds>s"; "0s": no time limit


def worker_env_names(queues: Sequence[tuple[str, bool]]) -> list[str]:
    """The names worker_env sets, for (queue key, has a declared ID) pairs: the resolved model counts them."""
    names = [ENV_TOPIC, ENV_PROJECT, ENV_LOCATION, ENV_QUEUES]
    for key, named in queues:
        prefix = queue_env_prefix(key)
        names += [prefix + ("QUEUE_ID" if named else "AUTONAME_PREFIX")]
        names += [prefix + suffix for suffix in ("SHARDS", "MAX_ATTEMPTS", "MAX_RETRY_DURATION")]
    return names


def worker_env(
    topic: pulumi.Input[str] | None, project: str, location: str, queues: Sequence[QueueRetry]
) -> dict[str, pulumi.Input[str]]:
    """Env vars for the worker: the dead-letter topic and, per queue key, how to recognise its queues
    (X-CloudTasks-QueueName) and their retry limits. 4 + 4 per queue key (settings.py counts them
    against Cloud Run's 1000).

    TASK_WORKER_DEAD_LETTER_TOPIC                projects/P/topics/T (left out when topic is None)
    TASK_WORKER_PROJECT, TASK_WORKER_LOCATION    where the queues are: a queue's path is
                                                 projects/P/locations/L/queues/<X-CloudTasks-QueueName>
    TASK_WORKER_QUEUES                           comma-separated queue keys
    TASK_WORKER_QUEUE_<KEY>_QUEUE_ID             a named queue's ID (shard i: ID-i), or
    TASK_WORKER_QUEUE_<KEY>_AUTONAME_PREFIX      an auto-named queue's logical name (shard i: NAME-i);
                                                 its ID is NAME + "-" + 7 lowercase hex digits
    TASK_WORKER_QUEUE_<KEY>_SHARDS               how many queues (shards 0 … N-1)
    TASK_WORKER_QUEUE_<KEY>_MAX_ATTEMPTS         e.g. "100"; "-1" is unlimited
    TASK_WORKER_QUEUE_<KEY>_MAX_RETRY_DURATION   e.g. "0s" (no time limit) or "3600s"
    """
    env: dict[str, pulumi.Input[str]] = {}
    if topic is not None:
        env[ENV_TOPIC] = topic
    env[ENV_PROJECT] = project
    env[ENV_LOCATION] = location
    env[ENV_QUEUES] = ",".join(q.key for q in queues)
    for q in queues:
        prefix = queue_env_prefix(q.key)
        if q.queue_id is not None:
            env[prefix + "QUEUE_ID"] = q.queue_id
        else:
            env[prefix + "AUTONAME_PREFIX"] = str(q.autoname_prefix)
        env[prefix + "SHARDS"] = str(q.shards)
        env[prefix + "MAX_ATTEMPTS"] = str(q.max_attempts)
        env[prefix + "MAX_RETRY_DURATION"] = q.max_retry_duration
    return env


class DeadLetterArgs(NamedTuple):
    project: str
    # The runtime service account's member ("serviceAccount:…"): the only publisher.
    publisher_member: pulumi.Input[str]
    message_retention_seconds: int = DEFAULT_RETENTION_SECONDS
    # Who may pull dead letters (operators, a replay job); each gets roles/pubsub.subscriber on the
    # subscription only. Named by settings/resolve.py.
    subscribers: Sequence[Grant] = ()
    # As sent: the stack's labels with the purpose label (settings/resolve.py counts them).
    labels: Mapping[str, str] = MappingProxyType({})
    depends_on: Sequence[pulumi.Resource] = ()  # e.g. the Pub/Sub API enablement


class DeadLetter(pulumi.ComponentResource):
    """A Pub/Sub topic for dead tasks, a pull subscription that keeps them, publish for one account."""

    topic: gcp.pubsub.Topic
    subscription: gcp.pubsub.Subscription
    topic_id: pulumi.Output[str]  # projects/P/topics/T: what TASK_WORKER_DEAD_LETTER_TOPIC carries
    subscription_id: pulumi.Output[str]

    def __init__(self, name: str, args: DeadLetterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("task-worker:gcp:DeadLetter", name, None, opts)
        retention = f"{args.message_retention_seconds}s"
        labels = {**args.labels, PURPOSE_LABEL: DEAD_LETTER}  # already there when resolved
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
        for grant in args.subscribers:
            gcp.pubsub.SubscriptionIAMMember(
                grant.resource_name,
                gcp.pubsub.SubscriptionIAMMemberArgs(
                    project=args.project,
                    subscription=self.subscription.name,
                    role=SUBSCRIBER,
                    member=grant.member,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.topic_id = self.topic.id
        self.subscription_id = self.subscription.id
        self.register_outputs({"topic": self.topic_id, "subscription": self.subscription_id})
