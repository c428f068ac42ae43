"""The docs match the code: the generated config table, and every stack-config example they show.

A YAML example in README.md or docs/*.md is what a reader pastes into `Pulumi.<stack>.yaml`: it must
pass the editor schema (schemas/stack-config.schema.json) and the program's own checks alike.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema.validators
import pytest
import regress
import yaml
from jsonschema.exceptions import ValidationError

from settings import SettingsError, parse_settings
from tools import schema
from tools.stackfile import read_stack_file

ROOT = Path(__file__).resolve().parent.parent
CONFIG_DOC = (ROOT / "docs" / "configuration.md").read_text()
DOCS = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
SCHEMA = json.loads(schema.SCHEMA_PATH.read_text())


# Editors read the schema's patterns as JavaScript regexes with the u flag (`\p{Ll}` in label keys),
# which Python's re cannot compile: match them with regress (ECMA-262), as check-jsonschema does.
def _ecma(pattern: str, text: str) -> bool:
    return regress.Regex(pattern, flags="u").find(text) is not None


def _pattern(validator: Any, pattern: str, instance: Any, _: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _ecma(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any, _: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "object"):
        for pattern, sub in patterns.items():
            for key, value in instance.items():
                if _ecma(pattern, key):
                    yield from validator.descend(value, sub, path=key, schema_path=pattern)


def _additional(validator: Any, additional: Any, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    patterns = schema.get("patternProperties", {})
    extra = [k for k in instance if k not in schema.get("properties", {}) and not any(_ecma(p, k) for p in patterns)]
    if additional is False and extra:
        yield ValidationError(f"unexpected keys {extra}")
    elif isinstance(additional, dict):
        for key in extra:
            yield from validator.descend(instance[key], additional, path=key)


_Validator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    {"pattern": _pattern, "patternProperties": _pattern_properties, "additionalProperties": _additional},
)
VALIDATOR = _Validator(SCHEMA)
# What an example is pasted into: the docs' examples are written for a project `my-project-dev` in
# europe-west1. A constant, not Pulumi.dev.yaml: that file is the adopting team's to change.
BASE = {"gcp:project": "my-project-dev", "gcp:region": "europe-west1", "task-worker:deletionProtection": False}


# --- the config table ------------------------------------------------------------------------------


def test_config_table_and_schema_are_generated_from_the_model() -> None:
    # Both derive from settings/; a stale copy fails here (fix: `uv run python -m tools.schema`).
    assert schema.main(["--check"]) == 0


def test_config_table_lives_in_docs_configuration() -> None:
    assert schema.TABLE_PATH == ROOT / "docs" / "configuration.md"
    assert schema.BEGIN in CONFIG_DOC
    assert schema.END in CONFIG_DOC


def test_config_table_lists_every_key() -> None:
    rows = set(re.findall(r"^\| `([^`]+)` \|", CONFIG_DOC, flags=re.M))
    keys = {key for key, *_ in schema.config_rows()}
    assert {"gcp:project", "task-worker:service.cpuIdle", "task-worker:queues.<key>.maxAttempts"} <= keys
    assert keys <= rows


@pytest.mark.parametrize(
    ("key", "default"),
    [
        ("task-worker:service.timeoutSeconds", "`600`"),
        ("task-worker:service.cpu", '`"1"`'),
        ("task-worker:service.cpuIdle", "`true`"),
        ("task-worker:queues.<key>.maxDispatchesPerSecond", "`10`"),
        ("task-worker:queues.<key>.minBackoff", '`"0.1s"`'),
        ("task-worker:deletionProtection", "`true`"),
    ],
)
def test_table_shows_defaults(key: str, default: str) -> None:
    (row,) = [line for line in CONFIG_DOC.splitlines() if line.startswith(f"| `{key}` |")]
    assert row.split(" | ")[1] == default


def test_doc_with_table_refuses_a_doc_without_markers() -> None:
    with pytest.raises(SystemExit, match="lacks the markers"):
        schema.doc_with_table("# no table here\n")


# --- stack-config examples -------------------------------------------------------------------------


def _yaml_blocks() -> list[tuple[str, str]]:
    found = []
    for name in DOCS:
        text = (ROOT / name).read_text()
        for i, block in enumerate(re.findall(r"^```ya?ml\n(.*?)^```", text, flags=re.M | re.S)):
            found.append((f"{name}#{i}", textwrap.dedent(block)))
    return found


def _as_stack_config(block: str) -> dict[str, Any] | None:
    """The example as a whole stack config (pasted into BASE), or None if it is not one."""
    doc = yaml.safe_load(block)
    if isinstance(doc, dict) and isinstance(doc.get("config"), dict):
        doc = doc["config"]
    if not isinstance(doc, dict) or not any(str(k).startswith(("task-worker:", "gcp:")) for k in doc):
        return None
    return {"config": {**BASE, **doc}}


EXAMPLES = [(where, config) for where, block in _yaml_blocks() if (config := _as_stack_config(block))]


def test_the_docs_show_stack_config_examples() -> None:
    # The scan finds them: adopting resources, secrets, VPC, monitoring and dead letters at least.
    shown = json.dumps([config for _, config in EXAMPLES])
    assert len(EXAMPLES) >= 4
    for key in ("importId", "secrets", "vpc", "deadLetter"):
        assert key in shown, key


@pytest.mark.parametrize(("where", "config"), EXAMPLES, ids=[where for where, _ in EXAMPLES])
def test_every_stack_config_example_passes_the_editor_schema(where: str, config: dict[str, Any]) -> None:
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(config)]
    assert not errors, f"{where}: {errors}"


@pytest.mark.parametrize(("where", "config"), EXAMPLES, ids=[where for where, _ in EXAMPLES])
def test_every_stack_config_example_passes_the_program(where: str, config: dict[str, Any], tmp_path: Path) -> None:
    stack_file = tmp_path / "Pulumi.dev.yaml"
    stack_file.write_text(yaml.safe_dump(config, sort_keys=False))
    read = read_stack_file(stack_file, "task-worker")
    parse_settings(read.values, "dev", read.secret_keys)  # raises SettingsError naming every problem


# --- the short secret form -------------------------------------------------------------------------


def _secrets(value: object) -> dict[str, Any]:
    return {"config": {**BASE, "task-worker:service": {"secrets": {"DB_PASSWORD": value}}}}


@pytest.mark.parametrize(
    "value", ["db-pass", "projects/other-project/secrets/api", {"secret": "db-pass", "version": "4"}]
)
def test_schema_takes_every_secret_form_the_model_takes(value: object) -> None:
    assert not list(VALIDATOR.iter_errors(_secrets(value)))
    config = {k: json.dumps(v) if not isinstance(v, str) else v for k, v in _secrets(value)["config"].items()}
    parse_settings(config, "dev")


@pytest.mark.parametrize(
    "value",
    [
        "db/pass",
        "",
        {"version": "4"},
        {"secret": "db-pass", "version": "NEW!"},
        {"secret": "db-pass", "version": "NEW"},
        3,
    ],
)
def test_schema_refuses_a_secret_the_model_refuses(value: object) -> None:
    assert list(VALIDATOR.iter_errors(_secrets(value)))
    config = {k: json.dumps(v) if not isinstance(v, str) else v for k, v in _secrets(value)["config"].items()}
    with pytest.raises(SettingsError, match=r"task-worker:service\.secrets\.DB_PASSWORD"):
        parse_settings(config, "dev")


# --- links -----------------------------------------------------------------------------------------


def _slug(heading: str) -> str:
    # GitHub's anchors: lowercase, punctuation dropped (but - and _), spaces to -.
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _links() -> list[tuple[str, str]]:
    found = []
    for name in DOCS:
        text = re.sub(r"^```.*?^```", "", (ROOT / name).read_text(), flags=re.M | re.S)
        found += [(name, target) for target in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in target]
    return found


LINKS = _links()


def test_the_docs_link_to_each_other() -> None:
    assert ("README.md", "docs/configuration.md") in LINKS
    assert any(where == "README.md" and "#" in target for where, target in LINKS)


@pytest.mark.parametrize(("where", "target"), LINKS, ids=[f"{w}->{t}" for w, t in LINKS])
def test_every_relative_link_and_anchor_resolves(where: str, target: str) -> None:
    path, _, anchor = target.partition("#")
    file = (ROOT / where).parent / path if path else ROOT / where
    assert file.exists(), f"{where}: {target}: no such file"
    if anchor and file.suffix == ".md":
        headings = re.findall(r"^#+ (.+)$", re.sub(r"^```.*?^```", "", file.read_text(), flags=re.M | re.S), re.M)
        assert anchor in {_slug(h) for h in headings}, f"{where}: {target}: no such heading"


# --- Python examples -------------------------------------------------------------------------------

PYTHON_BLOCKS = [
    (f"{name}#{i}", block)
    for name in DOCS
    for i, block in enumerate(re.findall(r"^```python\n(.*?)^```", (ROOT / name).read_text(), flags=re.M | re.S))
]


def test_the_docs_show_python_examples() -> None:
    assert any("StackReference" in block for _, block in PYTHON_BLOCKS)


@pytest.mark.parametrize(("where", "block"), PYTHON_BLOCKS, ids=[where for where, _ in PYTHON_BLOCKS])
def test_every_python_example_parses(where: str, block: str) -> None:
    ast.parse(textwrap.dedent(block), filename=where)
