"""Offline plan: what `pulumi up` would create, with no CLI, no network, no credentials.

    uv run python -m tools.plan STACK [--json PATH] [--mermaid PATH] [--against BASE.json]

Runs the program under the offline harness with Pulumi.STACK.yaml, prints a tree of
components and resources with the settings that matter, the stack outputs, then one
summary line: resource count, critical path (cloud resources on the longest chain that
must be created one after another), and provider invokes. Applies the policy pack's rules.
Values only `pulumi up` can know (project number, service URL, auto-name suffixes, …)
read "(known after up: …)" in the tree, the JSON and the outputs, never as invented values.

--against BASE.json (a --json plan of the base branch) adds what would change: each cloud
resource as create, update (the fields), replace (the field that forces it), delete or
same; a replaced or deleted queue is flagged (its tasks are lost, its name blocked). Bounded
for a PR comment: a changed runbook or dashboard reads as a short line diff, a long list as its
first elements, a count and its last.

Exit status: 0 ok, 1 a mandatory policy violation, 2 invalid config or unknown stack.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from components.monitoring import ALERT_POLICY_TYPE, NO_CHANNELS_NOTICE, policy_pages_nobody
from policy.rules import ResourceView, Violation, check
from tools.harness import (
    KNOWN_AFTER_UP,
    ROOT,
    Resource,
    Run,
    StackNotFoundError,
    load_stack_config,
    run_program,
)
from tools.stackfile import StackFileError

# The floor the data dependencies set: API → service accounts → service → queues → queue IAM.
CRITICAL_PATH_FLOOR = 5


class Plan(NamedTuple):
    run: Run
    critical_path: int
    violations: tuple[Violation, ...]

    @property
    def mandatory(self) -> list[Violation]:
        return [v for v in self.violations if v.mandatory]


def make_plan(run: Run) -> Plan:
    views = [ResourceView(urn=r.urn, type=r.type, props=r.outputs) for r in run.resources if r.custom]
    return Plan(run=run, critical_path=critical_path(run.resources), violations=tuple(check(views)))


def _expanded(resources: Sequence[Resource]) -> dict[str, set[str]]:
    """Each cloud resource's dependencies on cloud resources.

    A dependency on a component means one on every cloud resource under it;
    components themselves are not created and are not counted.
    """
    children: dict[str, list[Resource]] = {}
    for r in resources:
        children.setdefault(r.parent, []).append(r)

    def custom_under(urn: str) -> set[str]:
        found: set[str] = set()
        for child in children.get(urn, []):
            found |= {child.urn} if child.custom else custom_under(child.urn)
        return found

    by_urn = {r.urn: r for r in resources}
    edges: dict[str, set[str]] = {}
    for r in resources:
        if not r.custom:
            continue
        deps: set[str] = set()
        for dep in r.dependencies:
            target = by_urn.get(dep)
            if target is None:
                continue
            deps |= {dep} if target.custom else custom_under(dep)
        edges[r.urn] = deps - {r.urn}
    return edges


def critical_path(resources: Sequence[Resource]) -> int:
    edges = _expanded(resources)

    @cache
    def depth(urn: str) -> int:
        return 1 + max((depth(d) for d in edges[urn]), default=0)

    return max((depth(u) for u in edges), default=0)


# --- rendering -----------------------------------------------------------------------


def _get(d: Mapping[str, Any], path: str) -> Any:
    value: Any = d
    for part in path.split("."):
        if isinstance(value, list):
            value = value[0] if value else None
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


# Per type, the settings a reviewer wants to see: (label, input path).
_SHOWN: dict[str, list[tuple[str, str]]] = {
    "gcp:projects/service:Service": [("api", "service"), ("disable_on_destroy", "disableOnDestroy")],
    "gcp:serviceaccount/account:Account": [("account_id", "accountId")],
    "gcp:cloudrunv2/service:Service": [
        ("location", "location"),
        ("ingress", "ingress"),
        ("invoker_iam_disabled", "invokerIamDisabled"),
        ("service_account", "template.serviceAccount"),
        ("image", "template.containers.image"),
        ("scaling", "template.scaling"),
        ("concurrency", "template.maxInstanceRequestConcurrency"),
        ("timeout", "template.timeout"),
        ("limits", "template.containers.resources.limits"),
        ("env", "template.containers.envs"),
        ("vpc", "template.vpcAccess"),
        ("startup_probe", "template.containers.startupProbe"),
        ("liveness_probe", "template.containers.livenessProbe"),
        ("deletion_protection", "deletionProtection"),
    ],
    "gcp:projects/serviceIdentity:ServiceIdentity": [("service", "service")],
    "gcp:cloudtasks/queue:Queue": [
        ("location", "location"),
        ("rate_limits", "rateLimits"),
        ("retry", "retryConfig"),
        ("logging_sampling_ratio", "stackdriverLoggingConfig.samplingRatio"),
        ("queue_id", "name"),
        ("state", "desiredState"),
        ("target", "httpTarget.uriOverride"),
        ("oidc_account", "httpTarget.oidcToken.serviceAccountEmail"),
        ("audience", "httpTarget.oidcToken.audience"),
        ("deletion_policy", "deletionPolicy"),
    ],
    "gcp:monitoring/alertPolicy:AlertPolicy": [
        ("display_name", "displayName"),
        ("severity", "severity"),
        ("conditions", "conditions"),
        ("channels", "notificationChannels"),
    ],
}
_IAM_SHOWN = [("role", "role"), ("member", "member")]


def _settings(r: Resource, run: Run) -> list[str]:
    shown = _SHOWN.get(r.type) or (_IAM_SHOWN if "role" in r.inputs else [])
    if not shown:
        return []
    inputs = run.shown(r.inputs)
    out = []
    for label, path in shown:
        value = _get(inputs, path)
        if value is None:
            continue
        if label == "target":
            value = f"{value.get('scheme', '').lower()}://{value.get('host')}{_get(value, 'pathOverride.path') or ''}"
        elif label == "conditions":
            # What fires it, by each condition's name ("queue depth > 1000 for 15 min"); queues by ID.
            value = " | ".join(str(c.get("displayName")) for c in inputs["conditions"])
        elif label == "env":
            value = {
                e["name"]: e.get("value")
                or "secret-manager:{secret}@{version}".format(**e["valueSource"]["secretKeyRef"])
                for e in inputs["template"]["containers"][0]["envs"]
            }
        out.append(f"{label}={value if isinstance(value, str) else json.dumps(value, sort_keys=True)}")
    return out


def tree(run: Run) -> list[str]:
    children: dict[str, list[Resource]] = {}
    urns = {r.urn for r in run.resources}
    for r in run.resources:
        parent = r.parent if r.parent in urns else ""
        children.setdefault(parent, []).append(r)

    lines: list[str] = []

    def walk(parent: str, indent: str) -> None:
        for r in sorted(children.get(parent, []), key=lambda r: (r.custom, r.type, r.name)):
            kind = r.type if r.custom else f"[component] {r.type}"
            lines.append(f"{indent}{kind}  {r.name}" + (f"  import={r.import_id}" if r.import_id else ""))
            lines.extend(f"{indent}    {s}" for s in _settings(r, run))
            walk(r.urn, indent + "  ")

    walk("", "")
    return lines


def outputs(run: Run) -> list[str]:
    """The stack outputs, one `key: value` line each (nested keys dotted)."""
    flat: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping) and value:
            for k in sorted(value):
                walk(f"{prefix}.{k}" if prefix else k, value[k])
        else:
            flat[prefix] = value

    walk("", run.shown(run.exports))
    return [f"{k}: {v if isinstance(v, str) else json.dumps(_shortened(v))}" for k, v in flat.items()]


def _shortened(value: Any) -> Any:
    """A long list (1,000 shard paths) as its first 3, how many more, and its last: one readable line."""
    if isinstance(value, list) and len(value) > LIST_SHOWN:
        return [*value[:3], f"… {len(value) - 4} more ({len(value)} in all) …", value[-1]]
    return value


def summary(plan: Plan) -> str:
    run = plan.run
    cloud = sum(r.custom for r in run.resources)
    return (
        f"{len(run.resources)} resources ({cloud} cloud resources, {len(run.resources) - cloud} components), "
        f"critical path {plan.critical_path}, invokes {len(run.invokes)}"
    )


def to_json(plan: Plan) -> str:
    """Stable bytes for the same config: keys sorted, resources by URN, dependencies sorted."""
    run = plan.run
    doc = {
        "stack": run.stack,
        "project": run.project,
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "custom": r.custom,
                "inputs": run.shown(r.inputs),
                "dependsOn": sorted(r.dependencies),
                **({"import": r.import_id} if r.import_id else {}),
            }
            for r in sorted(run.resources, key=lambda r: r.urn)
        ],
        "outputs": run.shown(run.exports),
        "criticalPath": plan.critical_path,
        "invokes": len(run.invokes),
    }
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def to_mermaid(plan: Plan) -> str:
    """A flowchart of the cloud resources and their dependency edges (edge: from what is needed first)."""
    resources = sorted((r for r in plan.run.resources if r.custom), key=lambda r: r.urn)
    ids = {r.urn: f"r{i}" for i, r in enumerate(resources)}
    edges = _expanded(plan.run.resources)
    lines = ["flowchart LR"]
    for r in resources:
        short = r.type.split(":")[1]  # e.g. cloudrunv2/service: tells the two "Service" types apart
        label = plan.run.shown(r.name).replace('"', "#quot;")
        lines.append(f'  {ids[r.urn]}["{short}<br/>{label}"]')
    for r in resources:
        lines.extend(f"  {ids[dep]} --> {ids[r.urn]}" for dep in sorted(edges[r.urn], key=ids.__getitem__))
    return "\n".join(lines) + "\n"


# --- diff against a base plan ------------------------------------------------------------

# Inputs whose change makes the provider delete the resource and create a new one, per type.
# pulumi-gcp bridges hashicorp/terraform-provider-google-beta; a bridged provider answers a change of
# a `ForceNew: true` field (a `RequiresReplace` plan modifier in plugin-framework providers) with a
# replacement. Read at google-beta v7.45.0 (3dc173a, the `upstream` submodule of pulumi/pulumi-gcp
# ed6078a, 2026-08-21; the same ForceNew fields at google-beta main 93c65b2, the newest source at
# hand), paths under google-beta/; top-level fields only (no nested field of these types is
# ForceNew but an IAM member's `condition.*`, covered by `condition`):
_IAM_MEMBER = ("role", "member", "condition")  # tpgiamresource/resource_iam_member.go IamMemberBaseSchema
REPLACE_ON: dict[str, frozenset[str]] = {
    # services/cloudtasks/resource_cloud_tasks_queue.go
    "gcp:cloudtasks/queue:Queue": frozenset({"location", "name", "project"}),
    # services/cloudrunv2/resource_cloud_run_v2_service.go
    "gcp:cloudrunv2/service:Service": frozenset({"location", "name", "project", "tags"}),
    # services/resourcemanager/resource_google_service_account.go
    "gcp:serviceaccount/account:Account": frozenset({"accountId", "project"}),
    # services/resourcemanager/resource_google_project_service.go
    "gcp:projects/service:Service": frozenset({"service", "project"}),
    # services/resourcemanager/resource_project_service_identity.go (no Update at all)
    "gcp:projects/serviceIdentity:ServiceIdentity": frozenset({"service", "project"}),
    # services/pubsub/resource_pubsub_topic.go
    "gcp:pubsub/topic:Topic": frozenset({"name", "project", "tags"}),
    # services/pubsub/resource_pubsub_subscription.go
    "gcp:pubsub/subscription:Subscription": frozenset(
        {"name", "topic", "project", "enableMessageOrdering", "filter", "tags"}
    ),
    # services/monitoring/resource_monitoring_alert_policy.go
    "gcp:monitoring/alertPolicy:AlertPolicy": frozenset({"project"}),
    # services/monitoring/resource_monitoring_dashboard.go
    "gcp:monitoring/dashboard:Dashboard": frozenset({"project"}),
    # IAM members: the base schema's fields plus the parent's (IamXxxSchema in each file):
    # services/cloudtasks/iam_cloud_tasks_queue.go
    "gcp:cloudtasks/queueIamMember:QueueIamMember": frozenset({*_IAM_MEMBER, "project", "location", "name"}),
    # services/cloudrunv2/iam_cloud_run_v2_service.go
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": frozenset({*_IAM_MEMBER, "project", "location", "name"}),
    # services/resourcemanager/iam_service_account.go
    "gcp:serviceaccount/iAMMember:IAMMember": frozenset({*_IAM_MEMBER, "serviceAccountId"}),
    # services/pubsub/iam_pubsub_topic.go
    "gcp:pubsub/topicIAMMember:TopicIAMMember": frozenset({*_IAM_MEMBER, "project", "topic"}),
    # services/pubsub/iam_pubsub_subscription.go
    "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember": frozenset({*_IAM_MEMBER, "project", "subscription"}),
    # services/secretmanager/iam_secret_manager_secret.go
    "gcp:secretmanager/secretIamMember:SecretIamMember": frozenset({*_IAM_MEMBER, "project", "secretId"}),
    # pulumiverse_time 0.1.1 bridges hashicorp/terraform-provider-time v0.12.1 (pulumiverse/pulumi-time
    # v0.1.1 provider/go.mod): internal/provider/resource_time_sleep.go gives `triggers` RequiresReplace;
    # createDuration/destroyDuration update in place.
    "time:index/sleep:Sleep": frozenset({"triggers"}),
}
QUEUE_TYPE = "gcp:cloudtasks/queue:Queue"
_MARKER_HEAD = KNOWN_AFTER_UP.split("{")[0]
UNKNOWN = "(known after up)"


class Change(NamedTuple):
    urn: str
    type: str
    name: str
    action: str  # "create", "update", "replace", "delete" or "same"
    fields: tuple[str, ...] = ()  # the input paths that change (update, replace)
    forced_by: tuple[str, ...] = ()  # the changing fields that force the replacement
    warning: str = ""


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """Leaf values by path: `a.b`, `a[0].c`; an empty map or list is a leaf."""
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out |= _flat(v, f"{prefix}.{k}" if prefix else k)
        return out
    if isinstance(value, list) and value:
        out = {}
        for i, v in enumerate(value):
            out |= _flat(v, f"{prefix}[{i}]")
        return out
    return {prefix: value}


def _top(path: str) -> str:
    return path.split(".")[0].split("[")[0]


def _unknown_matches(head: str, base: Any) -> bool:
    """A head value holding markers matches a base value that fills them with anything."""
    if not isinstance(base, str):
        return False
    parts = re.split(r"\(known after up: [^)]*\)", head)
    return re.fullmatch(".+".join(re.escape(p) for p in parts), base) is not None


def _custom(doc: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """The cloud resources of a plan document by URN (components are never created in the cloud)."""
    resources = doc.get("resources", [])
    parents = {r.get("parent") for r in resources}
    # Plans written before "custom" was recorded: a component is what has children.
    return {r["urn"]: r for r in resources if r.get("custom", r["urn"] not in parents)}


def _edges(doc: Mapping[str, Any]) -> dict[str, set[str]]:
    resources = [
        Resource(r["urn"], r["type"], r["name"], r.get("parent", ""), urn in custom, {}, {}, tuple(r["dependsOn"]))
        for custom in [_custom(doc)]
        for r in doc.get("resources", [])
        for urn in [r["urn"]]
    ]
    return _expanded(resources)


def diff(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[Change]:
    """Each cloud resource of either plan, keyed by URN, as Pulumi would classify it."""
    old, new = _custom(base), _custom(head)
    edges = _edges(head)
    changes: dict[str, Change] = {}
    for urn in sorted(old.keys() - new.keys()):
        changes[urn] = Change(urn, old[urn]["type"], old[urn]["name"], "delete")
    for urn in sorted(new.keys() - old.keys()):
        changes[urn] = Change(urn, new[urn]["type"], new[urn]["name"], "create")

    both = sorted(old.keys() & new.keys())
    # Fields that hold a "known after up" value and match the base: unchanged unless what
    # they come from is itself created or replaced (then its new value is unknown).
    pending: dict[str, set[str]] = {}
    for urn in both:
        b, h = _flat(old[urn].get("inputs", {})), _flat(new[urn].get("inputs", {}))
        changed, unknown = set(), set()
        for path in b.keys() | h.keys():
            hv, bv = h.get(path), b.get(path)
            if hv == bv:
                if isinstance(hv, str) and _MARKER_HEAD in hv:
                    unknown.add(path)
                continue
            if isinstance(hv, str) and _MARKER_HEAD in hv and _unknown_matches(hv, bv):
                unknown.add(path)
                continue
            changed.add(path)
        pending[urn] = unknown
        changes[urn] = _classify(new[urn], sorted(changed))

    # A replacement (or creation) makes its outputs unknown again: propagate along the edges.
    moved = True
    while moved:
        moved = False
        for urn in both:
            c = changes[urn]
            if c.action == "replace" or not pending[urn]:
                continue
            if any(changes.get(d, Change(d, "", "", "same")).action in ("create", "replace") for d in edges[urn]):
                fields = sorted({*c.fields, *pending.pop(urn)})
                pending[urn] = set()
                changes[urn] = _classify(new[urn], fields, unknown=True)
                moved = True

    for urn, c in changes.items():
        if c.type == QUEUE_TYPE and c.action in ("replace", "delete"):
            doomed = "replaced (deleted, then created anew)" if c.action == "replace" else "deleted"
            changes[urn] = Change(
                c.urn,
                c.type,
                c.name,
                c.action,
                c.fields,
                c.forced_by,
                f"queue {c.name} is {doomed}: every task in it is lost, and its name cannot be used "
                "for a new queue for days (3 to 7, Google's docs differ); producers must use the new "
                "queue path (stack output queues.<key>.path). Drain or pause it first, or keep the "
                "old queue (revert the change that forces this).",
            )
    return [changes[u] for u in sorted(changes)]


def _classify(resource: Mapping[str, Any], fields: Sequence[str], *, unknown: bool = False) -> Change:
    if not fields:
        return Change(resource["urn"], resource["type"], resource["name"], "same")
    forcing = REPLACE_ON.get(resource["type"], frozenset())
    forced = tuple(f for f in fields if _top(f) in forcing)
    action = "replace" if forced else "update"
    return Change(resource["urn"], resource["type"], resource["name"], action, tuple(fields), forced)


# The diff lands in a PR comment: a runbook or a dashboard's JSON is one input, a queue key's
# shards one list. Neither may flood the comment as one escaped line or a thousand lines.
LIST_SHOWN = 6  # a list's changed elements shown one by one up to this many; beyond: the first 3 and the last
TEXT_LINES = 12  # diff lines shown of a multi-line text (or a long JSON string, pretty-printed)
WIDTH = 160  # a value longer than this is shown around its first difference
_UNSET = "(unset)"
_INDEX = re.compile(r"\[\d+\]")


def _natural(path: str) -> list[Any]:
    """Sort key: `paths[2]` before `paths[10]`."""
    return [(0, int(t)) if t.isdigit() else (1, t) for t in re.split(r"(\d+)", path) if t]


def _clip(text: str, width: int = WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _json_text(value: Any) -> str | None:
    """A string holding a JSON object or list (a dashboard), pretty-printed; else None."""
    if not isinstance(value, str) or not value.lstrip().startswith(("{", "[")):
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        return None
    return json.dumps(parsed, indent=1, sort_keys=True, ensure_ascii=False)


def _first_difference(x: str, y: str) -> int:
    return next((i for i, (p, q) in enumerate(zip(x, y, strict=False)) if p != q), min(len(x), len(y)))


def _diff_lines(body: Sequence[str]) -> list[str]:
    """Unified-diff lines, each at most WIDTH: a long `-` line and the `+` line that replaces it
    are cut around where they first differ (a long filter differs at its end)."""
    out: list[str] = []
    minus: list[str] = []
    plus: list[str] = []

    def flush() -> None:
        for sign, mine, theirs in [("-", minus, plus), ("+", plus, minus)]:
            for i, text in enumerate(mine):
                at = _first_difference(text, theirs[i]) if i < len(theirs) else 0
                start = max(0, at - 40) if len(text) > WIDTH else 0
                cut = text[start : start + WIDTH - 3]
                out.append(sign + ("…" if start else "") + cut + ("…" if start + len(cut) < len(text) else ""))
        minus.clear()
        plus.clear()

    for line in body:
        if line.startswith("-"):
            minus.append(line[1:])
        elif line.startswith("+"):
            plus.append(line[1:])
        else:
            flush()
            out.append(_clip(line))
    flush()
    return out


def _text_diff(path: str, old: Any, new: Any, kind: str) -> list[str]:
    """`path: <kind> changed (N → M lines)` and the first TEXT_LINES lines of a unified diff."""
    a = old.splitlines() if isinstance(old, str) else []
    b = new.splitlines() if isinstance(new, str) else []
    what = f"{kind} set ({len(b)} lines)" if not isinstance(old, str) else f"{kind} changed ({len(a)} → {len(b)} lines)"
    if not isinstance(new, str):
        what = f"{kind} unset (was {len(a)} lines)"
    body = _diff_lines(list(difflib.unified_diff(a, b, lineterm="", n=0))[2:])  # no ---/+++ header
    lines = [f"{path}: {what}", *(f"  {line}" for line in body[:TEXT_LINES])]
    if len(body) > TEXT_LINES:
        lines.append(f"  … {len(body) - TEXT_LINES} more diff lines")
    return lines


def _excerpt(text: str, at: int) -> str:
    """About WIDTH/2 characters of `text` around index `at`, as JSON, `…` where cut."""
    start, end = max(0, at - 20), at + WIDTH // 2 - 20
    return ("…" if start else "") + json.dumps(text[start:end], ensure_ascii=False) + ("…" if end < len(text) else "")


def _value_lines(path: str, old: Any, new: Any, *, raw: bool = False) -> list[str]:
    """How one changed leaf reads: `path: old → new`, or a bounded diff for long text.

    Values as JSON, a new value holding a marker as "(known after up)"; `raw` (outputs): as they
    are, markers and all.
    """
    if any(isinstance(v, str) and "\n" in v for v in (old, new)):
        return _text_diff(path, old, new, "text")
    shown = [str(v) if raw else json.dumps(v, ensure_ascii=False) for v in (old, new)]
    pretty = (_json_text(old), _json_text(new))
    if max(map(len, shown)) > WIDTH and None not in pretty:
        return _text_diff(path, pretty[0], pretty[1], "JSON")  # markers stay as text in it
    if not raw and isinstance(new, str) and _MARKER_HEAD in new:
        shown[1] = UNKNOWN
        if len(shown[0]) > WIDTH:
            shown[0] = f"{_clip(shown[0])} ({len(old)} chars)"
    elif len(shown[0]) + len(shown[1]) > 2 * WIDTH and isinstance(old, str) and isinstance(new, str):
        at = _first_difference(old, new)
        shown = [f"{_excerpt(v, at)} ({len(v)} chars)" for v in (old, new)]
    return [f"{path}: {_clip(shown[0], 2 * WIDTH)} → {_clip(shown[1], 2 * WIDTH)}"]


def _bounded(entries: Sequence[tuple[str, list[str]]], start: int = 0) -> list[str]:
    """The lines of (path, lines) entries, in path order; a list with more than LIST_SHOWN changed
    elements shows its first 3, how many more, and its last (nested lists alike)."""
    out: list[str] = []
    i = 0
    while i < len(entries):
        path = entries[i][0]
        m = _INDEX.search(path, start)
        if m is None:
            out.extend(entries[i][1])
            i += 1
            continue
        stem = path[: m.start()]
        elements: dict[str, list[tuple[str, list[str]]]] = {}
        while i < len(entries):
            other = entries[i][0]
            mm = _INDEX.search(other, start)
            if mm is None or other[: mm.start()] != stem:
                break
            elements.setdefault(other[: mm.end()], []).append(entries[i])
            i += 1
        groups = list(elements.values())
        if len(groups) <= LIST_SHOWN:
            for group in groups:
                out.extend(_bounded(group, m.end()))
            continue
        for group in groups[:3]:
            out.extend(_bounded(group, m.end()))
        out.append(f"… {len(groups) - 4} more changed elements of {stem}[…] ({len(groups)} in all) …")
        out.extend(_bounded(groups[-1], m.end()))
    return out


def _output_changes(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[str]:
    if "outputs" not in base:
        return []
    b, h = _flat(base["outputs"]), _flat(head.get("outputs", {}))
    entries: list[tuple[str, list[str]]] = []
    for key in sorted(b.keys() | h.keys(), key=_natural):
        if key not in h:
            entries.append((key, [f"- {_clip(f'{key}: {b[key]}', 2 * WIDTH)}"]))
        elif key not in b:
            entries.append((key, [f"+ {_clip(f'{key}: {h[key]}', 2 * WIDTH)}"]))
        elif b[key] != h[key] and not (isinstance(h[key], str) and _unknown_matches(h[key], b[key])):
            first, *rest = _value_lines(key, b[key], h[key], raw=True)
            entries.append((key, [f"~ {first}", *(f"  {line}" for line in rest)]))
    return _bounded(entries)


_SYMBOL = {"create": "+", "update": "~", "replace": "+-", "delete": "-", "same": " "}


def _change_line(c: Change) -> str:
    line = f"  {_SYMBOL[c.action]:2} {c.action:7} {c.type}  {c.name}"
    return line + (f"  (forced by: {', '.join(c.forced_by)})" if c.action == "replace" else "")


def render_diff(changes: Sequence[Change], base: Mapping[str, Any], head: Mapping[str, Any]) -> list[str]:
    """What would change, one line per resource that changes; loud lines for queues lost.

    Bounded for a PR comment: long text as a short line diff, long lists (and runs of more than
    LIST_SHOWN resources of one type created or deleted) as their first 3, a count and the last.
    """
    lines = [f"Changes against the base plan (stack {base.get('stack', '?')}):"]
    old = {r["urn"]: r.get("inputs", {}) for r in base.get("resources", [])}
    new = {r["urn"]: r.get("inputs", {}) for r in head.get("resources", [])}
    shown = sorted((c for c in changes if c.action != "same"), key=lambda c: _natural(c.urn))
    i = 0
    while i < len(shown):
        c = shown[i]
        if c.action in ("create", "delete"):
            # A run of one type's creations or deletions (a queue key's shards): bounded.
            j = i
            while j < len(shown) and (shown[j].action, shown[j].type) == (c.action, c.type):
                j += 1
            run = [_change_line(x) for x in shown[i:j]]
            if len(run) > LIST_SHOWN:
                run[3:-1] = [f"     … {len(run) - 4} more to {c.action} of {c.type} ({len(run)} in all) …"]
            lines.extend(run)
            i = j
            continue
        lines.append(_change_line(c))
        b, h = _flat(old[c.urn]), _flat(new[c.urn])
        entries = [(f, _value_lines(f, b.get(f, _UNSET), h.get(f, _UNSET))) for f in sorted(c.fields, key=_natural)]
        lines.extend(f"        {line}" for line in _bounded(entries))
        i += 1
    for c in changes:
        if c.warning:
            lines.append(f"!! WARNING: {c.warning}")
    outs = _output_changes(base, head)
    if outs:
        lines.append("  Outputs:")
        lines.extend(f"    {o}" for o in outs)
    counts = {a: sum(c.action == a for c in changes) for a in ("create", "update", "replace", "delete", "same")}
    lines.append("Diff: " + ", ".join(f"{n} to {a}" if a != "same" else f"{n} unchanged" for a, n in counts.items()))
    return lines


def pages_nobody(run: Run) -> bool:
    """Alert policies declared, none naming a notification channel: say so (issue 9)."""
    policies = [r for r in run.resources if r.type == ALERT_POLICY_TYPE]
    return bool(policies) and all(policy_pages_nobody(r.inputs) for r in policies)


# Adopting with the `import` option and then updating in the same `up` (what importId relies on:
# the stack's settings differ from the adopted resource's) arrived in Pulumi CLI 3.174.0
# (pulumi/pulumi#19339); before it the engine refused any import whose inputs differ. 3.175.0
# fixed a panic importing with the CLI, which always generates plans (pulumi/pulumi#19750).
MIN_CLI_FOR_IMPORT = "3.175.0"


def import_notice(run: Run) -> str:
    """The CLI an adopting `pulumi up` needs, when any resource is adopted (importId); else ""."""
    adopted = sum(bool(r.import_id) for r in run.resources)
    if not adopted:
        return ""
    return (
        f"{adopted} resource(s) adopted with importId: `pulumi up` needs Pulumi CLI >= {MIN_CLI_FOR_IMPORT} "
        "(import, then update to this stack's settings, in one run: pulumi/pulumi#19339); "
        "an older CLI refuses an import whose inputs differ from the resource."
    )


def _print_violations(run: Run, violations: Iterable[Violation], out: Any) -> None:
    for v in violations:
        level = "MANDATORY" if v.mandatory else "advisory"
        print(f"policy {level} [{v.rule}] {v.urn}: {run.shown(v.message)}", file=out)


def main(argv: Sequence[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.plan", description="Offline plan: what `pulumi up` would create."
    )
    parser.add_argument("stack", help="the stack whose Pulumi.<stack>.yaml to plan")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the plan as stable JSON")
    parser.add_argument("--mermaid", type=Path, metavar="PATH", help="write a mermaid flowchart")
    parser.add_argument(
        "--against", type=Path, metavar="BASE.json", help="show what changes against a --json plan of the base"
    )
    args = parser.parse_args(argv)

    base: dict[str, Any] | None = None
    if args.against:
        try:
            base = json.loads(args.against.read_text())
        except (OSError, ValueError) as err:
            print(f"plan: --against {args.against}: {err}", file=sys.stderr)
            return 2
    try:
        config = load_stack_config(args.stack, root)
    except (StackNotFoundError, StackFileError) as err:
        print(f"plan: {err}", file=sys.stderr)
        return 2
    # A process that ends after the plan: the collector stays as the program left it (off).
    run = run_program(config, root / "__main__.py", restore_gc=False)
    if run.error is not None:
        # A config mistake is the user's to fix: the message, never a traceback.
        print(f"plan: stack {args.stack}: {run.error}", file=sys.stderr)
        for note in config.notes:
            print(f"note: {note}", file=sys.stderr)
        return 2

    plan = make_plan(run)
    document = to_json(plan) if args.json or base is not None else ""
    print(f"Plan for stack {run.stack} (project {run.project}):")
    for line in tree(run):
        print(f"  {line}")
    for note in config.notes:  # the value Pulumi passes where the text suggests another
        print(f"note: {note}")
    for warning in run.warnings:
        print(f"warning: {run.shown(warning)}")
    if pages_nobody(run):
        print(f"notice: {NO_CHANNELS_NOTICE}")
    if import_notice(run):
        print(f"notice: {import_notice(run)}")
    _print_violations(run, plan.violations, sys.stdout)
    print("Outputs:")
    for line in outputs(run):
        print(f"  {line}")
    if base is not None:
        head = json.loads(document)
        for line in render_diff(diff(base, head), base, head):
            print(line)
    print(summary(plan))
    if args.json:
        args.json.write_text(document)
    if args.mermaid:
        args.mermaid.write_text(to_mermaid(plan))
    if plan.mandatory:
        _print_violations(run, plan.mandatory, sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    code = main()
    # Everything is written and closed: skip the interpreter's teardown (freeing pulumi's,
    # grpc's and protobuf's module graph and joining the SDK's idle executor threads), a
    # sizeable share of a plan's CPU time that nobody waits for usefully.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
