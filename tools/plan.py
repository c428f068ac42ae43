"""Offline plan: what `pulumi up` would create, with no CLI, no network, no credentials.

    uv run python -m tools.plan STACK [--json PATH] [--mermaid PATH]

Runs the program under the offline harness with Pulumi.STACK.yaml, prints a tree of
components and resources with the settings that matter, then one summary line:
resource count, critical path (cloud resources on the longest chain that must be
created one after another), and provider invokes. Applies the policy pack's rules.

Exit status: 0 ok, 1 a mandatory policy violation, 2 invalid config or unknown stack.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from policy.rules import ResourceView, Violation, check
from tools.harness import ROOT, Resource, Run, StackNotFoundError, load_stack_config, run_program
from tools.stackfile import StackFileError

# The floor the data dependencies set: API → service accounts → service → queues → queue IAM.
CRITICAL_PATH_FLOOR = 5


@dataclass(frozen=True)
class Plan:
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
}
_IAM_SHOWN = [("role", "role"), ("member", "member")]


def _settings(r: Resource) -> list[str]:
    shown = _SHOWN.get(r.type) or (_IAM_SHOWN if "role" in r.inputs else [])
    out = []
    for label, path in shown:
        value = _get(r.inputs, path)
        if value is None:
            continue
        if label == "target":
            value = f"{value.get('scheme', '').lower()}://{value.get('host')}{_get(value, 'pathOverride.path') or ''}"
        elif label == "env":
            value = {
                e["name"]: e.get("value")
                or "secret-manager:{secret}@{version}".format(**e["valueSource"]["secretKeyRef"])
                for e in r.inputs["template"]["containers"][0]["envs"]
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
            lines.extend(f"{indent}    {s}" for s in _settings(r))
            walk(r.urn, indent + "  ")

    walk("", "")
    return lines


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
                "inputs": r.inputs,
                "dependsOn": sorted(r.dependencies),
                **({"import": r.import_id} if r.import_id else {}),
            }
            for r in sorted(run.resources, key=lambda r: r.urn)
        ],
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
        lines.append(f'  {ids[r.urn]}["{short}<br/>{r.name}"]')
    for r in resources:
        lines.extend(f"  {ids[dep]} --> {ids[r.urn]}" for dep in sorted(edges[r.urn], key=ids.__getitem__))
    return "\n".join(lines) + "\n"


def _print_violations(violations: Iterable[Violation], out: Any) -> None:
    for v in violations:
        level = "MANDATORY" if v.mandatory else "advisory"
        print(f"policy {level} [{v.rule}] {v.urn}: {v.message}", file=out)


def main(argv: Sequence[str] | None = None, root: Path = ROOT) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.plan", description="Offline plan: what `pulumi up` would create."
    )
    parser.add_argument("stack", help="the stack whose Pulumi.<stack>.yaml to plan")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the plan as stable JSON")
    parser.add_argument("--mermaid", type=Path, metavar="PATH", help="write a mermaid flowchart")
    args = parser.parse_args(argv)

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
    print(f"Plan for stack {run.stack} (project {run.project}):")
    for line in tree(run):
        print(f"  {line}")
    for warning in run.warnings:
        print(f"warning: {warning}")
    _print_violations(plan.violations, sys.stdout)
    print(summary(plan))
    if args.json:
        args.json.write_text(to_json(plan))
    if args.mermaid:
        args.mermaid.write_text(to_mermaid(plan))
    if plan.mandatory:
        _print_violations(plan.mandatory, sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
