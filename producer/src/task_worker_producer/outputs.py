"""The stack outputs a producer needs, read from `pulumi stack output --json` (a file) or a dict."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .errors import EnqueueError
from .limits import MAX_DISPATCH_DEADLINE, MIN_DISPATCH_DEADLINE

QUEUE_PATH_RE = re.compile(r"projects/[^/]+/locations/[^/]+/queues/[A-Za-z0-9-]{1,100}")


@dataclass(frozen=True)
class QueueTarget:
    """One entry of the `queues` output: a task class, served by one or more queue shards."""

    key: str
    paths: tuple[str, ...]  # projects/P/locations/L/queues/Q, one per shard, in the stack's order
    target_path: str  # path on the service, e.g. "/bulk"

    @property
    def path(self) -> str:
        """The first shard (what a one-queue stack calls the queue)."""
        return self.paths[0]


@dataclass(frozen=True)
class StackOutputs:
    """What a producer needs from the stack.

    `timeout_seconds` is the Cloud Run service's request timeout; each task's
    dispatch deadline defaults to it. Outputs from stacks that do not export it
    yet leave the deadline to Cloud Tasks (10 minutes) unless the caller sets one.
    """

    service_url: str
    queues: Mapping[str, QueueTarget] = field(hash=False)
    timeout_seconds: int | None = None
    project: str | None = None
    location: str | None = None

    @classmethod
    def from_json(cls, source: Mapping[str, Any] | str | os.PathLike[str]) -> StackOutputs:
        """Parse and check outputs given as a dict or as the path of a JSON file; extra keys are ignored."""
        data = _load(source) if isinstance(source, str | os.PathLike) else source
        if not isinstance(data, Mapping):
            raise EnqueueError(f"stack outputs must be a JSON object, got {type(data).__name__}")
        service_url = _required_str(data, "serviceUrl")
        if not service_url.startswith("https://"):
            raise EnqueueError(f"stack output serviceUrl must start with https://, got {service_url!r}")
        raw_queues = data.get("queues")
        if raw_queues is None:
            raise EnqueueError("stack outputs are missing 'queues'")
        if not isinstance(raw_queues, Mapping) or not raw_queues:
            raise EnqueueError("stack output 'queues' must be a non-empty object of queue key -> {paths, targetPath}")
        queues = {str(key): _queue(str(key), entry) for key, entry in raw_queues.items()}
        return cls(
            service_url=service_url,
            queues=MappingProxyType(queues),
            timeout_seconds=_timeout(data.get("timeoutSeconds")),
            project=_optional_str(data, "project"),
            location=_optional_str(data, "location"),
        )

    def queue(self, key: str) -> QueueTarget:
        """The queue for `key`, or an error listing the known keys."""
        try:
            return self.queues[key]
        except KeyError:
            known = ", ".join(sorted(self.queues))
            raise EnqueueError(f"unknown queue {key!r}; known queues: {known}") from None

    def url_for(self, queue: QueueTarget) -> str:
        return self.service_url.rstrip("/") + queue.target_path


def _load(path: str | os.PathLike[str]) -> object:
    try:
        return json.loads(Path(path).read_text())
    except OSError as exc:
        raise EnqueueError(f"cannot read outputs file {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EnqueueError(f"outputs file {path} is not JSON: {exc}") from None


def _queue(key: str, entry: object) -> QueueTarget:
    where = f"queues.{key}"
    if not isinstance(entry, Mapping):
        raise EnqueueError(f"stack output '{where}' must be an object with paths and targetPath")
    raw_paths = entry.get("paths")
    label = "paths[{}]"
    if raw_paths is None:  # stacks from before sharding export one `path`
        paths, label = (_required_str(entry, "path", where),), "path"
    else:
        if not isinstance(raw_paths, list) or not raw_paths:
            raise EnqueueError(f"stack output '{where}.paths' must be a non-empty list of queue paths")
        paths = tuple(raw_paths)
        if "path" in entry and entry["path"] != paths[0]:
            raise EnqueueError(f"stack output '{where}.path' must be the first of '{where}.paths'")
    for i, path in enumerate(paths):
        if not isinstance(path, str) or not QUEUE_PATH_RE.fullmatch(path):
            raise EnqueueError(
                f"stack output '{where}.{label.format(i)}' must look like projects/P/locations/L/queues/Q, got {path!r}"
            )
    if len(set(paths)) != len(paths):
        raise EnqueueError(f"stack output '{where}.paths' lists a queue twice")
    target_path = _required_str(entry, "targetPath", where)
    if not target_path.startswith("/"):
        raise EnqueueError(f"stack output '{where}.targetPath' must start with '/', got {target_path!r}")
    return QueueTarget(key=key, paths=paths, target_path=target_path)


def _timeout(value: object) -> int | None:
    if value is None:
        return None
    # bool is an int in Python; JSON true is not a timeout.
    low, high = int(MIN_DISPATCH_DEADLINE.total_seconds()), int(MAX_DISPATCH_DEADLINE.total_seconds())
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise EnqueueError(
            f"stack output 'timeoutSeconds' must be a whole number of seconds from {low} to {high} "
            f"(it becomes each task's dispatch deadline), got {value!r}"
        )
    return value


def _required_str(data: Mapping[str, Any], key: str, where: str = "") -> str:
    full = f"{where}.{key}" if where else key
    if key not in data:
        raise EnqueueError(f"stack outputs are missing '{full}'")
    value = data[key]
    if not isinstance(value, str) or not value:
        raise EnqueueError(f"stack output '{full}' must be a non-empty string, got {value!r}")
    return value


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    return _required_str(data, key) if key in data else None
