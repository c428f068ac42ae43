"""The config model, declared once with pydantic: each key's type, limits, default and what is allowed.

Everything else is derived from it: the error messages, the config table in docs and the JSON
Schema editors use for `Pulumi.<stack>.yaml` (`python -m tools.schema`). Limits come from
settings/limits.py, each with its source.
"""

import itertools
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal, NamedTuple, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    PrivateAttr,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError

from settings.limits import (
    ALERT_MAX_MINUTES,
    CLOUD_TASKS_LOCATIONS,
    DEFAULT_DISPATCH_DEADLINE_SECONDS,
    INT32_MAX,
    LIVENESS_MAX_SECONDS,
    MAX_CONCURRENCY,
    MAX_CONCURRENT_DISPATCHES,
    MAX_DISPATCH_DEADLINE_SECONDS,
    MAX_DISPATCHES_PER_SECOND,
    MAX_DURATION_SECONDS,
    MAX_ENV_VALUE_BYTES,
    MAX_ENV_VARS,
    MAX_LABEL_CHARS,
    MAX_LABELS,
    MAX_MEMORY_MIB,
    MAX_QUEUES_PER_LOCATION,
    MAX_RETENTION_SECONDS,
    MAX_SHARDS,
    MAX_TASK_AGE_SECONDS,
    MAX_TIMEOUT_SECONDS,
    MIN_MEMORY_MIB,
    MIN_RETENTION_SECONDS,
    MIN_TIMEOUT_SECONDS,
    RESERVED_ENV,
    RESTRICTED_PROJECT_STRINGS,
    STARTUP_MAX_SECONDS,
)
from settings.names import slug
from settings.problems import Problem, SettingsError  # noqa: F401  (re-exported)

NAMESPACE = "task-worker"
# The program's own env vars (dead letters: components/dead_letter.py) start with this. Reserved
# always, not only with dead letters on: turning them on later must not collide with a user's name.
RESERVED_ENV_PREFIX = "TASK_WORKER_"
# Labels this stack sets itself on every resource it labels.
OWN_LABELS = frozenset({"managed-by", "stack"})

INGRESS = MappingProxyType(
    {
        "internal": "INGRESS_TRAFFIC_INTERNAL_ONLY",
        "internal-and-cloud-load-balancing": "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
    }
)
EXECUTION_ENVIRONMENTS = MappingProxyType({"gen1": "EXECUTION_ENVIRONMENT_GEN1", "gen2": "EXECUTION_ENVIRONMENT_GEN2"})
ENQUEUER_PREFIXES = ("serviceAccount:", "group:", "user:", "domain:", "principal://", "principalSet://")
PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})

# A container image reference as the registry grammar has it (distribution/reference):
# [host[:port]/]path[:tag][@digest], path components lowercase. ASCII classes, never \w or \d:
# pydantic compiles patterns with Rust's regex, where those are Unicode-wide and a {0,127}
# repetition of them costs tens of milliseconds at every run.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?"
_IMAGE = (
    rf"(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?"
)
_EMAIL = r"[^@\s:]+@[^@\s:]+\.[^@\s:]+"
# GKE Workload Identity: serviceAccount:PROJECT.svc.id.goog[NAMESPACE/KSA] (IAM principal identifiers).
_WORKLOAD_IDENTITY = (
    r"[a-z][a-z0-9-]{4,28}[a-z0-9]\.svc\.id\.goog\[[a-z0-9]([a-z0-9-]*[a-z0-9])?/[a-z0-9]([a-z0-9.-]*[a-z0-9])?\]"
)


def _cross(problems: list[tuple[str, Any, str]]) -> PydanticCustomError:
    """Several cross-field problems of one object, each (field, value, allowed), as one error."""
    return PydanticCustomError("task_worker_cross", "cross-field problems", {"problems": problems})


def _allowed(text: str) -> dict[str, Any]:
    return {"x-allowed": text}


def _described(description: str, allowed: str, *, keys: str = "", **kwargs: Any) -> Any:
    """A field with what it is (description) and what is allowed (shown in errors and docs/configuration.md).

    `keys`: for a map, what its keys may be (the message for a bad key).
    """
    extra = _allowed(allowed) | ({"x-keys": keys} if keys else {})
    return Field(description=f"{description} Allowed: {allowed}", json_schema_extra=extra, **kwargs)


class _Model(BaseModel):
    # strict: no "80" for 80, no true for 1; extra="forbid": a typo is an error, never a default.
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        frozen=True,
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
    )


# --- Cloud Run: CPU and memory ---------------------------------------------------------------
# Cloud Run "Configure CPU limits" and "Configure memory limits" (gcp-facts.md "Cloud Run (v2)").

_CPU_TEXT = re.compile(r"(\d+)(?:\.(\d{1,3}))?|(\d+)m")
_MEMORY_TEXT = re.compile(r"([1-9]\d{0,5})(Mi|Gi)")
# Minimum CPU (millicores) for a memory size (memory page's table); between rows, linear
# interpolation rounded up to the 0.001 step: exact at every row, and no stricter than the
# neighbouring rows (a "next row up" reading would refuse 0.5 CPU with 513Mi, which the
# "≤ 1 GiB below 1 CPU" rule allows).
_MIN_CPU_FOR_MEMORY = ((128, 83), (256, 167), (512, 333), (1024, 583), (2048, 1000))
# Memory above a size needs at least this CPU.
_CPU_FOR_LARGE_MEMORY = ((24 * 1024, 8), (16 * 1024, 6), (8 * 1024, 4), (4 * 1024, 2))
# CPU above 1 needs at least this memory.
_MEMORY_FOR_CPU = {4000: 2048, 6000: 4096, 8000: 4096}
CPU_ALLOWED = '"0.08" to "1" in steps of 0.001 (or millicores, "80m"–"1000m"), or "2", "4", "6", "8"'
MEMORY_ALLOWED = '"128Mi" to "32Gi" ("<n>Mi" or "<n>Gi")'


def cpu_millis(cpu: str) -> int:
    """Millicores of a normalized CPU limit ("0.5" -> 500, "2" -> 2000)."""
    whole, _, frac = cpu.partition(".")
    return int(whole) * 1000 + int((frac + "000")[:3])


def memory_mib(memory: str) -> int:
    m = _MEMORY_TEXT.fullmatch(memory)
    if m is None:
        raise ValueError(f"not a memory size: {memory!r}")
    return int(m.group(1)) * (1024 if m.group(2) == "Gi" else 1)


