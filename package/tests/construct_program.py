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


config = pulumi.Config("package-test")
inputs: dict[str, Any] = json.loads(config.require("inputs"))
for path, kind in json.loads(config.get("outputs") or "[]"):
    node = inputs
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = as_output(node[path[-1]], kind)

provider = ComponentProvider([TaskWorker], "task-worker", None, version())
result = provider.construct(config.get("name") or "task-worker", "task-worker:index:TaskWorker", inputs, None)
for key, value in result.state.items():
    pulumi.export(key, value)
