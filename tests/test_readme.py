"""The README's config table and commands match the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from settings import _QUEUE_FIELDS, _SERVICE_FIELDS, CONFIG_KEYS, QUEUE_DEFAULTS, SERVICE_DEFAULTS

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
TABLE_KEYS = set(re.findall(r"^\| `([^`]+)` \|", README, flags=re.M))


def _row(key: str) -> str:
    (row,) = [line for line in README.splitlines() if line.startswith(f"| `{key}` |")]
    return row


def test_every_config_key_is_documented() -> None:
    expected = {f"task-worker:{k}" for k in CONFIG_KEYS} | {"gcp:project", "gcp:region"}
    expected |= {f"task-worker:service.{k}" for k in _SERVICE_FIELDS}
    expected |= {f"task-worker:queues.<key>.{k}" for k in _QUEUE_FIELDS}
    config_rows = {k for k in TABLE_KEYS if ":" in k}
    assert config_rows == expected


@pytest.mark.parametrize("field", sorted(_QUEUE_FIELDS))
def test_queue_defaults_in_the_table(field: str) -> None:
    default = getattr(QUEUE_DEFAULTS, _QUEUE_FIELDS[field])
    shown = str(default).lower() if isinstance(default, bool) else str(default)
    shown = shown.removesuffix(".0")
    assert f"`{shown}`" in _row(f"task-worker:queues.<key>.{field}") or f'`"{shown}"`' in _row(
        f"task-worker:queues.<key>.{field}"
    )


@pytest.mark.parametrize("field", sorted(set(_SERVICE_FIELDS) - {"env", "ingress"}))
def test_service_defaults_in_the_table(field: str) -> None:
    default = str(getattr(SERVICE_DEFAULTS, _SERVICE_FIELDS[field]))
    row = _row(f"task-worker:service.{field}")
    assert f"`{default}`" in row or f'`"{default}"`' in row


def test_readme_commands_exist() -> None:
    assert "uv run pytest" in README
    for module in ("tools.plan", "tools.enqueue", "tools.bench"):
        assert f"python -m {module}" in README
        assert (Path(__file__).resolve().parent.parent / (module.replace(".", "/") + ".py")).is_file()
