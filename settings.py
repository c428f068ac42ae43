"""Stack config -> one typed, immutable Settings object, validated once.

Every value is checked before any resource is declared. A bad config raises
SettingsError listing every problem, each naming the full key, the value and what
is allowed. Components receive Settings (or parts of it) and never re-validate.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

NAMESPACE = "task-worker"

# Where Cloud Tasks runs (queue and service share one location). Source:
# https://cloud.google.com/tasks/docs/locations, read 2026-11. Cloud Run runs in
# more regions (e.g. europe-west4, europe-north1): those are refused here.
CLOUD_TASKS_LOCATIONS: frozenset[str] = frozenset(
    {
        "northamerica-northeast1",
        "southamerica-east1",
        "us-central1",
        "us-east1",
        "us-east4",
        "us-west1",
        "us-west2",
        "us-west3",
        "us-west4",
        "europe-central2",
        "europe-west1",
        "europe-west2",
        "europe-west3",
        "europe-west6",
        "asia-east1",
        "asia-east2",
        "asia-northeast1",
        "asia-northeast2",
        "asia-northeast3",
        "asia-south1",
        "asia-southeast1",
        "asia-southeast2",
        "australia-southeast1",
    }
)

# Cloud Tasks limits (gcp-facts.md: Cloud Tasks v2 discovery document and quotas page).
MAX_DISPATCHES_PER_SECOND = 500.0
MAX_CONCURRENT_DISPATCHES = 5000
# Cloud Run limits (gcp-facts.md: Cloud Run v2).
MAX_CONCURRENCY = 1000
MAX_TIMEOUT_SECONDS = 3600
# Env vars Cloud Run sets itself; a container may not set them.
RESERVED_ENV = frozenset({"PORT", "K_SERVICE", "K_REVISION", "K_CONFIGURATION"})
# Labels this stack sets itself.
OWN_LABELS = frozenset({"managed-by", "stack"})

INGRESS = MappingProxyType(
    {
        "internal": "INGRESS_TRAFFIC_INTERNAL_ONLY",
        "internal-and-cloud-load-balancing": "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
    }
)
ENQUEUER_PREFIXES = ("serviceAccount:", "group:", "user:", "principal:", "principalSet:")
PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})

_PROJECT_ID = re.compile(r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
_QUEUE_KEY = re.compile(r"^[a-z][a-z0-9-]{0,49}$")
_QUEUE_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$")
# Google's Duration JSON form: seconds with up to 9 fractional digits, suffix "s".
_DURATION = re.compile(r"^(\d{1,12})(\.\d{1,9})?s$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
_IMAGE = re.compile(r"^[^\s]+$")
_CPU = re.compile(r"^(\d+(\.\d+)?|\d+m)$")
_MEMORY = re.compile(r"^(\d+)(Mi|Gi)$")


@dataclass(frozen=True)
class ServiceSettings:
    image: str = "us-docker.pkg.dev/cloudrun/container/hello"
    min_instances: int = 0
    max_instances: int = 10
    concurrency: int = 80
    # Outlasts Cloud Tasks' default 10-minute dispatch deadline (gcp-facts.md).
    timeout_seconds: int = 600
    cpu: str = "1"
    memory: str = "512Mi"
    env: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    ingress: str = INGRESS["internal"]
    # True when the whole `task-worker:service` key is a Pulumi secret: env values
    # are then declared as secrets so they never show in clear.
    env_is_secret: bool = False


@dataclass(frozen=True)
class QueueSettings:
    key: str
    path: str = "/"
    max_dispatches_per_second: float = 10.0
    max_concurrent_dispatches: int = 100
    max_attempts: int = 100
    min_backoff: str = "0.1s"
    max_backoff: str = "3600s"
    max_doublings: int = 16
    max_retry_duration: str = "0s"
    logging_sampling_ratio: float = 0.0
    paused: bool = False


@dataclass(frozen=True)
class Settings:
    stack: str
    project: str
    location: str
    service: ServiceSettings
    queues: tuple[QueueSettings, ...]
    enqueuers: tuple[str, ...] = ()
    deletion_protection: bool = True
    labels: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    warnings: tuple[str, ...] = ()


# The documented defaults, one place: README's table is checked against these.
SERVICE_DEFAULTS = ServiceSettings()
QUEUE_DEFAULTS = QueueSettings(key="default")


@dataclass(frozen=True)
class Problem:
    key: str
    value: str
    allowed: str

    def __str__(self) -> str:
        return f"{self.key}: {self.value} is not allowed; {self.allowed}"


class SettingsError(Exception):
    """Every problem found in the stack config, at once."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid stack config ({len(self.problems)} problem(s)):\n{lines}")


