"""The package's one contact with the project: its inputs as the stack file's config, validated by
settings.parse_settings, built by components.task_worker.TaskWorker. Every import of settings or
components is here, so a change of their shape is a change of this file only."""

from __future__ import annotations

import json
import re
import types
from collections.abc import Awaitable, Mapping
from typing import Any, NamedTuple, NotRequired, Required, Union, get_args, get_origin, is_typeddict

import pulumi
from pydantic import BaseModel

import settings as _settings
from components.task_worker import TaskWorker as _TaskWorker
from components.task_worker import TaskWorkerArgs as _TaskWorkerArgs

PACKAGE_NAME = "task-worker"
NAMESPACE = _settings.NAMESPACE
# Inputs that may be Outputs of the consumer's program (an image built in the same stack, a value
# from another resource): each only flows into a resource's input, never decides which resources
# exist or what they are named. Dotted config paths; `*` is any map key.
PASS_THROUGH = frozenset({"service.image", "service.env.*"})
# What a pass-through input stands in for while its value is unknown (the Output is what the
# resource gets); each is valid wherever the input is, so only the other inputs are judged.
_PLACEHOLDERS = {"service.image": _settings.SERVICE_DEFAULTS.image, "service.env.*": ""}
_GCP = {"gcp:project": "project", "gcp:region": "region"}


def root_model() -> type[BaseModel]:
    """The stack-config model the inputs mirror (tools: the args generator)."""
    return _settings.StackConfig


class InputsError(Exception):
    """Bad TaskWorker inputs: the stack file's messages, each naming the input instead of the key."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        body = "\n".join(f"  - {line}" for line in lines)
        super().__init__(f"invalid TaskWorker inputs ({len(lines)} problem(s)):\n{body}")


def as_input_names(text: str) -> str:
    """A stack-file message with each config key named as the package's input."""
    text = re.sub(r"\bgcp:(project|region)\b", r"\1", text)
    return text.replace(f"{NAMESPACE}:", "")


class Leaf(NamedTuple):
    path: tuple[str, ...]  # config path: ("service", "env", "LOG_LEVEL")
    output: pulumi.Output[Any]


def _pattern(path: tuple[str, ...]) -> str:
    """("service", "env", "X") -> "service.env.*" when that is a pass-through pattern."""
    dotted = ".".join(path)
    if dotted in PASS_THROUGH:
        return dotted
    wild = ".".join((*path[:-1], "*"))
    return wild if wild in PASS_THROUGH else dotted


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(w[:1].upper() + w[1:] for w in rest)


def _unwrap(annotation: Any) -> Any:
    """Required[X] / NotRequired[X] / pulumi.Input[X] -> X (Input: the union's Awaitable member)."""
    while True:
        origin = get_origin(annotation)
        if origin in (Required, NotRequired):
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            plain = [a for a in get_args(annotation) if get_origin(a) is Awaitable]
            annotation = get_args(plain[0])[0] if plain else get_args(annotation)[0]
        else:
            return annotation


def to_document(inputs: Any, annotation: Any, path: tuple[str, ...] = ()) -> tuple[Any, list[Leaf]]:
    """The component's args as the stack file's document: typed objects' keys back to the stack
    file's (camelCase) names, map keys as they are, whole numbers as integers; each Output
    replaced by its placeholder (a pass-through) or None, and listed."""
    annotation = _unwrap(annotation)
    leaves: list[Leaf] = []
    if isinstance(inputs, pulumi.Output):
        return _PLACEHOLDERS.get(_pattern(path)), [Leaf(path, inputs)]
    if isinstance(inputs, Mapping):
        typed = is_typeddict(annotation)
        hints = dict(annotation.__annotations__) if typed else {}
        doc = {}
        for key, value in inputs.items():
            name = _camel(str(key)) if typed else str(key)
            inner = hints.get(str(key), Any) if typed else (get_args(annotation) or (Any, Any))[-1]
            doc[name], found = to_document(value, inner, (*path, name))
            leaves += found
        return doc, leaves
    if isinstance(inputs, list | tuple):
        items = []
        inner = (get_args(annotation) or (Any,))[0]
        for i, value in enumerate(inputs):
            item, found = to_document(value, inner, (*path, f"[{i}]"))
            items.append(item)
            leaves += found
        return items, leaves
    if annotation is not float and isinstance(inputs, float) and inputs.is_integer():
        # The wire carries every number as a double: 5.0 is the 5 the consumer wrote (and 2.5 stays
        # 2.5: refused where a whole number is expected). A number field keeps what came: the
        # wire cannot tell 2 from 2.0.
        return int(inputs), leaves
    return inputs, leaves


