"""Pulumi.yaml and the stack files are what `pulumi up` expects."""

from __future__ import annotations

from pathlib import Path

import yaml

from tools.harness import ROOT, stacks


def test_project_file() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "task-worker"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "uv", "typechecker": "pyright"}}


def test_stacks_are_dev_and_prod() -> None:
    assert stacks() == ["dev", "prod"]


def test_stack_files_hold_only_config() -> None:
    for stack in stacks():
        doc = yaml.safe_load(Path(ROOT / f"Pulumi.{stack}.yaml").read_text())
        # `encryptionsalt` appears once `pulumi stack init` has run with a passphrase.
        assert set(doc) <= {"config", "encryptionsalt", "secretsprovider", "encryptedkey"}
