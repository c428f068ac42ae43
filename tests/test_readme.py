"""The README's commands run as written: the Quick start's offline ones are run here (cheaply), and
every `python -m tools.X --flag` the README or docs/ show names a module and flags that exist."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools import plan

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DOCS = ["README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]


def _section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, flags=re.M | re.S)
    assert match, f"README has no section {title!r}"
    return match[1]


def _commands(text: str) -> list[str]:
    blocks = re.findall(r"^```bash\n(.*?)^```", text, flags=re.M | re.S)
    lines = (line.split(" #", 1)[0].strip() for block in blocks for line in block.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


QUICK_START = _commands(_section("Quick start"))


def test_quick_start_is_set_up_plan_and_tests() -> None:
    # Two commands to reach a plan, one for the tests; nothing that needs the Pulumi CLI or credentials.
    assert QUICK_START[:2] == ["uv sync", "uv run python -m tools.plan dev"]
    assert len(QUICK_START) == 3
    assert QUICK_START[2].startswith("uv run pytest")
    assert not re.search(r"\b(pulumi|gcloud)\b", "\n".join(QUICK_START))


# The README's figures describe Pulumi.dev.yaml as shipped; the team that adopts the repo edits it
# (its project, its queues), and then only the command's working is checked, not the sample's figures.
SHIPPED_DEV_SHA256 = "3a750e9597dbacc71bb8becde5443ff6794a373b2fcd86528616961fbb448f8c"


def _dev_is_the_shipped_sample() -> bool:
    return hashlib.sha256((ROOT / "Pulumi.dev.yaml").read_bytes()).hexdigest() == SHIPPED_DEV_SHA256


def test_quick_start_plan_runs_and_ends_with_the_line_the_readme_shows(capsys: pytest.CaptureFixture[str]) -> None:
    words = QUICK_START[1].split()
    assert words[:4] == ["uv", "run", "python", "-m"]
    assert words[4] == "tools.plan"
    assert plan.main(words[5:]) == 0
    last = capsys.readouterr().out.splitlines()[-1]
    assert re.fullmatch(r"\d+ resources \(\d+ cloud resources, \d+ components\), critical path \d+, invokes 0", last)
    if not _dev_is_the_shipped_sample():
        pytest.skip("Pulumi.dev.yaml is no longer the shipped sample the README's line describes")
    shown = re.search(r"`(\d+ resources \(.*?invokes \d+)`", _section("Quick start"))
    assert shown, "the Quick start shows no sample summary line"
    assert shown[1] == last
    # docs/plan.md shows the same stack's line.
    assert f"`{last}`" in (ROOT / "docs" / "plan.md").read_text()


def test_quick_start_warnings_are_the_ones_the_readme_names(capsys: pytest.CaptureFixture[str]) -> None:
    assert plan.main(["dev"]) == 0
    if not _dev_is_the_shipped_sample():
        pytest.skip("Pulumi.dev.yaml is no longer the shipped sample whose placeholders the README names")
    warned = [line for line in capsys.readouterr().out.splitlines() if line.startswith("warning:")]
    named = re.findall(r"`((?:gcp|task-worker):\w+)`", _section("Quick start"))
    assert len(warned) == len(named)
    for key in named:
        assert any(key in line for line in warned), key


def test_quick_start_test_command_is_accepted_by_pytest() -> None:
    # Collect only (the whole suite would double CI's time): the flags the README gives must be valid.
    flags = QUICK_START[2].split()[3:]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", *flags, "--collect-only", "-p", "no:cacheprovider", "tests/test_readme.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_uv_sync_installs_from_the_lock() -> None:
    assert (ROOT / "uv.lock").is_file()
    assert "client" in (ROOT / "pyproject.toml").read_text()  # tools.enqueue's group, a default group


def _tool_calls() -> list[tuple[str, str, str]]:
    calls = []
    for name in DOCS:
        text = (ROOT / name).read_text()
        for line in text.splitlines():
            for module, rest in re.findall(r"python -m (tools\.\w+)([^`|#]*)", line):
                calls.append((name, module, rest))
    return calls


TOOL_CALLS = _tool_calls()


def test_the_docs_call_the_tools() -> None:
    modules = {module for _, module, _ in TOOL_CALLS}
    assert {"tools.plan", "tools.schema", "tools.outputs", "tools.enqueue"} <= modules


@pytest.mark.parametrize(("where", "module", "rest"), TOOL_CALLS, ids=[f"{w}:{m}" for w, m, _ in TOOL_CALLS])
def test_every_tool_command_names_a_module_and_flags_that_exist(where: str, module: str, rest: str) -> None:
    source = ROOT / (module.replace(".", "/") + ".py")
    assert source.is_file(), f"{where}: {module} does not exist"
    text = source.read_text()
    for flag in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", rest):
        assert f'"{flag}"' in text, f"{where}: {module} has no flag {flag}"


def test_readme_stays_short_and_the_reference_lives_in_docs() -> None:
    # A newcomer reads it to the end: recipes and links; tables of keys and roles are in docs/.
    assert len(README.splitlines()) <= 250
    assert "config-table:begin" not in README
    assert "| principal | role |" not in README
