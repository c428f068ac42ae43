"""By-hand "limit mutation" run: what mutmut cannot mutate (module constants, pydantic Field bounds,
regex repetition counts) perturbed by one step each way, and the limit tests run against it.

mutmut 3 mutates function bodies only, so a changed `MAX_CONCURRENCY = 1000` or `Field(le=65535)`
is never tried by it. This script tries each: it copies the project to a temporary directory,
changes one number there (settings/limits.py's table, settings/fields.py's Field bounds and patterns,
settings/resolve.py's derived counts), runs the limit tests (settings: tests/test_limits.py, the
validator and resolved-model tests; monitoring limits: also the monitoring tests; producer:
producer/tests) and
reports whether they fail (killed) or pass (survived). Run by hand, never in CI (about 15 minutes):

    uv run python -m dev.mutate_limits            # all
    uv run python -m dev.mutate_limits MAX_LABELS # only mutations whose name contains this

Exit status: 0 when every mutation is killed or listed in EQUIVALENT, 1 otherwise.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIELDS = "settings/fields.py"
TABLE = "settings/limits.py"
RESOLVE = "settings/resolve.py"
SETTINGS_TESTS = [
    "tests/test_limits.py",
    "tests/test_operations_config.py",
    "tests/test_settings_messages.py",
    "tests/test_cross_field_validators.py",
    "tests/test_resolved_model.py",
    "tests/test_names.py",
]
# The table's monitoring limits are read by components/monitoring, whose tests pin them.
MONITORING_TESTS = ["tests/test_monitoring.py", "tests/test_monitoring_exact.py"]
MONITORING_LIMITS = frozenset(
    {
        "FILTER_MAX_CHARS",
        "CONDITIONS_MAX",
        "DOCUMENTATION_MAX_CHARS",
        "DOCUMENTATION_MAX_BYTES",
        "SUBJECT_MAX_BYTES",
        "DASHBOARD_MAX_WIDGETS",
        "DASHBOARD_COLUMNS",
    }
)
# docs/limits.md is generated from the table and checked fresh: that test fails on any changed value,
# so it is left out here; the question is whether a test of the behaviour notices.
DESELECT = ["-k", "not limits_page"]
PRODUCER = "producer/src/task_worker_producer/limits.py"
PRODUCER_TESTS = ["producer/tests"]


@dataclass(frozen=True)
class Limit:
    """One number: `old` occurs exactly once in `scope` (a class field's declaration, or the file)."""

    name: str
    old: str
    steps: tuple[str, ...]  # replacements for `old`, one mutation each
    file: str = FIELDS
    scope: tuple[str, str] | None = None  # (class, field): only inside that field's declaration
    tests: tuple[str, ...] = ()  # the tests to run; () = by file (settings or producer)


def _pm(name: str, old: str, below: str, above: str, **kw: object) -> Limit:
    return Limit(name, old, (below, above), **kw)  # type: ignore[arg-type]


def _field(cls: str, field: str, old: str, *steps: str) -> Limit:
    return Limit(f"{cls}.{field} {old}", old, steps, scope=(cls, field))


_TABLE_ENTRY = re.compile(r'"(\w+)": Limit\((\s*)([^,]+),')


def _table() -> tuple[Limit, ...]:
    """Every value of settings/limits.py's LIMITS table, one step down and up (read from the file, so a
    new entry is mutated without being listed here)."""
    return tuple(
        Limit(
            f"LIMITS[{name}]",
            m.group(0),
            (f'"{name}": Limit({space}{value} - 1,', f'"{name}": Limit({space}{value} + 1,'),
            file=TABLE,
            tests=tuple(SETTINGS_TESTS + MONITORING_TESTS) if name in MONITORING_LIMITS else (),
        )
        for m in _TABLE_ENTRY.finditer((ROOT / TABLE).read_text())
        for name, space, value in [m.groups()]
    )


LIMITS: tuple[Limit, ...] = (
    # Google's limits: the table's values (settings/limits.py), and the names derived from them.
    *_table(),
    _pm(
        "MAX_SHARDS",
        "MAX_SHARDS = MAX_QUEUES_PER_LOCATION",
        "MAX_SHARDS = MAX_QUEUES_PER_LOCATION - 1",
        "MAX_SHARDS = MAX_QUEUES_PER_LOCATION + 1",
        file=TABLE,
    ),
    _pm(
        "MIN_TIMEOUT_SECONDS",
        "MIN_TIMEOUT_SECONDS = DEFAULT_DISPATCH_DEADLINE_SECONDS",
        "MIN_TIMEOUT_SECONDS = DEFAULT_DISPATCH_DEADLINE_SECONDS - 1",
        "MIN_TIMEOUT_SECONDS = DEFAULT_DISPATCH_DEADLINE_SECONDS + 1",
        file=TABLE,
    ),
    _pm(
        "MAX_TIMEOUT_SECONDS",
        "MAX_TIMEOUT_SECONDS = min(MAX_DISPATCH_DEADLINE_SECONDS, MAX_REQUEST_TIMEOUT_SECONDS)",
        "MAX_TIMEOUT_SECONDS = min(MAX_DISPATCH_DEADLINE_SECONDS, MAX_REQUEST_TIMEOUT_SECONDS) - 1",
        "MAX_TIMEOUT_SECONDS = min(MAX_DISPATCH_DEADLINE_SECONDS, MAX_REQUEST_TIMEOUT_SECONDS) + 1",
        file=TABLE,
    ),
    # What the resolved model adds (settings/resolve.py): Pulumi's auto-name suffix, dead letters' env vars.
    _pm("AUTONAME_CHARS", "AUTONAME_CHARS = 8", "AUTONAME_CHARS = 7", "AUTONAME_CHARS = 9", file=RESOLVE),
    _pm("AUTONAME_SUFFIX", '"-[0-9a-f]{7}"', '"-[0-9a-f]{6}"', '"-[0-9a-f]{8}"', file=RESOLVE),
    _pm(
        "DEAD_LETTER_ENV_VARS fixed",
        "DEAD_LETTER_ENV_VARS = (4, 4)",
        "DEAD_LETTER_ENV_VARS = (3, 4)",
        "DEAD_LETTER_ENV_VARS = (5, 4)",
        file=RESOLVE,
    ),
    _pm(
        "DEAD_LETTER_ENV_VARS per queue",
        "DEAD_LETTER_ENV_VARS = (4, 4)",
        "DEAD_LETTER_ENV_VARS = (4, 3)",
        "DEAD_LETTER_ENV_VARS = (4, 5)",
        file=RESOLVE,
    ),
    # The memory page's minimum-CPU table: every number of every row.
    *(
        _pm(f"_MIN_CPU_FOR_MEMORY ({mib}, {cpu}) {which}", f"({mib}, {cpu})", below, above)
        for mib, cpu in ((128, 83), (256, 167), (512, 333), (1024, 583), (2048, 1000))
        for which, below, above in (
            ("mib", f"({mib - 1}, {cpu})", f"({mib + 1}, {cpu})"),
            ("cpu", f"({mib}, {cpu - 1})", f"({mib}, {cpu + 1})"),
        )
    ),
    *(
        _pm(f"_CPU_FOR_LARGE_MEMORY ({gib} * 1024, {cpu}) {which}", f"({gib} * 1024, {cpu})", below, above)
        for gib, cpu in ((24, 8), (16, 6), (8, 4), (4, 2))
        for which, below, above in (
            ("mib", f"({gib} * 1024 - 1, {cpu})", f"({gib} * 1024 + 1, {cpu})"),
            ("cpu", f"({gib} * 1024, {cpu - 1})", f"({gib} * 1024, {cpu + 1})"),
        )
    ),
    *(
        _pm(f"_MEMORY_FOR_CPU {cpu}", f"{cpu}: {mib}", f"{cpu}: {mib - 1}", f"{cpu}: {mib + 1}")
        for cpu, mib in ((4000, 2048), (6000, 4096), (8000, 4096))
    ),
    # Regex repetition counts.
    _pm("_CPU_TEXT fraction digits", r"(\d{1,3})", r"(\d{1,2})", r"(\d{1,4})"),
    _pm("_MEMORY_TEXT digits", r"([1-9]\d{0,5})", r"([1-9]\d{0,4})", r"([1-9]\d{0,6})"),
    # Labels: unbounded Unicode classes, their length in max_length (one per annotation).
    _pm(
        "LabelKey max_length",
        "pattern=LABEL_KEY_PATTERN, max_length=MAX_LABEL_CHARS",
        "pattern=LABEL_KEY_PATTERN, max_length=MAX_LABEL_CHARS - 1",
        "pattern=LABEL_KEY_PATTERN, max_length=MAX_LABEL_CHARS + 1",
    ),
    _pm(
        "LabelValue max_length",
        "pattern=LABEL_VALUE_PATTERN, max_length=MAX_LABEL_CHARS",
        "pattern=LABEL_VALUE_PATTERN, max_length=MAX_LABEL_CHARS - 1",
        "pattern=LABEL_VALUE_PATTERN, max_length=MAX_LABEL_CHARS + 1",
    ),
    _pm("_SECRET_ID length", "{1,255}", "{1,254}", "{1,256}"),
    _pm("VERSION_PATTERN number", "latest|[1-9][0-9]{0,18}", "latest|[1-9][0-9]{0,17}", "latest|[1-9][0-9]{0,19}"),
    _pm("PROJECT_NUMBER_PATTERN digits", r'"^[1-9][0-9]{0,18}$"', r'"^[1-9][0-9]{0,17}$"', r'"^[1-9][0-9]{0,19}$"'),
    _pm("VERSION_PATTERN alias", "[A-Za-z0-9_-]{0,62})$", "[A-Za-z0-9_-]{0,61})$", "[A-Za-z0-9_-]{0,63})$"),
    _pm("image tag length", r"[A-Za-z0-9_.-]{0,127}", r"[A-Za-z0-9_.-]{0,126}", r"[A-Za-z0-9_.-]{0,128}"),
    _pm("image digest length", "{32,}", "{31,}", "{33,}"),
    _pm(
        "_PID length", '_PID = r"[a-z][a-z0-9-]{4,28}', '_PID = r"[a-z][a-z0-9-]{5,28}', '_PID = r"[a-z][a-z0-9-]{4,29}'
    ),
    _pm("service import name length", "{{0,47}}", "{{0,46}}", "{{0,48}}"),
    _pm("queue import ID length", "{{1,100}}", "{{1,99}}", "{{1,101}}"),
    _pm("duration whole digits", r"[0-9]{1,12}", r"[0-9]{1,11}", r"[0-9]{1,13}"),
    _pm("duration fraction digits", r"[0-9]{1,9}", r"[0-9]{1,8}", r"[0-9]{1,10}"),
    _pm("QueueKey length", "[a-z0-9-]{0,49}", "[a-z0-9-]{0,48}", "[a-z0-9-]{0,50}"),
    # pydantic Field bounds, each inside its own field's declaration.
    _field("ProbeSettings", "http_path", "max_length=2048", "max_length=2047", "max_length=2049"),
    _field("ProbeSettings", "port", "ge=1", "ge=0", "ge=2"),
    _field("ProbeSettings", "port", "le=65535", "le=65534", "le=65536"),
    _field("ProbeSettings", "initial_delay_seconds", "ge=0", "ge=-1", "ge=1"),
    _field("ProbeSettings", "period_seconds", "ge=1", "ge=0", "ge=2"),
    _field("ProbeSettings", "timeout_seconds", "ge=1", "ge=0", "ge=2"),
    _field("ProbeSettings", "failure_threshold", "ge=1", "ge=0", "ge=2"),
    _field("ServiceSettings", "image", "max_length=1024", "max_length=1023", "max_length=1025"),
    _field("ServiceSettings", "min_instances", "ge=0", "ge=-1", "ge=1"),
    _field("ServiceSettings", "max_instances", "ge=1", "ge=0", "ge=2"),
    _field("ServiceSettings", "concurrency", "ge=1", "ge=0", "ge=2"),
    _field("QueueSettings", "path", "max_length=2048", "max_length=2047", "max_length=2049"),
    _field("QueueSettings", "max_dispatches_per_second", "gt=0", "ge=0", "gt=0.001"),
    _field("QueueSettings", "max_concurrent_dispatches", "ge=1", "ge=0", "ge=2"),
    _field("QueueSettings", "max_attempts", "ge=-1", "ge=-2", "ge=0"),
    _field("QueueSettings", "max_doublings", "ge=0", "ge=-1", "ge=1"),
    _field("QueueSettings", "logging_sampling_ratio", "ge=0", "ge=-0.001", "ge=0.001"),
    _field("QueueSettings", "logging_sampling_ratio", "le=1", "le=0.999", "le=1.001"),
    _field("QueueSettings", "shards", "ge=1", "ge=0", "ge=2"),
    _field("QueueSettings", "name", "{1,100}", "{1,99}", "{1,101}"),
    _field("StackConfig", "project", "{4,28}", "{5,28}", "{4,29}"),
    _field(
        "StackConfig",
        "labels",
        "max_length=MAX_LABELS - len(OWN_LABELS)",
        "max_length=MAX_LABELS - len(OWN_LABELS) - 1",
        "max_length=MAX_LABELS - len(OWN_LABELS) + 1",
    ),
    _field("StackConfig", "queues", "min_length=1", "min_length=0", "min_length=2"),
    _field(
        "StackConfig",
        "queues",
        "max_length=MAX_QUEUES_PER_LOCATION",
        "max_length=MAX_QUEUES_PER_LOCATION - 1",
        "max_length=MAX_QUEUES_PER_LOCATION + 1",
    ),
    _field(
        "ServiceSettings",
        "env",
        "max_length=MAX_ENV_VARS",
        "max_length=MAX_ENV_VARS - 1",
        "max_length=MAX_ENV_VARS + 1",
    ),
    _field(
        "ServiceSettings",
        "secrets",
        "max_length=MAX_ENV_VARS",
        "max_length=MAX_ENV_VARS - 1",
        "max_length=MAX_ENV_VARS + 1",
    ),
    # Alert thresholds and dead-letter retention (task-worker:monitoring / deadLetter).
    _pm(
        "AlertMinutes ge",
        "Field(ge=1, le=ALERT_MAX_MINUTES)",
        "Field(ge=0, le=ALERT_MAX_MINUTES)",
        "Field(ge=2, le=ALERT_MAX_MINUTES)",
    ),
    _pm("AlertPercent le", "Field(gt=0, le=100, ", "Field(gt=0, le=99.999, ", "Field(gt=0, le=100.001, "),
    _pm("AlertPercent gt", "Field(gt=0, le=100, ", "Field(ge=0, le=100, ", "Field(gt=0.001, le=100, "),
    _pm("AlertFraction le", "Field(gt=0, le=1, ", "Field(gt=0, le=0.999, ", "Field(gt=0, le=1.001, "),
    _pm("BacklogDepth ge", "Field(ge=1, le=INT32_MAX)", "Field(ge=0, le=INT32_MAX)", "Field(ge=2, le=INT32_MAX)"),
    # The producer library's limits.
    _pm("MAX_TASK_BYTES", "= 1_000_000", "= 999_999", "= 1_000_001", file=PRODUCER),
    _pm(
        "MAX_SCHEDULE_AHEAD",
        "timedelta(days=30)",
        "timedelta(days=30, microseconds=-1)",
        "timedelta(days=30, microseconds=1)",
        file=PRODUCER,
    ),
    _pm(
        "MIN_DISPATCH_DEADLINE",
        "timedelta(seconds=15)",
        "timedelta(seconds=14)",
        "timedelta(seconds=16)",
        file=PRODUCER,
    ),
    _pm(
        "MAX_DISPATCH_DEADLINE",
        "timedelta(minutes=30)",
        "timedelta(seconds=1799)",
        "timedelta(seconds=1801)",
        file=PRODUCER,
    ),
    _pm("TASK_ID_RE length", "{1,500}", "{1,499}", "{1,501}", file=PRODUCER),
)

# Mutations no test can tell apart, each with its reason (docs/testing.md repeats them).
_MEMORY_EQUIVALENT = (
    "a memory limit has at most 5 digits (32768Mi); 4 or 6 more after the first digit only change which "
    "out-of-range values fail the pattern rather than the range check, and both give the same message"
)
_READ_BY_NO_CHECK = "the table states it for the docs; no check reads it"
_REQUEST_TIMEOUT = "only read as min(1800, it): the dispatch deadline's 1800 s is the smaller either way"
_ONE_VPC = "the settings take one network (vpc.network), so a limit of 2 interfaces allows nothing more"
_ACCOUNT_MIN = "account IDs start with the component name (task-worker-, 12 characters): never near 6"


def _table_equivalent(name: str, reason: str, *signs: str) -> dict[tuple[str, str], str]:
    entry = next(limit for limit in LIMITS if limit.name == f"LIMITS[{name}]")
    return {(entry.name, step): reason for step in entry.steps if any(f" {s} 1," in step for s in signs)}


# Keyed by (limit name, replacement).
EQUIVALENT: dict[tuple[str, str], str] = {
    ("_MEMORY_TEXT digits", r"([1-9]\d{0,4})"): _MEMORY_EQUIVALENT,
    ("_MEMORY_TEXT digits", r"([1-9]\d{0,6})"): _MEMORY_EQUIVALENT,
    **_table_equivalent("MIN_DISPATCH_DEADLINE_SECONDS", _READ_BY_NO_CHECK, "-", "+"),
    **_table_equivalent("MAX_REQUEST_TIMEOUT_SECONDS", _REQUEST_TIMEOUT, "-", "+"),
    **_table_equivalent("MAX_VPC_NETWORK_INTERFACES", _ONE_VPC, "+"),
    **_table_equivalent("MIN_ACCOUNT_ID_CHARS", _ACCOUNT_MIN, "-", "+"),
}


def _span(text: str, limit: Limit) -> tuple[int, int]:
    """Where `limit.old` may be replaced: the field's declaration, or the whole file."""
    if limit.scope is None:
        return 0, len(text)
    cls, field = limit.scope
    start = text.index(f"\nclass {cls}(")
    end = re.compile(r"\n(class |def )").search(text, start + 1)
    body_end = end.start() if end else len(text)
    m = re.compile(rf"\n    {field}: ").search(text, start, body_end)
    if m is None:
        raise SystemExit(f"{limit.name}: no field {field} in {cls}")
    nxt = re.compile(r"\n    (\w+: |@|def )").search(text, m.end(), body_end)
    return m.start(), nxt.start() if nxt else body_end


def mutate(text: str, limit: Limit, new: str) -> str:
    lo, hi = _span(text, limit)
    count = text.count(limit.old, lo, hi)
    if count != 1:
        raise SystemExit(f"{limit.name}: {limit.old!r} found {count} times where exactly once was expected")
    at = text.index(limit.old, lo, hi)
    return text[:at] + new + text[at + len(limit.old) :]


def main(argv: list[str]) -> int:
    wanted = [limit for limit in LIMITS if not argv or any(a in limit.name for a in argv)]
    with tempfile.TemporaryDirectory(prefix="mutate-limits-") as tmp:
        copy = Path(tmp) / "project"
        shutil.copytree(
            ROOT, copy, ignore=shutil.ignore_patterns(".git", ".venv", "mutants", "__pycache__", "node_modules")
        )
        # The editable producer install points at ROOT; the copy's own source must come first.
        env = {**os.environ, "PYTHONPATH": str(copy / "producer" / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
        survived: list[str] = []
        killed = 0
        for limit in wanted:
            path = copy / limit.file
            original = path.read_text()
            tests = limit.tests or (PRODUCER_TESTS if limit.file == PRODUCER else SETTINGS_TESTS)
            for new in limit.steps:
                path.write_text(mutate(original, limit, new))
                try:
                    run = subprocess.run(
                        [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *DESELECT, *tests],
                        cwd=copy,
                        env=env,
                        capture_output=True,
                        text=True,
                        timeout=300,
                    )
                    # 1: a test failed; 2: collection failed (the module no longer imports): both notice it.
                    outcome = "killed" if run.returncode in (1, 2) else f"SURVIVED (pytest exit {run.returncode})"
                finally:
                    path.write_text(original)
                label = f"{limit.name}: {limit.old!r} -> {new!r}"
                if run.returncode in (1, 2):
                    killed += 1
                elif (limit.name, new) in EQUIVALENT:
                    outcome = f"equivalent: {EQUIVALENT[limit.name, new]}"
                else:
                    survived.append(label)
                print(f"{outcome:<12} {label}", flush=True)
        total = sum(len(limit.steps) for limit in wanted)
        print(f"\n{killed} of {total} killed; {len(survived)} survived unexplained")
        for label in survived:
            print(f"  {label}")
        return 1 if survived else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
