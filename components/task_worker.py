"""The whole path: APIs, private service, invoker identity, queues — one location — and, for
operating it, alerts with a dashboard (on by default) and dead letters (opt-in)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import pulumi

from components.apis import (
    CLOUD_RUN_API,
    CLOUD_TASKS_API,
    IAM_API,
    MONITORING_API,
    PUBSUB_API,
    SECRET_MANAGER_API,
    ProjectApis,
    ProjectApisArgs,
)
from components.dead_letter import DeadLetter, DeadLetterArgs, QueueRetry, worker_env
from components.invoker import TaskInvoker, TaskInvokerArgs
from components.monitoring import (
    QueueAlertThresholds,
    ServiceAlertThresholds,
    TaskWorkerMonitoring,
    TaskWorkerMonitoringArgs,
)
from components.naming import account_id
from components.queue import TaskQueue, TaskQueueArgs, shard_names
from components.service import PrivateService, PrivateServiceArgs
from settings import Settings, stack_label


class TaskWorkerArgs(NamedTuple):
    settings: Settings


class TaskWorker(pulumi.ComponentResource):
    """A private Cloud Run service that Cloud Tasks feeds, secure by default."""

    apis: ProjectApis
    service: PrivateService
    invoker: TaskInvoker
    queues: dict[str, TaskQueue]
    monitoring: TaskWorkerMonitoring | None
    dead_letter: DeadLetter | None

    def __init__(self, name: str, args: TaskWorkerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("task-worker:gcp:TaskWorker", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        prefix = f"{name}-{s.stack}"
        labels = {"managed-by": "pulumi", "stack": stack_label(s.stack), **s.labels}

        apis = (CLOUD_TASKS_API, CLOUD_RUN_API, IAM_API) + ((SECRET_MANAGER_API,) if s.service.secrets else ())
        apis += (MONITORING_API,) if s.monitoring.enabled else ()
        apis += (PUBSUB_API,) if s.dead_letter.enabled else ()
        self.apis = ProjectApis(f"{name}-apis", ProjectApisArgs(project=s.project, services=apis), child)

        # Dead letters before the service: its env names the topic. The publisher (the runtime
        # account) is created with the service, so the grant takes its member as a deferred Output.
        self.dead_letter = None
        program_env: Mapping[str, pulumi.Input[str]] = {}
        publisher, resolve_publisher = pulumi.deferred_output() if s.dead_letter.enabled else (None, None)
        try:
            if publisher is not None:
                program_env = self._dead_letter(name, s, labels, publisher, child)
            self.service = PrivateService(
                f"{name}-service",
                PrivateServiceArgs(
                    project=s.project,
                    location=s.location,
                    account_id=s.accounts.runtime.account_id or account_id(prefix, "run"),
                    account_import_id=s.accounts.runtime.import_id,
                    secretmanager_api=self.apis.api(SECRET_MANAGER_API) if s.service.secrets else None,
                    service=s.service,
                    deletion_protection=s.deletion_protection,
                    run_api=self.apis.api(CLOUD_RUN_API),
                    iam_api=self.apis.api(IAM_API),
                    labels=labels,
                    program_env=program_env,
                ),
                child,
            )
        except Exception as err:
            # Pulumi waits for every Output before it reports an error: a deferred one left
            # unresolved would hang `pulumi preview` instead. Resolve it with the error.
            if resolve_publisher is not None:
                resolve_publisher(pulumi.Output.from_input(_raise(err)))
            raise
        if resolve_publisher is not None:
            resolve_publisher(self.service.runtime_account.member)
        self.invoker = TaskInvoker(
            f"{name}-invoker",
            TaskInvokerArgs(
                project=s.project,
                location=s.location,
                account_id=s.accounts.invoker.account_id or account_id(prefix, "invoker"),
                account_import_id=s.accounts.invoker.import_id,
                service_name=self.service.name,
                iam_api=self.apis.api(IAM_API),
                cloud_tasks_api=self.apis.api(CLOUD_TASKS_API),
            ),
            child,
        )
        self.queues = {
            q.key: TaskQueue(
                f"{name}-{q.key}",
                TaskQueueArgs(
                    project=s.project,
                    location=s.location,
                    queue=q,
                    deletion_protection=s.deletion_protection,
                    service_uri=self.service.uri,
                    invoker_email=self.invoker.email,
                    cloud_tasks_api=self.apis.api(CLOUD_TASKS_API),
                    enqueuers=s.enqueuers,
                ),
                child,
            )
            for q in s.queues
        }

        self.monitoring = None
        if s.monitoring.enabled:
            # Every queue, shards included ("<key>-<i>", as the shard's resources are named), with its
            # key's thresholds: queues with equal thresholds share a policy per signal, and each
            # incident names the one queue (shard) that crossed it.
            queue_ids: dict[str, pulumi.Input[str]] = {}
            thresholds: dict[str, QueueAlertThresholds] = {}
            for q in s.queues:
                for shard, queue in enumerate(self.queues[q.key].queues):
                    shard_key = q.key if shard == 0 else f"{q.key}-{shard}"
                    queue_ids[shard_key] = queue.name
                    thresholds[shard_key] = QueueAlertThresholds(**s.monitoring.queue_thresholds(q))
            self.monitoring = TaskWorkerMonitoring(
                f"{name}-monitoring",
                TaskWorkerMonitoringArgs(
                    project=s.project,
                    location=s.location,
                    service_name=self.service.name,
                    queue_ids=queue_ids,
                    max_instances=s.service.max_instances,
                    timeout_seconds=s.service.timeout_seconds,
                    queue_thresholds=thresholds,
                    queue_defaults=QueueAlertThresholds(**s.monitoring.queue_defaults()),
                    service_thresholds=ServiceAlertThresholds(**s.monitoring.service_thresholds()),
                    notification_channels=s.monitoring.notification_channels,
                    labels={"managed-by": "pulumi", "stack": stack_label(s.stack)},
                    title=f"{name} ({s.stack})",
                    depends_on=[self.apis.api(MONITORING_API)],
                ),
                child,
            )

        self.outputs: dict[str, pulumi.Input[object]] = {
            "project": s.project,
            "location": s.location,
            "serviceName": self.service.name,
            "serviceUrl": self.service.uri,
            "audience": self.service.uri,
            "invokerEmail": self.invoker.email,
            "runtimeEmail": self.service.runtime_email,
            # Each task's dispatch deadline: equal to the service timeout (see README).
            "timeoutSeconds": self.service.timeout_seconds,
            "queues": {
                key: {"path": q.queue_path, "paths": q.queue_paths, "targetPath": q.target_path}
                for key, q in self.queues.items()
            },
        }
        if self.monitoring is not None:
            self.outputs["monitoring"] = {
                "dashboard": self.monitoring.dashboard.id,
                "alertPolicies": len(self.monitoring.policies),
                # true: no notification channel configured; the policies page nobody.
                "pagesNobody": self.monitoring.pages_nobody,
            }
        if self.dead_letter is not None:
            self.outputs["deadLetterTopic"] = self.dead_letter.topic_id
            self.outputs["deadLetterSubscription"] = self.dead_letter.subscription_id
        self.register_outputs(self.outputs)

    def _dead_letter(
        self,
        name: str,
        s: Settings,
        labels: Mapping[str, str],
        publisher: pulumi.Output[str],
        child: pulumi.ResourceOptions,
    ) -> Mapping[str, pulumi.Input[str]]:
        """The dead-letter topic and subscription; the env that tells the worker about them."""
        self.dead_letter = DeadLetter(
            f"{name}-dead-letter",
            DeadLetterArgs(
                project=s.project,
                publisher_member=publisher,
                message_retention_seconds=s.dead_letter.retention_seconds,
                subscribers=s.dead_letter.subscribers,
                labels=labels,
                depends_on=[self.apis.api(PUBSUB_API)],
            ),
            child,
        )
        # Static (known before `pulumi up`): queue IDs are outputs of queues that need the
        # service's URL, so the env says how to recognise them instead (no cycle).
        retries = []
        for q in s.queues:
            names = shard_names(f"{name}-{q.key}", q)
            retries.append(
                QueueRetry(
                    key=q.key,
                    queue_id=names[0][1],
                    autoname_prefix=None if names[0][1] else names[0][0],
                    shards=q.shards,
                    max_attempts=q.max_attempts,
                    max_retry_duration=q.max_retry_duration,
                )
            )
        return worker_env(self.dead_letter.topic_id, s.project, s.location, retries)


async def _raise(err: Exception) -> str:
    raise err
