"""Hand a stack's outputs to producers: the part they need, as an env file or a JSON file.

    pulumi stack output --json -s prod | uv run python -m tools.outputs --env > prod.env
    uv run python -m tools.outputs --stack prod --env > prod.env     # runs that pulumi command itself
    pulumi stack output --json -s prod > raw.json && uv run python -m tools.outputs raw.json --json > outputs.json

Reads `pulumi stack output --json` (a file, stdin with `-` or nothing, or `--stack STACK` to run it)
and checks it as the producer library does (`StackOutputs.from_json`). `--json` prints what the
library reads (serviceUrl, queues, timeoutSeconds, project, location), nothing else (no account
emails). `--env` prints one `PREFIX…=value` line per fact, for `docker run --env-file`, a Cloud Run
producer's env or a non-Python producer: a value outside `[A-Za-z0-9_./:,@%+=-]` is single-quoted as
a POSIX shell reads it. Bad input exits 2 with one line naming the output.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from task_worker_producer import EnqueueError, StackOutputs
from tools.enqueue import UsageError, load_stack_outputs

DEFAULT_PREFIX = "TASK_WORKER_"
_PLAIN = re.compile(r"[A-Za-z0-9_./:,@%+=-]*")


def producer_outputs(outputs: StackOutputs) -> dict[str, Any]:
    """The outputs a producer reads, in the shape of `pulumi stack output --json`."""
    data: dict[str, Any] = {
        "serviceUrl": outputs.service_url,
        "queues": {
            key: {"path": q.path, "paths": list(q.paths), "targetPath": q.target_path}
            for key, q in outputs.queues.items()
        },
    }
    if outputs.timeout_seconds is not None:
        data["timeoutSeconds"] = outputs.timeout_seconds
    for name, value in (("project", outputs.project), ("location", outputs.location)):
        if value is not None:
            data[name] = value
    return data


def env_name(prefix: str, *parts: str) -> str:
    # Queue keys are lowercase letters, digits and "-" (settings), so upper-casing and "-" -> "_"
    # never makes two keys one name.
    return prefix + "_".join(p.upper().replace("-", "_") for p in parts)


def env_lines(outputs: StackOutputs, prefix: str = DEFAULT_PREFIX) -> list[str]:
    """`NAME=value` lines: the service, the timeout, and per queue key its first queue, all its shards and its path."""
    pairs = [(env_name(prefix, "SERVICE_URL"), outputs.service_url)]
    if outputs.timeout_seconds is not None:
        pairs.append((env_name(prefix, "TIMEOUT_SECONDS"), str(outputs.timeout_seconds)))
    for name, value in (("PROJECT", outputs.project), ("LOCATION", outputs.location)):
        if value is not None:
            pairs.append((env_name(prefix, name), value))
    for key, queue in sorted(outputs.queues.items()):
        pairs += [
            (env_name(prefix, "QUEUE", key), queue.path),
            (env_name(prefix, "QUEUE", key, "PATHS"), ",".join(queue.paths)),
            (env_name(prefix, "QUEUE", key, "TARGET_PATH"), queue.target_path),
        ]
    return [f"{name}={value if _PLAIN.fullmatch(value) else shlex.quote(value)}" for name, value in pairs]


def _read(source: str) -> object:
    where = "stdin" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text()
    except OSError as err:
        raise EnqueueError(f"cannot read {where}: {err.strerror or err}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise EnqueueError(f"{where} is not JSON (expected `pulumi stack output --json`): {err}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.outputs", description="Hand a stack's outputs to producers.")
    parser.add_argument(
        "source", nargs="?", default="-", help="`pulumi stack output --json` as a file (- or none: stdin)"
    )
    form = parser.add_mutually_exclusive_group(required=True)
    form.add_argument("--env", action="store_true", help="print NAME=value lines")
    form.add_argument("--json", action="store_true", help="print the outputs the producer library reads, as JSON")
    parser.add_argument("--stack", help="run `pulumi stack output --json --stack STACK` (needs the Pulumi CLI)")
    parser.add_argument("--prefix", default=DEFAULT_PREFIX, help=f"env names' prefix (default {DEFAULT_PREFIX})")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", args.prefix):
        parser.error(f"--prefix {args.prefix!r}: letters, digits and _, not starting with a digit")
    if args.stack and args.source != "-":
        parser.error("give the outputs as a file or with --stack, not both")
    try:
        data = load_stack_outputs(args.stack) if args.stack else _read(args.source)
        if not isinstance(data, dict):  # from_json would take a JSON string for a file name
            raise EnqueueError(f"stack outputs must be a JSON object, got {type(data).__name__}")
        outputs = StackOutputs.from_json(data)
    except (EnqueueError, UsageError) as err:
        print(f"python -m tools.outputs: {err}", file=sys.stderr)
        return 2
    if args.env:
        print("\n".join(env_lines(outputs, args.prefix)))
    else:
        print(json.dumps(producer_outputs(outputs), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