def min_cpu_millis(mib: int) -> int | None:
    """Cloud Run's minimum CPU for `mib` of memory, up to 2Gi (above, the large-memory rules apply)."""
    rows = _MIN_CPU_FOR_MEMORY
    for (lo_mib, lo_cpu), (hi_mib, hi_cpu) in itertools.pairwise(rows):
        if lo_mib <= mib <= hi_mib:
            return lo_cpu + -(-(mib - lo_mib) * (hi_cpu - lo_cpu) // (hi_mib - lo_mib))
    return None


def _normalize_cpu(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise PydanticCustomError("task_worker", "expected a CPU limit: {allowed}", {"allowed": CPU_ALLOWED})
    text = value if isinstance(value, str) else repr(value)
    m = _CPU_TEXT.fullmatch(text)
    millis = None
    if m and m.group(3) is not None:
        millis = int(m.group(3))
    elif m:
        millis = int(m.group(1)) * 1000 + int(((m.group(2) or "") + "000")[:3])
    if millis is None or not (80 <= millis <= 1000 or millis in (2000, 4000, 6000, 8000)):
        raise PydanticCustomError("task_worker", "expected {allowed}", {"allowed": CPU_ALLOWED})
    whole, frac = divmod(millis, 1000)
    return f"{whole}.{frac:03d}".rstrip("0").rstrip(".") if frac else str(whole)


def _check_memory(value: str) -> str:
    m = _MEMORY_TEXT.fullmatch(value)
    if m is None or not MIN_MEMORY_MIB <= memory_mib(value) <= MAX_MEMORY_MIB:
        raise PydanticCustomError("task_worker", "expected {allowed}", {"allowed": MEMORY_ALLOWED})
    return value


def _frozen_map(value: Mapping[str, str]) -> Mapping[str, str]:
    return MappingProxyType(dict(sorted(value.items())))


def _not_reserved_env(name: str) -> str:
    if name in RESERVED_ENV:
        raise PydanticCustomError(
            "task_worker", "{allowed}", {"allowed": f"Cloud Run sets {name} itself: use another name"}
        )
    if name.startswith(RESERVED_ENV_PREFIX):
        raise PydanticCustomError(
            "task_worker", "{allowed}", {"allowed": f"{RESERVED_ENV_PREFIX}* names are the stack's own: use another"}
        )
    return name


def _env_value_size(value: str) -> str:
    size = len(value.encode())
    if size > MAX_ENV_VALUE_BYTES:
        raise PydanticCustomError(
            "task_worker", "{allowed}", {"allowed": f"expected at most {MAX_ENV_VALUE_BYTES} bytes (it has {size})"}
        )
    return value


def _not_own_label(key: str) -> str:
    if key in OWN_LABELS:
        raise PydanticCustomError(
            "task_worker", "{allowed}", {"allowed": f"set by the stack itself ({', '.join(sorted(OWN_LABELS))})"}
        )
    return key


EnvName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$"), AfterValidator(_not_reserved_env)]
EnvValue = Annotated[str, AfterValidator(_env_value_size)]
# Labels: lowercase letters (international ones too), digits, _ and -; keys start with a letter; each
# ≤ 63 characters (Resource Manager "Requirements for labels"; gcp-facts.md "Labels"). \p{Ll} and
# \p{Lo} are Unicode's lowercase and caseless letters (é, ü, 日 …).
# Unbounded repetitions with max_length beside them: a {0,62} of Unicode classes costs ~70 ms to
# compile in pydantic's (Rust) regex engine at every run.
LABEL_KEY_PATTERN = r"^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]*$"
LABEL_VALUE_PATTERN = r"^[\p{Ll}\p{Lo}\p{N}_-]*$"
LabelKey = Annotated[
    str, StringConstraints(pattern=LABEL_KEY_PATTERN, max_length=MAX_LABEL_CHARS), AfterValidator(_not_own_label)
]
LabelValue = Annotated[str, StringConstraints(pattern=LABEL_VALUE_PATTERN, max_length=MAX_LABEL_CHARS)]


# --- Cloud Run: secrets, Direct VPC egress, probes, adoption ----------------------------------

# Secret Manager secret ID: letters, digits, _ and -, up to 255 (Secret Manager "Create a secret").
_SECRET_ID = r"[A-Za-z0-9_-]{1,255}"
_PROJECT_REF = r"[a-z][a-z0-9-]{4,28}[a-z0-9]|[0-9]{1,20}"  # a project ID, or a project number
SECRET_PATTERN = rf"^(?:{_SECRET_ID}|projects/(?:{_PROJECT_REF})/secrets/{_SECRET_ID})$"
SECRET_ALLOWED = 'a secret name (letters, digits, _ and -, ≤ 255), e.g. "db-password", or its ID "projects/P/secrets/S"'
# "latest", a version number, or a version alias (run.v2 SecretKeySelector.version).
VERSION_PATTERN = r"^(?:latest|[1-9][0-9]{0,18}|[A-Za-z][A-Za-z0-9_-]{0,62})$"
VERSION_ALLOWED = '"latest", a version number ("3") or a version alias (not "NEW")'


def _check_version_alias(version: str) -> str:
    # Secret Manager refuses the aliases "latest" (a keyword here) and "NEW" (gcp-facts.md "Secret version aliases").
    if version == "NEW":
        raise PydanticCustomError("task_worker", "{allowed}", {"allowed": "expected " + VERSION_ALLOWED})
    return version


class SecretRef(_Model):
    """One secret version from Secret Manager (`service.secrets.<ENV>` as a map)."""

    secret: str = _described(
        "The secret: its name in the stack's project, or its full ID in another project.",
        SECRET_ALLOWED,
        pattern=SECRET_PATTERN,
    )
    version: str = _described(
        'Which version. Google recommends pinning one ("3"): "latest" is resolved at each instance start, so '
        "instances of one revision can read different values (the plan warns).",
        VERSION_ALLOWED,
        default="latest",
        pattern=VERSION_PATTERN,
    )

    @field_validator("version")
    @classmethod
    def _not_new(cls, version: str) -> str:
        return _check_version_alias(version)

    def project(self, default: str) -> str:
        return self.secret.split("/")[1] if self.secret.startswith("projects/") else default

    def secret_id(self) -> str:
        return self.secret.rsplit("/", 1)[-1]


def _secret_ref(value: Any) -> Any:
    # A bare string is the common case: the secret, latest version.
    return {"secret": value} if isinstance(value, str) else value


class _StringOrSecretRef:
    """The JSON schema of a SecretValue: the short string form _secret_ref accepts, or the map.

    The BeforeValidator is invisible to pydantic's JSON schema, which would offer the map only and
    make editors flag the short form `{DB_PASSWORD: db-pass}` that the model takes.
    """

    def __get_pydantic_json_schema__(self, core: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        return {"anyOf": [{"type": "string", "pattern": SECRET_PATTERN}, handler(core)]}


SecretValue = Annotated[SecretRef, BeforeValidator(_secret_ref), _StringOrSecretRef()]

_NAME = r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?"  # Compute Engine resource names (RFC 1035)
NETWORK_PATTERN = rf"^(?:{_NAME}|projects/(?:{_PROJECT_REF})/global/networks/{_NAME})$"
SUBNETWORK_PATTERN = rf"^(?:{_NAME}|projects/(?:{_PROJECT_REF})/regions/[a-z]+-[a-z]+[0-9]+/subnetworks/{_NAME})$"
EGRESS = ("PRIVATE_RANGES_ONLY", "ALL_TRAFFIC")


class VpcSettings(_Model):
    """Direct VPC egress (`service.vpc`): the service sends traffic into a VPC network."""

    network: str | None = _described(
        "VPC network (a Shared VPC's host network by full ID). Unset: the subnetwork's network.",
        'a network name, e.g. "default", or "projects/P/global/networks/N"',
        default=None,
        pattern=NETWORK_PATTERN,
    )
    subnetwork: str | None = _described(
        "Subnetwork the instances take IPs from, in the stack's location. Unset: the one named as the network.",
        'a subnetwork name, or "projects/P/regions/R/subnetworks/S" with R the stack\'s location',
        default=None,
        pattern=SUBNETWORK_PATTERN,
    )
    egress: Literal["PRIVATE_RANGES_ONLY", "ALL_TRAFFIC"] = _described(
        "Which traffic goes into the VPC: private (RFC 1918) ranges only, or all of it "
        "(then the VPC's routes and NAT decide how it reaches the internet).",
        '"PRIVATE_RANGES_ONLY" or "ALL_TRAFFIC"',
        default="PRIVATE_RANGES_ONLY",
    )
    grant_network_user: bool = _described(
        "Shared VPC: declare roles/compute.networkUser on the subnetwork (in the host project) for this "
        "project's Cloud Run service agent, which Direct VPC egress into another project's subnet needs. "
        "The deployer then needs to set IAM on that subnetwork. false: the host project's admin grants it "
        "(the plan says what, to whom, on what).",
        'true or false; true needs subnetwork as "projects/HOST/regions/R/subnetworks/S" with HOST another project',
        default=False,
    )

    @model_validator(mode="after")
    def _one_network(self) -> Self:
        _check_one_network(self)
        return self

    def region(self) -> str | None:
        return self.subnetwork.split("/")[3] if self.subnetwork and "/" in self.subnetwork else None

    def host_project(self) -> str | None:
        """The project named in the subnetwork's (else the network's) full ID; None for plain names."""
        for ref in (self.subnetwork, self.network):
            if ref and "/" in ref:
                return ref.split("/")[1]
        return None

    def subnetwork_parts(self) -> tuple[str, str, str] | None:
        """(project, region, name) of a subnetwork given by full ID, else None."""
        if not self.subnetwork or "/" not in self.subnetwork:
            return None
        parts = self.subnetwork.split("/")
        return parts[1], parts[3], parts[5]


def _check_one_network(vpc: VpcSettings) -> None:
    if vpc.network is None and vpc.subnetwork is None:
        raise _cross([("network", None, "expected network, subnetwork or both (Cloud Run needs one)")])
    both_ids = bool(vpc.network and vpc.subnetwork and "/" in vpc.network and "/" in vpc.subnetwork)
    if both_ids and str(vpc.network).split("/")[1] != str(vpc.subnetwork).split("/")[1]:
        raise _cross([("subnetwork", vpc.subnetwork, f"expected a subnetwork of {vpc.network} (same project)")])


# Cloud Run probe limits: run.v2 discovery document (GoogleCloudRunV2Probe) and "Configure
# container health checks": a startup probe must succeed within failureThreshold × periodSeconds
# ≤ 240 s; liveness probes are HTTP or gRPC only (no TCP).


class ProbeSettings(_Model):
    """A startup or liveness probe (`service.startupProbe`, `service.livenessProbe`)."""

    http_path: str | None = _described(
        "HTTP GET this path; 200–399 is healthy. Unset: a TCP probe (startup only).",
        'a path starting with "/", e.g. "/healthz"',
        default=None,
        pattern=r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$",
        max_length=2048,
    )
    port: int | None = _described(
        "Port probed. Unset: the container port (PORT, 8080).",
        "a whole number from 1 to 65535",
        default=None,
        ge=1,
        le=65535,
    )
    initial_delay_seconds: int = _described(
        "Wait after the container starts before the first probe.",
        f"a whole number from 0 to {STARTUP_MAX_SECONDS} (startup) or {LIVENESS_MAX_SECONDS} (liveness)",
        default=0,
        ge=0,
        le=LIVENESS_MAX_SECONDS,
    )
    period_seconds: int = _described(
        "Time between probes.",
        f"a whole number from 1 to {STARTUP_MAX_SECONDS} (startup) or {LIVENESS_MAX_SECONDS} (liveness)",
        default=10,
        ge=1,
        le=LIVENESS_MAX_SECONDS,
    )
    timeout_seconds: int = _described(
        "How long one probe may take.",
        "a whole number from 1 to periodSeconds",
        default=1,
        ge=1,
        le=LIVENESS_MAX_SECONDS,
    )
    failure_threshold: int = _described(
        "Failures in a row before the container is restarted (liveness) or shut down (startup).",
        f"a whole number ≥ 1; startup: failureThreshold × periodSeconds ≤ {STARTUP_MAX_SECONDS}",
        default=3,
        ge=1,
        le=INT32_MAX,
    )

    @model_validator(mode="after")
    def _timeout_in_period(self) -> Self:
        _check_timeout_in_period(self)
        return self

    def startup_problems(self) -> list[tuple[str, Any, str]]:
        problems: list[tuple[str, Any, str]] = []
        for key, value in (("initialDelaySeconds", self.initial_delay_seconds), ("periodSeconds", self.period_seconds)):
            if value > STARTUP_MAX_SECONDS:
                problems.append((key, value, f"expected ≤ {STARTUP_MAX_SECONDS} for a startup probe"))
        if self.failure_threshold * self.period_seconds > STARTUP_MAX_SECONDS:
            problems.append(
                (
                    "failureThreshold",
                    self.failure_threshold,
                    f"expected failureThreshold × periodSeconds ({self.period_seconds}) ≤ {STARTUP_MAX_SECONDS}: "
                    "Cloud Run gives a container at most 240 s to start",
                )
            )
        return problems


def _check_timeout_in_period(probe: ProbeSettings) -> None:
    if probe.timeout_seconds > probe.period_seconds:
        raise _cross([("timeoutSeconds", probe.timeout_seconds, f"expected ≤ periodSeconds ({probe.period_seconds})")])


_PID = r"[a-z][a-z0-9-]{4,28}[a-z0-9]"  # a project ID
SERVICE_IMPORT_PATTERN = rf"^projects/({_PID})/locations/([a-z0-9-]+)/services/([a-z](?:[-a-z0-9]{{0,47}}[a-z0-9])?)$"
ACCOUNT_IMPORT_PATTERN = rf"^projects/({_PID})/serviceAccounts/({_PID})@({_PID})\.iam\.gserviceaccount\.com$"
QUEUE_IMPORT_PATTERN = rf"^projects/({_PID})/locations/([a-z0-9-]+)/queues/([A-Za-z0-9-]{{1,100}})$"


class AccountSettings(_Model):
    """A service account the stack creates (`accounts.runtime`, `accounts.invoker`)."""

    import_id: str | None = _described(
        "Adopt an existing account instead of creating one (Pulumi import): its ID. The account keeps its "
        "email; the stack then manages it.",
        "projects/P/serviceAccounts/NAME@P.iam.gserviceaccount.com, P the stack's project",
        default=None,
        pattern=ACCOUNT_IMPORT_PATTERN,
    )

    @property
    def account_id(self) -> str | None:
        return re.fullmatch(ACCOUNT_IMPORT_PATTERN, self.import_id).group(2) if self.import_id else None  # type: ignore[union-attr]


class AccountsSettings(_Model):
    """The stack's two service accounts (`task-worker:accounts`)."""

    runtime: AccountSettings = _described(
        "The identity the service runs as.", "a map with importId", default_factory=AccountSettings
    )
    invoker: AccountSettings = _described(
        "The identity Cloud Tasks signs tokens as.", "a map with importId", default_factory=AccountSettings
    )


class ServiceSettings(_Model):
    """The Cloud Run v2 service (`task-worker:service`)."""

    image: str = _described(
        "Container image the service runs.",
        "an image reference [host[:port]/]path[:tag][@sha256:digest], e.g. us-docker.pkg.dev/p/repo/worker:1.2",
        default="us-docker.pkg.dev/cloudrun/container/hello",
        pattern=rf"^{_IMAGE}$",
        max_length=1024,
    )
    min_instances: int = _described(
        "Instances kept warm.", f"a whole number from 0 to {INT32_MAX}, ≤ maxInstances", default=0, ge=0, le=INT32_MAX
    )
    max_instances: int = _described(
        "Most instances Cloud Run starts.", f"a whole number from 1 to {INT32_MAX}", default=10, ge=1, le=INT32_MAX
    )
    concurrency: int = _described(
        "Requests one instance serves at once.",
        f"a whole number from 1 to {MAX_CONCURRENCY}; exactly 1 when cpu is below 1",
        default=80,
        ge=1,
        le=MAX_CONCURRENCY,
    )
    timeout_seconds: int = _described(
        "Request timeout, and each task's dispatch deadline (equal, so a task never runs twice on purpose).",
        f"a whole number from {MIN_TIMEOUT_SECONDS} to {MAX_TIMEOUT_SECONDS}: it is also each task's dispatch "
        f"deadline, at least Cloud Tasks' {DEFAULT_DISPATCH_DEADLINE_SECONDS} s default (a shorter service timeout "
        f"answers 504 while the task waits) and at most its {MAX_DISPATCH_DEADLINE_SECONDS} s maximum",
        default=MIN_TIMEOUT_SECONDS,
        ge=MIN_TIMEOUT_SECONDS,
        le=MAX_TIMEOUT_SECONDS,
    )
    cpu: Annotated[
        Any, AfterValidator(_normalize_cpu), WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}]})
    ] = _described("CPU limit of the container.", CPU_ALLOWED + "; see the CPU × memory rules", default="1")
    memory: Annotated[str, AfterValidator(_check_memory)] = _described(
        "Memory limit of the container.", MEMORY_ALLOWED + "; see the CPU × memory rules", default="512Mi"
    )
    cpu_idle: bool = _described(
        "true: CPU only while a request is served (request-based billing, right for a task worker); "
        "false: CPU always allocated (instance-based billing).",
        "true or false; true when cpu is below 1",
        default=True,
    )
    execution_environment: Literal["gen1", "gen2"] | None = _described(
        "Cloud Run execution environment. Unset: gen2, or gen1 below 512Mi (Google advises gen1 there).",
        '"gen1" or "gen2"; gen2 needs memory ≥ 512Mi',
        default=None,
    )
    env: Annotated[dict[EnvName, EnvValue], AfterValidator(_frozen_map)] = _described(
        "Environment variables of the container.",
        f"a map of name (letters, digits, _; not starting with a digit; not {', '.join(sorted(RESERVED_ENV))}) "
        f"to a string of ≤ {MAX_ENV_VALUE_BYTES} bytes; at most {MAX_ENV_VARS}",
        keys="an env var name: letters, digits and _, not starting with a digit",
        default_factory=dict,
        max_length=MAX_ENV_VARS,
    )
    ingress: Literal["internal", "internal-and-cloud-load-balancing"] = _described(
        "Who can reach the service over the network (Cloud Tasks in the same project counts as internal).",
        '"internal" or "internal-and-cloud-load-balancing"; public ingress is refused',
        default="internal",
    )
    secrets: Annotated[dict[EnvName, SecretValue], AfterValidator(_frozen_map)] = _described(
        "Environment variables from Secret Manager: the value is read by Cloud Run when an instance starts, "
        "never by Pulumi. The runtime account gets secretAccessor on each secret named, only.",
        "a map of env var name (as in env, and not also in env) to a secret: "
        + SECRET_ALLOWED
        + ', or a map {secret, version} (version default "latest")',
        keys="an env var name: letters, digits and _, not starting with a digit",
        default_factory=dict,
        max_length=MAX_ENV_VARS,
    )
    vpc: VpcSettings | None = _described(
        "Direct VPC egress, e.g. to reach Cloud SQL or Memorystore on private IPs. Unset: no VPC.",
        "a map {network, subnetwork, egress}",
        default=None,
    )
    startup_probe: ProbeSettings | None = _described(
        "Startup probe. Unset: Cloud Run's default TCP probe on the container port (timeout 240 s, "
        "period 240 s, failure threshold 1).",
        "a map of the probe keys below; HTTP (httpPath) or TCP",
        default=None,
    )
    liveness_probe: ProbeSettings | None = _described(
        "Liveness probe: restarts a container that stops answering. Unset: none.",
        "a map of the probe keys below; HTTP only (httpPath required: Cloud Run has no TCP liveness probe)",
        default=None,
    )
    import_id: str | None = _described(
        "Adopt an existing Cloud Run service (Pulumi import) instead of creating one: its ID.",
        "projects/P/locations/L/services/NAME, P and L the stack's project and location",
        default=None,
        pattern=SERVICE_IMPORT_PATTERN,
    )
    # True when the whole `task-worker:service` key is a Pulumi secret: env values
    # are then declared as secrets so they never show in clear. Not a config key.
    _env_is_secret: bool = PrivateAttr(default=False)

    @property
    def env_is_secret(self) -> bool:
        return self._env_is_secret

    @property
    def ingress_value(self) -> str:
        return INGRESS[self.ingress]

    @property
    def generation(self) -> str:
        """The execution environment declared: the one set, else gen2 (gen1 below 512Mi)."""
        if self.execution_environment is not None:
            return self.execution_environment
        return "gen1" if memory_mib(self.memory) < 512 else "gen2"

    @model_validator(mode="after")
    def _cloud_run_accepts(self) -> Self:
        _check_cloud_run_accepts(self)
        return self


