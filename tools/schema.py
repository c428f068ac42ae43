"""Derive, from the one config model in settings.py, the config table of docs/configuration.md and
the JSON Schema that editors use for `Pulumi.<stack>.yaml`.

    uv run python -m tools.schema           # rewrite schemas/stack-config.schema.json and the docs table
    uv run python -m tools.schema --check   # exit 1 if either is stale (a test runs this)
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from settings import (
    _GCP_KEYS,
    CONFIG_KEYS,
    NAMESPACE,
    AccountSettings,
    DeadLetterSettings,
    MonitoringSettings,
    ProbeSettings,
    QueueAlertSettings,
    QueueSettings,
    SecretRef,
    ServiceSettings,
    StackConfig,
    VpcSettings,
)

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_PATH = ROOT / "schemas" / "stack-config.schema.json"
TABLE_PATH = ROOT / "docs" / "configuration.md"  # the table lives between BEGIN and END there
BEGIN, END = "<!-- config-table:begin (python -m tools.schema) -->", "<!-- config-table:end -->"
_SECURE = {"type": "object", "properties": {"secure": {"type": "string"}}, "required": ["secure"]}


def _or_secure(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"$ref": "#/$defs/secure"}]}


def _closed_maps(schema: Any) -> None:
    """A map whose keys have a pattern refuses other keys too (pydantic leaves them open)."""
    if isinstance(schema, dict):
        if "patternProperties" in schema:
            schema.setdefault("additionalProperties", False)
        for value in schema.values():
            _closed_maps(value)
    elif isinstance(schema, list):
        for value in schema:
            _closed_maps(value)


def stack_schema() -> dict[str, Any]:
    model = StackConfig.model_json_schema(by_alias=True, mode="validation")
    defs = model.pop("$defs", {})
    defs["secure"] = _SECURE
    env = defs["ServiceSettings"]["properties"]["env"]["patternProperties"]
    for pattern, value in env.items():
        env[pattern] = _or_secure(value)  # `pulumi config set --secret --path 'task-worker:service.env.X'`
    # The model refuses the alias NEW in a validator the JSON schema cannot see (gcp-facts.md).
    defs["SecretRef"]["properties"]["version"]["not"] = {"const": "NEW"}
    _closed_maps(model)
    _closed_maps(defs)
    props: dict[str, Any] = {}
    for name, schema in model["properties"].items():
        keys = [_GCP_KEYS[name]] if name in _GCP_KEYS else [f"{NAMESPACE}:{name}", name]  # bare keys are ours
        for key in keys:
            props[key] = _or_secure(schema)
    ours = "|".join(sorted(CONFIG_KEYS))
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/task-worker/task-worker/schemas/stack-config.schema.json",
        "title": "task-worker stack file (Pulumi.<stack>.yaml)",
        "description": "Generated from settings.py by `python -m tools.schema`; do not edit.",
        "type": "object",
        "properties": {
            "config": {
                "type": "object",
                "properties": props,
                "required": ["gcp:project"],
                # Our namespace (and bare keys, which are ours) holds only the keys above.
                "patternProperties": {f"^({NAMESPACE}:)?(?!({ours})$)[^:]+$": False},
            }
        },
        "$defs": defs,
    }


def _default(info: FieldInfo) -> str:
    if info.is_required():
        return "(required)"
    value = info.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "every default below"
    if value is None:
        return "(unset)"
    if isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
        return "one queue `default` with every default below"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, tuple):
        value = list(value)
    return f"`{json.dumps(value)}`"


def _rows(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, str, str, str]]:
    for name, info in model.model_fields.items():
        key = _GCP_KEYS.get(name) or f"{prefix}{info.alias or name}"
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        allowed = str(extra.get("x-allowed", ""))
        what = (info.description or "").split(" Allowed: ")[0].removeprefix(f"{key} — ")
        yield key, _default(info), allowed, what


def config_rows() -> list[tuple[str, str, str, str]]:
    ns = f"{NAMESPACE}:"
    return [
        *_rows(StackConfig, ns),
        *_rows(ServiceSettings, f"{ns}service."),
        *_rows(SecretRef, f"{ns}service.secrets.<NAME>."),
        *_rows(VpcSettings, f"{ns}service.vpc."),
        *_rows(ProbeSettings, f"{ns}service.<probe>."),
        *_rows(QueueSettings, f"{ns}queues.<key>."),
        *_rows(QueueAlertSettings, f"{ns}queues.<key>.alerts."),
        *_rows(AccountSettings, f"{ns}accounts.<account>."),
        *_rows(MonitoringSettings, f"{ns}monitoring."),
        *_rows(DeadLetterSettings, f"{ns}deadLetter."),
    ]


def render_table() -> str:
    lines = ["| key | default | allowed | what |", "| --- | --- | --- | --- |"]
    for key, default, allowed, what in config_rows():
        cells = [c.replace("|", "\\|") for c in (allowed, what)]
        lines.append(f"| `{key}` | {default} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def schema_text() -> str:
    return json.dumps(stack_schema(), indent=2, ensure_ascii=False) + "\n"


def doc_with_table(doc: str) -> str:
    """`doc` with the generated table between its markers."""
    head, sep, rest = doc.partition(BEGIN)
    _, sep2, tail = rest.partition(END)
    if not sep or not sep2:
        raise SystemExit(f"{TABLE_PATH.relative_to(ROOT)} lacks the markers {BEGIN} … {END}")
    return f"{head}{BEGIN}\n{render_table()}\n{END}{tail}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.schema", description="Config table and JSON Schema.")
    parser.add_argument("--check", action="store_true", help="exit 1 when the schema or the config table is stale")
    args = parser.parse_args(argv)
    fresh = {SCHEMA_PATH: schema_text(), TABLE_PATH: doc_with_table(TABLE_PATH.read_text())}
    stale = [p for p, text in fresh.items() if not p.is_file() or p.read_text() != text]
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(ROOT)} (run `uv run python -m tools.schema`)", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fresh[path])
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
