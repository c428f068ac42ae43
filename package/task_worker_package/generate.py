"""Write args.py (the package's typed inputs) from the stack-config model (settings/fields.py), and
schema.json (what the SDK's analyzer infers from them), so neither is written by hand.

    uv run python -m task_worker_package.generate           # from package/: rewrite both
    uv run python -m task_worker_package.generate --check   # exit 1 if either is stale (a test runs this)

The analyzer reads descriptions from attribute docstrings in the source (inspect.getsource), so the
settings' descriptions are copied into args.py as docstrings; the freshness test keeps them equal.
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from task_worker_package.bridge import PACKAGE_NAME, PASS_THROUGH, as_input_names, root_model

HERE = Path(__file__).resolve().parent
ARGS_PATH = HERE / "args.py"
SCHEMA_PATH = HERE.parent / "schema.json"
PYPROJECT = HERE.parent / "pyproject.toml"


def type_name(model: type[BaseModel]) -> str:
    """ServiceSettings -> Service: the SDKs add their own suffix (TypeScript: inputs.ServiceArgs)."""
    return model.__name__.removesuffix("Settings")


def _strip(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _is_union(annotation: Any) -> bool:
    return get_origin(annotation) in (Union, types.UnionType)


def python_type(annotation: Any, path: str, models: list[type[BaseModel]]) -> str:
    """The analyzer-friendly annotation for a settings annotation; nested models are collected."""
    annotation = _strip(annotation)
    if path in PASS_THROUGH:
        return f"pulumi.Input[{python_type(annotation, '', models)}]"
    if _is_union(annotation):
        rest = [a for a in get_args(annotation) if a is not type(None)]
        if len(rest) != 1:
            raise TypeError(f"{path}: a union the schema cannot express: {annotation}")
        return python_type(rest[0], path, models)
    if annotation is Any:  # service.cpu: a string or a number in the stack file; a string here
        return "str"
    if get_origin(annotation) is Literal:
        kinds = {type(v) for v in get_args(annotation)}
        if len(kinds) != 1:
            raise TypeError(f"{path}: mixed literal {annotation}")
        return kinds.pop().__name__
    if annotation in (str, int, float, bool):
        return annotation.__name__
    if get_origin(annotation) is tuple:
        return f"list[{python_type(get_args(annotation)[0], path + '[]', models)}]"
    if get_origin(annotation) is dict:
        return f"dict[str, {python_type(get_args(annotation)[1], path + '.*', models)}]"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in models:
            models.append(annotation)
        return type_name(annotation)
    raise TypeError(f"{path}: no schema type for {annotation!r}")


def _fields(model: type[BaseModel]) -> Iterator[tuple[str, FieldInfo]]:
    yield from model.model_fields.items()


def _docstring(text: str) -> str:
    """A string statement after the attribute (the analyzer's docstring); the stack file's key
    names become the inputs' (task-worker:monitoring -> monitoring)."""
    text = re.sub(r"^gcp:\w+ — (.)", lambda m: m.group(1).upper(), text)  # "gcp:project — the …": "The …"
    text = as_input_names(text).replace("\\", "\\\\").replace("\n", "\\n")
    # The quotes ruff format would choose: double, unless single ones need fewer escapes.
    if text.count('"') > text.count("'"):
        return "'" + text.replace("'", "\\'") + "'"
    return '"' + text.replace('"', '\\"') + '"'


def _class(name: str, doc: str, model: type[BaseModel], prefix: str, models: list[type[BaseModel]]) -> list[str]:
    lines = [f"class {name}(TypedDict, total=False):", f"    {_docstring(doc)}", ""]
    for field, info in _fields(model):
        alias = info.alias or field
        if camel_case(field) != alias:
            raise ValueError(f"{model.__name__}.{field}: the schema would name it {camel_case(field)}, not {alias}")
        annotation = python_type(info.annotation, prefix + alias, models)
        if info.is_required():
            annotation = f"Required[{annotation}]"
        lines += [f"    {field}: {annotation}", f"    {_docstring(info.description or '')}", ""]
    return lines


def camel_case(name: str) -> str:
    """As the analyzer names a property (pulumi.provider.experimental.util.camel_case)."""
    first, *rest = name.split("_")
    return first + "".join(w[:1].upper() + w[1:] for w in rest)


def args_text() -> str:
    root = root_model()
    models: list[type[BaseModel]] = []
    body = _class(
        "TaskWorkerArgs",
        "The TaskWorker's inputs: the stack file's keys, each without its namespace (gcp or task-worker).",
        root,
        "",
        models,
    )
    done: list[type[BaseModel]] = []
    nested: list[list[str]] = []
    # Each nested model once, every prefix it is found under resolving to the same type.
    while len(done) < len(models):
        model = next(m for m in models if m not in done)
        done.append(model)
        prefix = _prefix_of(root, model)
        nested.append(_class(type_name(model), (model.__doc__ or "").strip(), model, prefix, models))
    source = root.__module__.replace(".", "/") + ".py"
    head = [
        f'"""Generated from {source} by `python -m task_worker_package.generate`; do not edit.',
        "",
        "Every input of the TaskWorker component, typed and described for the SDK's analyzer (the",
        'descriptions are the settings model\'s). All optional but project; defaults are the stack file\'s."""',
        "",
        "from typing import Required, TypedDict",
        "",
        "import pulumi",
        "",
        "",
    ]
    # Nested types first (deepest last found, defined first), so annotations resolve at import.
    blocks = [*reversed(nested), body]
    return "\n".join(head + [line for block in blocks for line in [*block, ""]]).rstrip() + "\n"


def _prefix_of(root: type[BaseModel], target: type[BaseModel]) -> str:
    """The config path (dotted, `*` for a map key) under which `target` first appears."""
    queue: list[tuple[type[BaseModel], str]] = [(root, "")]
    while queue:
        model, prefix = queue.pop(0)
        for field, info in _fields(model):
            path = prefix + (info.alias or field)
            for found, sub in _models_with_paths(info.annotation, path):
                if found is target:
                    return sub + "."
                queue.append((found, sub + "."))
    raise LookupError(target)


def _models_with_paths(annotation: Any, path: str) -> Iterator[tuple[type[BaseModel], str]]:
    annotation = _strip(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation, path
    elif get_origin(annotation) is dict:
        yield from _models_with_paths(get_args(annotation)[1], path + ".*")
    elif get_origin(annotation) is tuple:
        yield from _models_with_paths(get_args(annotation)[0], path + "[]")
    else:
        for arg in get_args(annotation):
            yield from _models_with_paths(arg, path)


def version() -> str:
    import tomllib

    return tomllib.loads(PYPROJECT.read_text())["project"]["version"]


def schema_text() -> str:
    from pulumi.provider.experimental.component import ComponentProvider

    from task_worker_package import component

    provider = ComponentProvider([component.TaskWorker], PACKAGE_NAME, None, version())
    schema = json.loads(provider.schema or "{}")
    return json.dumps(schema, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m task_worker_package.generate", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when args.py or schema.json is stale")
    args = parser.parse_args(argv)
    stale = []
    fresh_args = args_text()
    if not ARGS_PATH.is_file() or ARGS_PATH.read_text() != fresh_args:
        stale.append(ARGS_PATH)
        if not args.check:
            ARGS_PATH.write_text(fresh_args)
            # The schema comes from the module: load the new one.
            for name in ("task_worker_package.args", "task_worker_package.component"):
                if name in sys.modules:
                    importlib.reload(sys.modules[name])
    fresh_schema = schema_text()
    if not SCHEMA_PATH.is_file() or SCHEMA_PATH.read_text() != fresh_schema:
        stale.append(SCHEMA_PATH)
        if not args.check:
            SCHEMA_PATH.write_text(fresh_schema)
    for path in stale:
        verb = "stale" if args.check else "wrote"
        print(f"{verb}: {path.relative_to(HERE.parent.parent)}", file=sys.stderr if args.check else sys.stdout)
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
