"""The GitHub workflows: what they run against the cloud, and that the cloud jobs' install runs the program.

`.ci/check-workflows` validates their syntax and security (schema, zizmor); these tests pin behaviour.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = ROOT / ".github" / "workflows"
PULUMI_ACTION = "pulumi/actions@"
SETUP_UV = "astral-sh/setup-uv@"


def _load(path: Path) -> dict[Any, Any]:
    return yaml.safe_load(path.read_text())


def _workflow_files() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


def _triggers(workflow: dict[Any, Any]) -> dict[str, Any]:
    # PyYAML reads the bare key `on:` as the boolean True (YAML 1.1).
    on = workflow.get("on", workflow.get(True))
    if isinstance(on, dict):
        return on
    return dict.fromkeys([on] if isinstance(on, str) else on or [])


def _pulumi_steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in job.get("steps", []) if str(s.get("uses", "")).startswith(PULUMI_ACTION)]


def _pulumi_jobs() -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(workflow file, job ID, workflow, job) of every job that runs the Pulumi CLI."""
    found = []
    for path in _workflow_files():
        workflow = _load(path)
        for job_id, job in workflow.get("jobs", {}).items():
            if _pulumi_steps(job):
                found.append((path.name, job_id, workflow, job))
    return found


def _flag(value: object) -> bool:
    # An action input is a string; YAML may hand `true` over as a bool.
    return value is True or str(value).lower() == "true"


# --- docs/ci.md --------------------------------------------------------------------------------------


def test_docs_ci_names_every_workflow() -> None:
    docs = (ROOT / "docs" / "ci.md").read_text()
    missing = [p.name for p in _workflow_files() if f"`{p.name}`" not in docs]
    assert not missing, f"docs/ci.md does not name {missing}"


