"""The resolved model: everything the stack will declare, computed once from valid settings.

Settings check each key as typed; what the components *derive* from the keys (resource names,
queue IDs with their shards, account IDs, labels and env vars as sent, IAM members per resource)
can still be refused by the engine or by Google. This module computes all of it in plain Python,
checks it against Google's limits (settings/limits.py) and against itself, and names the stack
keys behind every problem, all at once. Components take their names and IDs from here.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import NamedTuple

from settings.fields import (
    NAMESPACE,
    OWN_LABELS,
    QueueSettings,
    ServiceSettings,
    Settings,
)
from settings.limits import (
    MAX_ENV_VARS,
    MAX_LABELS,
    MAX_POLICY_GROUPS,
    MAX_POLICY_PRINCIPALS,
    MAX_QUEUE_ID_CHARS,
)
from settings.names import account_id, slug, stack_label
from settings.problems import Problem, SettingsError

NS = NAMESPACE + ":"

# Resource types, as the engine names them (a URN is type + name under the parents' types).
QUEUE = "gcp:cloudtasks/queue:Queue"
QUEUE_IAM = "gcp:cloudtasks/queueIamMember:QueueIamMember"
SECRET_IAM = "gcp:secretmanager/secretIamMember:SecretIamMember"
SUBSCRIPTION_IAM = "gcp:pubsub/subscriptionIAMMember:SubscriptionIAMMember"
ACCOUNT = "gcp:serviceaccount/account:Account"

# Pulumi's default auto-name: the logical name, "-", 7 random lowercase hex digits (the bridge's
# AutoName; pulumi.com/docs "Resource names"). A stack that customises pulumi:autonaming must name
# its queues (queues.<key>.name).
AUTONAME_SUFFIX = "-[0-9a-f]{7}"
AUTONAME_CHARS = 8

# Labels the dead-letter topic and subscription carry besides the stack's (components/dead_letter.py).
PURPOSE_LABEL = "task-worker-purpose"
DEAD_LETTER_PURPOSE = "dead-letter"
# The env vars dead letters add to the service (components/dead_letter.worker_env): fixed, per queue key.
DEAD_LETTER_ENV_VARS = (4, 4)


# --- What the components declare ----------------------------------------------------------------


class Grant(NamedTuple):
    resource_name: str
    member: str
    key: str  # the stack key that asked for it, e.g. "task-worker:enqueuers[2]"


class Shard(NamedTuple):
    """One Cloud Tasks queue: a queue key's shard."""

    key: str  # the queue's config key
    shard: int  # shard number; 0 keeps the unsharded names
    resource_name: str  # the queue's logical name (and its component's, for shard 0)
    monitor_key: str  # "<key>", or "<key>-<i>" for shard i: how alerts and the dashboard name it
    queue_id: str | None  # the ID declared (a named or adopted queue); None: Pulumi names it
    import_id: str | None  # shard 0 of an adopted queue
    grants: tuple[Grant, ...]  # roles/cloudtasks.enqueuer on this queue

    @property
    def id_pattern(self) -> str:
        """An RE2 pattern the queue ID fully matches, known before `pulumi up`."""
        return self.queue_id if self.queue_id is not None else self.resource_name + AUTONAME_SUFFIX


class QueuePlan(NamedTuple):
    settings: QueueSettings
    component_name: str
    shards: tuple[Shard, ...]

    @property
    def key(self) -> str:
        return self.settings.key


class Account(NamedTuple):
    account_id: str
    import_id: str | None


class SecretGrant(NamedTuple):
    resource_name: str
    project: str
    secret_id: str
    keys: tuple[str, ...]  # the service.secrets keys that name this secret


class NetworkUserGrant(NamedTuple):
    """roles/compute.networkUser for the Cloud Run service agent on a Shared VPC host's subnetwork."""

    resource_name: str
    project: str  # the host project
    region: str
    subnetwork: str  # its name