def _check_cloud_run_accepts(service: ServiceSettings) -> None:
    problems: list[tuple[str, Any, str]] = []
    if service.max_instances < service.min_instances:
        problems.append(
            ("maxInstances", service.max_instances, f"expected maxInstances ≥ minInstances ({service.min_instances})")
        )
    millis, mib = cpu_millis(service.cpu), memory_mib(service.memory)
    cpu, mem = f"cpu {service.cpu}", f"memory {service.memory}"
    if millis < 1000:
        if service.concurrency != 1:
            problems.append(
                (
                    "concurrency",
                    service.concurrency,
                    f"expected 1 with {cpu}: below 1 CPU Cloud Run serves one request",
                )
            )
        if not service.cpu_idle:
            problems.append(("cpuIdle", False, f"expected true with {cpu}: below 1 CPU billing is request-based"))
        if millis < 500 and mib > 512:
            problems.append(("memory", service.memory, f"expected ≤ 512Mi with {cpu} (below 0.5 CPU)"))
        elif mib > 1024:
            problems.append(("memory", service.memory, f"expected ≤ 1Gi with {cpu} (below 1 CPU)"))
    need_mib = _MEMORY_FOR_CPU.get(millis)
    if need_mib is not None and mib < need_mib:
        problems.append(("memory", service.memory, f"expected ≥ {need_mib // 1024}Gi with {cpu}"))
    for above, need_cpu in _CPU_FOR_LARGE_MEMORY:
        if mib > above:
            if millis < need_cpu * 1000:
                problems.append(("cpu", service.cpu, f'expected ≥ "{need_cpu}" with {mem} (above {above // 1024}Gi)'))
            break
    need_millis = min_cpu_millis(mib)
    if need_millis is not None and millis < need_millis:
        problems.append(
            ("cpu", service.cpu, f"expected ≥ {need_millis / 1000:g} with {mem} (Cloud Run's minimum CPU per memory)")
        )
    for name in sorted(set(service.env) & set(service.secrets)):
        problems.append((f"secrets.{name}", name, "expected a name not also in env: one value per variable"))
    if len(service.env) + len(service.secrets) > MAX_ENV_VARS:
        problems.append(("secrets", len(service.secrets), f"expected env + secrets ≤ {MAX_ENV_VARS} variables"))
    if service.liveness_probe is not None and service.liveness_probe.http_path is None:
        problems.append(
            ("livenessProbe.httpPath", None, "required: Cloud Run liveness probes are HTTP (or gRPC), never TCP")
        )
    if service.startup_probe is not None:
        problems.extend((f"startupProbe.{k}", v, a) for k, v, a in service.startup_probe.startup_problems())
    if service.execution_environment == "gen2" and mib < 512:
        problems.append(("executionEnvironment", "gen2", f'expected "gen1" with {mem}: gen2 needs at least 512Mi'))
    if problems:
        raise _cross(problems)


