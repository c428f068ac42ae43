"""Create tasks on a task-worker stack's Cloud Tasks queues (google-cloud-tasks 2.x).

from task_worker_producer import Producer, StackOutputs, TaskSpec

producer = Producer(StackOutputs.from_json("outputs.json"))  # pulumi stack output --json
producer.create_task(TaskSpec.of_json("default", {"order": 42}, task_id="order-42"))
results = asyncio.run(producer.enqueue_many(TaskSpec.of_json("bulk", o) for o in orders))
"""

from .errors import EnqueueError, EnqueueInterruptedError
from .limits import MAX_DISPATCH_DEADLINE, MAX_SCHEDULE_AHEAD, MAX_TASK_BYTES, MIN_DISPATCH_DEADLINE
from .outputs import QueueTarget, StackOutputs
from .producer import EnqueueResult, Producer, RetryPolicy, Status
from .sharding import shard_for_key
from .tasks import TaskSpec

__all__ = [
    "MAX_DISPATCH_DEADLINE",
    "MAX_SCHEDULE_AHEAD",
    "MAX_TASK_BYTES",
    "MIN_DISPATCH_DEADLINE",
    "EnqueueError",
    "EnqueueInterruptedError",
    "EnqueueResult",
    "Producer",
    "QueueTarget",
    "RetryPolicy",
    "StackOutputs",
    "Status",
    "TaskSpec",
    "shard_for_key",
]
