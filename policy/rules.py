"""Security rules for task-worker, as plain functions over (type token, inputs).

One definition of "secure" for two callers: the pulumi-policy pack (`policy/__main__.py`, through
`policy/pack.py`) and the offline plan tool, which calls `check()` on mock-rendered resources.

Conventions every rule follows:
- Props use the engine's camelCase keys. A key that is absent means "not set" (the Python SDK
  drops inputs that are None), and `None` means "unknown during preview". A rule never flags a
  value it cannot see: anything `None` on the way to a field makes that check pass.
- Secret wrappers and the engine's unknown sentinels are normalized away before a rule runs.
- Each message says what is wrong and what is allowed.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import urlsplit

__all__ = [
    "RULES",
    "ResourceRule",
    "ResourceView",
    "StackRule",
    "Violation",
    "check",
    "normalize",
]


class ResourceView(NamedTuple):
    """One resource as the engine sees it."""

    urn: str
    type: str  # type token, e.g. "gcp:cloudtasks/queue:Queue"
    props: Mapping[str, Any]  # inputs, camelCase keys


class Violation(NamedTuple):
    rule: str
    urn: str
    message: str
    mandatory: bool


# --- Normalizing engine values ------------------------------------------------------------------

# From pulumi/sdk/go/common/resource/properties.go (also in pulumi_policy.deserialize).
_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
# The engine's "unknown during preview" sentinels (pulumi_policy.proxy UNKNOWN_*_VALUE).
_UNKNOWN_SENTINELS = frozenset(
    {
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)


def normalize(value: Any) -> Any:
    """Deep copy into plain dicts/lists: secrets unwrapped, unknown sentinels turned into None."""
    if isinstance(value, Mapping):
        mapping: Mapping[Any, Any] = value
        if mapping.get(_SIG_KEY) == _SECRET_SIG:
            return normalize(mapping.get("value"))
        return {str(k): normalize(v) for k, v in mapping.items()}
    if isinstance(value, (list, tuple)):
        items: Sequence[Any] = value
        return [normalize(v) for v in items]
    if isinstance(value, str) and value in _UNKNOWN_SENTINELS:
        return None
    return value


# --- Reading props ------------------------------------------------------------------------------


class _Absent(enum.Enum):
    ABSENT = enum.auto()


ABSENT = _Absent.ABSENT  # the key is not there at all: the input was not set


def _lookup(props: Mapping[str, Any], *path: str) -> Any:
    """The value at `path`, ABSENT if a key is missing, None if anything on the way is unknown."""
    current: Any = props
    for key in path:
        if current is None or not isinstance(current, Mapping):
            return None  # unknown (or not an object we can read): nothing to judge
        mapping: Mapping[str, Any] = current
        if key not in mapping:
            return ABSENT
        current = mapping[key]
    return current


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


# A bool input reaches a policy as the program sent it: a string stays a string. The provider reads
# it through go-cty's string-to-bool conversion (cty/convert/conversion_primitive.go), which takes
# exactly "true"/"1" and "false"/"0" and refuses the rest ("True", "TRUE", "yes"; a number too),
# while Terraform's legacy reader (strconv.ParseBool) also takes "t", "T", "True", "TRUE" as true.
_TRUE_TEXT = frozenset({"true", "1"})
_FALSE_TEXT = frozenset({"false", "0"})


def _flag(value: Any) -> bool | None:
    """A bool input as the provider reads it; None if unknown, absent or not a boolean at all."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in _TRUE_TEXT | _FALSE_TEXT:
        return value in _TRUE_TEXT
    return None


def _not_a_flag(value: Any) -> bool:
    """Set and known, but no boolean the provider reads the same way everywhere ("True", "yes", 1)."""
    return value is not ABSENT and value is not None and _flag(value) is None


def _shown(value: Any) -> str:
    """A flag's value as given: true, false, "True" (a string), 1 (a number)."""
    return json.dumps(value, default=str)


def _shown_true(value: Any) -> str:
    return "true" if value is True else f"{_shown(value)} (read as true)"


def _fmt(value: float) -> str:
    return str(int(value)) if value.is_integer() else f"{value:g}"


def _module(token: str) -> str:
    """ "gcp:projects/iAMMember:IAMMember" -> "projects"."""
    parts = token.split(":")
    return parts[1].split("/")[0].lower() if len(parts) == 3 else ""


def _kind(token: str) -> str:
    """ "gcp:projects/iAMMember:IAMMember" -> "iammember"."""
    parts = token.split(":")
    return parts[1].split("/")[-1].lower() if len(parts) == 3 else ""


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


# --- Resource kinds -----------------------------------------------------------------------------

RUN_V2_SERVICE = "gcp:cloudrunv2/service:Service"
RUN_V1_SERVICE = "gcp:cloudrun/service:Service"
QUEUE = "gcp:cloudtasks/queue:Queue"
API_SERVICE = "gcp:projects/service:Service"
SA_KEY = "gcp:serviceaccount/key:Key"