# --- Cloud Tasks queues -------------------------------------------------------------------------

_DURATION_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,9})?s$"
DURATION_ALLOWED = f'a duration in seconds with an "s" suffix, e.g. "10s" or "0.5s", at most {MAX_DURATION_SECONDS}s'


def _check_duration(value: str) -> str:
    if seconds(value) > MAX_DURATION_SECONDS:
        raise PydanticCustomError("task_worker", "expected {allowed}", {"allowed": DURATION_ALLOWED})
    return value


Duration = Annotated[str, StringConstraints(pattern=_DURATION_PATTERN), AfterValidator(_check_duration)]


def seconds(duration: str) -> float:
    return float(duration[:-1])


def _duration_field(description: str, default: str) -> Any:
    return _described(description, DURATION_ALLOWED, default=default)


# --- Operations: alert thresholds (issue 9; components/monitoring.py renders them) ----------------
# The one place these limits live; the component takes them as checked. Sources: Monitoring v3
# discovery document — MetricThreshold.duration "only values that are a multiple of a minute"
# (a day is plenty for any of these alerts); Aggregation.perSeriesAligner offers ALIGN_PERCENTILE_
# 50, 95 and 99 only. A task lives at most 31 days (gcp-facts.md): no longer delay can be seen.
ALERT_PERCENTILES = (50, 95, 99)
_MINUTES_ALLOWED = f"whole minutes from 1 to {ALERT_MAX_MINUTES}"
_PERCENT_ALLOWED = "a number > 0 and ≤ 100"
_FRACTION_ALLOWED = "a number > 0 and ≤ 1"
_PERCENTILE_ALLOWED = "50, 95 or 99 (Cloud Monitoring's percentile aligners)"

