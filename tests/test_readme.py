"""The README's config table and commands match the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tools import schema

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_config_table_and_schema_are_generated_from_the_model() -> None:
    # Both derive from settings.py; a stale copy fails here (fix: `uv run python -m tools.schema`).
    assert schema.main(["--check"]) == 0


def test_config_table_lists_every_key() -> None:
    rows = set(re.findall(r"^\| `([^`]+)` \|", README, flags=re.M))
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
    (row,) = [line for line in README.splitlines() if line.startswith(f"| `{key}` |")]
    assert row.split(" | ")[1] == default


def test_readme_commands_exist() -> None:
    assert "uv run pytest" in README
    for module in ("tools.plan", "tools.enqueue", "tools.bench"):
        assert f"python -m {module}" in README
        assert (Path(__file__).resolve().parent.parent / (module.replace(".", "/") + ".py")).is_file()
