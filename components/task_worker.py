"""The whole path: APIs, private service, invoker identity, queues — one location."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.apis import CLOUD_RUN_API, CLOUD_TASKS_API, IAM_API, SECRET_MANAGER_API, ProjectApis, ProjectApisArgs
from components.invoker import TaskInvoker, TaskInvokerArgs
from components.naming import account_id
from components.queue import TaskQueue, TaskQueueArgs
from components.service import PrivateService, PrivateServiceArgs
from settings import Settings, stack_label


@dataclass(frozen=True)
class TaskWorkerArgs:
    settings: Settings


class TaskWorker(pulumi.ComponentResource):
    """A private Cloud Run service that Cloud Tasks feeds, secure by default."""

    apis: ProjectApis
    service: PrivateService
    invoker: TaskInvoker
    queues: dict[str, TaskQueue]

    def __init__(self, name: str, args: TaskWorkerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("task-worker:gcp:TaskWorker", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        prefix = f"{name}-{s.stack}"

        apis = (CLOUD_TASKS_API, CLOUD_RUN_API, IAM_API) + ((SECRET_MANAGER_API,) if s.service.secrets else ())
        self.apis = ProjectApis(f"{name}-apis", ProjectApisArgs(project=s.project, services=apis), child)
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
                labels={"managed-by": "pulumi", "stack": stack_label(s.stack), **s.labels},
            ),
            child,
        )
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
        self.outputs = {
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
        self.register_outputs(self.outputs)
