"""Every rendered Queue and Cloud Run Service input is a field Google's own API schema accepts."""

from __future__ import annotations

import copy
import inspect
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import pulumi_gcp as gcp
import pytest

from tests.conformance import (
    PROVIDER_ONLY,
    QUEUE_SCHEMA,
    RENAMES,
    SERVICE_SCHEMA,
    Rename,
    check_queue,
    check_service,
    cloudtasks_doc,
    discovery_document,
    is_output_only,
    run_doc,
    violations,
)
from tests.conftest import run_ok, stack_config
from tools.harness import SECRET, Run, StackConfig

QUEUE = "gcp:cloudtasks/queue:Queue"
SERVICE = "gcp:cloudrunv2/service:Service"

# Generated configs whose rendered inputs must conform, besides conftest's small and full stacks.
# Each puts in front of the checker an input those two don't: a paused queue, env vars, secret
# env, LB ingress, several queues, every default (a fractional backoff).
CONFIGS: Mapping[str, Callable[[], StackConfig]] = {
    "defaults": lambda: stack_config(),
    "paused": lambda: stack_config(queues={"jobs": {"paused": True, "path": "/jobs"}}),
    "env": lambda: stack_config(service={"env": {"A": "1", "DB_HOST": "db", "MODE": "batch"}}),
    "secret-env": lambda: stack_config(
        secret_keys=frozenset({"task-worker:service"}), service={"env": {"TOKEN": "s3cr3t"}}
    ),
    "lb-ingress": lambda: stack_config(service={"ingress": "internal-and-cloud-load-balancing"}),
    "many-queues": lambda: stack_config(
        queues={
            "fast": {"maxDispatchesPerSecond": 500, "maxConcurrentDispatches": 800, "minBackoff": "0.5s"},
            "slow": {"maxDispatchesPerSecond": 0.5, "maxAttempts": -1, "loggingSamplingRatio": 0.25},
            "held": {"paused": True, "maxRetryDuration": "604800s"},
        }
    ),
}


class Case(NamedTuple):
    name: str
    run: Run


@pytest.fixture(scope="module")
def generated() -> dict[str, Run]:
    return {}


@pytest.fixture(params=["small", "full", *CONFIGS])
def case(request: pytest.FixtureRequest, generated: dict[str, Run]) -> Case:
    name: str = request.param
    if name in ("small", "full"):
        return Case(name, request.getfixturevalue(name))  # conftest's session runs
    if name not in generated:  # each program runs once per module, however many tests read it
        generated[name] = run_ok(CONFIGS[name]())
    return Case(name, generated[name])


# --- the rendered stacks conform ---------------------------------------------------


def test_every_queue_input_is_a_google_field(case: Case) -> None:
    queues = case.run.of_type(QUEUE)
    assert queues, "no queue rendered: the check would pass vacuously"
    for queue in queues:
        assert check_queue(queue.inputs) == [], queue.urn


def test_every_service_input_is_a_google_field(case: Case) -> None:
    service = case.run.one(SERVICE)
    assert check_service(service.inputs) == [], service.urn


def test_cases_render_what_they_claim(case: Case) -> None:
    """The generated configs really put the inputs under test in front of the checker."""
    name = case.name
    queues = [q.inputs for q in case.run.of_type(QUEUE)]
    service = case.run.one(SERVICE).inputs
    container = service["template"]["containers"][0]
    if name in ("paused", "many-queues"):
        assert "PAUSED" in {q["desiredState"] for q in queues}
    if name == "many-queues":
        assert len(queues) == 3
    if name == "env":
        assert [e["name"] for e in container["envs"]] == ["A", "DB_HOST", "MODE"]
    if name == "secret-env":
        assert container["envs"] == [{"name": "TOKEN", "value": SECRET}]
    if name == "lb-ingress":
        assert service["ingress"] == "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER"
    if name == "defaults":
        assert queues[0]["retryConfig"]["minBackoff"] == "0.1s"  # a fractional duration


# --- the checker can fail -----------------------------------------------------------