# IAM on these modules applies to a whole project, folder or organization.
_WIDE_MODULES = frozenset({"projects", "folder", "folders", "organizations", "organization"})
_PUBLIC_MEMBERS = frozenset({"allusers", "allauthenticatedusers"})
_PRIMITIVE_ROLES = frozenset({"roles/owner", "roles/editor", "roles/viewer"})
# Roles that let the holder act as (or mint tokens for) a service account.
_IMPERSONATION_ROLES = frozenset(
    {
        "roles/iam.serviceaccountuser",
        "roles/iam.serviceaccounttokencreator",
        "roles/iam.serviceaccountopenidtokencreator",
    }
)
_INVOKER_ROLE = "roles/run.invoker"
_V1_INVOKER_IAM_DISABLED = "run.googleapis.com/invoker-iam-disabled"
_PRIVATE_INGRESS = ("INGRESS_TRAFFIC_INTERNAL_ONLY", "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER")


def _is_type(view: ResourceView, token: str) -> bool:
    return view.type.lower() == token.lower()


def _is_iam(view: ResourceView) -> bool:
    return "iam" in view.type.lower() and any(k in view.props for k in ("member", "members", "policyData"))


def _is_wide_iam(view: ResourceView) -> bool:
    return _module(view.type) in _WIDE_MODULES


def _is_service_account_iam(view: ResourceView) -> bool:
    return _module(view.type) == "serviceaccount"


def _is_run_service_iam(view: ResourceView) -> bool:
    module, kind = _module(view.type), _kind(view.type)
    return (module == "cloudrunv2" and kind.startswith("serviceiam")) or (
        module == "cloudrun" and kind.startswith("iam")  # v1 IAM is per service
    )


def _scope(view: ResourceView) -> str:
    if _is_wide_iam(view):
        return f"project-wide or wider IAM ({view.type})"
    return view.type


class _Grant(NamedTuple):
    role: str | None  # None: unknown
    member: str | None  # None: unknown, or a role whose members we cannot see


def _grants(view: ResourceView) -> list[_Grant]:
    """Every (role, member) an IAM resource grants, from member, members or policyData."""
    props = view.props
    role = _text(props.get("role"))
    grants: list[_Grant] = []
    if "member" in props:
        grants.append(_Grant(role, _text(props["member"])))
    if "members" in props:
        grants.extend(_members_grants(role, props["members"]))
    if "policyData" in props:
        grants.extend(_policy_grants(props["policyData"]))
    return grants


def _members_grants(role: str | None, members: Any) -> list[_Grant]:
    if not isinstance(members, list):
        return [_Grant(role, None)]  # the role still counts when its members are unknown
    items: list[Any] = members
    return [_Grant(role, _text(m)) for m in items]


def _policy_grants(policy_data: Any) -> list[_Grant]:
    policy: Any = policy_data
    if isinstance(policy_data, str):
        try:
            policy = json.loads(policy_data)
        except ValueError:
            return []  # not JSON we can read: nothing to judge
    if not isinstance(policy, Mapping):
        return []
    bindings: Any = normalize(policy).get("bindings")
    if not isinstance(bindings, list):
        return []
    grants: list[_Grant] = []
    entries: list[Any] = bindings
    for binding in entries:
        if isinstance(binding, Mapping):
            entry: Mapping[str, Any] = binding
            grants.extend(_members_grants(_text(entry.get("role")), entry.get("members")))
    return grants


# --- Resource rules -----------------------------------------------------------------------------


def no_public_members(view: ResourceView) -> Iterator[str]:
    if not _is_iam(view):
        return
    for grant in _grants(view):
        if grant.member is not None and grant.member.lower() in _PUBLIC_MEMBERS:
            yield (
                f'IAM member "{grant.member}" (role {grant.role or "unknown"}) on {view.type} '
                "makes the resource public; grant roles only to named principals "
                "(serviceAccount:, user:, group:)"
            )


def private_cloud_run_ingress(view: ResourceView) -> Iterator[str]:
    allowed = " or ".join(_PRIVATE_INGRESS)
    if _is_type(view, RUN_V2_SERVICE):
        ingress = _lookup(view.props, "ingress")
        if ingress is ABSENT or ingress == "":
            yield (
                "Cloud Run service ingress is unset, which the Cloud Run API treats as "
                f"INGRESS_TRAFFIC_ALL; set it to {allowed}"
            )
        elif isinstance(ingress, str) and ingress not in (*_PRIVATE_INGRESS, "INGRESS_TRAFFIC_NONE"):
            yield (
                f"Cloud Run service ingress is {ingress}; allowed: {allowed} "
                "(Cloud Tasks in the same project counts as internal)"
            )
        disabled = _lookup(view.props, "invokerIamDisabled")
        if _flag(disabled) is True:
            yield (
                f"Cloud Run service invokerIamDisabled is {_shown_true(disabled)}, which lets anyone who "
                "reaches the service invoke it without IAM; it must be false (or unset)"
            )
        elif _not_a_flag(disabled):
            yield (
                f"Cloud Run service invokerIamDisabled is {_shown(disabled)}, not a boolean: the provider "
                "refuses it or reads it as true; it must be false (or unset)"
            )
    elif _is_type(view, RUN_V1_SERVICE):
        ingress = _lookup(view.props, "metadata", "annotations", "run.googleapis.com/ingress")
        if ingress is ABSENT or (isinstance(ingress, str) and ingress.lower() in ("", "all")):
            shown = "unset (which means all)" if ingress is ABSENT else f'"{ingress}"'
            yield (
                f"Cloud Run (v1) service annotation run.googleapis.com/ingress is {shown}; "
                'allowed: "internal" or "internal-and-cloud-load-balancing"'
            )
        # v1's switch for the invoker check is an annotation (Cloud Run docs, "Allowing public
        # (unauthenticated) access", YAML: run.googleapis.com/invoker-iam-disabled: true).
        disabled = _lookup(view.props, "metadata", "annotations", _V1_INVOKER_IAM_DISABLED)
        if disabled is not ABSENT and disabled is not None and disabled != "false":
            yield (
                f"Cloud Run (v1) service annotation {_V1_INVOKER_IAM_DISABLED} is {_shown(disabled)}, which "
                'can turn the invoker IAM check off; remove it (or set it to "false")'
            )


