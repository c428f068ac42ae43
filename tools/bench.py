"""Benchmark: what an offline plan costs on this machine, against what it cannot avoid.

    uv run python -m tools.bench [--repeat N] [--suite-repeat N]

Measured as a user's machine and Pulumi's language host run the program: with bytecode.
`python -m tools.plan` exits without the interpreter's teardown (os._exit once its output is
flushed); the floor and the other timed plans exit the same way, so the ratios compare like
for like.
Every command runs once first (that run writes the .pyc files of what it imports; the
repository's own modules are compiled up front), then N fresh processes of each are timed, the
commands taking turns round after round (a slow spell of the machine falls on all alike); a
figure is their median wall time, with their median CPU time (user + sys) beside it, which other
work on the machine disturbs less. Figures:
- import floor: `import pulumi, pulumi_gcp` and loading the provider SDK modules the dev plan
  declares resources from — cloudtasks, cloudrunv2, projects, serviceaccount, monitoring (alerts
  are on by default) and pulumiverse_time — which no program declaring them can avoid (pulumi-gcp
  loads its modules lazily, so importing the package alone costs little);
- the offline plan of the dev stack (or of the first stack file, without dev);
- the plan of a generated config with 1 queue and with 50 queues;
- the test suite's wall time (quick property-test profile, as a developer runs it);
- then tools/bench_enqueue.py's figures, if that module is present.
- one queue of 1, 500 and 1,000 shards (Cloud Tasks' queue limit), at the defaults and fully featured
  (an enqueuer, alerts, dead letters): CPU time, `--shard-repeat` runs each;
The last line is `plan_vs_import=R1 scale_50_vs_1=R2 critical_path=D shards_marginal=M shards_1000_vs_1=W
suite_s=S` (M and W of the fully featured stacks). Goals: R1 ≤ 1.5, R2 ≤ 2.0, D = 5, M ≤ 1.3 (the
marginal CPU of shards 500→1,000 over that of 1→500: linear cost), W ≤ 10; the benchmark ≤ 60 s besides
the test suite's run.
"""

from __future__ import annotations

import argparse
import compileall
import importlib
import importlib.util
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

# Not from tools.harness: this process only times others and must not load Pulumi itself.
ROOT = Path(__file__).resolve().parent.parent
GOALS = {
    "plan_vs_import": 1.5,
    "scale_50_vs_1": 2.0,
    "critical_path": 5,
    # Issue 15: the marginal CPU of shards 500→1,000 within 1.3× that of 1→500, and the whole
    # 1,000-shard plan (Cloud Tasks' queue limit) within 10× the one-shard plan; also fully featured.
    "shards_marginal": 1.3,
    "shards_1000_vs_1": 10.0,
    # The benchmark's own figures (the test suite's run is a figure of its own, not counted here).
    "total_s": 60.0,
}
SHARDS = (1, 500, 1000)

# pulumi-gcp's submodules are lazy proxies: touching a class is what loads one. It exits
# as `python -m tools.plan` does, without the interpreter's teardown: like for like.
IMPORT_FLOOR = """
import os, pulumi, pulumi_gcp as gcp, pulumiverse_time
gcp.cloudtasks.Queue, gcp.cloudrunv2.Service, gcp.projects.Service, gcp.serviceaccount.Account
gcp.monitoring.AlertPolicy, gcp.monitoring.Dashboard, pulumiverse_time.Sleep
os._exit(0)
"""

# `python -m tools.plan ARGS` for the stack files of another directory (argv[1]), with this
# repository's program; it exits as tools.plan's __main__ does.
PLAN_IN = """
import os, sys
from pathlib import Path
from tools.plan import main
code = main(sys.argv[2:], root=Path(sys.argv[1]))
sys.stdout.flush()
os._exit(code)
"""


def generated_config(queues: int, *, alerts: bool = True) -> dict[str, object]:
    """`queues` queues with one enqueuer; alerts (3 policies a queue) on by default, as in a real stack."""
    return {
        "config": {
            "gcp:project": "bench-project",
            "gcp:region": "europe-west1",
            "task-worker:deletionProtection": False,
            "task-worker:service": {"maxInstances": 100, "concurrency": 80},
            "task-worker:queues": {
                f"q{i:02d}": {"path": f"/q{i:02d}", "maxDispatchesPerSecond": 5, "maxConcurrentDispatches": 50}
                for i in range(queues)
            },
            "task-worker:enqueuers": ["serviceAccount:producer@bench-project.iam.gserviceaccount.com"],
            "task-worker:monitoring": {"enabled": alerts},
        }
    }