def changed(inputs: Mapping[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A deep copy of `inputs` with `dotted` (e.g. "template.containers.0.envs") set to `value`."""
    out: dict[str, Any] = copy.deepcopy(dict(inputs))
    *parents, last = dotted.split(".")
    node: Any = out
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


@pytest.fixture
def queue_inputs(small: Run) -> Mapping[str, Any]:
    return small.one(QUEUE).inputs


@pytest.fixture
def service_inputs(small: Run) -> Mapping[str, Any]:
    return small.one(SERVICE).inputs


@pytest.mark.parametrize(
    ("dotted", "value", "expected"),
    [
        # A typo: Google's field is maxDispatchesPerSecond.
        (
            "rateLimits.maxDispatchPerSecond",
            5,
            "Queue.rateLimits.maxDispatchPerSecond: no such field in Google's RateLimits",
        ),
        ("retryConfig.maxRetries", 3, "Queue.retryConfig.maxRetries: no such field in Google's RetryConfig"),
        ("httpTarget.httpMethod", "FETCH", "Queue.httpTarget.httpMethod: 'FETCH' not in Google's enum ["),
        ("httpTarget.uriOverride.scheme", "https", "Queue.httpTarget.uriOverride.scheme: 'https' not in Google's enum"),
        ("rateLimits.maxConcurrentDispatches", "5", "Queue.rateLimits.maxConcurrentDispatches: expected an integer"),
        ("rateLimits.maxConcurrentDispatches", 2**31, "Queue.rateLimits.maxConcurrentDispatches: 2147483648 is out of"),
        ("rateLimits.maxDispatchesPerSecond", True, "Queue.rateLimits.maxDispatchesPerSecond: expected a number"),
        ("stackdriverLoggingConfig.samplingRatio", "0.5", "Queue.stackdriverLoggingConfig.samplingRatio: expected a"),
        ("retryConfig.minBackoff", 10, "Queue.retryConfig.minBackoff: expected a google-duration string, got 10"),
        ("retryConfig.maxBackoff", "1m", "Queue.retryConfig.maxBackoff: '1m' is not Google's google-duration form"),
        ("retryConfig.maxRetryDuration", "-1s", "Queue.retryConfig.maxRetryDuration: '-1s' is not Google's"),
        ("httpTarget.uriOverride.port", "http", "Queue.httpTarget.uriOverride.port: 'http' is not Google's int64 form"),
        ("httpTarget.headerOverrides", {"key": "X"}, "Queue.httpTarget.headerOverrides: expected a list"),
        ("httpTarget.oidcToken", "sa@x", "Queue.httpTarget.oidcToken: expected an object (Google's OidcToken)"),
        # Output-only: Cloud Tasks derives the burst size; the state changes only by pause/resume.
        (
            "rateLimits.maxBurstSize",
            100,
            "Queue.rateLimits.maxBurstSize: Google's RateLimits.maxBurstSize is output-only",
        ),
        ("state", "PAUSED", "Queue.state: Google's Queue.state is output-only"),
        ("purgeTime", "2026-01-01T00:00:00Z", "Queue.purgeTime: Google's Queue.purgeTime is output-only"),
    ],
)
def test_queue_departures_are_reported(queue_inputs: Mapping[str, Any], dotted: str, value: Any, expected: str) -> None:
    assert check_queue(queue_inputs) == []
    found = check_queue(changed(queue_inputs, dotted, value))
    assert len(found) == 1, found
    assert found[0].startswith(expected), found


@pytest.mark.parametrize(
    ("dotted", "value", "expected"),
    [
        ("ingress", "INGRESS_TRAFFIC_EVERYONE", "GoogleCloudRunV2Service.ingress: 'INGRESS_TRAFFIC_EVERYONE' not in"),
        ("template.scaling.minInstances", 1, "GoogleCloudRunV2Service.template.scaling.minInstances: no such field in"),
        (
            "template.containers.0.envs.0.valueFrom",
            "x",
            "GoogleCloudRunV2Service.template.containers[0].envs[0].valueFrom: no such field in Google's "
            "GoogleCloudRunV2EnvVar",
        ),
        # Google's name where pulumi-gcp has its own: the provider would refuse it.
        ("template.containers.0.env", [], "GoogleCloudRunV2Service.template.containers[0].env: Google's name;"),
        ("template.timeout", 600, "GoogleCloudRunV2Service.template.timeout: expected a google-duration string"),
        ("template.timeout", "10m", "GoogleCloudRunV2Service.template.timeout: '10m' is not Google's google-duration"),
        ("template.maxInstanceRequestConcurrency", True, "GoogleCloudRunV2Service.template.maxInstanceRequestConcurr"),
        ("invokerIamDisabled", "false", "GoogleCloudRunV2Service.invokerIamDisabled: expected a boolean"),
        ("template.containers.0.resources.limits.cpu", 2, "GoogleCloudRunV2Service.template.containers[0].resource"),
        ("labels", ["env"], "GoogleCloudRunV2Service.labels: expected a map"),
        ("template.containers", {"image": "x"}, "GoogleCloudRunV2Service.template.containers: expected a list"),
        ("template.containers.0.ports", {"containerPort": "8080"}, "GoogleCloudRunV2Service.template.containers[0]."),
        ("template.containers.0.ports", [{"containerPort": 8080}], "GoogleCloudRunV2Service.template.containers[0]."),
        # Output-only.
        (
            "uri",
            "https://x.run.app",
            "GoogleCloudRunV2Service.uri: Google's GoogleCloudRunV2Service.uri is output-only",
        ),
        ("template.containers.0.buildInfos", [], "GoogleCloudRunV2Service.template.containers[0].buildInfos: Google's"),
    ],
)
def test_service_departures_are_reported(
    service_inputs: Mapping[str, Any], dotted: str, value: Any, expected: str
) -> None:
    assert check_service(service_inputs) == []
    found = check_service(changed(service_inputs, dotted, value))
    assert len(found) == 1, found
    assert found[0].startswith(expected), found


def test_enum_message_lists_googles_values(service_inputs: Mapping[str, Any]) -> None:
    (found,) = check_service(changed(service_inputs, "ingress", "INGRESS_TRAFFIC_EVERYONE"))
    assert "'INGRESS_TRAFFIC_INTERNAL_ONLY'" in found
    assert "'INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER'" in found


def test_every_departure_is_reported_not_just_the_first(queue_inputs: Mapping[str, Any]) -> None:
    bad = changed(queue_inputs, "rateLimits.maxBurstSize", 10)
    bad = changed(bad, "httpTarget.httpMethod", "FETCH")
    bad = changed(bad, "retryConfig.minBackoff", "1")
    assert len(check_queue(bad)) == 3


@pytest.mark.parametrize(
    ("dotted", "value"),
    [
        # Provider renames and shapes, spelled the way pulumi-gcp sends them.
        ("template.containers.0.ports", {"containerPort": 8080, "name": "http1"}),
        ("template.containers.0.commands", ["/bin/worker"]),
        ("template.containers.0.envs.0.value", SECRET),  # a secret's value is opaque offline
        ("traffics", [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST", "percent": 100}]),
        ("template.containers.0.resources.limits", {"cpu": "1000m", "memory": "2Gi"}),
        ("template.timeout", "0.5s"),
        ("name", "task-worker"),
        ("tags", {"tagKeys/1": "tagValues/2"}),
    ],
)
def test_provider_spellings_are_accepted(service_inputs: Mapping[str, Any], dotted: str, value: Any) -> None:
    assert check_service(changed(service_inputs, dotted, value)) == []


def test_walker_takes_its_tables_as_arguments(queue_inputs: Mapping[str, Any]) -> None:
    """With no provider-only list, the provider's own inputs are exactly what gets reported."""
    found = violations(queue_inputs, QUEUE_SCHEMA, cloudtasks_doc(), provider_only={})
    assert sorted(found) == [
        f"Queue.{f}: no such field in Google's Queue" for f in ("deletionPolicy", "desiredState", "location", "project")
    ]


# --- the tables are right ------------------------------------------------------------


def _google_props(schema: str) -> Mapping[str, Any]:
    doc = cloudtasks_doc() if schema in cloudtasks_doc()["schemas"] else run_doc()
    return doc["schemas"][schema]["properties"]


def test_documents_are_loaded_once() -> None:
    discovery_document.cache_clear()
    for _ in range(3):
        check_queue({"rateLimits": {"maxConcurrentDispatches": 1}})
        check_service({"ingress": "INGRESS_TRAFFIC_INTERNAL_ONLY"})
    info = discovery_document.cache_info()
    assert (info.misses, info.hits) == (2, 4)


@pytest.mark.parametrize(("key", "rename"), list(RENAMES.items()), ids=[".".join(k) for k in RENAMES])
def test_renames_point_at_real_google_fields(key: tuple[str, str], rename: Rename) -> None:
    schema, ours = key
    props = _google_props(schema)
    assert rename.google in props
    if rename.one_as_list:
        assert props[rename.google]["type"] == "array"
    else:
        assert ours not in props, "not a rename: Google has this name too"


@pytest.mark.parametrize(("key", "reason"), list(PROVIDER_ONLY.items()), ids=[".".join(k) for k in PROVIDER_ONLY])
def test_provider_only_fields_have_a_reason(key: tuple[str, str], reason: str) -> None:
    schema, field = key
    assert reason.strip()
    assert "\n" not in reason
    # Only `name` shadows a Google field (a short ID here, a full resource path there).
    assert field not in _google_props(schema) or field == "name"


# What pulumi-gcp 10.2 accepts that Google's body won't take, beyond the tables: our stack
# must never set these, and the walker reports each one if it does.
KNOWN_GAPS: Mapping[tuple[str, str], str] = {
    ("RateLimits", "maxBurstSize"): "output-only: Cloud Tasks derives it from maxDispatchesPerSecond",
    ("AppEngineRouting", "host"): "output-only: Cloud Tasks computes the App Engine host",
    ("GoogleCloudRunV2BuildConfig", "name"): "output-only: the Cloud Build name",
    ("GoogleCloudRunV2Container", "buildInfos"): "output-only (Google's buildInfo)",
    ("GoogleCloudRunV2Probe", "successThreshold"): "readinessProbe only; not in the Cloud Run v2 discovery document",
}
_ARGS = re.compile(r"'(\w+Args)'")


def _provider_gaps(cls: type, schema: str, seen: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Walk a pulumi-gcp Args class against Google's schema; what neither matches nor is in a table."""
    gaps: dict[tuple[str, str], str] = {}
    props = _google_props(schema)
    module = inspect.getmodule(cls)
    for param in inspect.signature(cls.__init__).parameters.values():
        if param.name in ("self", "__self__"):
            continue
        head, *rest = param.name.split("_")
        field = head + "".join(p.title() for p in rest)  # pulumi's camelCase
        key = (schema, field)
        seen.add(key)
        if key in PROVIDER_ONLY:
            continue
        rename = RENAMES.get(key)
        google = props.get(rename.google if rename else field)
        if google is None:
            gaps[key] = "unknown"
            continue
        if is_output_only(google):
            gaps[key] = "output-only"
            continue
        annotation = str(param.annotation)
        pulumi_list = "Sequence[" in annotation
        if pulumi_list != (google.get("type") == "array") and not (rename and rename.one_as_list):
            gaps[key] = "shape"
        target = google.get("$ref") or google.get("items", {}).get("$ref")
        nested = _ARGS.search(annotation)
        if target and nested:
            gaps |= _provider_gaps(getattr(module, nested.group(1)), target, seen)
    return gaps


def test_tables_cover_every_provider_difference() -> None:
    """pulumi-gcp's whole input surface (not only what we set): any new difference fails here."""
    seen: set[tuple[str, str]] = set()
    gaps = _provider_gaps(gcp.cloudtasks.QueueArgs, QUEUE_SCHEMA, seen)
    gaps |= _provider_gaps(gcp.cloudrunv2.ServiceArgs, SERVICE_SCHEMA, seen)
    assert set(gaps) == set(KNOWN_GAPS), gaps
    # No stale entries: every rename and provider-only field is still a pulumi-gcp input.
    assert set(RENAMES) <= seen
    assert set(PROVIDER_ONLY) <= seen