def run_invoker_scope(view: ResourceView) -> Iterator[str]:
    if not _is_iam(view):
        return
    for grant in _grants(view):
        if grant.role is None or grant.role.lower() != _INVOKER_ROLE:
            continue
        if not _is_run_service_iam(view):
            yield (
                f"{_INVOKER_ROLE} is granted on {_scope(view)}, not on one Cloud Run service; "
                "grant it only on the service (gcp:cloudrunv2/serviceIamMember)"
            )
        if grant.member is not None and not grant.member.startswith("serviceAccount:"):
            yield (
                f'{_INVOKER_ROLE} is granted to "{grant.member}"; only service accounts '
                '("serviceAccount:...") may invoke the service'
            )


def no_service_account_keys(view: ResourceView) -> Iterator[str]:
    if _is_type(view, SA_KEY):
        yield (
            "a service account key (gcp:serviceaccount/key:Key) is declared; long-lived keys "
            "are not allowed: use workload identity or the runtime's attached service account"
        )


def cloud_run_named_service_account(view: ResourceView) -> Iterator[str]:
    if _is_type(view, RUN_V2_SERVICE):
        field, account = "template.serviceAccount", _lookup(view.props, "template", "serviceAccount")
    elif _is_type(view, RUN_V1_SERVICE):
        field = "template.spec.serviceAccountName"
        account = _lookup(view.props, "template", "spec", "serviceAccountName")
    else:
        return
    if account is ABSENT or account == "":
        yield (
            f"Cloud Run service {field} is unset, so it runs as the default compute service "
            "account; set a dedicated, named service account"
        )
    elif isinstance(account, str) and account.endswith("-compute@developer.gserviceaccount.com"):
        yield (
            f"Cloud Run service {field} is the default compute service account ({account}); "
            "set a dedicated, named service account"
        )


def queue_oidc_http_target(view: ResourceView) -> Iterator[str]:
    if not _is_type(view, QUEUE):
        return
    target = _lookup(view.props, "httpTarget")
    if target is ABSENT:
        yield (
            "queue has no httpTarget; it must set httpTarget with an oidcToken "
            "(serviceAccountEmail and audience) so every task reaches Cloud Run authenticated"
        )
        return
    host = _text(_lookup(view.props, "httpTarget", "uriOverride", "host"))
    oauth = _lookup(view.props, "httpTarget", "oauthToken")
    if isinstance(oauth, Mapping) and host is not None and host.lower().endswith(".run.app"):
        yield (
            f"queue httpTarget sends an oauthToken to {host}; Cloud Run accepts only OIDC ID "
            "tokens: use oidcToken instead"
        )
    oidc = _lookup(view.props, "httpTarget", "oidcToken")
    if oidc is ABSENT:
        yield (
            "queue httpTarget has no oidcToken; it must set oidcToken with serviceAccountEmail "
            "(the invoker) and audience (the service's https://...run.app URL)"
        )
        return
    for field in ("serviceAccountEmail", "audience"):
        value = _lookup(view.props, "httpTarget", "oidcToken", field)
        if value is ABSENT or value == "":
            yield f"queue httpTarget.oidcToken.{field} is unset; both serviceAccountEmail and audience are required"


def _out_of_range(
    props: Mapping[str, Any], path: tuple[str, ...], ok: Callable[[float], bool], allowed: str
) -> Iterator[str]:
    value = _number(_lookup(props, *path))
    if value is not None and not ok(value):
        yield f"queue {'.'.join(path)} is {_fmt(value)}; Cloud Tasks allows {allowed}"


def queue_within_limits(view: ResourceView) -> Iterator[str]:
    if not _is_type(view, QUEUE):
        return
    props = view.props
    # Limits: gcp-facts.md "Cloud Tasks queue" (Cloud Tasks v2 discovery document, quotas page).
    yield from _out_of_range(
        props,
        ("rateLimits", "maxDispatchesPerSecond"),
        lambda v: 0 < v <= 500,
        "more than 0 and at most 500",
    )
    yield from _out_of_range(
        props,
        ("rateLimits", "maxConcurrentDispatches"),
        lambda v: v.is_integer() and 1 <= v <= 5000,
        "a whole number from 1 to 5000",
    )
    yield from _out_of_range(
        props,
        ("stackdriverLoggingConfig", "samplingRatio"),
        lambda v: 0 <= v <= 1,
        "0.0 to 1.0",
    )
    yield from _out_of_range(
        props,
        ("retryConfig", "maxAttempts"),
        lambda v: v.is_integer() and v >= -1,
        "a whole number of at least -1 (-1 means unlimited)",
    )
    burst = _lookup(props, "rateLimits", "maxBurstSize")
    if burst is not ABSENT and burst is not None:
        yield (
            f"queue rateLimits.maxBurstSize is set ({burst}); it is output-only (Cloud Tasks "
            "derives it from maxDispatchesPerSecond): leave it unset"
        )


