"""A consumer's program, as the engine would have the plugin run it: `construct` through the
package's provider (the analyzer's schema, its input mapping), under the harness's mocks.

Config (tests/test_package.py sets it): `package-test:inputs`, the inputs as a consumer writes
them (schema names); `package-test:outputs`, [[path…], "known" | "secret" | "unknown"] leaves to
pass as Outputs, as another resource's output would arrive."""

import asyncio
import json
from typing import Any

import pulumi
from pulumi.provider.experimental.component import ComponentProvider

from task_worker_package.component import TaskWorker
from task_worker_package.generate import version


def _future(value: Any) -> "asyncio.Future[Any]":
    future: asyncio.Future[Any] = asyncio.get_event_loop().create_future()
    future.set_result(value)
    return future


def as_output(value: Any, kind: str) -> pulumi.Output[Any]:
    # Output's own constructor: the state the provider deserializes an output value into.
    return pulumi.Output(set(), _future(value), _future(kind != "unknown"), _future(kind == "secret"))


def as_on_the_wire(value: Any) -> Any:
    """Every number a double, as the engine's protobuf Struct carries it."""
    if isinstance(value, dict):
        return {k: as_on_the_wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_on_the_wire(v) for v in value]
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


config = pulumi.Config("package-test")
inputs: dict[str, Any] = as_on_the_wire(json.loads(config.require("inputs")))
for path, kind in json.loads(config.get("outputs") or "[]"):
    node = inputs
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = as_output(node[path[-1]], kind)

provider = ComponentProvider([TaskWorker], "task-worker", None, version())
result = provider.construct(config.get("name") or "task-worker", "task-worker:index:TaskWorker", inputs, None)
for key, value in result.state.items():
    pulumi.export(key, value)
