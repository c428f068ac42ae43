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
same; a replaced or deleted queue is flagged (its tasks are lost, its name blocked).

Exit status: 0 ok, 1 a mandatory policy violation, 2 invalid config or unknown stack.
"""

from __future__ import annotations

import argparse
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
    return [f"{k}: {v if isinstance(v, str) else json.dumps(v)}" for k, v in flat.items()]


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

# Inputs whose change makes the provider delete the resource and create a new one, per type:
# the fields with `ForceNew: true` in the Terraform provider that pulumi-gcp bridges
# (hashicorp/terraform-provider-google @ e03b762, 2026-08-21; paths under google/services/):
# - cloudtasks/resource_cloud_tasks_queue.go: location, name, project
# - cloudrunv2/resource_cloud_run_v2_service.go: location, name, project (and tags, unused here)
# - resourcemanager/resource_google_service_account.go: account_id, project
# - resourcemanager/resource_google_project_service.go: service, project
# - pubsub/resource_pubsub_topic.go: name, project; resource_pubsub_subscription.go: name,
#   topic, project, enable_message_ordering, filter
# - monitoring/resource_monitoring_alert_policy.go and resource_monitoring_dashboard.go: project
# - IAM members (tpgiamresource/resource_iam_member.go): role, member, condition; plus the
#   resource's own fields: cloudtasks/iam_cloud_tasks_queue.go and
#   cloudrunv2/iam_cloud_run_v2_service.go project, location, name;
#   resourcemanager/iam_service_account.go service_account_id; pubsub/iam_pubsub_topic.go
#   project, topic; secretmanager/iam_secret_manager_secret.go project, secret_id.
# - projects ServiceIdentity (google-beta, resource_project_service_identity.go) has no Update
#   at all, so any change of its inputs (service, project) replaces it.
_IAM_MEMBER = ("role", "member", "condition")
REPLACE_ON: dict[str, frozenset[str]] = {
    "gcp:cloudtasks/queue:Queue": frozenset({"location", "name", "project"}),
    "gcp:cloudrunv2/service:Service": frozenset({"location", "name", "project", "tags"}),
    "gcp:serviceaccount/account:Account": frozenset({"accountId", "project"}),
    "gcp:projects/service:Service": frozenset({"service", "project"}),
    "gcp:projects/serviceIdentity:ServiceIdentity": frozenset({"service", "project"}),
    "gcp:pubsub/topic:Topic": frozenset({"name", "project", "tags"}),
    "gcp:pubsub/subscription:Subscription": frozenset(
        {"name", "topic", "project", "enableMessageOrdering", "filter", "tags"}
    ),
    "gcp:monitoring/alertPolicy:AlertPolicy": frozenset({"project"}),
    "gcp:monitoring/dashboard:Dashboard": frozenset({"project"}),
    "gcp:cloudtasks/queueIamMember:QueueIamMember": frozenset({*_IAM_MEMBER, "project", "location", "name"}),
    "gcp:cloudrunv2/serviceIamMember:ServiceIamMember": frozenset({*_IAM_MEMBER, "project", "location", "name"}),
    "gcp:serviceaccount/iAMMember:IAMMember": frozenset({*_IAM_MEMBER, "serviceAccountId"}),
    "gcp:pubsub/topicIAMMember:TopicIAMMember": frozenset({*_IAM_MEMBER, "project", "topic"}),
    "gcp:secretmanager/secretIamMember:SecretIamMember": frozenset({*_IAM_MEMBER, "project", "secretId"}),
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


def _output_changes(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[str]:
    if "outputs" not in base:
        return []
    b, h = _flat(base["outputs"]), _flat(head.get("outputs", {}))
    lines = []
    for key in sorted(b.keys() | h.keys()):
        if key not in h:
            lines.append(f"- {key}: {b[key]}")
        elif key not in b:
            lines.append(f"+ {key}: {h[key]}")
        elif b[key] != h[key] and not (isinstance(h[key], str) and _unknown_matches(h[key], b[key])):
            lines.append(f"~ {key}: {b[key]} → {h[key]}")
    return lines


_SYMBOL = {"create": "+", "update": "~", "replace": "+-", "delete": "-", "same": " "}


def render_diff(changes: Sequence[Change], base: Mapping[str, Any], head: Mapping[str, Any]) -> list[str]:
    """What would change, one line per resource that changes; loud lines for queues lost."""
    lines = [f"Changes against the base plan (stack {base.get('stack', '?')}):"]
    for c in changes:
        if c.action == "same":
            continue
        line = f"  {_SYMBOL[c.action]:2} {c.action:7} {c.type}  {c.name}"
        if c.action == "replace":
            line += f"  (forced by: {', '.join(c.forced_by)})"
        lines.append(line)
        if c.action in ("update", "replace"):
            old = {r["urn"]: r for r in base.get("resources", [])}[c.urn].get("inputs", {})
            new = {r["urn"]: r for r in head.get("resources", [])}[c.urn].get("inputs", {})
            b, h = _flat(old), _flat(new)
            for f in c.fields:
                bv, hv = b.get(f, "(unset)"), h.get(f, "(unset)")
                if isinstance(hv, str) and _MARKER_HEAD in hv:
                    hv = UNKNOWN
                lines.append(f"        {f}: {json.dumps(bv)} → {hv if hv == UNKNOWN else json.dumps(hv)}")
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
    run = run_program(config, root / "__main__.py")
    if run.error is not None:
        # A config mistake is the user's to fix: the message, never a traceback.
        print(f"plan: stack {args.stack}: {run.error}", file=sys.stderr)
        return 2

    plan = make_plan(run)
    document = to_json(plan) if args.json or base is not None else ""
    print(f"Plan for stack {run.stack} (project {run.project}):")
    for line in tree(run):
        print(f"  {line}")
    for warning in run.warnings:
        print(f"warning: {run.shown(warning)}")
    if pages_nobody(run):
        print(f"notice: {NO_CHANNELS_NOTICE}")
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