class Resolved(NamedTuple):
    name: str  # the TaskWorker component's name
    stack: str
    project: str
    location: str
    runtime: Account
    invoker: Account
    labels: Mapping[str, str]  # as sent on the service (ours included)
    dead_letter_labels: Mapping[str, str]  # as sent on the dead-letter topic and subscription
    queues: tuple[QueuePlan, ...]
    secret_grants: tuple[SecretGrant, ...]
    subscriber_grants: tuple[Grant, ...]
    env_names: tuple[str, ...]  # the container's env vars as sent (ours included)
    network_user: NetworkUserGrant | None = None  # service.vpc.grantNetworkUser

    @property
    def queues_by_key(self) -> dict[str, QueuePlan]:
        return {q.key: q for q in self.queues}

    @property
    def shards(self) -> tuple[Shard, ...]:
        return tuple(s for q in self.queues for s in q.shards)

    def component(self, part: str) -> str:
        """The name of a child component: `<name>-<part>` (service, invoker, apis, monitoring, dead-letter)."""
        return f"{self.name}-{part}"


def resolve_stack(settings: Settings, name: str = "task-worker") -> Resolved:
    """Everything the stack declares, computed once; SettingsError (from settings) if any is refused."""
    resolved = _build(settings, name)
    problems = list(check(resolved, settings))
    if problems:
        raise SettingsError(problems)
    return resolved


def _build(s: Settings, name: str) -> Resolved:
    prefix = f"{name}-{s.stack}"
    labels = {"managed-by": "pulumi", "stack": stack_label(s.stack), **s.labels}
    queues = tuple(_queue_plan(name, q, s.enqueuers) for q in s.queues)
    runtime, invoker = s.accounts.runtime, s.accounts.invoker
    dead_letter_on = s.dead_letter.enabled
    subscribers = s.dead_letter.subscribers if dead_letter_on else ()
    service_name = f"{name}-service"
    dl_name = f"{name}-dead-letter"
    env_names = [*s.service.env, *s.service.secrets]
    if dead_letter_on:
        from components.dead_letter import worker_env_names

        env_names += worker_env_names([(q.key, q.queue_id is not None) for q in s.queues])
    return Resolved(
        name=name,
        stack=s.stack,
        project=s.project,
        location=s.location,
        runtime=Account(runtime.account_id or account_id(prefix, "run"), runtime.import_id),
        invoker=Account(invoker.account_id or account_id(prefix, "invoker"), invoker.import_id),
        labels=MappingProxyType(labels),
        dead_letter_labels=MappingProxyType({**labels, PURPOSE_LABEL: DEAD_LETTER_PURPOSE}),
        queues=queues,
        secret_grants=_secret_grants(service_name, s.project, s.service),
        subscriber_grants=tuple(
            Grant(f"{dl_name}-subscriber-{slug(m)}", m, f"{NS}deadLetter.subscribers[{i}]")
            for i, m in enumerate(subscribers)
        ),
        env_names=tuple(env_names),
        network_user=_network_user(service_name, s.service),
    )


def _network_user(service_name: str, service: ServiceSettings) -> NetworkUserGrant | None:
    vpc = service.vpc
    parts = vpc.subnetwork_parts() if vpc and vpc.grant_network_user else None
    if parts is None:  # settings refuse grantNetworkUser without a subnetwork of another project
        return None
    return NetworkUserGrant(f"{service_name}-network-user", *parts)


def _queue_plan(name: str, q: QueueSettings, enqueuers: Sequence[str]) -> QueuePlan:
    component = f"{name}-{q.key}"
    shards = []
    for i in range(q.shards):
        resource = component if i == 0 else f"{component}-{i}"
        queue_id = q.queue_id if i == 0 or q.queue_id is None else f"{q.queue_id}-{i}"
        grants = tuple(
            Grant(f"{resource}-enqueuer-{slug(m)}", m, f"{NS}enqueuers[{j}]") for j, m in enumerate(enqueuers)
        )
        shards.append(
            Shard(
                key=q.key,
                shard=i,
                resource_name=resource,
                monitor_key=q.key if i == 0 else f"{q.key}-{i}",
                queue_id=queue_id,
                import_id=q.import_id if i == 0 else None,
                grants=grants,
            )
        )
    return QueuePlan(q, component, tuple(shards))