AlertMinutes = Annotated[int, Field(ge=1, le=ALERT_MAX_MINUTES)]
AlertPercent = Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)]
AlertFraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]
AlertPercentile = Literal[50, 95, 99]
BacklogDepth = Annotated[int, Field(ge=1, le=INT32_MAX)]
DelaySeconds = Annotated[float, Field(gt=0, le=MAX_TASK_AGE_SECONDS, allow_inf_nan=False)]

# Queue thresholds: (description, allowed, default). `monitoring` holds the stack's defaults,
# `queues.<key>.alerts` a queue's overrides (a queue's matter: a bulk queue's backlog is not an API's).
_QUEUE_ALERTS: dict[str, tuple[str, str, Any]] = {
    "backlog_depth": (
        "Backlog alert: more tasks than this waiting in the queue …",
        f"a whole number from 1 to {INT32_MAX}",
        1000,
    ),
    "backlog_minutes": ("… for this many minutes.", _MINUTES_ALLOWED, 15),
    "failing_percent": (
        "Failing-tasks alert: share of attempts answered non-OK above this % …",
        _PERCENT_ALLOWED,
        10.0,
    ),
    "failing_minutes": ("… for this many minutes.", _MINUTES_ALLOWED, 10),
    "delay_percentile": ("Falling-behind alert: this percentile of attempt delay …", _PERCENTILE_ALLOWED, 99),
    "delay_seconds": (
        "… above this many seconds (scheduled → dispatched) …",
        f"a number > 0 and ≤ {MAX_TASK_AGE_SECONDS} (31 days, a task's longest life)",
        300.0,
    ),
    "delay_minutes": ("… for this many minutes.", _MINUTES_ALLOWED, 10),
}


def _queue_alert(name: str, *, override: bool) -> Any:
    description, allowed, default = _QUEUE_ALERTS[name]
    if override:
        return _described(description + " Unset: task-worker:monitoring's.", allowed, default=None)
    return _described(description, allowed, default=default)


class QueueAlertSettings(_Model):
    """A queue's own alert thresholds (`queues.<key>.alerts`); each unset one is the stack's."""

    backlog_depth: BacklogDepth | None = _queue_alert("backlog_depth", override=True)
    backlog_minutes: AlertMinutes | None = _queue_alert("backlog_minutes", override=True)
    failing_percent: AlertPercent | None = _queue_alert("failing_percent", override=True)
    failing_minutes: AlertMinutes | None = _queue_alert("failing_minutes", override=True)
    delay_percentile: AlertPercentile | None = _queue_alert("delay_percentile", override=True)
    delay_seconds: DelaySeconds | None = _queue_alert("delay_seconds", override=True)
    delay_minutes: AlertMinutes | None = _queue_alert("delay_minutes", override=True)


class QueueSettings(_Model):
    """One Cloud Tasks queue (`task-worker:queues.<key>`)."""

    path: str = _described(
        "Path on the service that the queue's tasks are sent to.",
        'a URL path starting with "/", e.g. "/tasks" (letters, digits and -._~!$&\'()*+,;=:@%/)',
        default="/",
        pattern=r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$",
        max_length=2048,
    )
    max_dispatches_per_second: float = _described(
        "Most tasks dispatched per second (rateLimits.maxDispatchesPerSecond).",
        f"a number > 0 and ≤ {MAX_DISPATCHES_PER_SECOND:g} (more throughput means more queues)",
        default=10.0,
        gt=0,
        le=MAX_DISPATCHES_PER_SECOND,
        allow_inf_nan=False,
    )
    max_concurrent_dispatches: int = _described(
        "Most tasks in flight at once (rateLimits.maxConcurrentDispatches).",
        f"a whole number from 1 to {MAX_CONCURRENT_DISPATCHES}",
        default=100,
        ge=1,
        le=MAX_CONCURRENT_DISPATCHES,
    )
    max_attempts: int = _described(
        "Attempts per task, the first included (retryConfig.maxAttempts).",
        f"-1 (unlimited) or a whole number from 1 to {INT32_MAX}",
        default=100,
        ge=-1,
        le=INT32_MAX,
    )
    min_backoff: Duration = _duration_field("Shortest wait before a retry.", "0.1s")
    max_backoff: Duration = _duration_field("Longest wait before a retry.", "3600s")
    max_doublings: int = _described(
        "Times the wait doubles before it grows linearly.",
        f"a whole number from 0 to {INT32_MAX}",
        default=16,
        ge=0,
        le=INT32_MAX,
    )
    max_retry_duration: Duration = _duration_field("How long a task is retried; 0s is unlimited.", "0s")
    logging_sampling_ratio: float = _described(
        "Share of task operations logged (stackdriverLoggingConfig.samplingRatio); 0 logs nothing.",
        "a number from 0 to 1",
        default=0.0,
        ge=0,
        le=1,
        allow_inf_nan=False,
    )
    shards: int = _described(
        "Queues with these same settings and path; producers spread tasks over them. One queue "
        f"dispatches at most {MAX_DISPATCHES_PER_SECOND:g}/s: more throughput means more queues.",
        f"a whole number from 1 to {MAX_SHARDS}; all queues' shards together ≤ {MAX_QUEUES_PER_LOCATION}",
        default=1,
        ge=1,
        le=MAX_SHARDS,
    )
    paused: bool = _described(
        "true pauses dispatch (tasks can still be added). Pulumi pauses or resumes the queue only when this "
        "key changes: a queue paused by hand (gcloud) stays paused through every pulumi up, --refresh or not.",
        "true or false",
        default=False,
    )
    name: str | None = _described(
        "Queue ID, when producers call the queue by name. Unset: Pulumi names it (key + random suffix), "
        "so a replacement never waits out a deleted name's tombstone.",
        "letters, digits and hyphens, 1–100 characters (Cloud Tasks' queue ID rule); unique in the stack",
        default=None,
        pattern=r"^[A-Za-z0-9-]{1,100}$",
    )
    import_id: str | None = _described(
        "Adopt an existing queue (Pulumi import) instead of creating one: its ID. Tasks in it are kept.",
        "projects/P/locations/L/queues/Q, P and L the stack's project and location, Q equal to name if set",
        default=None,
        pattern=QUEUE_IMPORT_PATTERN,
    )
    alerts: QueueAlertSettings = _described(
        "This queue's own alert thresholds; each key unset is task-worker:monitoring's.",
        "a map of the queue threshold keys of task-worker:monitoring (backlogDepth, …, delayMinutes)",
        default_factory=QueueAlertSettings,
    )
    _key: str = PrivateAttr(default="default")

    @property
    def key(self) -> str:
        """The queue's key in the config (names its resources)."""
        return self._key

    @field_validator("max_attempts")
    @classmethod
    def _attempts(cls, value: int) -> int:
        return _check_attempts(value)

    @property
    def queue_id(self) -> str | None:
        """The queue ID declared: `name`, else the adopted queue's, else None (Pulumi names it)."""
        if self.name is not None or self.import_id is None:
            return self.name
        return self.import_id.rsplit("/", 1)[-1]

    @model_validator(mode="after")
    def _import_matches_name(self) -> Self:
        _check_import_matches_name(self)
        return self

    @model_validator(mode="after")
    def _backoffs(self) -> Self:
        _check_backoffs(self)
        return self


