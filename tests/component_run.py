"""Run a few components (not the whole program) under the one harness.

`run_components(build)` runs tests/_component_program.py through tools.harness.run_program,
which calls `build()` inside the Pulumi program: the resources are recorded exactly as for
`__main__.py` (type, name, parent, camelCase inputs, outputs, dependencies).
Make every Output inside `build` (the run's own event loop): one made before the run waits on
a loop that is gone, and the run never ends.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import stack_config
from tools.harness import Run, run_program

PROGRAM = Path(__file__).with_name("_component_program.py")

# What the program file calls; set by run_components for the duration of one run.
BUILD: list[Callable[[], None]] = []


def run_components(build: Callable[[], None], stack: str = "test") -> Run:
    BUILD[:] = [build]
    try:
        run = run_program(stack_config(stack), PROGRAM)
    finally:
        BUILD.clear()
    assert run.error is None, run.error
    return run
