"""Run mutmut's mutants against the current tests, by hand (docs/testing.md), never in CI.

mutmut 3 rewrites each function so that the mutant named in MUTANT_UNDER_TEST runs instead (its
trampolines read the variable at every call). This runs, from `mutants/`, one pytest per mutant
with the variable set, and prints `<mutant> <result>`: 1 is killed, 0 survived, `timeout` (below).

- default, in-process: one Python, one `pytest.main` per mutant on the module's kill tests. Fast
  (about a second a mutant) and never hangs on a mutant that breaks an import, because modules are
  imported once, unmutated. It can only under-count kills.
- `--fresh`: a new Python per mutant on a wider selection: a mutant that breaks the import (e.g.
  `SERVICE_DEFAULTS = ServiceSettings()` in settings.py) fails there, as it would in the program.
- `--timeout SECONDS` (default 30; the kill tests take about 4 s): the limit for one mutant
  in-process. `--fresh` keeps 120 s a mutant.

A mutant can hang the run: e.g. one that never resolves a deferred output keeps the Pulumi mock
run waiting for it, idle (so no CPU limit notices). In-process, a real-time timer
(`signal.setitimer(ITIMER_REAL)`) raises `MutantTimeout` in the main thread, which the event loop
lets through (a KeyboardInterrupt: asyncio re-raises it out of `run_until_complete`; pytest ends
the session). The harness makes a new event loop per run, so the abandoned one is only garbage;
after each timeout the unmutated tests run once more (`MUTANT_UNDER_TEST` empty) and must pass in
time, else the process is no longer trusted: that mutant (`untrusted fresh:<result>`) and every
remaining one run `--fresh`.

A timed-out mutant prints `timeout` when the unmutated tests then passed in time in the same
process: the hang is the mutant's own, and docs/testing.md counts it as killed (as mutmut counts its
timeouts: `pulumi preview` / `up` would hang the same way, which no one would ship). `--confirm`
also runs each timed-out mutant `--fresh` on its kill tests (a new Python, 60 s) and prints
`timeout fresh:<result>` (`fresh:1` a plain kill, `fresh:timeout` the same hang there).

    cd mutants && cp ../tests/test_*.py tests/      # after `mutmut run` made mutants/, with new tests
    PYTHONPATH=$PWD ../.venv/bin/python ../dev/mutants_recheck.py names.txt > results.txt
    PYTHONPATH=$PWD ../.venv/bin/python ../dev/mutants_recheck.py --fresh survivors.txt
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
from types import FrameType

KILL_TESTS = {
    # Before "components.": the first prefix that matches wins.
    "components.monitoring.": ["tests/test_monitoring_exact.py", "tests/test_monitoring.py"],
    "settings.resolve.": ["tests/test_resolved_model.py"],
    "settings.names.": ["tests/test_names.py", "tests/test_resolved_model.py"],
    "settings.": [
        "tests/test_cross_field_validators.py",
        "tests/test_settings_messages.py",
        "tests/test_limits.py",
        "tests/test_operations_config_exact.py",
        "tests/test_operations_config.py",
    ],
    "components.": [
        "tests/test_component_resources_exact.py",
        "tests/test_names.py",
        "tests/test_operations_config_exact.py",
        "tests/test_operations_config.py",
        "tests/test_dead_letter.py",
    ],
    "policy.": [
        "tests/test_policy_messages.py",
        "tests/test_policy_dead_letter.py",
        "tests/test_operations_config_exact.py",
    ],
}
WIDER = {
    "components.monitoring.": [
        "tests/test_operations_config_exact.py",
        "tests/test_operations_config.py",
        "tests/test_sharding.py",
        "tests/test_stack.py",
    ],
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
TIMEOUT_SECONDS = 30.0
FRESH_SECONDS = 120.0
# `--confirm`: the re-check in a new Python of a mutant that timed out in-process (kill tests only).
CONFIRM_SECONDS = 60.0
# After the first alarm, again every this many seconds until the mutant's run returns: an alarm that
# lands inside an asyncio task step (not the loop's wait) may be swallowed; the next one is not.
REPEAT_SECONDS = 5.0


class MutantTimeout(KeyboardInterrupt):
    """Raised by the timer: a KeyboardInterrupt, so that neither `except Exception` (the harness,
    Pulumi) nor asyncio's task steps keep it from ending the run."""


def _tests(mutant: str, fresh: bool) -> list[str]:
    for prefix, tests in KILL_TESTS.items():
        if mutant.startswith(prefix):
            return tests + (WIDER[prefix] if fresh else [])
    raise SystemExit(f"{mutant}: no tests known for its module")


def in_process(mutant: str, timeout: float = TIMEOUT_SECONDS, tests: list[str] | None = None) -> int | str:
    """pytest's exit code on the kill tests with `mutant` on, or "timeout", or "error:<type>"."""
    os.environ["MUTANT_UNDER_TEST"] = mutant
    fired: list[float] = []

    def alarm(_signum: int, _frame: FrameType | None) -> None:
        fired.append(timeout)
        raise MutantTimeout

    previous = signal.signal(signal.SIGALRM, alarm)
    result: int | str
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            try:
                import pytest

                signal.setitimer(signal.ITIMER_REAL, timeout, REPEAT_SECONDS)
                result = int(pytest.main([*PYTEST, *(tests or _tests(mutant, fresh=False))]))
            except BaseException as err:
                result = f"error:{type(err).__name__}"
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    except MutantTimeout:  # the alarm landed between the disarming and here
        result = "timeout"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        os.environ["MUTANT_UNDER_TEST"] = ""
    return "timeout" if fired else result


def healthy(mutant: str, timeout: float) -> bool:
    """After a timeout: the unmutated kill tests of `mutant`'s module still pass in time here."""
    return in_process("", timeout, _tests(mutant, fresh=False)) == 0


def fresh(mutant: str, timeout: float = FRESH_SECONDS, wider: bool = True) -> int | str:
    env = {**os.environ, "MUTANT_UNDER_TEST": mutant}
    try:
        run = subprocess.run(
            [sys.executable, "-m", "pytest", *PYTEST, *_tests(mutant, fresh=wider)],
            env=env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return "timeout"
    return run.returncode


def main(argv: list[str]) -> None:
    use_fresh, confirm = "--fresh" in argv, "--confirm" in argv
    rest = [a for a in argv if a not in ("--fresh", "--confirm")]
    timeout = TIMEOUT_SECONDS
    if "--timeout" in rest:
        at = rest.index("--timeout")
        timeout = float(rest[at + 1])
        del rest[at : at + 2]
    (names_file,) = rest
    trusted = True  # this process still runs the unmutated tests correctly (see the docstring)
    with open(names_file) as names:
        for mutant in (line.strip() for line in names):
            if not mutant:
                continue
            if use_fresh or not trusted:
                print(mutant, fresh(mutant), flush=True)
                continue
            result = in_process(mutant, timeout)
            if result == "timeout":
                trusted = healthy(mutant, timeout)
                if not trusted:  # the hang may be this process's: the mutant and the rest run --fresh
                    result = f"untrusted fresh:{fresh(mutant)}"
                elif confirm:
                    result = f"timeout fresh:{fresh(mutant, CONFIRM_SECONDS, wider=False)}"
            print(mutant, result, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