def apis_kept_on_destroy(view: ResourceView) -> Iterator[str]:
    if not _is_type(view, API_SERVICE):
        return
    api = _text(_lookup(view.props, "service")) or "API"
    value = _lookup(view.props, "disableOnDestroy")
    if value is ABSENT:
        yield (
            f"{api} enablement leaves disableOnDestroy unset, which pulumi-gcp treats as true; "
            "set it to false so a teardown never disables an API the rest of the project uses"
        )
    elif _flag(value) is True:
        yield (
            f"{api} enablement has disableOnDestroy {_shown_true(value)}; it must be false so a "
            "teardown never disables an API the rest of the project uses"
        )
    elif _not_a_flag(value):
        yield (
            f"{api} enablement has disableOnDestroy {_shown(value)}, not a boolean: the provider refuses "
            "it or reads it as true; it must be false so a teardown never disables an API the rest of "
            "the project uses"
        )


def no_primitive_roles(view: ResourceView) -> Iterator[str]:
    if not _is_iam(view):
        return
    for grant in _grants(view):
        if grant.role is not None and grant.role.lower() in _PRIMITIVE_ROLES:
            who = f' to "{grant.member}"' if grant.member else ""
            yield (
                f"primitive role {grant.role} is granted{who} on {view.type}; grant a predefined "
                "role scoped to the job instead (e.g. roles/run.invoker, roles/cloudtasks.enqueuer)"
            )


def impersonation_on_account_only(view: ResourceView) -> Iterator[str]:
    if not _is_iam(view) or _is_service_account_iam(view):
        return
    for grant in _grants(view):
        if grant.role is not None and grant.role.lower() in _IMPERSONATION_ROLES:
            yield (
                f"{grant.role} is granted on {_scope(view)}, which lets the member act as "
                "every service account in that scope; grant it only on the one service account "
                "(gcp:serviceaccount/iAMMember)"
            )


# --- Stack rules --------------------------------------------------------------------------------

# Cloud Run defaults when unset (gcp-facts.md "Cloud Run (v2)"); Cloud Tasks default concurrency.
_DEFAULT_MAX_INSTANCES = 100
_DEFAULT_CONCURRENCY = 80
_DEFAULT_QUEUE_CONCURRENCY = 1000


def _services(resources: Sequence[ResourceView]) -> list[ResourceView]:
    return [r for r in resources if _is_type(r, RUN_V2_SERVICE) or _is_type(r, RUN_V1_SERVICE)]


def _service_hosts(service: ResourceView) -> set[str]:
    urls: list[Any] = [service.props.get("uri")]
    more = service.props.get("urls")  # v2 also lists its deterministic URLs
    if isinstance(more, list):
        extra: list[Any] = more
        urls.extend(extra)
    statuses = service.props.get("statuses")  # v1 puts its URL in status
    if isinstance(statuses, list):
        entries: list[Any] = statuses
        for status in entries:
            if isinstance(status, Mapping):
                entry: Mapping[str, Any] = status
                urls.append(entry.get("url"))
    return {host for url in urls if isinstance(url, str) and (host := _hostname(url)) is not None}


def _hostname(url: str) -> str | None:
    try:
        return urlsplit(url).hostname  # lower-cased by urlsplit
    except ValueError:
        return None  # malformed: nothing to match


def _targets(queue: ResourceView, services: Sequence[ResourceView]) -> list[ResourceView]:
    """The Cloud Run services a queue's httpTarget points at, as far as the stack shows."""
    host = _lookup(queue.props, "httpTarget", "uriOverride", "host")
    if host is ABSENT:
        return []  # no queue-level target: tasks carry their own URLs
    if isinstance(host, str) and host:
        return [s for s in services if host.lower() in _service_hosts(s)]
    if host is None and len(services) == 1:
        return list(services)  # host unknown (e.g. from a new service's uri): only one candidate
    return []