def _secret_grants(service_name: str, project: str, service: ServiceSettings) -> tuple[SecretGrant, ...]:
    """One secretAccessor grant per secret named, however many variables use it."""
    grants: dict[tuple[str, str], list[str]] = {}
    for env, ref in service.secrets.items():
        grants.setdefault((ref.project(project), ref.secret_id()), []).append(env)
    return tuple(
        SecretGrant(f"{service_name}-secret-{slug('-'.join(where))}", where[0], where[1], tuple(envs))
        for where, envs in grants.items()
    )


# --- Checks -----------------------------------------------------------------------------------------


def check(r: Resolved, s: Settings) -> Iterable[Problem]:
    """Every problem of the resolved model, each naming the stack key(s) that caused it."""
    yield from _check_queue_ids(r)
    yield from _check_names(r)
    yield from _check_accounts(r)
    yield from _check_labels(r, s)
    yield from _check_env(r, s)
    yield from _check_policies(r, s)


def _check_queue_ids(r: Resolved) -> Iterable[Problem]:
    """Queue IDs as declared (shards included): valid, and one queue each; a problem once per key."""
    seen: dict[str, Shard] = {}
    reported: set[tuple[str, str]] = set()  # (queue key, what): 1,000 shards give one problem, not 1,000

    def once(shard: Shard, what: str, allowed: str) -> Iterable[Problem]:
        if (shard.key, what) not in reported:
            reported.add((shard.key, what))
            field, value = _declared(r.queues_by_key[shard.key])
            yield Problem(f"{NS}queues.{shard.key}.{field}", repr(value), allowed)

    for shard in r.shards:
        qid = shard.queue_id
        if qid is None:
            auto = len(shard.resource_name) + AUTONAME_CHARS
            if auto > MAX_QUEUE_ID_CHARS and (shard.key, "auto") not in reported:
                reported.add((shard.key, "auto"))
                yield Problem(
                    f"{NS}queues.{shard.key}",
                    repr(shard.key),
                    f"Pulumi would name shard {shard.shard}'s queue {shard.resource_name}-xxxxxxx ({auto} "
                    f"characters); a queue ID holds at most {MAX_QUEUE_ID_CHARS}: use a shorter key or set name",
                )
            continue
        if len(qid) > MAX_QUEUE_ID_CHARS:
            yield from once(
                shard,
                "length",
                f"shard {shard.shard}'s queue ID {qid} has {len(qid)} characters; a queue ID holds at most "
                f"{MAX_QUEUE_ID_CHARS} (shard i is named ID-i): shorten it or use fewer shards",
            )
        if qid in seen:
            other = seen[qid]
            yield from once(
                shard,
                "taken",
                f"the queue ID {qid} is also queues.{other.key}'s"
                + (f" (its shard {other.shard})" if other.shard else "")
                + ": two declarations of one queue (an import and a create, or two creates) fail at pulumi up",
            )
        seen.setdefault(qid, shard)
    # A declared ID that another queue's auto-name could take.
    autos = {s.resource_name: s for s in r.shards if s.queue_id is None}
    for qid, shard in seen.items():
        auto = autos.get(qid[:-AUTONAME_CHARS])
        if auto is not None and re.fullmatch(AUTONAME_SUFFIX, qid[-AUTONAME_CHARS:]):
            yield from once(
                shard,
                "auto-name",
                f"its shard {shard.shard}'s ID {qid} has the form of queues.{auto.key}'s auto-name "
                f"({auto.resource_name}-xxxxxxx): choose another ID",
            )


def _declared(plan: QueuePlan) -> tuple[str, str | None]:
    """The key that declares a queue's ID, and its value: `name`, else `importId`."""
    q = plan.settings
    return ("name", q.name) if q.name is not None else ("importId", q.import_id)


