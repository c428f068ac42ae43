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
from components.queue import TaskQueue, TaskQueueArgs
from components.service import PrivateService, PrivateServiceArgs
from settings import Settings, stack_label
from settings.resolve import Resolved, resolve_stack


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
        # Every name, ID, label and member this component declares, computed and checked once.
        r = resolve_stack(s, name)
        child = pulumi.ResourceOptions(parent=self)

        apis = (CLOUD_TASKS_API, CLOUD_RUN_API, IAM_API) + ((SECRET_MANAGER_API,) if s.service.secrets else ())
        apis += (MONITORING_API,) if s.monitoring.enabled else ()
        apis += (PUBSUB_API,) if s.dead_letter.enabled else ()
        self.apis = ProjectApis(r.component("apis"), ProjectApisArgs(project=s.project, services=apis), child)

        # Dead letters are declared once the runtime account exists (its member publishes) and
        # before the service (its env names the topic): PrivateService calls back in between.
        def dead_letter_env(publisher: pulumi.Output[str]) -> Mapping[str, pulumi.Input[str]]:
            return self._dead_letter(r, s, publisher, child)

        self.dead_letter = None
        self.service = PrivateService(
            r.component("service"),
            PrivateServiceArgs(
                project=s.project,
                location=s.location,
                account_id=r.runtime.account_id,
                account_import_id=r.runtime.import_id,
                secretmanager_api=self.apis.api(SECRET_MANAGER_API) if s.service.secrets else None,
                service=s.service,
                deletion_protection=s.deletion_protection,
                run_api=self.apis.api(CLOUD_RUN_API),
                iam_api=self.apis.api(IAM_API),
                labels=r.labels,
                secret_grants=r.secret_grants,
                program_env=dead_letter_env if s.dead_letter.enabled else None,
                network_user=r.network_user,
                project_number=s.project_number,
            ),
            child,
        )
        self.invoker = TaskInvoker(
            r.component("invoker"),
            TaskInvokerArgs(
                project=s.project,
                location=s.location,
                account_id=r.invoker.account_id,
                account_import_id=r.invoker.import_id,
                service_name=self.service.name,
                iam_api=self.apis.api(IAM_API),
                cloud_tasks_api=self.apis.api(CLOUD_TASKS_API),
                project_number=s.project_number,
            ),
            child,
        )
        self.queues = {
            plan.key: TaskQueue(
                plan.component_name,
                TaskQueueArgs(
                    project=s.project,
                    location=s.location,
                    plan=plan,
                    deletion_protection=s.deletion_protection,
                    service_uri=self.service.uri,
                    invoker_email=self.invoker.email,
                    cloud_tasks_api=self.apis.api(CLOUD_TASKS_API),
                ),
                child,
            )
            for plan in r.queues
        }

        self.monitoring = None
        if s.monitoring.enabled:
            # Every queue, shards included ("<key>-<i>", as the shard's resources are named), with its
            # key's thresholds: queues with equal thresholds share a policy per signal, and each
            # incident names the one queue (shard) that crossed it.
            thresholds = {
                shard.monitor_key: QueueAlertThresholds(**s.monitoring.queue_thresholds(plan.settings))
                for plan in r.queues
                for shard in plan.shards
            }
            self.monitoring = TaskWorkerMonitoring(
                r.component("monitoring"),
                TaskWorkerMonitoringArgs(
                    project=s.project,
                    location=s.location,
                    service_name=self.service.name,
                    queue_ids={
                        shard.monitor_key: queue.name
                        for plan in r.queues
                        for shard, queue in zip(plan.shards, self.queues[plan.key].queues, strict=True)
                    },
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
            # Each task's dispatch deadline: equal to the service timeout (docs/configuration.md, "Timeouts").
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
        self, r: Resolved, s: Settings, publisher: pulumi.Output[str], child: pulumi.ResourceOptions
    ) -> Mapping[str, pulumi.Input[str]]:
        """The dead-letter topic and subscription; the env that tells the worker about them."""
        self.dead_letter = DeadLetter(
            r.component("dead-letter"),
            DeadLetterArgs(
                project=s.project,
                publisher_member=publisher,
                message_retention_seconds=s.dead_letter.retention_seconds,
                subscribers=r.subscriber_grants,
                labels=r.dead_letter_labels,
                depends_on=[self.apis.api(PUBSUB_API)],
            ),
            child,
        )
        # Static (known before `pulumi up`): queue IDs are outputs of queues that need the
        # service's URL, so the env says how to recognise them instead (no cycle).
        retries = [
            QueueRetry(
                key=plan.key,
                queue_id=plan.shards[0].queue_id,
                autoname_prefix=None if plan.shards[0].queue_id else plan.shards[0].resource_name,
                shards=len(plan.shards),
                max_attempts=plan.settings.max_attempts,
                max_retry_duration=plan.settings.max_retry_duration,
            )
            for plan in r.queues
        ]
        return worker_env(self.dead_letter.topic_id, s.project, s.location, retries)