def _check_attempts(value: int) -> int:
    if value == 0:
        raise PydanticCustomError("task_worker", "expected {allowed}", {"allowed": "-1 (unlimited) or ≥ 1"})
    return value


def _check_import_matches_name(queue: QueueSettings) -> None:
    if queue.import_id and queue.name and queue.import_id.rsplit("/", 1)[-1] != queue.name:
        raise _cross([("importId", queue.import_id, f"expected the queue named by name ({queue.name})")])


def _check_backoffs(queue: QueueSettings) -> None:
    if seconds(queue.min_backoff) > seconds(queue.max_backoff):
        raise _cross([("minBackoff", queue.min_backoff, f"expected minBackoff ≤ maxBackoff ({queue.max_backoff})")])


def named_queue(key: str, queue: QueueSettings | None = None) -> QueueSettings:
    """`queue` (or the defaults) as the queue under config key `key`."""
    named = (queue or QueueSettings()).model_copy()
    named._key = key
    return named


QueueKey = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,49}$")]


# --- The whole stack ------------------------------------------------------------------------------


def _check_member(member: str) -> str:
    allowed = "expected an IAM member: " + ", ".join(f"{p}…" for p in ENQUEUER_PREFIXES)
    if member in PUBLIC_MEMBERS:
        raise PydanticCustomError(
            "task_worker", "{allowed}", {"allowed": "public members are refused: only named identities may enqueue"}
        )
    if not member.startswith(ENQUEUER_PREFIXES) or member != member.strip():
        raise PydanticCustomError("task_worker", "{allowed}", {"allowed": allowed})
    prefix, _, rest = member.partition(":")
    if prefix == "serviceAccount" and re.fullmatch(_WORKLOAD_IDENTITY, rest):
        return member  # a Kubernetes service account through GKE Workload Identity
    if prefix in ("serviceAccount", "group", "user") and not re.fullmatch(_EMAIL, rest):
        raise PydanticCustomError(
            "task_worker",
            "{allowed}",
            {"allowed": f"expected an email after {prefix}:, e.g. serviceAccount:name@project.iam.gserviceaccount.com"},
        )
    if prefix == "domain" and not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", rest):
        raise PydanticCustomError("task_worker", "{allowed}", {"allowed": "expected a domain after domain:"})
    if prefix.startswith("principal") and not re.fullmatch(r"//iam\.googleapis\.com/\S+", rest):
        raise PydanticCustomError("task_worker", "{allowed}", {"allowed": f"expected {prefix}://iam.googleapis.com/…"})
    return member


Member = Annotated[str, AfterValidator(_check_member)]


# --- Operations: monitoring and dead letters (issue 9) ---------------------------------------------

# A notification channel: its ID (server-assigned; digits, as the console and the API show them) in
# the stack's project, or its full name (Monitoring v3 NotificationChannel.name:
# projects/[PROJECT_ID_OR_NUMBER]/notificationChannels/[CHANNEL_ID]).
CHANNEL_PATTERN = rf"^(?:[0-9]{{1,30}}|projects/(?:{_PROJECT_REF})/notificationChannels/[0-9]{{1,30}})$"
CHANNEL_ALLOWED = 'a channel ID, e.g. "1234567890", or "projects/P/notificationChannels/ID"; each once'


# A plain function, not the decorated method's body: mutmut mutates functions, not decorated methods.
def _check_channels_once(channels: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, int] = {}
    problems: list[tuple[str, Any, str]] = []
    for i, channel in enumerate(channels):
        channel_id = channel.rsplit("/", 1)[-1]
        if channel_id in seen:
            problems.append((f"[{i}]", channel, f"each channel once: it is notificationChannels[{seen[channel_id]}]"))
        seen.setdefault(channel_id, i)
    if problems:
        raise _cross(problems)
    return channels


class MonitoringSettings(_Model):
    """Alert policies and a dashboard (`task-worker:monitoring`); see docs/operations.md."""

    enabled: bool = _described(
        "true: alert policies over the queues (an incident per queue) and for the service, and one dashboard "
        "(Monitoring API enabled).",
        "true or false",
        default=True,
    )
    notification_channels: tuple[Annotated[str, StringConstraints(pattern=CHANNEL_PATTERN)], ...] = _described(
        "Existing notification channels every policy notifies. Empty: the policies exist and show "
        "incidents in the console, but page nobody.",
        CHANNEL_ALLOWED,
        default=(),
    )
    error_percent: AlertPercent = _described(
        "Service 5xx alert: share of requests above this % …", _PERCENT_ALLOWED, default=5.0
    )
    error_minutes: AlertMinutes = _described("… for this many minutes.", _MINUTES_ALLOWED, default=5)
    latency_fraction: AlertFraction = _described(
        "Latency alert: the percentile's latency above this fraction of timeoutSeconds …",
        _FRACTION_ALLOWED,
        default=0.8,
    )
    latency_percentile: AlertPercentile = _described("… at this percentile …", _PERCENTILE_ALLOWED, default=99)
    latency_minutes: AlertMinutes = _described("… for this many minutes.", _MINUTES_ALLOWED, default=5)
    saturation_fraction: AlertFraction = _described(
        "Saturation alert: instances at this fraction of maxInstances (rounded up) …", _FRACTION_ALLOWED, default=1.0
    )
    saturation_minutes: AlertMinutes = _described("… for this many minutes.", _MINUTES_ALLOWED, default=10)
    backlog_depth: BacklogDepth = _queue_alert("backlog_depth", override=False)
    backlog_minutes: AlertMinutes = _queue_alert("backlog_minutes", override=False)
    failing_percent: AlertPercent = _queue_alert("failing_percent", override=False)
    failing_minutes: AlertMinutes = _queue_alert("failing_minutes", override=False)
    delay_percentile: AlertPercentile = _queue_alert("delay_percentile", override=False)
    delay_seconds: DelaySeconds = _queue_alert("delay_seconds", override=False)
    delay_minutes: AlertMinutes = _queue_alert("delay_minutes", override=False)

    @field_validator("notification_channels")
    @classmethod
    def _channels_once(cls, channels: tuple[str, ...]) -> tuple[str, ...]:
        return _check_channels_once(channels)

    def queue_defaults(self) -> dict[str, Any]:
        """The stack's queue thresholds (snake_case): a queue's where it sets none of its own."""
        return {name: getattr(self, name) for name in _QUEUE_ALERTS}

    def queue_thresholds(self, queue: QueueSettings) -> dict[str, Any]:
        """The queue's thresholds (snake_case): its own where set, else the stack's."""
        own = queue.alerts
        return {
            name: getattr(own, name) if getattr(own, name) is not None else getattr(self, name)
            for name in _QUEUE_ALERTS
        }

    def service_thresholds(self) -> dict[str, Any]:
        names = ("error", "latency", "saturation")
        return {n: v for n, v in self.model_dump(by_alias=False).items() if n.startswith(names)}