class _Checker:
    """Collects problems; each check returns the value or None when it is bad."""

    def __init__(self, secret_keys: frozenset[str]) -> None:
        self.problems: list[Problem] = []
        self._secret_keys = secret_keys

    def bad(self, key: str, value: Any, allowed: str) -> None:
        top = re.split(r"[.\[]", key, maxsplit=1)[0]
        shown = "[secret]" if top in self._secret_keys else _show(value)
        self.problems.append(Problem(key, shown, allowed))

    def number(self, key: str, value: Any, lo: float, hi: float, *, lo_open: bool = False) -> float | None:
        low = f"> {_num(lo)}" if lo_open else f"≥ {_num(lo)}"
        allowed = f"expected a number {low} and ≤ {_num(hi)}"
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            self.bad(key, value, allowed)
            return None
        if value < lo or (lo_open and value == lo) or value > hi:
            self.bad(key, value, allowed)
            return None
        return float(value)

    def integer(self, key: str, value: Any, lo: int, hi: int | None, allowed: str = "") -> int | None:
        allowed = allowed or (f"expected a whole number ≥ {lo}" + (f" and ≤ {hi}" if hi is not None else ""))
        if isinstance(value, bool) or not isinstance(value, int):
            # 5.0 from YAML/JSON is still a whole number.
            if isinstance(value, float) and value.is_integer() and not isinstance(value, bool):
                value = int(value)
            else:
                self.bad(key, value, allowed)
                return None
        if value < lo or (hi is not None and value > hi):
            self.bad(key, value, allowed)
            return None
        return value

    def boolean(self, key: str, value: Any) -> bool | None:
        if not isinstance(value, bool):
            self.bad(key, value, "expected true or false")
            return None
        return value

    def string(self, key: str, value: Any, pattern: re.Pattern[str], allowed: str) -> str | None:
        if not isinstance(value, str) or not pattern.match(value):
            self.bad(key, value, allowed)
            return None
        return value

    def duration(self, key: str, value: Any) -> float | None:
        """A duration like "10s" or "0.1s"; returns seconds."""
        allowed = 'expected a duration in seconds with an "s" suffix, e.g. "10s" or "0.5s"'
        if not isinstance(value, str) or not (m := _DURATION.match(value)):
            self.bad(key, value, allowed)
            return None
        return float(m.group(1) + (m.group(2) or ""))

    def mapping(self, key: str, value: Any) -> Mapping[str, Any] | None:
        if not isinstance(value, dict):
            self.bad(key, value, "expected a map of keys to values")
            return None
        return value

    def unknown_keys(self, key: str, value: Mapping[str, Any], known: frozenset[str]) -> None:
        for k in sorted(set(value) - known):
            self.bad(f"{key}.{k}", value[k], f"unknown key; expected one of: {', '.join(sorted(known))}")

    def fields(
        self,
        key: str,
        obj: Mapping[str, Any],
        names: Mapping[str, str],
        checks: Mapping[str, Callable[[str, Any], Any]],
    ) -> dict[str, Any]:
        """Check each field `obj` sets (an unknown one is a problem); good ones by attribute name."""
        self.unknown_keys(key, obj, frozenset(names))
        values: dict[str, Any] = {}
        for name, check in checks.items():
            if name in obj:
                parsed = check(f"{key}.{name}", obj[name])
                if parsed is not None:
                    values[names[name]] = parsed
        return values


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _cpu_value(cpu: str) -> float:
    return int(cpu[:-1]) / 1000 if cpu.endswith("m") else float(cpu)


def _memory_mib(memory: str) -> int:
    m = _MEMORY.match(memory)
    assert m
    return int(m.group(1)) * (1024 if m.group(2) == "Gi" else 1)


_SERVICE_FIELDS: dict[str, str] = {
    "image": "image",
    "minInstances": "min_instances",
    "maxInstances": "max_instances",
    "concurrency": "concurrency",
    "timeoutSeconds": "timeout_seconds",
    "cpu": "cpu",
    "memory": "memory",
    "env": "env",
    "ingress": "ingress",
}

