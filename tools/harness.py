"""One way of running the program offline: tests, the plan and the benchmark use this.

It runs `__main__.py` under Pulumi mocks (preview=False, so every apply runs) with a
stack's config, and records what the engine would see: each resource's type, name,
parent, inputs and dependencies; the provider invokes; the warnings; the exports.
Computed outputs are filled the way the provider fills them, so inputs built from
them (an IAM member's `name`, a queue's host) never silently vanish. What only `pulumi up`
can know (the project number, the service URL, a service agent's email, the random suffix
of an auto-name, an account's unique ID) is invented, and each invented value is recorded
in `Run.invented` with what it stands for: `Run.shown` replaces it, wherever it ended up
(through applies and concatenations too), by a "(known after up: …)" marker.
URNs are the engine's (the whole parent chain), and a second registration of one URN is refused
as the engine refuses it (DuplicateUrnError, in `Run.error`).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
import logging
import re
import runpy
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pulumi
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import mocks, rpc, sync_await
from pulumi.runtime import resource as resource_runtime
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop

from tools.stackfile import SECRET, read_stack_file

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "task-worker"
# A fake project number: service agents and run.app URLs carry one. Its digits are a
# marker, not a plausible value ("123456789012" is the docs' own example and may be real).
PROJECT_NUMBER = "900000000009"
KNOWN_AFTER_UP = "(known after up: {})"
ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


class StackNotFoundError(Exception):
    def __init__(self, stack: str, known: list[str]) -> None:
        self.stack, self.known = stack, known
        super().__init__(f"no stack file Pulumi.{stack}.yaml; stacks here: {', '.join(known) or '(none)'}")


class DuplicateUrnError(Exception):
    """Two registrations of one URN (type, name and parent chain), which the engine refuses."""

    def __init__(self, urn: str, first: str, second: str) -> None:
        self.urn, self.first, self.second = urn, first, second
        # The engine's words (pulumi pkg/diag/errors.go, GetDuplicateResourceURNError), then both
        # registrations: the mock monitor alone would keep the second and drop the first silently.
        super().__init__(
            f"Duplicate resource URN '{urn}'; try giving it a unique name (registered twice: {first}; then {second})"
        )


class StackConfig(NamedTuple):
    stack: str
    values: Mapping[str, str]  # full key -> string, objects as JSON (as the engine passes them)
    secret_keys: frozenset[str] = frozenset()
    notes: tuple[str, ...] = ()  # how Pulumi reads surprising values (`0777` -> 511): tools.stackfile


def stacks(root: Path = ROOT) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def load_stack_config(stack: str, root: Path = ROOT) -> StackConfig:
    """Pulumi.<stack>.yaml as the engine would pass it (tools.stackfile); secrets as "[secret]"."""
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise StackNotFoundError(stack, stacks(root))
    read = read_stack_file(path, PROJECT)
    return StackConfig(stack, read.values, read.secret_keys, read.notes)


class Resource(NamedTuple):
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
    # Each value the mocks invented -> what it stands for (only `pulumi up` knows the real one).
    invented: dict[str, str] = field(default_factory=dict)
    # What the program raised (pulumi.RunError for a bad config), or None.
    error: BaseException | None = None
    # (number of invented values it was built for, the pattern, token -> marker): see shown().
    _marker: tuple[int, re.Pattern[str] | None, dict[str, str]] | None = field(default=None, repr=False)

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Resource:
        found = self.of_type(type_)
        if len(found) != 1:
            raise AssertionError(f"expected one {type_}, found {len(found)}")
        return found[0]

    def by_urn(self) -> dict[str, Resource]:
        return {r.urn: r for r in self.resources}

    def shown(self, value: Any) -> Any:
        """`value` with each invented value in it, however deep, replaced by its marker."""
        if self._marker is None or self._marker[0] != len(self.invented):
            # One pattern, longest token first: a URL holds its host, which holds the project number.
            tokens = sorted(self.invented, key=len, reverse=True)
            markers = {t: KNOWN_AFTER_UP.format(self.invented[t]) for t in tokens}
            pattern = re.compile(_trie_pattern(tokens)) if tokens else None
            self._marker = (len(self.invented), pattern, markers)
        _, pattern, markers = self._marker
        return value if pattern is None else _mark(value, pattern, markers)


def _trie_pattern(tokens: Sequence[str]) -> str:
    """One regular expression matching any of `tokens`, longest first, as a trie: matching costs the
    string's length times the trie's depth, not times the number of tokens (a plain alternation of
    1,000 queue names made the plan's display quadratic in the queues)."""
    trie: dict[str, Any] = {}
    for token in tokens:
        node = trie
        for char in token:
            node = node.setdefault(char, {})
        node[""] = {}  # a token ends here

    def render(node: dict[str, Any]) -> str:
        ends = "" in node
        branches = [re.escape(c) + render(child) for c, child in sorted(node.items()) if c]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        # Greedy: the longer token wins where one is a prefix of another; else stop here.
        return f"(?:{body})?" if ends else body

    return render(trie)


def _mark(value: Any, pattern: re.Pattern[str], markers: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return pattern.sub(lambda m: markers[m.group(0)], value)
    if isinstance(value, Mapping):
        return {k: _mark(v, pattern, markers) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mark(v, pattern, markers) for v in value]
    return value


def is_known_after_up(value: Any) -> bool:
    """Whether a shown value (see `Run.shown`) holds a marker anywhere."""
    return KNOWN_AFTER_UP.split("{")[0] in json.dumps(value)


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
        kind = args.typ.split(":")[1].split("/")[-1]  # e.g. "queue", "service"

        def invent(value: str, what: str) -> str:
            self.run.invented[value] = what
            return value

        def name_or_auto() -> str:
            # The engine auto-names resources that leave `name` out: logical name + "-" + 7
            # random hex digits, drawn at create (and drawn again at each replacement).
            if inputs.get("name"):
                return inputs["name"]
            return invent(f"{args.name}-{_short_hash(args.typ + args.name)}", f"auto-name of {kind} {args.name}")

        if args.typ == "gcp:serviceaccount/account:Account":
            email = f"{inputs['accountId']}@{project}.iam.gserviceaccount.com"
            unique_id = invent(str(10**20 + int(_short_hash(email, 12), 16)), f"unique ID of account {args.name}")
            out |= {"email": email, "member": f"serviceAccount:{email}", "uniqueId": unique_id}
            out["name"] = f"projects/{project}/serviceAccounts/{email}"
            return out["name"], out
        if args.typ == "gcp:cloudrunv2/service:Service":
            name = name_or_auto()
            self.run.invented.setdefault(PROJECT_NUMBER, "project number")
            host = invent(f"{name}-{PROJECT_NUMBER}.{inputs['location']}.run.app", f"host of service {args.name}")
            out |= {"name": name, "uri": invent(f"https://{host}", f"URL of service {args.name}")}
            return f"projects/{project}/locations/{inputs['location']}/services/{name}", out
        if args.typ == "gcp:projects/serviceIdentity:ServiceIdentity":
            agent = inputs["service"].split(".")[0]
            self.run.invented.setdefault(PROJECT_NUMBER, "project number")
            # Google documents the agent's address; only the project number in it is unknown.
            # Cloud Run's agent has a domain of its own (serverless-robot-prod); the others gcp-sa-<api>.
            domain = "serverless-robot-prod" if agent == "run" else f"gcp-sa-{agent}"
            email = f"service-{PROJECT_NUMBER}@{domain}.iam.gserviceaccount.com"
            out |= {"email": email, "member": f"serviceAccount:{email}"}
            return f"projects/{project}/services/{inputs['service']}", out
        if args.typ == "gcp:cloudtasks/queue:Queue":
            out["name"] = name = name_or_auto()
            return f"projects/{project}/locations/{inputs['location']}/queues/{name}", out
        # --- monitoring helper (dead letters): Pub/Sub topics and subscriptions are auto-named like
        # queues; their id is the full name (projects/P/topics/T), which IAM members and env vars use.
        if args.typ in ("gcp:pubsub/topic:Topic", "gcp:pubsub/subscription:Subscription"):
            name = name_or_auto()
            collection = "topics" if args.typ.endswith(":Topic") else "subscriptions"
            out |= {"name": name, "id": f"projects/{project}/{collection}/{name}"}
            return out["id"], out
        # --- end monitoring helper
        # Monitoring assigns the IDs of alert policies and dashboards: known after up only.
        if args.typ in ("gcp:monitoring/alertPolicy:AlertPolicy", "gcp:monitoring/dashboard:Dashboard"):
            collection = "alertPolicies" if args.typ.endswith(":AlertPolicy") else "dashboards"
            ident = invent(_short_hash(args.typ + args.name, 16), f"ID of {kind} {args.name}")
            out["name"] = f"projects/{project}/{collection}/{ident}"
            return out["name"], out
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
        # URN -> its index in run.resources: the engine refuses a second registration of a URN.
        self.registered: dict[str, int] = {}

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine's URN (pulumi pkg/resource/deploy/deployment.go generateURN): the parent's
        # whole qualified type, every ancestor's type joined by "$", and none for the root stack.
        # MockMonitor.make_urn keeps only the parent's own type, so two resources the engine tells
        # apart (one name and type under two different chains) got one URN there, and a duplicate
        # check on it would refuse a valid program.
        qualified = parent.split("::")[2] if parent else ""
        if qualified and qualified != ROOT_STACK_TYPE:
            type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        # MockMonitor.RegisterResource, but the state goes back as a Struct built directly: the
        # mocks' state is plain JSON (strings, numbers, lists, maps, secrets as their marker maps),
        # for which Pulumi's async serializer (run once per resource on a loop of this thread)
        # gives the same Struct, only slower.
        if request.type == "pulumi:pulumi:Stack":
            return super().RegisterResource(request)
        urn = self.make_urn(request.parent, request.type, request.name)
        if urn in self.registered:
            index = self.registered[urn]
            first, second = _registrations(self.run.resources[index], index + 1, len(self.run.resources) + 1, request)
            raise DuplicateUrnError(urn, first, second)
        _ensure_event_loop()  # deserializing resource references needs one
        inputs = rpc.deserialize_properties(request.object)
        id_, state = self.mocks.new_resource(
            pulumi.runtime.MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs,
                provider=request.provider,
                resource_id=request.importId,
                custom=request.custom or False,
                transforms=mocks._resolve_callbacks(request.transforms),
            )
        )
        id_ = id_ or ""  # a protobuf string field: unset reads as ""
        obj = struct_pb2.Struct()
        obj.update({k: v for k, v in state.items() if v is not None})
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, id_, state)
        deps = set(request.dependencies)
        for prop_deps in request.propertyDependencies.values():
            deps.update(prop_deps.urns)
        self.registered[urn] = len(self.run.resources)
        self.run.resources.append(
            Resource(
                urn=urn,
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
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj)


def _shown_input(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:79] + "…"


def _registrations(first: Resource, first_number: int, second_number: int, request: Any) -> tuple[str, str]:
    """Two registrations of one URN, told apart by their order and by the inputs that differ."""
    second = _show_secrets(json_format.MessageToDict(request.object))

    def named(number: int, custom: bool) -> str:
        return f'{"resource" if custom else "component"} #{number} {request.type} "{request.name}"'

    differing = [
        f"{key} {_shown_input(first.inputs.get(key))} vs {_shown_input(second.get(key))}"
        for key in sorted(set(first.inputs) | set(second))
        if first.inputs.get(key) != second.get(key)
    ]
    later = named(second_number, bool(request.custom))
    later += f", inputs differing: {'; '.join(differing)}" if differing else ", with the same inputs"
    return named(first_number, first.custom), later


class _WarningLog(logging.Handler):
    def __init__(self, run: Run) -> None:
        super().__init__(logging.WARNING)
        self.run = run

    def emit(self, record: logging.LogRecord) -> None:
        self.run.warnings.append(record.getMessage())


def run_program(config: StackConfig, program: Path = ROOT / "__main__.py", *, restore_gc: bool = True) -> Run:
    """Run the Pulumi program under mocks; what it raises lands in `Run.error`.

    restore_gc=False leaves the cyclic collector as the program left it (off: __main__.py), as a
    process that ends after the run wants it (tools.plan): switching it back on costs a pass over
    every object the run made (~1 s at 2,000 resources), which a real `pulumi preview` never pays."""
    project = config.values.get("gcp:project", "")
    run = Run(stack=config.stack, project=project)
    logger = logging.getLogger(f"task-worker.offline.{id(run)}")
    logger.propagate = False
    logger.addHandler(_WarningLog(run))

    # A fresh event loop, root stack and monitor per run (pulumi/pulumi#24338, #6561).
    loop = asyncio.new_event_loop()
    # The SDK sends every call to the monitor through the loop's default executor. The mock
    # monitor answers at once, under the GIL: one thread does it with fewer thread switches
    # (and one thread-local event loop, not one per thread) than the default pool of six.
    loop.set_default_executor(ThreadPoolExecutor(max_workers=1, thread_name_prefix="mock-monitor"))
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
    #
    # The SDK calls the monitor from executor threads, and each makes an event loop of
    # its own that nobody closes; left to the garbage collector, one now and then fails
    # to close ("Invalid file descriptor"). Track them to close them here.
    thread_loops: list[asyncio.AbstractEventLoop] = []

    def ensure_event_loop() -> asyncio.AbstractEventLoop:
        current = _ensure_event_loop()
        if current is not loop:
            thread_loops.append(current)
        return current

    try:
        # Plain attribute swaps, undone below (unittest.mock would cost its import at every plan).
        with contextlib.ExitStack() as patches:
            # The program may switch the cyclic collector off (__main__.py does: it is short-lived);
            # a test session runs many programs in one process, so switch it back on afterwards.
            if gc.isenabled() and restore_gc:
                patches.callback(gc.enable)
            for module, name, value in [
                (resource_runtime, "_get_stack_trace", source_pb2.StackTrace),
                (sync_await, "_ensure_event_loop", ensure_event_loop),
                (mocks, "_ensure_event_loop", ensure_event_loop),
            ]:
                patches.callback(setattr, module, name, getattr(module, name))
                setattr(module, name, value)
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
