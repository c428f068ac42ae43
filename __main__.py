"""task-worker: a private Cloud Run service that Cloud Tasks feeds."""

import pulumi

from components.task_worker import TaskWorker, TaskWorkerArgs
from settings import load_settings

settings = load_settings()
worker = TaskWorker("task-worker", TaskWorkerArgs(settings=settings))
for key, value in worker.outputs.items():
    pulumi.export(key, value)
