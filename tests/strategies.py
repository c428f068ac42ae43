"""Hypothesis strategies: valid stack configs, and ways to break exactly one key."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from settings import CLOUD_TASKS_LOCATIONS, MAX_CONCURRENT_DISPATCHES, MAX_DISPATCHES_PER_SECOND
from tools.harness import StackConfig

NS = "task-worker:"

LOWER = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"


def words(first: str, rest: str, max_size: int) -> st.SearchStrategy[str]:
    """first char from `first`, then up to max_size chars of `rest` (cheaper than from_regex)."""
    return st.builds(lambda a, b: a + b, st.sampled_from(first), st.text(rest, max_size=max_size))


queue_keys = words(LOWER, LOWER + DIGITS + "-", 11)
seconds = st.integers(min_value=0, max_value=86_400)


@st.composite
def backoffs(draw: st.DrawFn) -> tuple[str, str]:
    lo = draw(st.integers(min_value=1, max_value=3600))  # ≥ the default minBackoff when max stands alone
    hi = draw(st.integers(min_value=lo, max_value=7200))
    return f"{lo}s", f"{hi}s"


@st.composite
def queue_entries(draw: st.DrawFn) -> dict[str, Any]:
    """Any legal queue entry, with any subset of its fields."""
    min_backoff, max_backoff = draw(backoffs())
    entry = {
        "path": draw(words("/", LOWER + DIGITS + "/_-", 20)),
        "maxDispatchesPerSecond": draw(
            st.floats(min_value=0.001, max_value=MAX_DISPATCHES_PER_SECOND, allow_nan=False) | st.integers(1, 500)
        ),
        "maxConcurrentDispatches": draw(st.integers(1, MAX_CONCURRENT_DISPATCHES)),
        "maxAttempts": draw(st.just(-1) | st.integers(1, 1000)),
        "minBackoff": min_backoff,
        "maxBackoff": max_backoff,
        "maxRetryDuration": f"{draw(seconds)}s",
        "maxDoublings": draw(st.integers(0, 32)),
        "loggingSamplingRatio": draw(st.floats(0, 1, allow_nan=False)),
        "paused": draw(st.booleans()),
    }
    keep = draw(st.sets(st.sampled_from(sorted(entry))))
    return {k: v for k, v in entry.items() if k in keep}


@st.composite
def named_and_sharded(draw: st.DrawFn, key: str) -> dict[str, Any]:
    """A queue entry, sometimes with its own queue ID (unique: derived from the key) and shards."""
    entry = draw(queue_entries())
    if draw(st.booleans()):
        entry["name"] = f"tw-{key}-queue"
    if draw(st.booleans()):
        entry["shards"] = draw(st.integers(1, 3))
    return entry


@st.composite
def valid_configs(draw: st.DrawFn, max_queues: int = 20) -> dict[str, Any]:
    """A config as a plain dict of full key -> value (objects as dicts)."""
    min_instances = draw(st.integers(0, 5))
    # (cpu, memory, concurrency bound) that Cloud Run accepts (tests/test_limits.py has the matrix).
    cpu, memory, max_concurrency = draw(
        st.sampled_from(
            [
                ("1", "512Mi", 1000),
                ("1000m", "2Gi", 1000),
                ("2", "4Gi", 1000),
                ("4", "8Gi", 1000),
                ("0.5", "512Mi", 1),
                ("0.25", "256Mi", 1),
                ("8", "32Gi", 1000),
            ]
        )
    )
    service = {
        "image": draw(st.sampled_from(["us-docker.pkg.dev/cloudrun/container/hello", "gcr.io/p/worker:1.2"])),
        "minInstances": min_instances,
        "maxInstances": draw(st.integers(max(1, min_instances), 100)),
        "concurrency": draw(st.integers(1, max_concurrency)),
        "timeoutSeconds": draw(st.integers(600, 1800)),
        "cpu": cpu,
        "memory": memory,
        "cpuIdle": True if max_concurrency == 1 else draw(st.booleans()),
        "env": draw(st.dictionaries(words(LOWER.upper(), LOWER.upper() + DIGITS + "_", 8), st.text(max_size=10))),
        "ingress": draw(st.sampled_from(["internal", "internal-and-cloud-load-balancing"])),
    }
    # Leave fields out at random, but never break a CPU × memory pair (defaults are 1 CPU, 512Mi).
    keep = {k for k in service if draw(st.booleans())} | {"minInstances"}
    if keep & {"cpu", "memory", "concurrency", "cpuIdle"}:
        keep |= {"cpu", "memory", "concurrency", "cpuIdle"}
    # Issue 8's keys: Secret Manager env vars, Direct VPC egress, probes (each optional).
    secret_names = draw(st.lists(words("S", LOWER.upper() + "_", 6), max_size=2, unique=True))
    service["secrets"] = {
        name: draw(
            st.sampled_from(["db-password", {"secret": "projects/other-project/secrets/api-key", "version": "3"}])
        )
        for name in secret_names
        if name not in service["env"]
    }
    service["vpc"] = {
        "network": "default",
        "subnetwork": draw(st.sampled_from(["workers", None])),
        "egress": draw(st.sampled_from(["PRIVATE_RANGES_ONLY", "ALL_TRAFFIC"])),
    }
    service["vpc"] = {k: v for k, v in service["vpc"].items() if v is not None}
    service["startupProbe"] = draw(st.sampled_from([{"httpPath": "/healthz"}, {"port": 8080, "periodSeconds": 5}]))
    service["livenessProbe"] = {"httpPath": "/live", "periodSeconds": draw(st.integers(1, 3600))}
    keep |= {k for k in ("secrets", "vpc", "startupProbe", "livenessProbe") if draw(st.booleans())}
    keys = draw(st.lists(queue_keys, min_size=1, max_size=max_queues, unique=True))
    config: dict[str, Any] = {
        "gcp:project": "test-project",
        "gcp:region": draw(st.sampled_from(sorted(CLOUD_TASKS_LOCATIONS))),
        NS + "service": {k: v for k, v in service.items() if k in keep},
        NS + "queues": {k: draw(named_and_sharded(k)) for k in keys},
        NS + "enqueuers": draw(
            st.lists(
                st.builds(
                    "{}:{}@{}.com".format,
                    st.sampled_from(["serviceAccount", "group", "user"]),
                    words(LOWER, LOWER, 7),
                    words(LOWER, LOWER, 7),
                ),
                max_size=2,  # queue IAM grows as queues × enqueuers: two show the pattern
                unique_by=str.lower,
            )
        ),
        NS + "deletionProtection": draw(st.booleans()),
        # Operations (issue 9): alerts on by default, dead letters opt-in; both either way here.
        NS + "monitoring": {
            "enabled": draw(st.booleans()),
            "notificationChannels": draw(st.sampled_from([[], ["42"]])),
        },
        NS + "deadLetter": {"enabled": draw(st.booleans())},
        NS + "labels": draw(
            st.dictionaries(
                words(LOWER, LOWER + DIGITS + "_-", 10).filter(lambda k: k not in {"managed-by", "stack"}),
                st.text(LOWER + DIGITS + "_-", max_size=10),
                max_size=3,
            )
        ),
    }
    return config


def as_stack_config(config: dict[str, Any], stack: str = "prop") -> StackConfig:
    """Strings as the engine passes them: objects, lists, numbers and bools as JSON."""
    return StackConfig(stack, {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()})


# --- breaking one key ------------------------------------------------------------------------

# Per queue field: values that must be refused.
BAD_QUEUE_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "path": st.sampled_from(["tasks", "", "/a b", 5, None]),
    "maxDispatchesPerSecond": st.floats(max_value=0) | st.floats(min_value=500.0001) | st.text(max_size=3),
    "maxConcurrentDispatches": st.integers(max_value=0) | st.integers(min_value=5001) | st.just(2.5),
    "maxAttempts": st.integers(max_value=-2) | st.just(0) | st.just("5"),
    "minBackoff": st.sampled_from(["10", "10m", "1h", "-1s", "s", 10]),
    "maxBackoff": st.sampled_from(["abc", "1.s", "1e3s", True]),
    "maxRetryDuration": st.sampled_from(["1d", "forever", 60]),
    "maxDoublings": st.integers(max_value=-1) | st.just("3"),
    "loggingSamplingRatio": st.floats(min_value=1.0001, allow_infinity=False) | st.floats(max_value=-0.0001),
    "paused": st.sampled_from(["yes", 1, 0, "true"]),
}
BAD_SERVICE_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "image": st.sampled_from(["", "a b", 7]),
    "minInstances": st.integers(max_value=-1) | st.just("1"),
    "maxInstances": st.integers(max_value=0) | st.just(True),
    "concurrency": st.integers(max_value=0) | st.integers(min_value=1001),
    "timeoutSeconds": st.integers(max_value=599) | st.integers(min_value=1801),
    "cpu": st.sampled_from(["9", "0.01", "lots", "10m", True, "3", "1.5", "0.0805"]),
    "memory": st.sampled_from(["64Mi", "33Gi", "1TB", "512", 512, "512Mi\n"]),
    "env": st.sampled_from([["A=1"], {"PORT": "1"}, {"A": 1}, {"1A": "x"}, "A=1"]),
    "ingress": st.sampled_from(["all", "public", "INGRESS_TRAFFIC_ALL", "", None]),
}
PUBLIC = st.sampled_from(["allUsers", "allAuthenticatedUsers"])


@st.composite
def broken_configs(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """A valid config with exactly one key made bad; returns (config, the full key to be named).

    The valid surroundings stay small (validation of other keys is covered by the valid-config
    property): the budget goes on the bad values.
    """
    config: dict[str, Any] = {
        "gcp:project": "test-project",
        "gcp:region": draw(st.sampled_from(sorted(CLOUD_TASKS_LOCATIONS))),
        NS + "queues": {k: {} for k in draw(st.lists(queue_keys, min_size=1, max_size=3, unique=True))},
        NS + "enqueuers": ["serviceAccount:producer@test-project.iam.gserviceaccount.com"],
    }
    kind = draw(st.sampled_from(["queue", "service", "unknown", "public", "top"]))
    if kind == "queue":
        key = draw(st.sampled_from(sorted(config[NS + "queues"])))
        field = draw(st.sampled_from(sorted(BAD_QUEUE_VALUES)))
        entry = config[NS + "queues"][key]
        entry[field] = draw(BAD_QUEUE_VALUES[field])
        if field in ("minBackoff", "maxBackoff"):
            entry.pop("maxBackoff" if field == "minBackoff" else "minBackoff", None)
        return config, f"{NS}queues.{key}.{field}"
    if kind == "service":
        field = draw(st.sampled_from(sorted(BAD_SERVICE_VALUES)))
        service = {"minInstances": 0}
        service[field] = draw(BAD_SERVICE_VALUES[field])
        config[NS + "service"] = service
        if field == "env" and isinstance(service["env"], dict):
            return config, f"{NS}service.env.{next(iter(service['env']))}"
        return config, f"{NS}service.{field}"
    if kind == "unknown":
        where = draw(st.sampled_from(["top", "service", "queue"]))
        name = draw(words(LOWER, LOWER + LOWER.upper(), 12))
        if where == "top":
            name = name + "X"  # never one of ours
            config[NS + name] = draw(st.integers() | st.text(max_size=5))
            return config, NS + name
        if where == "service":
            name = name + "X"
            config[NS + "service"] = {name: 1}
            return config, f"{NS}service.{name}"
        key = sorted(config[NS + "queues"])[0]
        name = name + "X"
        config[NS + "queues"][key][name] = 1
        return config, f"{NS}queues.{key}.{name}"
    if kind == "public":
        members = config[NS + "enqueuers"]
        index = draw(st.integers(0, len(members)))
        members.insert(index, draw(PUBLIC))
        return config, f"{NS}enqueuers[{index}]"
    field = draw(st.sampled_from(["deletionProtection", "labels", "location", "region"]))
    if field == "deletionProtection":
        config[NS + field] = draw(st.sampled_from(["yes", 1, "maybe"]))
        return config, NS + field
    if field == "labels":
        config[NS + field] = {draw(st.sampled_from(["Env", "1x", "managed-by", "stack"])): "x"}
        return config, f"{NS}labels.{next(iter(config[NS + field]))}"
    if field == "location":
        config[NS + "location"] = draw(st.sampled_from(["europe-west4", "europe-north1", "mars-east1"]))
        return config, NS + "location"
    config["gcp:region"] = draw(st.sampled_from(["europe-west4", "me-central1", ""]))
    return config, "gcp:region"