_QUEUE_FIELDS: dict[str, str] = {
    "path": "path",
    "maxDispatchesPerSecond": "max_dispatches_per_second",
    "maxConcurrentDispatches": "max_concurrent_dispatches",
    "maxAttempts": "max_attempts",
    "minBackoff": "min_backoff",
    "maxBackoff": "max_backoff",
    "maxRetryDuration": "max_retry_duration",
    "maxDoublings": "max_doublings",
    "loggingSamplingRatio": "logging_sampling_ratio",
    "paused": "paused",
}

# Every config key this stack reads (the contract the README documents).
CONFIG_KEYS = frozenset({"location", "service", "queues", "enqueuers", "deletionProtection", "labels"})


def _parse_service(c: _Checker, key: str, raw: Any, secret: bool) -> ServiceSettings:
    d = SERVICE_DEFAULTS
    obj = c.mapping(key, raw)
    if obj is None:
        return d
    checks: dict[str, Callable[[str, Any], Any]] = {
        "image": lambda k, v: c.string(k, v, _IMAGE, "expected a container image reference"),
        "minInstances": lambda k, v: c.integer(k, v, 0, None),
        "maxInstances": lambda k, v: c.integer(k, v, 1, None),
        "concurrency": lambda k, v: c.integer(k, v, 1, MAX_CONCURRENCY),
        "timeoutSeconds": lambda k, v: c.integer(k, v, 1, MAX_TIMEOUT_SECONDS),
        "cpu": lambda k, v: _check_cpu(c, k, v),
        "memory": lambda k, v: _check_memory(c, k, v),
        "env": lambda k, v: _check_env(c, k, v),
        "ingress": lambda k, v: _check_ingress(c, k, v),
    }
    values = c.fields(key, obj, _SERVICE_FIELDS, checks)

    service = ServiceSettings(**{**d.__dict__, **values, "env_is_secret": secret})
    if service.max_instances < service.min_instances:
        c.bad(
            f"{key}.maxInstances",
            service.max_instances,
            f"expected maxInstances ≥ minInstances ({service.min_instances})",
        )
    return service


def _check_cpu(c: _Checker, key: str, value: Any) -> str | None:
    allowed = 'expected a CPU limit from "0.08" to "8", e.g. "1", "2" or "1000m"'
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = _num(value)
    cpu = c.string(key, value, _CPU, allowed)
    if cpu is None:
        return None
    if not 0.08 <= _cpu_value(cpu) <= 8:
        c.bad(key, value, allowed)
        return None
    return cpu


def _check_memory(c: _Checker, key: str, value: Any) -> str | None:
    allowed = 'expected memory from "128Mi" to "32Gi", e.g. "512Mi" or "2Gi"'
    memory = c.string(key, value, _MEMORY, allowed)
    if memory is None:
        return None
    if not 128 <= _memory_mib(memory) <= 32 * 1024:
        c.bad(key, value, allowed)
        return None
    return memory


def _check_env(c: _Checker, key: str, value: Any) -> Mapping[str, str] | None:
    env = c.mapping(key, value)
    if env is None:
        return None
    ok = True
    for name, val in env.items():
        if not _ENV_NAME.match(name) or name in RESERVED_ENV:
            c.bad(
                f"{key}.{name}",
                name,
                "expected an env var name of letters, digits and _ (not starting with a digit), "
                f"not one Cloud Run sets ({', '.join(sorted(RESERVED_ENV))})",
            )
            ok = False
        elif not isinstance(val, str):
            c.bad(f"{key}.{name}", val, "expected a string value (quote it in YAML)")
            ok = False
    return MappingProxyType(dict(sorted(env.items()))) if ok else None


def _check_ingress(c: _Checker, key: str, value: Any) -> str | None:
    if value not in INGRESS:
        c.bad(
            key,
            value,
            f"expected one of: {', '.join(INGRESS)} (public ingress is refused: Cloud Tasks reaches "
            "an internal service in the same project)",
        )
        return None
    return INGRESS[value]


