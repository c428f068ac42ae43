"""Run mutmut's mutants against the current tests, by hand (docs/testing.md), never in CI.

mutmut 3 rewrites each function so that the mutant named in MUTANT_UNDER_TEST runs instead (its
trampolines read the variable at every call). This runs, from `mutants/`, one pytest per mutant
with the variable set, and prints `<mutant> <pytest exit>`: 1 is killed, 0 survived.

- default, in-process: one Python, one `pytest.main` per mutant on the module's kill tests. Fast
  (about a second a mutant) and never hangs on a mutant that breaks an import, because modules are
  imported once, unmutated. It can only under-count kills.
- `--fresh`: a new Python per mutant on a wider selection: a mutant that breaks the import (e.g.
  `SERVICE_DEFAULTS = ServiceSettings()` in settings.py) fails there, as it would in the program.

    cd mutants && cp ../tests/test_*.py tests/      # after `mutmut run` made mutants/, with new tests
    PYTHONPATH=$PWD ../.venv/bin/python ../tools/mutants_recheck.py names.txt > results.txt
    PYTHONPATH=$PWD ../.venv/bin/python ../tools/mutants_recheck.py --fresh survivors.txt
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys

KILL_TESTS = {
    "settings.": [
        "tests/test_mutation_kills_validators.py",
        "tests/test_mutation_kills_settings.py",
        "tests/test_limits.py",
        "tests/test_mutation_kills_operations.py",
        "tests/test_operations_config.py",
    ],
    "components.": [
        "tests/test_mutation_kills_components.py",
        "tests/test_mutation_kills_naming.py",
        "tests/test_mutation_kills_operations.py",
        "tests/test_operations_config.py",
        "tests/test_dead_letter.py",
    ],
    "policy.": [
        "tests/test_mutation_kills_policy.py",
        "tests/test_policy_dead_letter.py",
        "tests/test_mutation_kills_operations.py",
    ],
}
WIDER = {
    "settings.": ["tests/test_settings.py", "tests/test_hostile_stack_files.py", "tests/test_stack.py"],
    "components.": [
        "tests/test_stack.py",
        "tests/test_features.py",
        "tests/test_sharding.py",
        "tests/test_dead_letter.py",
    ],
    "policy.": ["tests/test_policy_rules.py", "tests/test_stack.py"],
}
PYTEST = ["-x", "-q", "-p", "no:cacheprovider", "-k", "not pack_process"]


def _tests(mutant: str, fresh: bool) -> list[str]:
    for prefix, tests in KILL_TESTS.items():
        if mutant.startswith(prefix):
            return tests + (WIDER[prefix] if fresh else [])
    raise SystemExit(f"{mutant}: no tests known for its module")


def in_process(mutant: str) -> int | str:
    os.environ["MUTANT_UNDER_TEST"] = mutant
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            import pytest

            return int(pytest.main([*PYTEST, *_tests(mutant, fresh=False)]))
        except BaseException as err:
            return f"error:{type(err).__name__}"


def fresh(mutant: str) -> int | str:
    env = {**os.environ, "MUTANT_UNDER_TEST": mutant}
    try:
        run = subprocess.run(
            [sys.executable, "-m", "pytest", *PYTEST, *_tests(mutant, fresh=True)],
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "timeout"
    return run.returncode


def main(argv: list[str]) -> None:
    use_fresh = "--fresh" in argv
    (names_file,) = [a for a in argv if a != "--fresh"]
    with open(names_file) as names:
        for mutant in (line.strip() for line in names):
            if mutant:
                print(mutant, fresh(mutant) if use_fresh else in_process(mutant), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