def queue_service_same_location(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    services = _services(resources)
    for queue in resources:
        if not _is_type(queue, QUEUE):
            continue
        queue_location = _text(queue.props.get("location"))
        for service in _targets(queue, services):
            service_location = _text(service.props.get("location"))
            if queue_location and service_location and queue_location.lower() != service_location.lower():
                yield (
                    queue.urn,
                    f"queue location {queue_location} differs from the location "
                    f'{service_location} of the Cloud Run service "{_name(service.urn)}" it '
                    "targets; the queue must be in the same location as its service",
                )


# The Cloud Tasks service agent, the one principal that mints the invoker's OIDC tokens.
_CLOUD_TASKS_AGENT = re.compile(r"serviceAccount:service-\d+@gcp-sa-cloudtasks\.iam\.gserviceaccount\.com", re.I)
# Roles holding iam.serviceAccounts.getOpenIdToken, which minting a queue's OIDC token needs.
_OPENID_ON_ACCOUNT = frozenset({"roles/iam.serviceaccountopenidtokencreator", "roles/iam.serviceaccounttokencreator"})
_AGENT_PROJECT_ROLE = "roles/cloudtasks.serviceagent"  # Google's own, contains getOpenIdToken too


def _invoker_emails(resources: Sequence[ResourceView]) -> set[str]:
    """The accounts that queues' httpTarget.oidcToken names, as far as they are known."""
    emails: set[str] = set()
    for queue in resources:
        if _is_type(queue, QUEUE):
            email = _text(_lookup(queue.props, "httpTarget", "oidcToken", "serviceAccountEmail"))
            if email:
                emails.add(email.lower())
    return emails


def _account_of(view: ResourceView) -> str | None:
    """The e-mail of the account a service-account IAM resource applies to; None if unknown."""
    target = _text(view.props.get("serviceAccountId"))
    if not target:
        return None
    email = target.rsplit("/serviceAccounts/", 1)[-1]
    return email.lower() if "@" in email else None  # a unique ID cannot be matched


def _is_agent(member: str | None) -> bool:
    return member is None or _CLOUD_TASKS_AGENT.fullmatch(member) is not None


def invoker_impersonation_only_by_cloud_tasks_agent(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    invokers = _invoker_emails(resources)
    for view in resources:
        if not (_is_iam(view) and _is_service_account_iam(view)):
            continue
        account = _account_of(view)
        if account is None or account not in invokers:
            continue
        for grant in _grants(view):
            if grant.role is None or grant.role.lower() not in _IMPERSONATION_ROLES or _is_agent(grant.member):
                continue
            yield (
                view.urn,
                f'{grant.role} on the invoker account {account} is granted to "{grant.member}"; only the '
                "Cloud Tasks service agent (serviceAccount:service-PROJECT_NUMBER@gcp-sa-cloudtasks"
                ".iam.gserviceaccount.com) may act as or mint tokens for it: anyone else could sign "
                "as the invoker (Cloud Scheduler, Pub/Sub push) and reach the service without the queue",
            )


def _mints_for(view: ResourceView, account: str) -> bool | None:
    """Whether `view` lets the agent mint OIDC tokens for `account`; None if it cannot be told."""
    if _is_service_account_iam(view):
        target = _account_of(view)
        if target is not None and target != account:
            return False
        roles, scope_known = _OPENID_ON_ACCOUNT, target is not None
    elif _is_wide_iam(view):
        roles, scope_known = frozenset({_AGENT_PROJECT_ROLE}), True
    else:
        return False
    if "policyData" in view.props and view.props["policyData"] is None:
        return None  # a whole policy still unknown
    maybe = False
    for grant in _grants(view):
        role_fits = grant.role is None or grant.role.lower() in roles
        if not (role_fits and _is_agent(grant.member)):
            continue
        if grant.role is not None and grant.member is not None and scope_known:
            return True
        maybe = True
    return None if maybe else False


def _declared_accounts(resources: Sequence[ResourceView]) -> set[str]:
    """E-mails of the service accounts this stack creates (from outputs, or accountId + project)."""
    emails: set[str] = set()
    for view in resources:
        if not _is_type(view, "gcp:serviceaccount/account:Account"):
            continue
        email = _text(view.props.get("email"))
        account_id, project = _text(view.props.get("accountId")), _text(view.props.get("project"))
        if not email and account_id and project:
            email = f"{account_id}@{project}.iam.gserviceaccount.com"
        if email:
            emails.add(email.lower())
    return emails


def cloud_tasks_agent_mints_invoker_tokens(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    # Only for an invoker this stack creates: a grant on an account made elsewhere (or Google's
    # project-level role for an agent it created at API enablement) is out of sight here.
    invokers = _invoker_emails(resources) & _declared_accounts(resources)
    iam_views = [v for v in resources if _is_iam(v)]
    # Once per account, not per queue: a stack's queues (up to 1,000) share one invoker.
    may_mint: dict[str, bool] = {}
    for queue in resources:
        if not _is_type(queue, QUEUE):
            continue
        email = _text(_lookup(queue.props, "httpTarget", "oidcToken", "serviceAccountEmail"))
        if email is None or email.lower() not in invokers:
            continue
        account = email.lower()
        if account not in may_mint:
            may_mint[account] = any(f is None or f for f in (_mints_for(v, account) for v in iam_views))
        if may_mint[account]:
            continue
        yield (
            queue.urn,
            f"queue httpTarget.oidcToken names {email}, but nothing lets the Cloud Tasks service agent "
            "mint its tokens (iam.serviceAccounts.getOpenIdToken): grant "
            "roles/iam.serviceAccountOpenIdTokenCreator on that account to "
            "serviceAccount:service-PROJECT_NUMBER@gcp-sa-cloudtasks.iam.gserviceaccount.com "
            "(roles/iam.serviceAccountUser does not contain it)",
        )


def _cpu(value: Any) -> float | None:
    text = _text(value)
    if text is None:
        return _number(value)
    if text.endswith("m"):
        millis = _number(text[:-1])
        return None if millis is None else millis / 1000
    return _number(text)


def _default_concurrency(props: Mapping[str, Any]) -> int | None:
    """The API's default: 80, or 1 when the first container asks for less than one CPU."""
    containers = _lookup(props, "template", "containers")
    if containers is None:
        return None
    if not isinstance(containers, list) or not containers:
        return _DEFAULT_CONCURRENCY
    first: Any = containers[0]
    raw = _lookup(first, "resources", "limits", "cpu")
    if raw is ABSENT:
        return _DEFAULT_CONCURRENCY  # the default CPU is 1
    cpu = _cpu(raw)
    if cpu is None:
        return None
    return 1 if cpu < 1 else _DEFAULT_CONCURRENCY


def _unset_count(value: Any) -> bool:
    """Absent, or 0 (proto3's "unset") in any spelling the provider reads as 0 (0, 0.0, "0")."""
    return value is ABSENT or _number(value) == 0


def _capacity(service: ResourceView) -> tuple[int, int] | None:
    """(max instances, concurrency) of a v2 service, with the API's defaults; None if unknown."""
    if not _is_type(service, RUN_V2_SERVICE):
        return None
    props = service.props
    # The template's scaling wins; 0 is proto3's "unset".
    instances: Any = _lookup(props, "template", "scaling", "maxInstanceCount")
    if _unset_count(instances):
        instances = _lookup(props, "scaling", "maxInstanceCount")
    if _unset_count(instances):
        instances = _DEFAULT_MAX_INSTANCES
    concurrency: Any = _lookup(props, "template", "maxInstanceRequestConcurrency")
    if _unset_count(concurrency):
        concurrency = _default_concurrency(props)
    max_instances, per_instance = _number(instances), _number(concurrency)
    if max_instances is None or per_instance is None:
        return None
    return int(max_instances), int(per_instance)


def queue_concurrency_fits_service(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    services = _services(resources)
    for queue in resources:
        if not _is_type(queue, QUEUE):
            continue
        raw = _lookup(queue.props, "rateLimits", "maxConcurrentDispatches")
        dispatches = _DEFAULT_QUEUE_CONCURRENCY if raw is ABSENT else _number(raw)
        if dispatches is None:
            continue
        for service in _targets(queue, services):
            capacity = _capacity(service)
            if capacity is None:
                continue
            instances, per_instance = capacity
            if dispatches > instances * per_instance:
                shown = _fmt(float(dispatches)) + (" (the Cloud Tasks default)" if raw is ABSENT else "")
                yield (
                    queue.urn,
                    f"queue rateLimits.maxConcurrentDispatches is {shown} but the Cloud Run "
                    f'service "{_name(service.urn)}" serves at most {instances * per_instance} '
                    f"requests at once ({instances} instances x {per_instance} per instance); "
                    "keep it at or below that, or Cloud Tasks sees 429/503 and backs off",
                )


# --- Pub/Sub dead letters (monitoring helper) ---------------------------------------------------
# roles/pubsub.publisher lets the holder put messages on a topic: on a project it reaches every
# topic; on anything but the stack's dead-letter topic it opens a path nobody reviewed.

PUBSUB_PUBLISHER = "roles/pubsub.publisher"
PUBSUB_TOPIC = "gcp:pubsub/topic:Topic"
# The label components/dead_letter.py puts on dead-letter topics.
DEAD_LETTER_LABEL = ("task-worker-purpose", "dead-letter")


def _is_topic_iam(view: ResourceView) -> bool:
    return _module(view.type) == "pubsub" and _kind(view.type).startswith("topiciam")


def _grants_publisher(view: ResourceView) -> bool:
    return _is_iam(view) and any(g.role is not None and g.role.lower() == PUBSUB_PUBLISHER for g in _grants(view))


def pubsub_publisher_on_topic_only(view: ResourceView) -> Iterator[str]:
    if _grants_publisher(view) and not _is_topic_iam(view):
        yield (
            f"{PUBSUB_PUBLISHER} is granted on {_scope(view)}, not on one Pub/Sub topic; grant it "
            "only on the dead-letter topic (gcp:pubsub/topicIAMMember)"
        )


def _topic_short_name(value: Any) -> str | None:
    text = _text(value)
    return text.rsplit("/", 1)[-1] if text else None


def pubsub_publisher_on_dead_letter_topic(resources: Sequence[ResourceView]) -> Iterator[tuple[str, str]]:
    key, wanted = DEAD_LETTER_LABEL
    dead_letter: set[str] = set()
    for topic in resources:
        if not _is_type(topic, PUBSUB_TOPIC):
            continue
        labels = topic.props.get("labels")
        if isinstance(labels, Mapping) and labels.get(key) == wanted:
            dead_letter |= {n for n in (_topic_short_name(topic.props.get(f)) for f in ("name", "id")) if n}
    for grant in resources:
        if not (_is_topic_iam(grant) and _grants_publisher(grant)):
            continue
        target = _lookup(grant.props, "topic")
        if target is None:
            continue  # unknown until the topic exists: nothing to judge
        name = _topic_short_name(target) if target is not ABSENT else None
        if name not in dead_letter:
            yield (
                grant.urn,
                f'{PUBSUB_PUBLISHER} is granted on topic "{name or "(unset)"}", which is not a dead-letter '
                f"topic declared in this stack (a gcp:pubsub/topic:Topic labelled {key}: {wanted}); "
                "grant publish only on the stack's dead-letter topic",
            )


# --- Rule objects and the entry point -----------------------------------------------------------


# --- Secret Manager and VPC egress (helper "features") --------------------------------------------

_SECRET_ACCESSOR = "roles/secretmanager.secretAccessor"
_EGRESS = ("PRIVATE_RANGES_ONLY", "ALL_TRAFFIC")


# The IAM resources of one secret (global or regional): pulumi-gcp's secretmanager module.
_SECRET_IAM_KINDS = frozenset(
    f"{scope}secretiam{form}" for scope in ("", "regional") for form in ("member", "binding", "policy")
)


def _is_secret_iam(view: ResourceView) -> bool:
    return _module(view.type) == "secretmanager" and _kind(view.type) in _SECRET_IAM_KINDS


def secret_accessor_on_secret_only(view: ResourceView) -> Iterator[str]:
    """secretAccessor on a project, folder or org reads every secret there; on any other resource
    (a service account, a queue, a topic) it is no grant on a secret at all: only on one secret."""
    if not _is_iam(view) or _is_secret_iam(view):
        return
    if any(g.role is not None and g.role.lower() == _SECRET_ACCESSOR.lower() for g in _grants(view)):
        yield (
            f"{_SECRET_ACCESSOR} is granted by {view.type}: grant it on one secret only "
            "(gcp:secretmanager/secretIamMember), never project-wide"
        )


# Cloud Run v1 sets Direct VPC egress through revision-template annotations (Cloud Run docs,
# "Direct VPC egress with a VPC network", YAML): the interfaces as a JSON list, egress in lower case.
_V1_INTERFACES = "run.googleapis.com/network-interfaces"
_V1_EGRESS_KEY = "run.googleapis.com/vpc-access-egress"
_V1_CONNECTOR = "run.googleapis.com/vpc-access-connector"
_V1_EGRESS = ("private-ranges-only", "all-traffic")


def _interface_count(interfaces: Any) -> tuple[bool, str]:
    """Whether a networkInterfaces list is not exactly one interface, and how it reads."""
    if interfaces is ABSENT:
        return True, "unset"
    if interfaces is None:
        return False, ""  # unknown: nothing to judge
    if not isinstance(interfaces, list):
        return True, "not a list"
    items: list[Any] = interfaces
    return len(items) != 1, f"{len(items)} interfaces"


def _egress_problems(
    fields: tuple[str, str, str], egress: Any, connector: Any, interfaces: Any, allowed: Sequence[str]
) -> Iterator[str]:
    """fields: where egress, the connector and the interfaces are set, as the messages name them."""
    egress_field, connector_field, interfaces_field = fields
    if egress is ABSENT:
        yield f"{egress_field} is not set: set it explicitly to one of {', '.join(allowed)}"
    elif egress is not None and egress not in allowed:
        yield f"{egress_field} is {egress!r}: set it explicitly to one of {', '.join(allowed)}"
    if connector not in (ABSENT, None):
        yield f"{connector_field} is set: use Direct VPC egress (networkInterfaces), as configured"
    # One interface only (Cloud Run API and pulumi-gcp docs: "Currently only single network
    # interface is supported").
    wrong, shown = _interface_count(interfaces)
    if wrong:
        yield f"{interfaces_field} is {shown}: it must hold exactly one interface (network and/or subnetwork)"


def _v1_field(annotation: str) -> str:
    return f"template.metadata.annotations[{annotation}]"


def _v1_interfaces(raw: Any) -> Any:
    """The v1 annotation's JSON list, parsed; ABSENT and None (unknown) pass through."""
    if raw is ABSENT or raw is None:
        return raw
    try:
        return json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return raw  # not JSON: "not a list"


def cloud_run_vpc_egress_explicit(view: ResourceView) -> Iterator[str]:
    """With VPC access, egress is set explicitly through one Direct VPC interface: the path traffic
    takes is the one configured, never a default or a connector the settings do not know."""
    if _is_type(view, RUN_V2_SERVICE):
        vpc = _lookup(view.props, "template", "vpcAccess")
        if vpc is ABSENT or not isinstance(vpc, Mapping):
            return
        yield from _egress_problems(
            ("template.vpcAccess.egress", "template.vpcAccess.connector", "template.vpcAccess.networkInterfaces"),
            _lookup(vpc, "egress"),
            _lookup(vpc, "connector"),
            _lookup(vpc, "networkInterfaces"),
            _EGRESS,
        )
    elif _is_type(view, RUN_V1_SERVICE):
        annotations = _lookup(view.props, "template", "metadata", "annotations")
        if not isinstance(annotations, Mapping):
            return
        notes: Mapping[str, Any] = annotations
        if not any(key in notes for key in (_V1_INTERFACES, _V1_EGRESS_KEY, _V1_CONNECTOR)):
            return  # no VPC access
        yield from _egress_problems(
            (_v1_field(_V1_EGRESS_KEY), _v1_field(_V1_CONNECTOR), _v1_field(_V1_INTERFACES)),
            _lookup(notes, _V1_EGRESS_KEY),
            _lookup(notes, _V1_CONNECTOR),
            _v1_interfaces(_lookup(notes, _V1_INTERFACES)),
            _V1_EGRESS,
        )


class ResourceRule(NamedTuple):
    name: str
    description: str
    mandatory: bool
    fn: Callable[[ResourceView], Iterable[str]]

    def run(self, resource: ResourceView, *, normalized: bool = False) -> list[Violation]:
        view = resource if normalized else ResourceView(resource.urn, resource.type, normalize(resource.props))
        # dict.fromkeys: one message per distinct finding (a policy binding repeats a role per member)
        return [Violation(self.name, view.urn, m, self.mandatory) for m in dict.fromkeys(self.fn(view))]


class StackRule(NamedTuple):
    name: str
    description: str
    mandatory: bool
    fn: Callable[[Sequence[ResourceView]], Iterable[tuple[str, str]]]

    def run(self, resources: Sequence[ResourceView], *, normalized: bool = False) -> list[Violation]:
        views = resources if normalized else [ResourceView(r.urn, r.type, normalize(r.props)) for r in resources]
        return [Violation(self.name, urn, m, self.mandatory) for urn, m in dict.fromkeys(self.fn(views))]


Rule = ResourceRule | StackRule

RULES: tuple[Rule, ...] = (
    ResourceRule(
        "no-public-members",
        "No IAM resource grants anything to allUsers or allAuthenticatedUsers.",
        True,
        no_public_members,
    ),
    ResourceRule(
        "private-cloud-run-ingress",
        "Cloud Run services take internal traffic only (ingress set, never ALL) and keep invoker IAM on.",
        True,
        private_cloud_run_ingress,
    ),
    ResourceRule(
        "run-invoker-scope",
        "roles/run.invoker is granted only on a Cloud Run service, and only to service accounts.",
        True,
        run_invoker_scope,
    ),
    ResourceRule(
        "no-service-account-keys",
        "No service account keys are created.",
        True,
        no_service_account_keys,
    ),
    ResourceRule(
        "cloud-run-named-service-account",
        "Cloud Run services run as a named service account, not the default compute one.",
        True,
        cloud_run_named_service_account,
    ),
    ResourceRule(
        "queue-oidc-http-target",
        "Queues push through an httpTarget with an OIDC token (service account and audience), "
        "never an OAuth token to run.app.",
        True,
        queue_oidc_http_target,
    ),
    ResourceRule(
        "queue-within-limits",
        "Queue rate limits, retries and log sampling stay within Cloud Tasks' limits; maxBurstSize is not set.",
        True,
        queue_within_limits,
    ),
    ResourceRule(
        "apis-kept-on-destroy",
        "API enablements set disableOnDestroy to false explicitly.",
        True,
        apis_kept_on_destroy,
    ),
    ResourceRule(
        "no-primitive-roles",
        "No IAM resource grants roles/owner, roles/editor or roles/viewer.",
        True,
        no_primitive_roles,
    ),
    ResourceRule(
        "impersonation-on-account-only",
        "serviceAccountUser / TokenCreator roles are granted only on one service account, never project-wide.",
        True,
        impersonation_on_account_only,
    ),
    StackRule(
        "queue-service-same-location",
        "Every queue is in the same location as the Cloud Run service it targets.",
        True,
        queue_service_same_location,
    ),
    StackRule(
        "invoker-impersonation-only-by-cloud-tasks-agent",
        "On the account a queue's oidcToken names, serviceAccountUser / TokenCreator / OpenIdTokenCreator "
        "go only to the Cloud Tasks service agent.",
        True,
        invoker_impersonation_only_by_cloud_tasks_agent,
    ),
    # Advisory: the stack sees only its own grants, not one made elsewhere on the same account.
    StackRule(
        "cloud-tasks-agent-mints-invoker-tokens",
        "The Cloud Tasks service agent holds roles/iam.serviceAccountOpenIdTokenCreator on the invoker "
        "account this stack creates.",
        False,
        cloud_tasks_agent_mints_invoker_tokens,
    ),
    StackRule(
        "queue-concurrency-fits-service",
        "A queue's maxConcurrentDispatches fits the targeted service's max instances x concurrency.",
        False,
        queue_concurrency_fits_service,
    ),
    # --- Pub/Sub dead letters (monitoring helper)
    ResourceRule(
        "pubsub-publisher-on-topic-only",
        "roles/pubsub.publisher is granted only on one Pub/Sub topic, never project-wide.",
        True,
        pubsub_publisher_on_topic_only,
    ),
    StackRule(
        "pubsub-publisher-on-dead-letter-topic",
        "roles/pubsub.publisher is granted only on a dead-letter topic declared in the stack.",
        True,
        pubsub_publisher_on_dead_letter_topic,
    ),
    # --- Secret Manager and VPC egress (helper "features") ---
    ResourceRule(
        "secret-accessor-on-secret-only",
        "roles/secretmanager.secretAccessor is granted only on one secret, never project-wide.",
        True,
        secret_accessor_on_secret_only,
    ),
    ResourceRule(
        "cloud-run-vpc-egress-explicit",
        "A Cloud Run service with VPC access uses one Direct VPC interface and sets egress explicitly.",
        True,
        cloud_run_vpc_egress_explicit,
    ),
)


def check(resources: Sequence[ResourceView]) -> list[Violation]:
    """Every resource rule on each resource (in order), then every stack rule on the set."""
    # Normalized once, not once per rule: plans of hundreds of resources stay fast.
    views = [ResourceView(r.urn, r.type, normalize(r.props)) for r in resources]
    violations: list[Violation] = []
    for view in views:
        for rule in RULES:
            if isinstance(rule, ResourceRule):
                violations.extend(rule.run(view, normalized=True))
    for rule in RULES:
        if isinstance(rule, StackRule):
            violations.extend(rule.run(views, normalized=True))
    return violations
