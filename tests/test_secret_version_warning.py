"""A secret read at version "latest" is named in the plan's warnings (issue 16, item 4).

Cloud Run resolves an env var's secret at each instance start, and Google recommends pinning a
version rather than "latest" (Cloud Run "Configure secrets"). "latest" stays the default (existing
stacks keep working); the plan names each key that uses it.
"""

from __future__ import annotations

from typing import Any

import pytest

from settings import parse_settings
from tests.conftest import run_ok, stack_config

NS = "task-worker:service.secrets."


def latest_warnings(**service: Any) -> list[str]:
    settings = parse_settings(stack_config(service=service).values, "test")
    return [w for w in settings.warnings if '"latest"' in w]


@pytest.mark.parametrize("ref", ["db-pass", {"secret": "db-pass"}, {"secret": "db-pass", "version": "latest"}])
def test_latest_in_any_form_is_named(ref: Any) -> None:
    (warning,) = latest_warnings(secrets={"DB_PASSWORD": ref})
    assert warning.startswith(f'{NS}DB_PASSWORD uses version "latest"')
    assert "instance start" in warning
    assert "pin" in warning.lower()


@pytest.mark.parametrize("version", ["3", "prod-2026"])  # a number, an alias
def test_a_pinned_version_is_not_warned_about(version: str) -> None:
    assert latest_warnings(secrets={"DB_PASSWORD": {"secret": "db-pass", "version": version}}) == []


def test_each_latest_key_is_named_and_no_pinned_one() -> None:
    secrets = {"A_KEY": "a", "B_KEY": {"secret": "b", "version": "2"}, "C_KEY": {"secret": "c"}}
    (warning,) = latest_warnings(secrets=secrets)
    assert f"{NS}A_KEY, {NS}C_KEY use version" in warning
    assert "B_KEY" not in warning


def test_no_secrets_no_warning() -> None:
    assert latest_warnings() == []


def test_the_plan_shows_it_and_latest_stays_the_default() -> None:
    run = run_ok(stack_config(service={"secrets": {"DB_PASSWORD": "db-pass"}}))
    assert any(w.startswith(f"{NS}DB_PASSWORD uses") for w in run.warnings)
    envs = run.one("gcp:cloudrunv2/service:Service").inputs["template"]["containers"][0]["envs"]
    assert envs[0]["valueSource"]["secretKeyRef"]["version"] == "latest"