def test_docs_ci_counts_the_workflows_it_names() -> None:
    docs = (ROOT / "docs" / "ci.md").read_text()
    words = {2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six", 7: "Seven", 8: "Eight"}
    count = len(_workflow_files())
    stated = re.search(r"^(\w+) workflows under `\.github/workflows/`", docs, re.MULTILINE)
    assert stated, "docs/ci.md should open with '<N> workflows under `.github/workflows/`'"
    assert stated.group(1) == words[count]


# --- Refresh and drift ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("file", "command"), [("deploy.yml", "up"), ("preview.yml", "preview")])
def test_cloud_runs_refresh_first(file: str, command: str) -> None:
    # Without --refresh Pulumi compares the program with the recorded state only: drift is
    # neither shown nor reverted (../shared/gcp-facts.md, "Drift is seen only with refresh").
    workflow = _load(WORKFLOWS / file)
    steps = [s for job in workflow["jobs"].values() for s in _pulumi_steps(job)]
    assert steps, f"{file} runs no pulumi/actions step"
    for step in steps:
        assert step["with"]["command"] == command
        assert _flag(step["with"].get("refresh")), f"{file}: step {step['name']!r} runs without refresh: true"


def test_drift_check_runs_daily_on_every_stack_with_refresh_and_expect_no_changes() -> None:
    workflow = _load(WORKFLOWS / "drift.yml")
    triggers = _triggers(workflow)
    assert triggers["schedule"], "drift.yml must run on a schedule"
    assert "workflow_dispatch" in triggers
    jobs = workflow["jobs"]
    # The stacks come from the files, as in ci.yml and preview.yml.
    assert any(".ci/stacks --json" in str(s.get("run", "")) for s in jobs["stacks"]["steps"])
    drift = jobs["drift"]
    assert drift["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.stacks.outputs.stacks) }}"
    assert drift["strategy"]["fail-fast"] is False  # one drifted stack must not hide the others
    (step,) = _pulumi_steps(drift)
    inputs = step["with"]
    assert inputs["command"] == "preview"
    assert _flag(inputs["refresh"])
    assert _flag(inputs["expect-no-changes"])
    assert inputs["stack-name"] == "${{ matrix.stack }}"


def test_drift_failure_names_the_stack_and_its_project() -> None:
    drift = _load(WORKFLOWS / "drift.yml")["jobs"]["drift"]
    (step,) = _pulumi_steps(drift)
    report = next(s for s in drift["steps"] if "::error title=Drift in stack" in str(s.get("run", "")))
    assert report["if"] == "${{ always() && steps.preview.outcome != 'skipped' }}"
    assert step["id"] == "preview"
    assert report["env"]["STACK"] == "${{ matrix.stack }}"
    run = report["run"]
    assert "Pulumi.$STACK.yaml" in run
    assert "gcp:project" in run
    assert "$where" in run.split("::error", 1)[1]


def test_drift_check_uses_the_read_only_preview_identity() -> None:
    drift = _load(WORKFLOWS / "drift.yml")["jobs"]["drift"]
    assert drift["environment"] == {"name": "preview-${{ matrix.stack }}", "deployment": False}
    assert drift["permissions"] == {"contents": "read", "id-token": "write"}


# --- The cloud jobs' install runs the program ------------------------------------------------------------


def _uv_syncs(job: dict[str, Any]) -> list[tuple[list[str], dict[str, str]]]:
    """Each `uv sync …` a job's steps run before Pulumi, with the step's env over the job's."""
    syncs = []
    for step in job["steps"]:
        if str(step.get("uses", "")).startswith(PULUMI_ACTION):
            break
        for line in str(step.get("run", "")).splitlines():
            if line.strip().startswith("uv sync"):
                words = shlex.split(line, comments=True)
                syncs.append((words[2:], {**job.get("env", {}), **step.get("env", {})}))
    return syncs


def _uv() -> str:
    uv = os.environ.get("UV") or shutil.which("uv")  # `uv run` sets UV to its own path
    assert uv, "uv is needed to replay the workflows' install"
    return uv


def _replay_install(args: list[str], env: dict[str, str], venv: Path) -> None:
    # The same command and flags, from uv's cache (no network), into a new environment.
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    for keep in ("UV_CACHE_DIR", "UV_PYTHON_DOWNLOADS", "UV_PYTHON"):
        if keep in os.environ:
            clean[keep] = os.environ[keep]
    run_env = {**clean, **{k: str(v) for k, v in env.items()}, "UV_PROJECT_ENVIRONMENT": str(venv)}
    done = subprocess.run(
        [_uv(), "sync", *args, "--offline", "--quiet"],
        cwd=ROOT,
        env=run_env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"uv sync {' '.join(args)} (env {env}) failed offline:\n{done.stderr}"


def _runs(venv: Path, *command: str) -> str:
    program = venv / "bin" / command[0]
    assert program.exists(), f"the job's install brings no `{command[0]}` (needed for: {' '.join(command)})"
    done = subprocess.run([str(program), *command[1:]], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"{' '.join(command)} does not run in the installed environment:\n{done.stderr}"
    return done.stdout


def _distributions(venv: Path) -> set[str]:
    """The installed distributions, `name==version`, read from their metadata directories."""
    site = next((venv / "lib").glob("python3*/site-packages"))
    return {d.name.removesuffix(".dist-info").lower().replace("_", "-") for d in site.glob("*.dist-info")}


PULUMI_JOBS = _pulumi_jobs()


@pytest.fixture(scope="module")
def ci_environment(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """What ci.yml's checks job installs: the environment whose `pyright` run CI requires clean."""
    job = _load(WORKFLOWS / "ci.yml")["jobs"]["checks"]
    assert any(s.get("run") == "uv run --frozen pyright" for s in job["steps"])
    venv = tmp_path_factory.mktemp("ci") / "venv"
    for args, env in _uv_syncs(job):
        _replay_install(args, env, venv)
    return _distributions(venv)


@pytest.mark.parametrize(("file", "job_id", "job"), [(f, j, job) for f, j, _, job in PULUMI_JOBS])
def test_each_cloud_job_installs_what_pulumi_yaml_runtime_options_run(
    file: str, job_id: str, job: dict[str, Any], ci_environment: set[str], tmp_path: Path
) -> None:
    """Replay the job's install (same `uv sync` flags, same env) and check each runtime option there.

    `typechecker: pyright` makes Pulumi run pyright in the program's directory before every preview
    and update, over the whole [tool.pyright] scope (tests, tools, policy, producer): it passes only
    where CI's own pyright step passes, so the job must install at least what CI installs. A lean
    install (UV_NO_DEFAULT_GROUPS=1) lacks pytest, hypothesis, google-cloud-tasks, … and every
    `pulumi up` would stop on pyright's missing imports.
    """
    options = _load(ROOT / "Pulumi.yaml")["runtime"]["options"]
    handled = {"toolchain", "typechecker"}
    assert set(options) <= handled, (
        f"Pulumi.yaml has runtime options this test does not check: {set(options) - handled}"
    )
    assert options["toolchain"] == "uv"
    # toolchain: uv — Pulumi runs uv itself, so uv must be on the job's PATH before Pulumi starts.
    steps = job["steps"]
    first_pulumi = next(i for i, s in enumerate(steps) if str(s.get("uses", "")).startswith(PULUMI_ACTION))
    assert any(str(s.get("uses", "")).startswith(SETUP_UV) for s in steps[:first_pulumi]), (
        f"{file} job {job_id}: no astral-sh/setup-uv step before Pulumi (toolchain: uv)"
    )
    # Pulumi's own `uv run` reads the job's env too: a group switch there would undo the install.
    assert not {k for k in job.get("env", {}) if k.startswith("UV_")}, f"{file} job {job_id} sets uv options"
    syncs = _uv_syncs(job)
    assert syncs, f"{file} job {job_id}: no `uv sync` before Pulumi"
    venv = tmp_path / "venv"
    for args, env in syncs:
        _replay_install(args, env, venv)
    missing = ci_environment - _distributions(venv)
    assert not missing, f"{file} job {job_id} installs less than CI type-checks with: {sorted(missing)}"
    checker = options.get("typechecker")
    if checker is not None:
        assert checker == "pyright", f"unexpected typechecker {checker!r}"
        assert "pyright" in _runs(venv, "pyright", "--version")
        assert "pyright" in _runs(venv, "python", "-m", "pyright", "--version")


def test_a_lean_install_would_lack_what_pyright_checks(tmp_path: Path, ci_environment: set[str]) -> None:
    # The failure the test above guards against, replayed: no dependency groups (the deploy job's
    # former `UV_NO_DEFAULT_GROUPS=1`) leave out the packages tests/ and tools/ import.
    venv = tmp_path / "venv"
    _replay_install(["--locked"], {"UV_NO_DEFAULT_GROUPS": "1"}, venv)
    missing = {d.split("-")[0] for d in ci_environment - _distributions(venv)}
    assert {"pytest", "hypothesis"} <= missing


def test_every_cloud_job_is_replayed() -> None:
    assert sorted((f, j) for f, j, _, _ in PULUMI_JOBS) == [
        ("deploy.yml", "deploy"),
        ("drift.yml", "drift"),
        ("preview.yml", "preview"),
    ]
