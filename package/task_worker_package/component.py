"""TaskWorker as a component package: the same TaskWorker the Python program declares, built from
typed inputs (args.py) instead of the stack file. Its schema is what the SDK's analyzer infers
from the annotations and docstrings below (schema.json, checked by a test)."""

from typing import TypedDict

import pulumi

from task_worker_package import bridge
from task_worker_package.args import TaskWorkerArgs

# The analyzer does not resolve postponed (string) annotations: no `from __future__ import annotations`.


class QueueInfo(TypedDict):
    """One queue key's queues, as producers address them."""

    path: str
    """Full name of the key's first queue: projects/P/locations/L/queues/Q."""
    paths: list[str]
    """Full names of all its queues (shards), the first one included."""
    target_path: str
    """Path on the service its tasks are sent to."""


class MonitoringInfo(TypedDict):
    """What monitoring declared."""

    dashboard: str
    """The dashboard's ID."""
    alert_policies: int
    """How many alert policies there are."""
    pages_nobody: bool
    """true: no notification channel is set, so the policies page nobody."""


class TaskWorker(pulumi.ComponentResource):
    """A private Cloud Run service that Cloud Tasks feeds through an invoker identity, secure by default."""

    project: pulumi.Output[str]
    """The Google Cloud project everything is in."""
    location: pulumi.Output[str]
    """The location of the service and the queues."""
    service_name: pulumi.Output[str]
    """The Cloud Run service's name."""
    service_url: pulumi.Output[str]
    """The service's URL (private: internal ingress, IAM-checked)."""
    audience: pulumi.Output[str]
    """The audience of the invoker's OIDC tokens: the service URL."""
    invoker_email: pulumi.Output[str]
    """The invoker service account, whose OIDC tokens Cloud Tasks sends."""
    runtime_email: pulumi.Output[str]
    """The service account the service runs as."""
    timeout_seconds: pulumi.Output[int]
    """The service's request timeout, equal to each task's dispatch deadline."""
    queues: pulumi.Output[dict[str, QueueInfo]]
    """The queues, by key."""
    monitoring: pulumi.Output[MonitoringInfo] | None
    """The alert policies and dashboard; unset when monitoring.enabled is false."""
    dead_letter_topic: pulumi.Output[str] | None
    """The dead-letter Pub/Sub topic; unset unless deadLetter.enabled."""
    dead_letter_subscription: pulumi.Output[str] | None
    """The dead-letter pull subscription; unset unless deadLetter.enabled."""

    def __init__(self, name: str, args: TaskWorkerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(f"{bridge.PACKAGE_NAME}:index:TaskWorker", name, {}, opts)
        # A bad input raises here, before any resource: the provider reports the message (with
        # this frame: the SDK appends the component's stack).
        out = bridge.declare(name, args, TaskWorkerArgs, pulumi.get_stack(), self)
        self.project = pulumi.Output.from_input(out["project"])
        self.location = pulumi.Output.from_input(out["location"])
        self.service_name = pulumi.Output.from_input(out["serviceName"])
        self.service_url = pulumi.Output.from_input(out["serviceUrl"])
        self.audience = pulumi.Output.from_input(out["audience"])
        self.invoker_email = pulumi.Output.from_input(out["invokerEmail"])
        self.runtime_email = pulumi.Output.from_input(out["runtimeEmail"])
        self.timeout_seconds = pulumi.Output.from_input(out["timeoutSeconds"])
        # A map of objects goes out as it is (the provider renames only objects' keys): the
        # Python program's export, whose keys are the schema's already.
        self.queues = pulumi.Output.from_input(out["queues"])
        self.monitoring = None
        if "monitoring" in out:
            # An object output: the provider renames its Python keys to the schema's.
            m = pulumi.Output.from_input(out["monitoring"])
            self.monitoring = m.apply(
                lambda v: MonitoringInfo(
                    dashboard=v["dashboard"], alert_policies=v["alertPolicies"], pages_nobody=v["pagesNobody"]
                )
            )
        self.dead_letter_topic = None
        self.dead_letter_subscription = None
        if "deadLetterTopic" in out:
            self.dead_letter_topic = pulumi.Output.from_input(out["deadLetterTopic"])
            self.dead_letter_subscription = pulumi.Output.from_input(out["deadLetterSubscription"])
        self.register_outputs(dict(out))
