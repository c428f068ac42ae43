"""Pulumi.yaml is what `pulumi up` expects (the stack files: test_stack_files.py)."""

from __future__ import annotations

import yaml

from tools.harness import ROOT


def test_project_file() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "task-worker"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "uv", "typechecker": "pyright"}}
