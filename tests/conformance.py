"""Do rendered pulumi-gcp inputs map onto Google's own API schema?

Google's discovery documents (shipped in google-api-python-client) describe the JSON body
each API accepts. `violations` walks a resource's camelCase inputs against one schema,
recursively, and reports every input that Google would not know, would refuse, or ignores:

- a field that is in neither Google's schema, the rename table nor the provider-only list;
- a value of the wrong JSON type, an enum value Google does not list, a malformed
  duration / int64 / timestamp string, an int32 out of range;
- a field Google documents as output-only ("Output only." or `readOnly: true`).

`check_queue` and `check_service` are the entry points other suites import.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from tools.harness import SECRET

QUEUE_SCHEMA = "Queue"
SERVICE_SCHEMA = "GoogleCloudRunV2Service"


@cache
def discovery_document(name: str) -> Mapping[str, Any]:
    """A discovery document from the installed wheel, e.g. "cloudtasks.v2"; parsed once."""
    path = resources.files("googleapiclient") / "discovery_cache" / "documents" / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def cloudtasks_doc() -> Mapping[str, Any]:
    return discovery_document("cloudtasks.v2")


def run_doc() -> Mapping[str, Any]:
    return discovery_document("run.v2")


@dataclass(frozen=True)
class Rename:
    google: str
    # pulumi-gcp flattens Google's list (of at most one) to a single object: the object
    # is checked against the list's item schema.
    one_as_list: bool = False


# (Google schema, pulumi-gcp input) -> Google's field. Found by walking pulumi-gcp 10.2's
# Args classes against the discovery documents (Cloud Tasks v2 rev 20261005, Cloud Run v2
# rev 20261031). Terraform names repeated blocks in the plural; Google's protos don't.
RENAMES: Mapping[tuple[str, str], Rename] = {
    ("GoogleCloudRunV2Container", "envs"): Rename("env"),
    ("GoogleCloudRunV2Container", "commands"): Rename("command"),
    ("GoogleCloudRunV2Container", "dependsOns"): Rename("dependsOn"),
    # Output-only on Google's side: renamed so that setting it is reported as such.
    ("GoogleCloudRunV2Container", "buildInfos"): Rename("buildInfo"),
    # Terraform's `ports` block has max_items=1; Google's `ports` is a list.
    ("GoogleCloudRunV2Container", "ports"): Rename("ports", one_as_list=True),
    ("GoogleCloudRunV2SandboxTemplate", "envs"): Rename("env"),
    ("GoogleCloudRunV2SandboxTemplate", "commands"): Rename("command"),
    ("GoogleCloudRunV2Service", "traffics"): Rename("traffic"),
}

# (Google schema, pulumi-gcp input) -> why the provider has it and Google's body does not.
PROVIDER_ONLY: Mapping[tuple[str, str], str] = {
    ("Queue", "project"): "part of the parent path projects/P/locations/L, not of the body",
    ("Queue", "location"): "part of the parent path projects/P/locations/L, not of the body",
    ("Queue", "name"): "the short queue ID; the provider builds Google's full projects/…/queues/ID name",
    (
        "Queue",
        "desiredState",
    ): "the provider turns it into PauseQueue/ResumeQueue calls; Google's `state` is output-only",
    ("Queue", "deletionPolicy"): "the provider's guard against destroying the queue (PREVENT/DELETE)",
    ("GoogleCloudRunV2Service", "project"): "part of the parent path projects/P/locations/L, not of the body",
    ("GoogleCloudRunV2Service", "location"): "part of the parent path projects/P/locations/L, not of the body",
    ("GoogleCloudRunV2Service", "name"): "sent as the serviceId query parameter; Google's `name` is the full path",
    ("GoogleCloudRunV2Service", "deletionProtection"): "the provider refuses to destroy the service while true",
    ("GoogleCloudRunV2Service", "deletionPolicy"): "the provider's guard against destroying the service",
    ("GoogleCloudRunV2Service", "tags"): "Resource Manager tags: Google's Service schema has no `tags` field",
}

# Google's JSON forms of strings with a format (proto3 JSON mapping).
_DURATION = re.compile(r"^\d+(\.\d+)?s$")
_INT64 = re.compile(r"^-?\d+$")
_UINT64 = re.compile(r"^\d+$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")
_BYTES = re.compile(r"^[A-Za-z0-9+/_-]*={0,2}$")
_STRING_FORMATS: Mapping[str, re.Pattern[str]] = {
    "google-duration": _DURATION,
    "int64": _INT64,
    "uint64": _UINT64,
    "google-datetime": _DATETIME,
    "byte": _BYTES,
}
_INT_RANGES: Mapping[str, tuple[int, int]] = {
    "int32": (-(2**31), 2**31 - 1),
    "uint32": (0, 2**32 - 1),
}
# Google's own marker, at the start of a description or after a sentence ("Optional. Output
# only."); not "after which it becomes output only" (Queue.name, settable on create).
_OUTPUT_ONLY = re.compile(r"(^|\.\s+|\[)Output only")


def is_output_only(field_schema: Mapping[str, Any]) -> bool:
    return field_schema.get("readOnly") is True or bool(_OUTPUT_ONLY.search(field_schema.get("description", "")))


def violations(
    value: Any,
    schema_name: str,
    doc: Mapping[str, Any],
    path: str = "",
    renames: Mapping[tuple[str, str], Rename] = RENAMES,
    provider_only: Mapping[tuple[str, str], str] = PROVIDER_ONLY,
) -> list[str]:
    """Every way `value` (an object's inputs) departs from Google's schema `schema_name`; [] if none."""
    return _Walker(doc, renames, provider_only).object(value, schema_name, path or schema_name)


class _Walker:
    def __init__(
        self,
        doc: Mapping[str, Any],
        renames: Mapping[tuple[str, str], Rename],
        provider_only: Mapping[tuple[str, str], str],
    ) -> None:
        self.schemas: Mapping[str, Any] = doc["schemas"]
        self.renames = renames
        self.provider_only = provider_only
        # Google names pulumi-gcp never sends (it uses its own name): using one is a mistake.
        self.google_names = {(s, r.google): p for (s, p), r in renames.items() if r.google != p}

    def object(self, value: Any, schema_name: str, path: str) -> list[str]:
        if not isinstance(value, Mapping):
            return [f"{path}: expected an object (Google's {schema_name}), got {_show(value)}"]
        props: Mapping[str, Any] = self.schemas[schema_name].get("properties", {})
        found: list[str] = []
        for key, item in value.items():
            here = f"{path}.{key}"
            if (schema_name, key) in self.provider_only:
                continue  # not part of Google's body; the reason is in the table
            if (schema_name, key) in self.google_names:
                found.append(f"{here}: Google's name; pulumi-gcp's input is `{self.google_names[schema_name, key]}`")
                continue
            rename = self.renames.get((schema_name, key), Rename(key))
            field_schema = props.get(rename.google)
            if field_schema is None:
                found.append(f"{here}: no such field in Google's {schema_name}")
                continue
            if is_output_only(field_schema):
                found.append(f"{here}: Google's {schema_name}.{rename.google} is output-only; never set it")
                continue
            if rename.one_as_list:
                found += self.field(item, field_schema.get("items", {}), here)
            else:
                found += self.field(item, field_schema, here)
        return found

    def field(self, value: Any, schema: Mapping[str, Any], path: str) -> list[str]:
        if value is None or value == SECRET:
            return []  # null is "unset" in proto3 JSON; a secret's value is not visible offline
        if "$ref" in schema:
            return self.object(value, schema["$ref"], path)
        kind = schema.get("type")
        if kind == "array":
            if not isinstance(value, list):
                return [f"{path}: expected a list, got {_show(value)}"]
            return [
                v for i, item in enumerate(value) for v in self.field(item, schema.get("items", {}), f"{path}[{i}]")
            ]
        if kind == "object":
            if not isinstance(value, Mapping):
                return [f"{path}: expected a map, got {_show(value)}"]
            values = schema.get("additionalProperties")
            if not isinstance(values, Mapping):
                return []  # a free-form object (google.protobuf.Struct)
            return [v for k, item in value.items() for v in self.field(item, values, f"{path}.{k}")]
        return self.scalar(value, schema, path)

    def scalar(self, value: Any, schema: Mapping[str, Any], path: str) -> list[str]:
        kind, fmt = schema.get("type"), schema.get("format")
        shown = _show(value)
        if kind == "any":
            return []
        if kind == "boolean":
            return [] if isinstance(value, bool) else [f"{path}: expected a boolean, got {shown}"]
        if kind == "integer":
            # bool is an int in Python, never in JSON.
            if isinstance(value, bool) or not isinstance(value, int):
                return [f"{path}: expected an integer ({fmt}), got {shown}"]
            lo, hi = _INT_RANGES.get(fmt or "", (-math.inf, math.inf))
            return [] if lo <= value <= hi else [f"{path}: {shown} is out of {fmt} range"]
        if kind == "number":
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                return [f"{path}: expected a number ({fmt}), got {shown}"]
            return []
        if kind == "string":
            if not isinstance(value, str):
                what = f"a {fmt} string" if fmt else "a string"
                return [f"{path}: expected {what}, got {shown}"]
            pattern = _STRING_FORMATS.get(fmt or "")
            if pattern is not None and not pattern.match(value):
                return [f"{path}: {shown} is not Google's {fmt} form (e.g. {_EXAMPLES[fmt or '']})"]
            enum: list[str] | None = schema.get("enum")
            if enum is not None and value not in enum:
                return [f"{path}: {shown} not in Google's enum {enum}"]
            return []
        raise ValueError(f"{path}: unsupported schema type {kind!r} in Google's document")


_EXAMPLES: Mapping[str, str] = {
    "google-duration": '"600s" or "0.1s"',
    "int64": '"8080"',
    "uint64": '"8080"',
    "google-datetime": '"2026-01-01T00:00:00Z"',
    "byte": "base64",
}


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else json.dumps(value, default=str)


def check_queue(inputs: Mapping[str, Any]) -> list[str]:
    """A `gcp:cloudtasks/queue:Queue`'s inputs against Google's Cloud Tasks v2 `Queue`."""
    return violations(inputs, QUEUE_SCHEMA, cloudtasks_doc())


def check_service(inputs: Mapping[str, Any]) -> list[str]:
    """A `gcp:cloudrunv2/service:Service`'s inputs against Google's Cloud Run v2 `Service`."""
    return violations(inputs, SERVICE_SCHEMA, run_doc())


# --- Monitoring and Pub/Sub (monitoring helper) ---------------------------------------------------
# Checked against their own documents with their own tables (passed to `violations`), so the Queue
# and Service tables above, and the tests that walk them, stay as they are.

ALERT_POLICY_SCHEMA = "AlertPolicy"
DASHBOARD_SCHEMA = "Dashboard"
TOPIC_SCHEMA = "Topic"
SUBSCRIPTION_SCHEMA = "Subscription"

MONITORING_PROVIDER_ONLY: Mapping[tuple[str, str], str] = {
    ("AlertPolicy", "project"): "part of the parent path projects/P, not of the body",
    ("AlertPolicy", "deletionPolicy"): "the provider's guard against destroying the policy",
}
PUBSUB_PROVIDER_ONLY: Mapping[tuple[str, str], str] = {
    ("Topic", "project"): "part of the name projects/P/topics/T, not of the body",
    ("Topic", "deletionPolicy"): "the provider's guard against destroying the topic",
    ("Subscription", "project"): "part of the name projects/P/subscriptions/S, not of the body",
    ("Subscription", "deletionPolicy"): "the provider's guard against destroying the subscription",
    # pulumi-gcp: 'If ttl is set to "", the associated resource never expires'; it sends an
    # ExpirationPolicy without ttl, which Google reads as "never expires".
    ("ExpirationPolicy", "ttl"): 'the provider maps "" (never expire) to an ExpirationPolicy without ttl',
}


def monitoring_v3_doc() -> Mapping[str, Any]:
    return discovery_document("monitoring.v3")


def monitoring_v1_doc() -> Mapping[str, Any]:
    return discovery_document("monitoring.v1")


def pubsub_doc() -> Mapping[str, Any]:
    return discovery_document("pubsub.v1")


def check_alert_policy(inputs: Mapping[str, Any]) -> list[str]:
    """A `gcp:monitoring/alertPolicy:AlertPolicy`'s inputs against Google's Monitoring v3 `AlertPolicy`."""
    return violations(inputs, ALERT_POLICY_SCHEMA, monitoring_v3_doc(), provider_only=MONITORING_PROVIDER_ONLY)


def check_dashboard_json(text: str) -> list[str]:
    """A Dashboard's `dashboardJson` against Google's Monitoring v1 `Dashboard` (the JSON is the body)."""
    try:
        body = json.loads(text)
    except json.JSONDecodeError as err:
        return [f"dashboardJson: not JSON ({err})"]
    return violations(body, DASHBOARD_SCHEMA, monitoring_v1_doc(), provider_only={})


def check_topic(inputs: Mapping[str, Any]) -> list[str]:
    return violations(inputs, TOPIC_SCHEMA, pubsub_doc(), provider_only=PUBSUB_PROVIDER_ONLY)


def check_subscription(inputs: Mapping[str, Any]) -> list[str]:
    return violations(inputs, SUBSCRIPTION_SCHEMA, pubsub_doc(), provider_only=PUBSUB_PROVIDER_ONLY)