def sharded_config(shards: int, *, full: bool) -> dict[str, object]:
    """One queue of `shards` shards, at the defaults; `full`: with an enqueuer, alerts and dead letters."""
    config: dict[str, object] = {
        "gcp:project": "bench-project",
        "gcp:region": "europe-west1",
        "task-worker:deletionProtection": False,
        "task-worker:service": {"maxInstances": 1000, "concurrency": 1000},
        "task-worker:queues": {"q": {"shards": shards}},
        "task-worker:monitoring": {"enabled": full},
    }
    if full:
        config["task-worker:enqueuers"] = ["serviceAccount:producer@bench-project.iam.gserviceaccount.com"]
        config["task-worker:deadLetter"] = {"enabled": True, "subscribers": ["group:ops@example.com"]}
    return {"config": config}


def shard_figures(cpu: Mapping[int, float]) -> tuple[float, float]:
    """(marginal CPU of shards 500→1,000 over that of 1→500, CPU of 1,000 shards over 1 shard)."""
    first, middle, last = (cpu[n] for n in SHARDS)
    return (last - middle) / (middle - first), last / first


def _env(**extra: str) -> dict[str, str]:
    """The environment of a timed process: bytecode written and read, as users run Python."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return env | extra


def timed(
    commands: Mapping[str, Sequence[str]], repeat: int, *, warm_up: bool = True, env: dict[str, str] | None = None
) -> dict[str, tuple[float, float]]:
    """Median wall and CPU seconds of `repeat` fresh processes of each command (after one warm-up
    run each). The commands take turns, round after round: a slow spell of the machine then falls
    on all of them alike instead of on whichever ran during it, and the ratios stay steady."""
    env = env or _env()
    if warm_up:
        for cmd in commands.values():
            subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, env=env)
    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, cmd in commands.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, env=env)
            walls[name].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return {name: (statistics.median(walls[name]), statistics.median(cpus[name])) for name in commands}


def _line(label: str, figure: tuple[float, float]) -> str:
    return f"{label:20s}{figure[0]:7.3f} s wall  {figure[1]:7.3f} s CPU"


def _verdict(value: float, goal: float, *, exact: bool = False) -> str:
    ok = value == goal if exact else value <= goal
    return f"goal {'=' if exact else '≤'} {goal:g}: {'ok' if ok else 'MISSED'}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description="Offline plan benchmark.")
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes per figure (default 5)")
    parser.add_argument("--suite-repeat", type=int, default=1, help="test-suite runs (default 1; 0 skips)")
    parser.add_argument("--shard-repeat", type=int, default=2, help="runs of each sharded plan (default 2)")
    args = parser.parse_args(argv)
    py = sys.executable
    began = time.perf_counter()

    # The repository's modules compiled now; each command's warm-up run writes the .pyc of
    # what it imports from site-packages (compiling all of pulumi-gcp would take minutes).
    for folder in ("settings", "components", "policy", "tools", "tests"):
        compileall.compile_dir(ROOT / folder, quiet=1)

    load = os.getloadavg()
    print(
        f"Measured with bytecode (no PYTHONDONTWRITEBYTECODE; one warm-up run per command), "
        f"median of {args.repeat} fresh processes, the commands taking turns; {os.cpu_count()} CPUs, load average "
        f"{load[0]:.2f} at start (above the CPU count, wall times are inflated: see CPU)."
    )

    stack = "dev" if (ROOT / "Pulumi.dev.yaml").is_file() else None
    if stack is None:
        found = sorted(ROOT.glob("Pulumi.*.yaml"))
        stack = found[0].name.removeprefix("Pulumi.").removesuffix(".yaml") if found else None

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "__main__.py").symlink_to(ROOT / "__main__.py")
        commands: dict[str, list[str]] = {"floor": [py, "-c", IMPORT_FLOOR]}
        for name, n, alerts in (("q1", 1, True), ("q50", 50, True), ("q1-quiet", 1, False), ("q50-quiet", 50, False)):
            # JSON is YAML: no YAML library needed to write a stack file.
            (root / f"Pulumi.{name}.yaml").write_text(json.dumps(generated_config(n, alerts=alerts), indent=2))
            commands[name] = [py, "-c", PLAN_IN, tmp, name]
        if stack is None:
            stack, plan_root = "q1", tmp
        else:
            plan_root = str(ROOT)
        # Keyed apart from the generated stacks' names: a user's stack may be called "q1".
        commands["stack"] = [py, "-c", PLAN_IN, plan_root, stack]
        figures = timed(commands, args.repeat)
        floor, dev = figures["floor"], figures["stack"]
        print(_line("import floor", floor))
        print(_line(f"plan {stack}", dev))
        scale = figures
        for name, label in (
            ("q1", "1 queue"),
            ("q50", "50 queues"),
            ("q1-quiet", "1, no alerts"),
            ("q50-quiet", "50, no alerts"),
        ):
            print(_line(f"plan {label}", scale[name]))
        # Cloud Tasks' limit: one queue of 1,000 shards. CPU time, fewer rounds (each plan takes seconds).
        sharded: dict[str, list[str]] = {}
        for full in (False, True):
            for n in SHARDS:
                name = f"shards{n}{'-full' if full else ''}"
                (root / f"Pulumi.{name}.yaml").write_text(json.dumps(sharded_config(n, full=full)))
                sharded[name] = [py, "-c", PLAN_IN, tmp, name]
        shard_cpu = timed(sharded, args.shard_repeat, warm_up=False)
        shard_rows = []
        for full in (False, True):
            suffix = "-full" if full else ""
            cpu = {n: shard_cpu[f"shards{n}{suffix}"][1] for n in SHARDS}
            for n in SHARDS:
                print(
                    _line(
                        f"plan {n} shard{'s' if n > 1 else ''}{' (full)' if full else ''}",
                        shard_cpu[f"shards{n}{suffix}"],
                    )
                )
            shard_rows.append((full, *shard_figures(cpu)))
        out = root / "plan.json"
        cmd = [py, "-c", PLAN_IN, plan_root, stack, "--json", str(out)]
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL, env=_env())
        critical_path = json.loads(out.read_text())["criticalPath"]

    suite = 0.0
    if args.suite_repeat:
        # The quick property-test profile (CI unset), as a developer runs `pytest`.
        env = {k: v for k, v in _env().items() if k != "CI"}
        pytest_cmd = [py, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        suite = timed({"suite": pytest_cmd}, args.suite_repeat, warm_up=False, env=env)["suite"][0]
        print(f"{'test suite (quick)':20s}{suite:7.3f} s wall")

    # The enqueue benchmark (tools/bench_enqueue.py, main() printing its own figures), if present.
    if importlib.util.find_spec("tools.bench_enqueue") is not None:
        print("-- tools.bench_enqueue")
        importlib.import_module("tools.bench_enqueue").main([])

    ratio_wall, ratio_cpu = dev[0] / floor[0], dev[1] / floor[1]
    scale_ratio = scale["q50"][0] / scale["q1"][0]
    quiet_ratio = scale["q50-quiet"][0] / scale["q1-quiet"][0]
    total = time.perf_counter() - began - suite * args.suite_repeat
    rows = [
        (
            "plan_vs_import",
            f"{ratio_wall:5.2f} wall, {ratio_cpu:.2f} CPU",
            _verdict(ratio_wall, GOALS["plan_vs_import"]),
        ),
        ("scale_50_vs_1", f"{scale_ratio:5.2f}", _verdict(scale_ratio, GOALS["scale_50_vs_1"])),
        # The same without alert policies (5 resources a queue become 2): for comparison, no goal.
        ("  without alerts", f"{quiet_ratio:5.2f}", ""),
        ("critical_path", f"{critical_path:5d}", _verdict(critical_path, GOALS["critical_path"], exact=True)),
        *(
            row
            for full, marginal, whole in shard_rows
            for row in (
                (
                    f"shards 500→1000{' full' if full else ''}",
                    f"{marginal:5.2f}× 1→500 (CPU)",
                    _verdict(round(marginal, 2), GOALS["shards_marginal"]),
                ),
                (
                    f"shards 1000 vs 1{' full' if full else ''}",
                    f"{whole:5.2f}× (CPU)",
                    _verdict(round(whole, 2), GOALS["shards_1000_vs_1"]),
                ),
            )
        ),
        ("benchmark took", f"{total:5.1f} s (+ suite)", _verdict(round(total, 1), GOALS["total_s"])),
    ]
    for label, value, verdict in rows:
        print(f"{label:20s}{value:24s}{verdict}")
    marginal, whole = shard_rows[-1][1:]
    print(
        f"plan_vs_import={ratio_wall:.2f} scale_50_vs_1={scale_ratio:.2f} "
        f"critical_path={critical_path} shards_marginal={marginal:.2f} shards_1000_vs_1={whole:.2f} suite_s={suite:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
