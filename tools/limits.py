"""Write docs/limits.md from the one limits table (settings/limits.py): every Google limit the stack
relies on, its value and its source. The docs quote this page; the validators, runbooks and the JSON
Schema read the same table.

    uv run python -m tools.limits           # rewrite docs/limits.md
    uv run python -m tools.limits --check   # exit 1 if it is stale (a test runs this)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from settings import limits
from settings.limits import LIMITS, MAX_TIMEOUT_SECONDS, MIN_TIMEOUT_SECONDS

ROOT = Path(__file__).resolve().parent.parent
PATH = ROOT / "docs" / "limits.md"


def _number(value: float) -> str:
    return f"{value:,g}" if isinstance(value, float) else f"{value:,}"


def limits_page() -> str:
    rows = [f"| `{name}` | {_number(limit.value)} | {limit.what} | {limit.source} |" for name, limit in LIMITS.items()]
    tags = [line.strip() for line in (limits.__doc__ or "").splitlines() if line.strip().startswith("[")]
    sources = "\n".join(f"- {line}" for line in tags)
    return f"""# Google's limits this stack relies on

Generated from `settings/limits.py` by `python -m tools.limits`; do not edit. The validators, the
runbooks, the config table and the JSON Schema read the same table: a number is written once.

| name | value | what | source |
| --- | ---: | --- | --- |
{chr(10).join(rows)}

Derived: the service timeout (each task's dispatch deadline) is {MIN_TIMEOUT_SECONDS}–{MAX_TIMEOUT_SECONDS} s:
at least Cloud Tasks' default dispatch deadline, at most its largest (below Cloud Run's own ceiling).

Sources:

{sources}
"""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.limits", description="docs/limits.md from the table.")
    parser.add_argument("--check", action="store_true", help="exit 1 when docs/limits.md is stale")
    args = parser.parse_args(argv)
    fresh = limits_page()
    if PATH.is_file() and PATH.read_text() == fresh:
        return 0
    if args.check:
        print("stale: docs/limits.md (run `uv run python -m tools.limits`)", file=sys.stderr)
        return 1
    PATH.write_text(fresh)
    print("wrote docs/limits.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
