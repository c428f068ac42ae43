"""task-worker: a private Cloud Run service that Cloud Tasks feeds."""

import gc

import pulumi

from components.task_worker import TaskWorker, TaskWorkerArgs
from settings import load_settings

# A short-lived program: the cyclic collector's full passes grew with the heap and made a stack of
# 1,000 queues cost twice as much per queue as one of 500 (python -m tools.bench); memory +7 %.
gc.disable()
settings = load_settings()
worker = TaskWorker("task-worker", TaskWorkerArgs(settings=settings))
for key, value in worker.outputs.items():
    pulumi.export(key, value)