# Pub/Sub v1 discovery document, Subscription.messageRetentionDuration: "Defaults to 7 days. Cannot be
# more than 31 days or less than 10 minutes."
DEFAULT_RETENTION_SECONDS = 7 * 24 * 3600


def _distinct_members(members: tuple[str, ...], what: str) -> tuple[str, ...]:
    """Each member once, and no two whose resource names (slugs) would collide."""
    problems: list[tuple[str, Any, str]] = []
    seen: dict[str, int] = {}
    for i, member in enumerate(members):
        for known in (member.lower(), slug(member)):
            if known in seen:
                problems.append(
                    (f"[{i}]", member, f"each member once (resource names too): it is {what}[{seen[known]}]")
                )
                break
        seen.setdefault(member.lower(), i)
        seen.setdefault(slug(member), i)
    if problems:
        raise _cross(problems)
    return members


class DeadLetterSettings(_Model):
    """Opt-in dead letters (`task-worker:deadLetter`); see docs/operations.md."""

    enabled: bool = _described(
        "true: a Pub/Sub topic and pull subscription for tasks whose last attempt failed, publish on it for "
        "the runtime account, and TASK_WORKER_* env vars telling the worker its queues' retry limits.",
        "true or false",
        default=False,
    )
    retention_seconds: int = _described(
        "How long the subscription keeps a dead letter nobody acknowledged.",
        f"a whole number from {MIN_RETENTION_SECONDS} (10 minutes) to {MAX_RETENTION_SECONDS} (31 days)",
        default=DEFAULT_RETENTION_SECONDS,
        ge=MIN_RETENTION_SECONDS,
        le=MAX_RETENTION_SECONDS,
    )
    subscribers: tuple[Member, ...] = _described(
        "Who may pull dead letters (operators, a replay job): roles/pubsub.subscriber on the subscription only.",
        "a list of IAM members as for enqueuers; each once; never allUsers",
        default=(),
    )

    @field_validator("subscribers")
    @classmethod
    def _distinct_subscribers(cls, members: tuple[str, ...]) -> tuple[str, ...]:
        return _distinct_members(members, "subscribers")


def _check_project(project: str) -> str:
    for word in RESTRICTED_PROJECT_STRINGS:
        if word in project:
            raise PydanticCustomError("task_worker", "{allowed}", {"allowed": f'a project ID may not contain "{word}"'})
    return project


# A project number: Google's examples have 12 digits; 19 keep it within int64 (the API's type).
PROJECT_NUMBER_PATTERN = r"^[1-9][0-9]{0,18}$"
PROJECT_ALLOWED = (
    "a project ID: 6–30 lowercase letters, digits and hyphens, starting with a letter, not ending with a hyphen, "
    f"without {', '.join(RESTRICTED_PROJECT_STRINGS)}"
)
LOCATION_ALLOWED = "a location where Cloud Tasks runs: " + ", ".join(sorted(CLOUD_TASKS_LOCATIONS))
Location = Literal[tuple(sorted(CLOUD_TASKS_LOCATIONS))]  # type: ignore[valid-type]


class StackConfig(_Model):
    """Every key the program reads: `gcp:project`, `gcp:region` and the `task-worker:` ones."""

    project: Annotated[str, AfterValidator(_check_project)] = Field(
        description=f"gcp:project — the Google Cloud project to deploy to. Allowed: {PROJECT_ALLOWED}",
        json_schema_extra=_allowed(PROJECT_ALLOWED),
        pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$",
    )
    region: Location | None = Field(  # type: ignore[valid-type]
        default=None,
        description="gcp:region — where everything is, unless task-worker:location is set. "
        f"Allowed: {LOCATION_ALLOWED}",
        json_schema_extra=_allowed(LOCATION_ALLOWED),
    )
    location: Location | None = _described(  # type: ignore[valid-type]
        "Overrides gcp:region for every resource (queues and service share one location).",
        LOCATION_ALLOWED,
        default=None,
    )
    deletion_protection: bool = _described(
        "true: the service has deletion_protection and queues deletion_policy PREVENT; false: both deletable.",
        "true or false",
        default=True,
    )
    labels: Annotated[dict[LabelKey, LabelValue], AfterValidator(_frozen_map)] = _described(
        "GCP labels on the service (managed-by: pulumi and stack: <stack> are always set).",
        f"a map of key (lowercase letters, international ones too, digits, _ and -, starting with a letter, "
        f"≤ {MAX_LABEL_CHARS}) to value (the same characters, ≤ {MAX_LABEL_CHARS}); at most "
        f"{MAX_LABELS - len(OWN_LABELS)}, {MAX_LABELS - len(OWN_LABELS) - 1} with dead letters on (Google allows "
        f"{MAX_LABELS} per resource, the stack's own included); not " + ", ".join(sorted(OWN_LABELS)),
        keys=f"a label key: lowercase letters (international ones too), digits, _ and -, starting with a letter, "
        f"≤ {MAX_LABEL_CHARS} characters",
        default_factory=dict,
        max_length=MAX_LABELS - len(OWN_LABELS),
    )
    enqueuers: tuple[Member, ...] = _described(
        "Who may create tasks: each gets roles/cloudtasks.enqueuer on every queue, and nothing else.",
        "a list of IAM members: " + ", ".join(f"{p}…" for p in ENQUEUER_PREFIXES) + "; each once; never allUsers",
        default=(),
    )
    project_number: (
        Annotated[
            str,
            WithJsonSchema({"anyOf": [{"type": "string", "pattern": PROJECT_NUMBER_PATTERN}, {"type": "integer"}]}),
        ]
        | None
    ) = _described(
        "The project's number (`gcloud projects describe PROJECT --format='value(projectNumber)'`). Set: the "
        "service agents' e-mails are derived from it (service-NUMBER@gcp-sa-cloudtasks…, "
        "service-NUMBER@serverless-robot-prod…) instead of read from ServiceIdentity, which may return none "
        "(terraform-provider-google #18649); a number that does not match the agent Google reports is refused "
        "at `pulumi up`.",
        "the project number: 1 to 19 digits, not starting with 0",
        default=None,
        pattern=PROJECT_NUMBER_PATTERN,
    )
    service: ServiceSettings = _described(
        "The Cloud Run service.", "a map of the service keys below", default_factory=ServiceSettings
    )
    accounts: AccountsSettings = _described(
        "The stack's service accounts, to adopt existing ones.",
        "a map {runtime, invoker}, each {importId}",
        default_factory=AccountsSettings,
    )
    monitoring: MonitoringSettings = _described(
        "Alert policies and a dashboard (docs/operations.md).",
        "a map of the monitoring keys below",
        default_factory=MonitoringSettings,
    )
    dead_letter: DeadLetterSettings = _described(
        "Dead letters, opt-in (docs/operations.md).",
        "a map {enabled, retentionSeconds, subscribers}",
        default_factory=DeadLetterSettings,
    )
    queues: dict[QueueKey, QueueSettings] = _described(
        "The queues, by key (names their resources). Left out: one queue `default` at /.",
        "a map of key (lowercase letters, digits, -, starting with a letter, ≤ 50) to queue settings; "
        f"1 to {MAX_QUEUES_PER_LOCATION} queues",
        keys="a queue key: lowercase letters, digits and -, starting with a letter, ≤ 50 characters",
        default_factory=lambda: {"default": QueueSettings()},
        min_length=1,
        max_length=MAX_QUEUES_PER_LOCATION,
    )

    @field_validator("enqueuers")
    @classmethod
    def _distinct_enqueuers(cls, members: tuple[str, ...]) -> tuple[str, ...]:
        return _check_distinct_enqueuers(members)

    @model_validator(mode="after")
    def _queue_count(self) -> Self:
        _check_queue_count(self)
        return self

    @model_validator(mode="after")
    def _location_set(self) -> Self:
        _check_location_set(self)
        return self

    @model_validator(mode="after")
    def _same_project_and_location(self) -> Self:
        _check_same_project_and_location(self)
        return self

    @model_validator(mode="after")
    def _shared_vpc_grant(self) -> Self:
        _check_shared_vpc_grant(self)
        return self

    def is_this_project(self, project: str) -> bool:
        """Whether a project ID or number from a full resource ID names the stack's own project."""
        return project in (self.project, self.project_number)


