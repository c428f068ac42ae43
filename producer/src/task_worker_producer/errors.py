"""The one exception type for input the library refuses before anything is sent."""

from __future__ import annotations


class EnqueueError(ValueError):
    """Bad input for an enqueue (outputs, queue key, task options): the message names the problem and the fix."""