def to_config(doc: Mapping[str, Any]) -> dict[str, str]:
    """The stack file's config, as the engine passes it to the program (objects as JSON)."""
    config = {}
    for key, value in doc.items():
        if value is None:
            continue
        full = f"gcp:{key}" if f"gcp:{key}" in _GCP else f"{NAMESPACE}:{key}"
        config[full] = value if isinstance(value, str) else json.dumps(value)
    return config


def validate(doc: Mapping[str, Any], stack: str, secret: bool = False) -> Any:
    """The settings of `doc`; InputsError with the stack file's messages when it is bad."""
    secret_keys = frozenset({f"{NAMESPACE}:service"}) if secret else frozenset()
    try:
        return _settings.parse_settings(to_config(doc), stack, secret_keys)
    except _settings.SettingsError as err:
        raise InputsError([as_input_names(str(p)) for p in err.problems]) from None


def _set(doc: Any, path: tuple[str, ...], value: Any) -> Any:
    """A copy of `doc` with `value` at `path`."""
    head, *rest = path
    copy = dict(doc)
    copy[head] = _set(doc.get(head, {}), tuple(rest), value) if rest else value
    return copy


def _checked(doc: Mapping[str, Any], stack: str, leaf: Leaf) -> pulumi.Output[Any]:
    """The Output, judged like every other input once its value is known (during `pulumi up`,
    or a preview where it is already known): a bad value fails the resource that takes it."""

    def check(args: list[Any]) -> Any:
        value, secret = args
        validate(_set(doc, leaf.path, value), stack, secret)
        return value

    return pulumi.Output.all(leaf.output, pulumi.Output.from_input(leaf.output.is_secret())).apply(check)


def declare(
    name: str, inputs: Mapping[str, Any], args_type: Any, stack: str, parent: pulumi.Resource
) -> Mapping[str, pulumi.Input[Any]]:
    """Validate the inputs (of type `args_type`, as the provider maps them: Python names), declare
    the TaskWorker, and return what the Python program exports."""
    doc, leaves = to_document(inputs, args_type)
    fixed = [leaf for leaf in leaves if _pattern(leaf.path) not in PASS_THROUGH]
    if fixed:
        raise InputsError(
            [
                f"{_dotted(leaf.path)}: (an Output) is not allowed; expected a value known when the program runs "
                f"(it decides which resources are declared); only {', '.join(sorted(PASS_THROUGH))} may be Outputs"
                for leaf in fixed
            ]
        )
    settings = validate(doc, stack)
    outputs = {leaf.path: _checked(doc, stack, leaf) for leaf in leaves}
    return _build(name, settings, outputs, parent)


# --- The project's entry points: only validate() above and _build() know their shape -------------


def _build(
    name: str, settings: Any, outputs: Mapping[tuple[str, ...], pulumi.Output[Any]], parent: pulumi.Resource
) -> Mapping[str, pulumi.Input[Any]]:
    """The TaskWorker of validated settings, each pass-through Output (by config path) in its place."""
    if outputs:
        service = settings.service
        image = outputs.get(("service", "image"), service.image)
        env = {**service.env, **{path[-1]: out for path, out in outputs.items() if path[:2] == ("service", "env")}}
        # model_copy(update=...) skips validation: the Outputs were judged with placeholders and
        # are judged again, with the same checks, when they resolve (_checked).
        settings = settings._replace(service=service.model_copy(update={"image": image, "env": env}))
    for warning in settings.warnings:
        pulumi.log.warn(as_input_names(warning), resource=parent)
    worker = _TaskWorker(name, _TaskWorkerArgs(settings=settings), pulumi.ResourceOptions(parent=parent))
    return worker.outputs


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path).replace(".[", "[")
