"""Pulumi.yaml is what `pulumi up` expects; LICENSE, .python-version, .gitignore are what a clone needs.

The stack files are checked in test_stack_files.py.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib

import yaml
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tools.harness import ROOT


def test_project_file() -> None:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "task-worker"
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "uv", "typechecker": "pyright"}}


# --- what a newcomer's clone needs beside the code ------------------------------------------------

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_license_is_apache_2() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.lstrip().startswith("Apache License\n                           Version 2.0, January 2004")
    assert "http://www.apache.org/licenses/" in text
    for section in ("1. Definitions.", "9. Accepting Warranty or Additional Liability.", "END OF TERMS AND CONDITIONS"):
        assert section in text  # the whole text, not a pointer to it
    assert "Copyright [yyyy] [name of copyright owner]" not in text
    assert re.search(r"^   Copyright \d{4} \S", text, flags=re.M)


def test_python_version_file_matches_the_project() -> None:
    pinned = (ROOT / ".python-version").read_text().strip()
    assert re.fullmatch(r"3\.\d+", pinned)
    assert Version(pinned) in SpecifierSet(PYPROJECT["project"]["requires-python"])
    # The lowest version the project allows is the one the checkers and uv use.
    assert PYPROJECT["tool"]["pyright"]["pythonVersion"] == pinned
    assert PYPROJECT["tool"]["ruff"]["target-version"] == "py" + pinned.replace(".", "")


def _ignored(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(path, p.rstrip("/")) for p in patterns)


def test_gitignore_covers_what_the_readme_commands_write() -> None:
    readme = (ROOT / "README.md").read_text()
    written = set(re.findall(r"(?:--json|--mermaid|>)\s+([\w.-]+\.(?:json|mmd|txt))\b", readme))
    assert written, "no output file found in the README's commands"
    patterns = [line for line in (ROOT / ".gitignore").read_text().splitlines() if line and not line.startswith("#")]
    assert [p for p in sorted(written) if not _ignored(p, patterns)] == []
    assert _ignored(".venv", patterns)
    assert not _ignored("Pulumi.dev.yaml", patterns)  # stack files are the user's to commit
