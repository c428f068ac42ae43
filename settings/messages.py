"""From pydantic's errors to problems by key, and reading the engine's config strings."""

import difflib
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any, get_args, get_origin

from pydantic import (
    BaseModel,
    ValidationError,
)
from pydantic.fields import FieldInfo

from settings.fields import _GCP_KEYS, CONFIG_KEYS, NAMESPACE, StackConfig
from settings.problems import Problem

# --- From pydantic's errors to problems by key ----------------------------------------------------


def _show(value: Any) -> str:
    if isinstance(value, str):
        text = repr(value)
    else:
        try:
            text = json.dumps(value, default=str)
        except ValueError:
            text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _key(loc: Iterable[str | int]) -> str:
    parts = list(loc)
    if not parts:
        return NAMESPACE
    head = str(parts[0])
    key = _GCP_KEYS.get(head, f"{NAMESPACE}:{head}")
    for part in parts[1:]:
        key += f"[{part}]" if isinstance(part, int) else f".{part}"
    return key


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The config models an annotation holds (through Optional, unions, Annotated, dict values)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _is_map(annotation: Any) -> bool:
    return get_origin(annotation) is dict or any(_is_map(arg) for arg in get_args(annotation))


def _field_info(loc: tuple[str | int, ...]) -> tuple[FieldInfo | None, type[BaseModel] | None]:
    """The FieldInfo a location points at (map keys and list indexes skipped), and its model."""
    model: type[BaseModel] | None = StackConfig
    map_model: type[BaseModel] | None = None  # the model of a map's values: the next part is a key
    info: FieldInfo | None = None
    for part in loc:
        fields = {(i.alias or n): i for n, i in model.model_fields.items()} if model is not None else {}
        if isinstance(part, str) and part in fields:
            info = fields[part]
            models = _models_in(info.annotation)
            found = models[0] if models else None
            model, map_model = (None, found) if _is_map(info.annotation) else (found, None)
        elif map_model is not None:
            model, map_model = map_model, None
        else:
            break
    return info, model


def _allowed_text(info: FieldInfo | None) -> str:
    extra = info.json_schema_extra if info is not None and isinstance(info.json_schema_extra, dict) else {}
    text = extra.get("x-allowed")
    return f"expected {text}" if isinstance(text, str) else "see the config table in docs/configuration.md"


def _problems(err: ValidationError, secret_tops: frozenset[str]) -> list[Problem]:
    problems: list[Problem] = []

    def add(loc: tuple[str | int, ...], value: Any, allowed: str) -> None:
        key = _key(loc)
        top = _key(loc[:1])
        shown = "[secret]" if top in secret_tops else _show(value)
        problems.append(Problem(key, shown, allowed))

    for e in err.errors():
        loc = tuple(e["loc"])
        kind, ctx = e["type"], e.get("ctx") or {}
        if kind == "task_worker_cross":
            for sub, value, allowed in ctx["problems"]:
                parts = re.findall(r"\[\d+\]|[^.\[\]]+", sub)
                add(loc + tuple(int(p[1:-1]) if p.startswith("[") else p for p in parts), value, allowed)
            continue
        if kind == "task_worker_unset":
            add((ctx["key"],), "(unset)", ctx["allowed"])
            continue
        if loc and loc[-1] == "[key]":
            # A map key that fails its pattern: the key itself is the value.
            loc = loc[:-1]
            info, _ = _field_info(loc[:-1])
            if kind == "task_worker":
                add(loc, loc[-1], ctx.get("allowed", ""))
            else:
                extra = info.json_schema_extra if info is not None and isinstance(info.json_schema_extra, dict) else {}
                add(loc, loc[-1], f"expected {extra.get('x-keys', 'another key')}")
            continue
        if kind == "extra_forbidden":
            _, model = _field_info(loc[:-1])
            if model is None or model is StackConfig:
                known = sorted(CONFIG_KEYS)
            else:
                known = sorted((i.alias or n) for n, i in model.model_fields.items())
            near = difflib.get_close_matches(str(loc[-1]), known, n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            add(loc, e["input"], f"unknown key{hint}; expected one of: {', '.join(known)}")
            continue
        if kind == "missing":
            info, _ = _field_info(loc)
            add(loc, "(unset)", "required: " + _allowed_text(info).removeprefix("expected "))
            continue
        if kind == "task_worker":
            allowed = ctx.get("allowed", "")
            add(
                loc,
                e["input"],
                allowed if allowed.startswith(("expected", "public", "a project")) else f"expected {allowed}",
            )
            continue
        # A type or constraint error on a field (or inside one: an env value, a list item).
        field_loc = loc
        info, _ = _field_info(field_loc)
        while info is None and field_loc:
            field_loc = field_loc[:-1]
            info, _ = _field_info(field_loc)
        add(loc, e["input"], _allowed_text(info))
    return problems


# --- Reading the engine's config ---------------------------------------------------------------


def _decode(text: str) -> Any:
    """Config values arrive as strings; structured ones (and bools, numbers) as JSON."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError):
        return text  # a plain string; the field's own check says what was expected


def _namespace_near_misses(config: Mapping[str, str]) -> list[Problem]:
    """`task_worker:queues` lands in another namespace: the program would never see it."""
    problems = []
    squash = re.sub(r"[^a-z0-9]", "", NAMESPACE)
    for key in sorted(config):
        ns, sep, rest = key.partition(":")
        if not sep or ns in (NAMESPACE, "gcp"):
            continue
        if re.sub(r"[^a-z0-9]", "", ns.lower()) == squash or difflib.SequenceMatcher(None, ns, NAMESPACE).ratio() > 0.8:
            problems.append(
                Problem(key, "(this key)", f"namespace {ns!r} is not this project's: did you mean {NAMESPACE}:{rest}?")
            )
    return problems


def _non_finite(value: Any, loc: tuple[str | int, ...] = ()) -> Iterable[tuple[str | int, ...]]:
    if isinstance(value, float) and not math.isfinite(value):
        yield loc
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _non_finite(v, (*loc, str(k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _non_finite(v, (*loc, i))
