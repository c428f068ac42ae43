"""Benchmark: what an offline plan costs on this machine, against what it cannot avoid.

    uv run python -m tools.bench [--repeat N] [--suite-repeat N]

Each figure is the median of several fresh processes:
- import floor: `import pulumi, pulumi_gcp` and loading the pulumi-gcp modules the program
  uses (pulumi-gcp loads its modules lazily, so importing the package alone costs little);
- the offline plan of the dev stack;
- the plan of a generated config with 1 queue and with 50 queues;
- the test suite's wall time.
The last line is `plan_vs_import=R1 scale_50_vs_1=R2 critical_path=D suite_s=S`.
Goals: R1 ≤ 1.5, R2 ≤ 2.0, D = 5.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import yaml

# Not from tools.harness: this process only times others and must not load Pulumi itself.
ROOT = Path(__file__).resolve().parent.parent

# pulumi-gcp's submodules are lazy proxies: touching a class is what loads one.
IMPORT_FLOOR = """
import pulumi, pulumi_gcp as gcp
gcp.cloudtasks.Queue, gcp.cloudrunv2.Service, gcp.projects.Service, gcp.serviceaccount.Account
"""

# Plans a stack whose file lives in another directory (argv[1]) with this repo's program.
PLAN_IN = """
import sys
from pathlib import Path
from tools.plan import main
sys.exit(main([sys.argv[2]], root=Path(sys.argv[1])))
"""


def generated_config(queues: int) -> dict[str, object]:
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
        }
    }


def timed(cmd: Sequence[str], repeat: int, *, warm_up: bool = True) -> float:
    """Median wall time of `repeat` fresh processes (after one warm-up run for the OS caches)."""
    if warm_up:
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description="Offline plan benchmark.")
    parser.add_argument("--repeat", type=int, default=5, help="fresh processes per figure (default 5)")
    parser.add_argument("--suite-repeat", type=int, default=3, help="test-suite runs (default 3; 0 skips)")
    args = parser.parse_args(argv)
    py = sys.executable

    floor = timed([py, "-c", IMPORT_FLOOR], args.repeat)
    print(f"import floor        {floor:7.3f} s")
    dev = timed([py, "-m", "tools.plan", "dev"], args.repeat)
    print(f"plan dev            {dev:7.3f} s")

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "__main__.py").symlink_to(ROOT / "__main__.py")
        scale = {}
        for n in (1, 50):
            (root / f"Pulumi.q{n}.yaml").write_text(yaml.safe_dump(generated_config(n)))
            scale[n] = timed([py, "-c", PLAN_IN, tmp, f"q{n}"], args.repeat)
            print(f"plan {n:2d} queue(s)     {scale[n]:7.3f} s")
        out = root / "dev.json"
        subprocess.run(
            [py, "-m", "tools.plan", "dev", "--json", str(out)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL
        )
        critical_path = json.loads(out.read_text())["criticalPath"]

    suite = 0.0
    if args.suite_repeat:
        suite = timed([py, "-m", "pytest", "-q", "-p", "no:cacheprovider"], args.suite_repeat, warm_up=False)
        print(f"test suite          {suite:7.3f} s")

    print(
        f"plan_vs_import={dev / floor:.2f} scale_50_vs_1={scale[50] / scale[1]:.2f} "
        f"critical_path={critical_path} suite_s={suite:.1f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