def _parse_queue(c: _Checker, key: str, name: str, raw: Any) -> QueueSettings | None:
    if not _QUEUE_KEY.match(name):
        c.bad(
            key,
            name,
            "expected a queue key of lowercase letters, digits and hyphens, starting with a letter, "
            "at most 50 characters",
        )
    obj = c.mapping(key, raw)
    if obj is None:
        return None
    seconds: dict[str, float] = {}

    def duration(k: str, v: Any) -> str | None:
        s = c.duration(k, v)
        if s is None:
            return None
        seconds[k.rsplit(".", 1)[1]] = s
        return v

    def max_attempts(k: str, v: Any) -> int | None:
        if v == -1 and not isinstance(v, bool):
            return -1
        return c.integer(k, v, 1, None, "expected -1 (unlimited) or a whole number ≥ 1")

    path_allowed = 'expected a URL path starting with "/", e.g. "/tasks"'
    checks: dict[str, Callable[[str, Any], Any]] = {
        "path": lambda k, v: c.string(k, v, _QUEUE_PATH, path_allowed),
        "maxDispatchesPerSecond": lambda k, v: c.number(k, v, 0, MAX_DISPATCHES_PER_SECOND, lo_open=True),
        "maxConcurrentDispatches": lambda k, v: c.integer(k, v, 1, MAX_CONCURRENT_DISPATCHES),
        "maxAttempts": max_attempts,
        "minBackoff": duration,
        "maxBackoff": duration,
        "maxRetryDuration": duration,
        "maxDoublings": lambda k, v: c.integer(k, v, 0, None),
        "loggingSamplingRatio": lambda k, v: c.number(k, v, 0, 1),
        "paused": c.boolean,
    }
    values = c.fields(key, obj, _QUEUE_FIELDS, checks)

    queue = QueueSettings(key=name, **values)
    lo = seconds.get("minBackoff", _seconds(queue.min_backoff))
    hi = seconds.get("maxBackoff", _seconds(queue.max_backoff))
    if lo > hi:
        c.bad(f"{key}.minBackoff", queue.min_backoff, f"expected minBackoff ≤ maxBackoff ({queue.max_backoff})")
    return queue


def _seconds(duration: str) -> float:
    return float(duration[:-1])


def _check_enqueuers(c: _Checker, key: str, value: Any) -> tuple[str, ...] | None:
    allowed = "expected a list of IAM members: " + ", ".join(f"{p}…" for p in ENQUEUER_PREFIXES)
    if not isinstance(value, list):
        c.bad(key, value, allowed)
        return None
    seen: set[str] = set()
    members: list[str] = []
    for i, member in enumerate(value):
        k = f"{key}[{i}]"
        if member in PUBLIC_MEMBERS:
            c.bad(k, member, "public members are refused: only named identities may enqueue; " + allowed)
        elif not isinstance(member, str) or not member.startswith(ENQUEUER_PREFIXES):
            c.bad(k, member, allowed)
        elif member.startswith(("serviceAccount:", "group:", "user:")) and "@" not in member:
            c.bad(
                k,
                member,
                "expected an email after the prefix, e.g. serviceAccount:name@project.iam.gserviceaccount.com",
            )
        elif member.lower() in seen:
            c.bad(k, member, "each member once: it is already listed")
        else:
            seen.add(member.lower())
            members.append(member)
    return tuple(members)


def _check_labels(c: _Checker, key: str, value: Any) -> Mapping[str, str] | None:
    labels = c.mapping(key, value)
    if labels is None:
        return None
    ok = True
    for k, v in labels.items():
        if k in OWN_LABELS:
            c.bad(f"{key}.{k}", v, f"set by the stack itself ({', '.join(sorted(OWN_LABELS))}); use another key")
            ok = False
        elif not _LABEL_KEY.match(k):
            c.bad(
                f"{key}.{k}",
                k,
                "expected a label key of lowercase letters, digits, _ and -, starting with a letter, ≤ 63 characters",
            )
            ok = False
        elif not isinstance(v, str) or not _LABEL_VALUE.match(v):
            c.bad(f"{key}.{k}", v, "expected a label value of lowercase letters, digits, _ and -, ≤ 63 characters")
            ok = False
    if len(labels) + len(OWN_LABELS) > 64:
        c.bad(key, f"{len(labels)} labels", f"expected at most {64 - len(OWN_LABELS)} (GCP allows 64 in all)")
        ok = False
    return MappingProxyType(dict(sorted(labels.items()))) if ok else None


def stack_label(stack: str) -> str:
    """The stack name as a valid GCP label value."""
    return re.sub(r"[^a-z0-9_-]", "-", stack.lower())[:63]


