"""One way of running the program offline: tests, the plan and the benchmark use this.

It runs `__main__.py` under Pulumi mocks (preview=False, so every apply runs) with a
stack's config, and records what the engine would see: each resource's type, name,
parent, inputs and dependencies; the provider invokes; the warnings; the exports.
Computed outputs are filled the way the provider fills them, so inputs built from
them (an IAM member's `name`, a queue's host) never silently vanish.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import runpy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks, rpc, sync_await
from pulumi.runtime import resource as resource_runtime
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop

from tools.stackfile import SECRET, read_stack_file

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "task-worker"
# A fixed fake project number: service agents and run.app URLs carry one.
PROJECT_NUMBER = "123456789012"


class StackNotFoundError(Exception):
    def __init__(self, stack: str, known: list[str]) -> None:
        self.stack, self.known = stack, known
        super().__init__(f"no stack file Pulumi.{stack}.yaml; stacks here: {', '.join(known) or '(none)'}")


@dataclass(frozen=True)
class StackConfig:
    stack: str
    values: Mapping[str, str]  # full key -> string, objects as JSON (as the engine passes them)
    secret_keys: frozenset[str] = frozenset()


def stacks(root: Path = ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def load_stack_config(stack: str, root: Path = ROOT) -> StackConfig:
    """Pulumi.<stack>.yaml as the engine would pass it (tools.stackfile); secrets as "[secret]"."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise StackNotFoundError(stack, stacks(root))
    read = read_stack_file(path, PROJECT)
    return StackConfig(stack, read.values, read.secret_keys)


@dataclass(frozen=True)
class Resource:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: Mapping[str, Any]  # camelCase; secret values as "[secret]"
    outputs: Mapping[str, Any]
    dependencies: tuple[str, ...]  # URNs: explicit depends_on and outputs used as inputs
    import_id: str = ""  # the `import_` option: the existing resource's ID to adopt, else ""


@dataclass
class Run:
    stack: str
    project: str
    resources: list[Resource] = field(default_factory=list)
    invokes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    exports: dict[str, Any] = field(default_factory=dict)
    # What the program raised (pulumi.RunError for a bad config), or None.
    error: BaseException | None = None

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Resource:
        found = self.of_type(type_)
        if len(found) != 1:
            raise AssertionError(f"expected one {type_}, found {len(found)}")
        return found[0]

    def by_urn(self) -> dict[str, Resource]:
        return {r.urn: r for r in self.resources}


def _short_hash(text: str, n: int = 7) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