def _check_distinct_enqueuers(members: tuple[str, ...]) -> tuple[str, ...]:
    problems: list[tuple[str, Any, str]] = []
    seen: dict[str, int] = {}
    slugs: dict[str, int] = {}
    for i, member in enumerate(members):
        if member.lower() in seen:
            problems.append((f"[{i}]", member, f"each member once: it is enqueuers[{seen[member.lower()]}]"))
        elif slug(member) in slugs:
            other = slugs[slug(member)]
            problems.append(
                (
                    f"[{i}]",
                    member,
                    f"its resource names would collide with enqueuers[{other}] ({members[other]}); "
                    "Pulumi refuses two resources of one name",
                )
            )
        seen.setdefault(member.lower(), i)
        slugs.setdefault(slug(member), i)
    if problems:
        raise _cross(problems)
    return members


def _check_queue_count(config: StackConfig) -> None:
    problems: list[tuple[str, Any, str]] = []
    total = sum(q.shards for q in config.queues.values())
    if total > MAX_QUEUES_PER_LOCATION:
        problems.append(
            (
                "queues",
                f"{total} queues (shards included)",
                f"expected at most {MAX_QUEUES_PER_LOCATION} queues in one location (Cloud Tasks' limit)",
            )
        )
    # Shard i of queue `a` is named `a-i`: a queue key `a-i` would be a second resource of that name.
    for key, queue in config.queues.items():
        for shard in range(1, queue.shards):
            if f"{key}-{shard}" in config.queues:
                problems.append(
                    (f"queues.{key}-{shard}", f"{key}-{shard}", f"its names collide with shard {shard} of {key}")
                )
    if problems:
        raise _cross(problems)


def _check_location_set(config: StackConfig) -> None:
    if config.location is None and config.region is None:
        raise PydanticCustomError(
            "task_worker_unset",
            "unset",
            {"key": "region", "allowed": f"required (or task-worker:location): {LOCATION_ALLOWED}"},
        )


def _check_same_project_and_location(config: StackConfig) -> None:
    """Named, adopted and networked things live where the stack does (Cloud Run and Cloud Tasks rules)."""
    location = config.location or config.region
    here = f"projects/{config.project}/locations/{location}/"
    problems: list[tuple[str, Any, str]] = []
    vpc_region = config.service.vpc.region() if config.service.vpc else None
    if vpc_region is not None and vpc_region != location:
        problems.append(
            (
                "service.vpc.subnetwork",
                config.service.vpc.subnetwork if config.service.vpc else None,
                f"expected a subnetwork in the stack's location {location}: Direct VPC egress uses "
                "a subnetwork of the service's own region",
            )
        )
    if config.service.import_id and not config.service.import_id.startswith(here + "services/"):
        problems.append(("service.importId", config.service.import_id, f"expected {here}services/NAME"))
    for role in ("runtime", "invoker"):
        account: AccountSettings = getattr(config.accounts, role)
        if account.import_id:
            m = re.fullmatch(ACCOUNT_IMPORT_PATTERN, account.import_id)
            if m and not (m.group(1) == m.group(3) == config.project):
                problems.append(
                    (
                        f"accounts.{role}.importId",
                        account.import_id,
                        f"expected an account of the stack's project: projects/{config.project}/serviceAccounts/"
                        f"NAME@{config.project}.iam.gserviceaccount.com",
                    )
                )
    if config.accounts.runtime.import_id and config.accounts.runtime.import_id == config.accounts.invoker.import_id:
        problems.append(
            (
                "accounts.invoker.importId",
                config.accounts.invoker.import_id,
                "expected an account other than runtime's",
            )
        )
    # Plain duplicates here, with the other problems of the keys; shard IDs: settings/resolve.py.
    seen: dict[str, str] = {}
    for key, q in sorted(config.queues.items()):
        if q.import_id and not q.import_id.startswith(here + "queues/"):
            problems.append((f"queues.{key}.importId", q.import_id, f"expected {here}queues/QUEUE_ID"))
        queue_id = q.queue_id
        if queue_id is not None:
            if queue_id in seen:
                problems.append(
                    (f"queues.{key}.name", queue_id, f"expected a queue ID not used by queues.{seen[queue_id]}")
                )
            seen.setdefault(queue_id, key)
    if problems:
        raise _cross(problems)


def _check_shared_vpc_grant(config: StackConfig) -> None:
    """grantNetworkUser declares a grant on one subnetwork of another project: it must name one."""
    vpc = config.service.vpc
    if vpc is None or not vpc.grant_network_user:
        return
    parts = vpc.subnetwork_parts()
    if parts is None:
        allowed = (
            "expected service.vpc.subnetwork as projects/HOST/regions/R/subnetworks/S: the grant is declared "
            "on that subnetwork of the Shared VPC host project"
        )
    elif config.is_this_project(parts[0]):
        allowed = (
            f"expected a subnetwork of another project (Shared VPC): {parts[0]} is the stack's own project, "
            "where Cloud Run's service agent needs no grant; set grantNetworkUser to false"
        )
    else:
        return
    raise _cross([("service.vpc.grantNetworkUser", True, allowed)])


SERVICE_DEFAULTS = ServiceSettings()
QUEUE_DEFAULTS = named_queue("default")
# The config keys of our namespace (aliases of StackConfig's fields but project and region).
_GCP_KEYS = {"project": "gcp:project", "region": "gcp:region"}
CONFIG_KEYS = frozenset(info.alias or name for name, info in StackConfig.model_fields.items() if name not in _GCP_KEYS)
# Values that the engine passes as text (scalars), not JSON.
# projectNumber too: read as JSON, 12 digits would be a number, and a number with a leading 0 or an
# exponent another text than the one written.
_TEXT_KEYS = frozenset({"location", "projectNumber"})


class Settings(NamedTuple):
    """What the components receive: the validated config, as typed (settings/resolve.py derives the names)."""

    stack: str
    project: str
    location: str
    service: ServiceSettings
    queues: tuple[QueueSettings, ...]
    enqueuers: tuple[str, ...] = ()
    deletion_protection: bool = True
    labels: Mapping[str, str] = MappingProxyType({})
    warnings: tuple[str, ...] = ()
    accounts: AccountsSettings = AccountsSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
    dead_letter: DeadLetterSettings = DeadLetterSettings()
    project_number: str | None = None  # task-worker:projectNumber: the service agents' e-mails derive from it
