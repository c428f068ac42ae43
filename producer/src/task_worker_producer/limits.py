"""Cloud Tasks limits the library enforces before sending (sources in each comment)."""

from __future__ import annotations

import re
from datetime import timedelta

# "Maximum task size: 1 MB" (cloud.google.com/tasks/docs/quotas) says neither how a task is
# measured nor whether MB is 10**6 or 2**20: the serialized Task (body, headers, url, name) is
# checked against the smaller reading, so nothing let through is refused for its size.
MAX_TASK_BYTES = 1_000_000
# Task.schedule_time: "up to 30 days in the future" (CreateTask reference).
MAX_SCHEDULE_AHEAD = timedelta(days=30)
# Task.dispatch_deadline for HTTP tasks: default 10 minutes, "between 15 seconds and 30 minutes".
MIN_DISPATCH_DEADLINE = timedelta(seconds=15)
MAX_DISPATCH_DEADLINE = timedelta(minutes=30)
# Task ID: "letters ([A-Za-z]), numbers ([0-9]), hyphens (-), or underscores (_). The maximum
# length is 500 characters" (Task.name reference).
TASK_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,500}")
