"""Adapts the plain rules in `rules.py` to pulumi-policy policies.

Importable from the repo root as `policy.pack` (tests) and as the top-level `pack` module when the
Pulumi CLI runs the pack as `python <pack dir>`. Building the policies starts nothing; only
`PolicyPack(...)` in `__main__.py` starts the gRPC server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

if __package__:
    from . import rules
else:  # run by the CLI as `python <pack dir>`: sibling modules are top-level
    import rules

PACK_NAME = "task-worker-security"
DESCRIPTION = (
    "task-worker: a private Cloud Run service fed by Cloud Tasks through an invoker service "
    "account. No public IAM, no keys, least-privilege invoker and impersonation grants, OIDC "
    "push targets and queues within Cloud Tasks' limits."
)


def plain(value: Any) -> Any:
    """Copy pulumi-policy props into plain dicts and lists, with unknown values as None.

    pulumi-policy wraps props in proxies that raise UnknownValueError when an unknown value is
    read; that would abort a whole policy during preview, so each unknown becomes None instead and
    the rules skip what they cannot see.
    """
    if isinstance(value, Secret):
        return plain(value.value)
    if isinstance(value, Mapping):
        mapping: Mapping[Any, Any] = value
        result: dict[str, Any] = {}
        for key in mapping:
            try:
                item = mapping[key]
            except UnknownValueError:
                item = None
            result[str(key)] = plain(item)
        return result
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        sequence: Sequence[Any] = value
        items: list[Any] = []
        for index in range(len(sequence)):
            try:
                items.append(plain(sequence[index]))
            except UnknownValueError:
                items.append(None)
        return items
    return value


def to_view(resource_type: str, props: Mapping[str, Any], urn: str) -> rules.ResourceView:
    return rules.ResourceView(urn=urn, type=resource_type, props=plain(props))


def _enforcement(rule: rules.Rule) -> EnforcementLevel:
    return EnforcementLevel.MANDATORY if rule.mandatory else EnforcementLevel.ADVISORY


def resource_policy(rule: rules.ResourceRule) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        for violation in rule.run(to_view(args.resource_type, args.props, args.urn)):
            report_violation(violation.message, violation.urn)

    return ResourceValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=_enforcement(rule),
    )


def stack_policy(rule: rules.StackRule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        views = [to_view(r.resource_type, r.props, r.urn) for r in args.resources]
        for violation in rule.run(views):
            report_violation(violation.message, violation.urn)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        validate=validate,
        enforcement_level=_enforcement(rule),
    )


def build_policies() -> list[Policy]:
    """One pulumi-policy policy per rule, in RULES order."""
    return [
        resource_policy(rule) if isinstance(rule, rules.ResourceRule) else stack_policy(rule) for rule in rules.RULES
    ]