def _decode(text: str) -> Any:
    """Config values arrive as strings; structured ones (and bools) as JSON."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text  # a plain string; the field's own check says what was expected


def parse_settings(
    config: Mapping[str, str],
    stack: str,
    secret_keys: frozenset[str] = frozenset(),
) -> Settings:
    """Parse and check the whole stack config; raise SettingsError with every problem."""
    c = _Checker(secret_keys)
    ns = NAMESPACE + ":"
    ours = {k[len(ns) :]: v for k, v in config.items() if k.startswith(ns)}
    for k in sorted(set(ours) - CONFIG_KEYS):
        c.bad(ns + k, ours[k], f"unknown key; expected one of: {', '.join(ns + x for x in sorted(CONFIG_KEYS))}")

    project = config.get("gcp:project")
    if project is None:
        c.bad("gcp:project", "(unset)", "required: the ID of the Google Cloud project to deploy to")
    elif not _PROJECT_ID.match(project):
        c.bad("gcp:project", project, "expected a project ID: 6–30 lowercase letters, digits and hyphens")

    location_key = ns + "location" if "location" in ours else "gcp:region"
    location = ours.get("location", config.get("gcp:region"))
    if location is None:
        c.bad("gcp:region", "(unset)", f"required (or {ns}location): one of {_locations()}")
    elif location not in CLOUD_TASKS_LOCATIONS:
        c.bad(location_key, location, f"expected a location where Cloud Tasks runs: {_locations()}")

    service = SERVICE_DEFAULTS
    if "service" in ours:
        service = _parse_service(c, ns + "service", _decode(ours["service"]), ns + "service" in secret_keys)

    queues: list[QueueSettings] = []
    if "queues" in ours:
        raw_queues = c.mapping(ns + "queues", _decode(ours["queues"]))
        if raw_queues is not None and not raw_queues:
            c.bad(ns + "queues", "{}", "expected at least one queue (leave the key out for one queue `default` at /)")
        for name, raw in sorted((raw_queues or {}).items()):
            queue = _parse_queue(c, f"{ns}queues.{name}", name, raw)
            if queue is not None:
                queues.append(queue)
    else:
        queues.append(QUEUE_DEFAULTS)

    enqueuers: tuple[str, ...] = ()
    if "enqueuers" in ours:
        enqueuers = _check_enqueuers(c, ns + "enqueuers", _decode(ours["enqueuers"])) or ()

    protection = True
    if "deletionProtection" in ours:
        checked = c.boolean(ns + "deletionProtection", _decode(ours["deletionProtection"]))
        protection = True if checked is None else checked

    labels: Mapping[str, str] = MappingProxyType({})
    if "labels" in ours:
        labels = _check_labels(c, ns + "labels", _decode(ours["labels"])) or labels

    if c.problems:
        raise SettingsError(c.problems)

    capacity = service.max_instances * service.concurrency
    warnings = tuple(
        f"{ns}queues.{q.key}.maxConcurrentDispatches ({q.max_concurrent_dispatches}) exceeds the service's "
        f"capacity, maxInstances × concurrency = {service.max_instances} × {service.concurrency} = {capacity}: "
        "Cloud Tasks would see 429s and back off"
        for q in queues
        if q.max_concurrent_dispatches > capacity
    )
    assert project is not None
    assert location is not None
    return Settings(
        stack=stack,
        project=project,
        location=location,
        service=service,
        queues=tuple(queues),
        enqueuers=enqueuers,
        deletion_protection=protection,
        labels=labels,
        warnings=warnings,
    )


def _locations() -> str:
    return ", ".join(sorted(CLOUD_TASKS_LOCATIONS))


def config_from_runtime() -> tuple[dict[str, str], frozenset[str]]:
    """All config keys of the running stack, and which of them are secrets.

    pulumi.Config only answers for keys one asks for; reading the whole map is
    what lets a typo'd key be refused instead of silently ignored.
    """
    from pulumi.runtime import config as rc

    merged: dict[str, Any] = {**rc.get_config_env(), **rc.CONFIG.get()}
    # Older engines pass "project:config:key"; normalise to "project:key".
    config = {k.replace(":config:", ":", 1): v if isinstance(v, str) else json.dumps(v) for k, v in merged.items()}
    secret = set(rc.get_config_secret_keys_env()) | set(rc._SECRET_KEYS.get())
    return config, frozenset(k.replace(":config:", ":", 1) for k in secret)


def load_settings() -> Settings:
    """Settings of the running stack; a bad config stops the program with every problem, no traceback."""
    import pulumi

    config, secret_keys = config_from_runtime()
    try:
        settings = parse_settings(config, pulumi.get_stack(), secret_keys)
    except SettingsError as err:
        raise pulumi.RunError(str(err)) from None
    for warning in settings.warnings:
        pulumi.log.warn(warning)
    return settings