class ProviderMocks(pulumi.runtime.Mocks):
    """Fills computed outputs the way pulumi-gcp does; counts invokes."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        inputs = dict(args.inputs)
        out: dict[str, Any] = dict(inputs)
        project = _plain(inputs.get("project")) or self.run.project
        # The engine auto-names resources that leave `name` out: logical name + 7 hex.
        auto_name = f"{args.name}-{_short_hash(args.typ + args.name)}"
        if args.typ == "gcp:serviceaccount/account:Account":
            email = f"{inputs['accountId']}@{project}.iam.gserviceaccount.com"
            out |= {"email": email, "member": f"serviceAccount:{email}", "uniqueId": _short_hash(email, 21)}
            out["name"] = f"projects/{project}/serviceAccounts/{email}"
            return out["name"], out
        if args.typ == "gcp:cloudrunv2/service:Service":
            name = inputs.get("name") or auto_name
            out |= {"name": name, "uri": f"https://{name}-{PROJECT_NUMBER}.{inputs['location']}.run.app"}
            return f"projects/{project}/locations/{inputs['location']}/services/{name}", out
        if args.typ == "gcp:projects/serviceIdentity:ServiceIdentity":
            agent = inputs["service"].split(".")[0]
            email = f"service-{PROJECT_NUMBER}@gcp-sa-{agent}.iam.gserviceaccount.com"
            out |= {"email": email, "member": f"serviceAccount:{email}"}
            return f"projects/{project}/services/{inputs['service']}", out
        if args.typ == "gcp:cloudtasks/queue:Queue":
            name = inputs.get("name") or auto_name
            out["name"] = name
            return f"projects/{project}/locations/{inputs['location']}/queues/{name}", out
        # --- monitoring helper (dead letters): Pub/Sub topics and subscriptions are auto-named like
        # queues; their id is the full name (projects/P/topics/T), which IAM members and env vars use.
        if args.typ in ("gcp:pubsub/topic:Topic", "gcp:pubsub/subscription:Subscription"):
            name = inputs.get("name") or auto_name
            kind = "topics" if args.typ.endswith(":Topic") else "subscriptions"
            out |= {"name": name, "id": f"projects/{project}/{kind}/{name}"}
            return out["id"], out
        # --- end monitoring helper
        return f"{args.name}-id", out

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        # The program must make none: an invoke is a GCP round trip at every preview.
        self.run.invokes.append(args.token)
        return {}, None


def _plain(value: Any) -> Any:
    return value.get("value") if rpc.is_rpc_secret(value) else value


def _show_secrets(value: Any) -> Any:
    """Plain values with each secret, however deep, shown as "[secret]" (and only it)."""
    if isinstance(value, dict):
        if rpc.is_rpc_secret(value):
            return SECRET
        return {k: _show_secrets(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_show_secrets(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)  # protobuf carries every number as a double
    return value


class RecordingMonitor(mocks.MockMonitor):
    """MockMonitor that also records parent and dependencies (the mocks API gives neither)."""

    def __init__(self, mocks_: ProviderMocks, run: Run) -> None:
        super().__init__(mocks_)
        self.run = run

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type == "pulumi:pulumi:Stack":
            return response
        deps = set(request.dependencies)
        for prop_deps in request.propertyDependencies.values():
            deps.update(prop_deps.urns)
        state = self.resources[response.urn].state
        self.run.resources.append(
            Resource(
                urn=response.urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                custom=bool(request.custom),
                inputs=_show_secrets(json_format.MessageToDict(request.object)),
                outputs=_show_secrets(state),
                dependencies=tuple(sorted(deps)),
                import_id=request.importId,
            )
        )
        return response


class _WarningLog(logging.Handler):
    def __init__(self, run: Run) -> None:
        super().__init__(logging.WARNING)
        self.run = run

    def emit(self, record: logging.LogRecord) -> None:
        self.run.warnings.append(record.getMessage())


def run_program(config: StackConfig, program: Path = ROOT / "__main__.py") -> Run:
    """Run the Pulumi program under mocks; what it raises lands in `Run.error`."""
    project = config.values.get("gcp:project", "")
    run = Run(stack=config.stack, project=project)
    logger = logging.getLogger(f"task-worker.offline.{id(run)}")
    logger.propagate = False
    logger.addHandler(_WarningLog(run))

    # A fresh event loop, root stack and monitor per run (pulumi/pulumi#24338, #6561).
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    pulumi.runtime.reset_options()
    pulumi.runtime.set_all_config(dict(config.values), list(config.secret_keys))
    provider = ProviderMocks(run)
    pulumi.runtime.set_mocks(
        provider,
        project=PROJECT,
        stack=config.stack,
        preview=False,
        logger=logger,
        monitor=RecordingMonitor(provider, run),
    )

    async def body() -> None:
        runpy.run_path(str(program), run_name="__main__")
        root = pulumi.runtime.get_root_resource()
        exports: dict[str, Any] = getattr(root, "outputs", {})
        run.exports = await pulumi.Output.from_input(exports).future() or {}

    # The SDK walks the whole Python stack at every registration to record source
    # positions, which only the engine's display uses: most of a registration's cost.
    no_trace = mock.patch.object(resource_runtime, "_get_stack_trace", source_pb2.StackTrace)
    # The SDK calls the monitor from executor threads, and each makes an event loop of
    # its own that nobody closes; left to the garbage collector, one now and then fails
    # to close ("Invalid file descriptor"). Track them to close them here.
    thread_loops: list[asyncio.AbstractEventLoop] = []

    def ensure_event_loop() -> asyncio.AbstractEventLoop:
        current = _ensure_event_loop()
        if current is not loop:
            thread_loops.append(current)
        return current

    tracked = [mock.patch.object(m, "_ensure_event_loop", ensure_event_loop) for m in (sync_await, mocks)]
    try:
        with no_trace, tracked[0], tracked[1]:
            loop.run_until_complete(run_pulumi_func(body))
    except Exception as err:
        run.error = err
    finally:
        loop.run_until_complete(loop.shutdown_default_executor())
        for thread_loop in {id(x): x for x in thread_loops}.values():
            thread_loop.close()
        loop.close()
        asyncio.set_event_loop(None)
    return run


def run_stack(stack: str, root: Path = ROOT) -> Run:
    return run_program(load_stack_config(stack, root), root / "__main__.py")
