"""The library's exception types."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .producer import EnqueueResult


class EnqueueError(ValueError):
    """Bad input for an enqueue (outputs, queue key, task options): the message names the problem and the fix."""


class EnqueueInterruptedError(Exception):
    """`enqueue_many` stopped taking tasks because the task source (or the `on_result` callback) raised.

    The tasks already taken were all finished first; `results` holds one result per task taken, in
    order, and `__cause__` is the source's exception. Resubmit from `len(results)` on.
    """

    def __init__(self, message: str, results: Sequence[EnqueueResult]) -> None:
        super().__init__(message)
        self.results: list[EnqueueResult] = list(results)