def _check_names(r: Resolved) -> Iterable[Problem]:
    """Two resources of one type and name would be one URN: the engine refuses the second."""
    # (type, name, key, value, where): each entry is one resource the components declare.
    declared: list[tuple[str, str, str, str, str]] = []
    for shard in r.shards:
        declared.append((QUEUE, shard.resource_name, f"{NS}queues.{shard.key}", f"shard {shard.shard}", ""))
        declared += [
            (QUEUE_IAM, g.resource_name, g.key, repr(g.member), f" on queues.{shard.key}") for g in shard.grants
        ]
    for g in r.secret_grants:
        declared.append((SECRET_IAM, g.resource_name, f"{NS}service.secrets.{g.keys[0]}", repr(g.secret_id), ""))
    declared += [(SUBSCRIPTION_IAM, g.resource_name, g.key, repr(g.member), "") for g in r.subscriber_grants]
    seen: dict[tuple[str, str], str] = {}
    for kind, name, key, value, where in declared:
        if (kind, name) in seen:
            yield Problem(
                key,
                value,
                f"its {kind.rsplit(':', 1)[-1]}{where} would be named {name!r}, as {seen[kind, name]}'s is (names "
                "keep only lowercase letters, digits and -): the engine refuses two resources of one name; change one",
            )
        else:
            seen[kind, name] = key + where


def _check_accounts(r: Resolved) -> Iterable[Problem]:
    if r.runtime.account_id == r.invoker.account_id:
        key = "invoker" if r.invoker.import_id else "runtime"
        yield Problem(
            f"{NS}accounts.{key}.importId",
            repr((r.invoker if r.invoker.import_id else r.runtime).import_id),
            f"the account {r.runtime.account_id} would be both the runtime and the invoker account; "
            "they must differ (the invoker's tokens are the only way into the service)",
        )


def _check_labels(r: Resolved, s: Settings) -> Iterable[Problem]:
    dead_letter_on = s.dead_letter.enabled
    for where, labels in (("the service", r.labels), ("the dead-letter topic", r.dead_letter_labels)):
        if where != "the service" and not dead_letter_on:
            continue
        if len(labels) > MAX_LABELS:
            ours = len(labels) - len(s.labels)
            yield Problem(
                f"{NS}labels",
                f"{len(s.labels)} labels",
                f"expected at most {MAX_LABELS - ours}: {where} carries them with the stack's own {ours} "
                f"({', '.join(sorted(set(labels) - set(s.labels)))}), and Google allows {MAX_LABELS} per resource",
            )
    for key in s.labels:
        if key in OWN_LABELS or key == PURPOSE_LABEL:
            yield Problem(f"{NS}labels.{key}", repr(key), "set by the stack itself: choose another key")


def _check_env(r: Resolved, s: Settings) -> Iterable[Problem]:
    ours = len(r.env_names) - len(s.service.env) - len(s.service.secrets)
    if ours and len(r.env_names) > MAX_ENV_VARS:
        fixed, per_queue = DEAD_LETTER_ENV_VARS
        yield Problem(
            f"{NS}deadLetter.enabled",
            "true",
            f"expected env + secrets + the {ours} TASK_WORKER_* variables of dead letters "
            f"({fixed} + {per_queue} per queue key) ≤ {MAX_ENV_VARS} (Cloud Run's limit); it is {len(r.env_names)}",
        )


def _check_policies(r: Resolved, s: Settings) -> Iterable[Problem]:
    """One IAM policy per resource: ≤ 1,500 principals, ≤ 250 of them groups, ours included."""
    checks: list[tuple[str, Sequence[str]]] = [(f"{NS}enqueuers", s.enqueuers)]
    if s.dead_letter.enabled:
        checks.append((f"{NS}deadLetter.subscribers", s.dead_letter.subscribers))
    for key, members in checks:
        groups = sum(m.startswith("group:") for m in members)
        if len(members) > MAX_POLICY_PRINCIPALS:
            yield Problem(
                key,
                f"{len(members)} members",
                f"expected at most {MAX_POLICY_PRINCIPALS}: each is a principal in one resource's IAM policy "
                f"(Google's limit per policy); grant a group instead",
            )
        if groups > MAX_POLICY_GROUPS:
            yield Problem(
                key,
                f"{groups} groups",
                f"expected at most {MAX_POLICY_GROUPS} group: members (Google's limit per IAM policy)",
            )
