"""Stack config -> typed, immutable Settings -> the resolved model, validated once.

  settings/limits.py    Google's limits, one table, each with its source
  settings/fields.py    the config model (pydantic): each key's type, bounds, default, description
  settings/messages.py  pydantic's errors as problems by key; the engine's config strings decoded
  settings/resolve.py   what the stack will declare (names, queue IDs, labels, env, IAM members), checked
  settings/names.py     how names derive from keys

A bad config raises SettingsError listing every problem, each naming the full key, the value
(never a secret's) and what is allowed. Components receive Settings and the resolved model and
never re-validate.
"""

import json
from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from settings.fields import *  # noqa: F403  (the config model is this package's interface)
from settings.fields import _GCP_KEYS, _TEXT_KEYS, NAMESPACE, QueueSettings, Settings, StackConfig, named_queue
from settings.limits import *  # noqa: F403
from settings.messages import _decode, _key, _namespace_near_misses, _non_finite, _problems
from settings.names import account_id, cloud_run_agent_email, slug, stack_label  # noqa: F401
from settings.problems import Problem, SettingsError
from settings.resolve import DEAD_LETTER_ENV_VARS, PURPOSE_LABEL, Resolved, resolve_stack  # noqa: F401


def parse_settings(
    config: Mapping[str, str],
    stack: str,
    secret_keys: frozenset[str] = frozenset(),
) -> Settings:
    """Parse and check the whole stack config; raise SettingsError with every problem."""
    ns = NAMESPACE + ":"
    doc: dict[str, Any] = {}
    for key, raw in config.items():
        if key.startswith(ns):
            name = key[len(ns) :]
            doc[name] = raw if name in _TEXT_KEYS else _decode(raw)
    for short, full in _GCP_KEYS.items():
        if full in config:
            doc[short] = config[full]
    problems = _namespace_near_misses(config)
    # NaN and infinities are not JSON (the engine never sends them; Python's json reads them).
    problems.extend(Problem(_key(loc), "(not a finite number)", "expected a finite number") for loc in _non_finite(doc))
    if problems:
        raise SettingsError(problems)
    secret_tops = frozenset(secret_keys)
    try:
        model = StackConfig.model_validate_json(json.dumps(doc, allow_nan=False))
    except ValidationError as err:
        problems.extend(_problems(err, secret_tops))
        raise SettingsError(problems) from None
    if problems:
        raise SettingsError(problems)

    service = model.service.model_copy()
    service._env_is_secret = ns + "service" in secret_keys
    queues = tuple(named_queue(key, q) for key, q in sorted(model.queues.items()))
    location = model.location or model.region
    assert location is not None  # _location_set
    settings = Settings(
        stack=stack,
        project=model.project,
        location=location,
        service=service,
        queues=queues,
        enqueuers=model.enqueuers,
        deletion_protection=model.deletion_protection,
        labels=model.labels,
        warnings=tuple(_warnings(model, queues)),
        accounts=model.accounts,
        monitoring=model.monitoring,
        dead_letter=model.dead_letter,
        project_number=model.project_number,
    )
    # What the stack derives from the keys (names, queue IDs, labels, env, members), checked too.
    resolve_stack(settings)
    return settings


def _warnings(model: StackConfig, queues: tuple[QueueSettings, ...]) -> Iterable[str]:
    ns = NAMESPACE + ":"
    service = model.service
    capacity = service.max_instances * service.concurrency
    for q in queues:
        concurrent = q.shards * q.max_concurrent_dispatches
        if concurrent > capacity:
            shown = f"{q.shards} shards × {q.max_concurrent_dispatches} = {concurrent}" if q.shards > 1 else concurrent
            yield (
                f"{ns}queues.{q.key}.maxConcurrentDispatches ({shown}) "
                f"exceeds the service's capacity, maxInstances × concurrency = {service.max_instances} × "
                f"{service.concurrency} = {capacity}: Cloud Tasks would see 429s and back off"
            )
        if q.shards > 1:
            yield (
                f"{ns}queues.{q.key}.shards: {q.shards} queues dispatch up to {q.shards} × "
                f"{q.max_dispatches_per_second:g} = {q.shards * q.max_dispatches_per_second:g} tasks/s together. "
                "Ramp a new queue's traffic up gradually (Google's 500/50/5 pattern: start at ≤ 500 tasks/s, "
                "grow by ≤ 50 % every 5 minutes)"
            )
    yield from _shared_vpc_warnings(model)
    # Google recommends pinning (Cloud Run "Configure secrets"): "latest" is read at each instance
    # start, so instances of one revision can run with different values after a rotation.
    latest = [f"{ns}service.secrets.{env}" for env, ref in service.secrets.items() if ref.version == "latest"]
    if latest:
        yield (
            f'{", ".join(latest)} {"uses" if len(latest) == 1 else "use"} version "latest", which Cloud Run '
            "resolves at each instance start: after a rotation, instances of one revision run with different values, "
            "and a bad new version reaches every instance that starts, which rolling back a revision does not "
            'undo. Google recommends pinning a version: {secret: NAME, version: "3"} '
            '(docs/operations.md "Secrets: pin a version")'
        )
    # Placeholders from the sample stacks, still there: the first `pulumi up` would fail or grant nobody.
    if model.project.startswith(("my-project", "example")):
        yield f"gcp:project is {model.project!r}, the sample's placeholder: set your own project ID"
    for i, member in enumerate(model.enqueuers):
        if member.endswith(("@example.com", "example.com.iam.gserviceaccount.com")) or "my-project" in member:
            yield f"{ns}enqueuers[{i}] is {member!r}, a placeholder: name your producers' identities"


def _shared_vpc_warnings(model: StackConfig) -> Iterable[str]:
    """Direct VPC egress into another project's network, without the grant declared: say what is needed."""
    vpc = model.service.vpc
    host = vpc.host_project() if vpc else None
    if vpc is None or host is None or model.is_this_project(host) or vpc.grant_network_user:
        return
    number = model.project_number or "PROJECT_NUMBER"
    agent = f"serviceAccount:{cloud_run_agent_email(number)}"
    parts = vpc.subnetwork_parts()
    if parts is None:
        where = (
            f"on the host project {host}, or on the subnetwork of {vpc.network} in {model.location or model.region} "
            "(name it in service.vpc.subnetwork to let the stack declare the grant)"
        )
        declare = ""
    else:
        where = f"on the subnetwork {vpc.subnetwork} (or on the host project {host})"
        declare = f"; or set {NAMESPACE}:service.vpc.grantNetworkUser: true to declare it on the subnetwork"
    how = (
        ""
        if model.project_number
        else (f" (PROJECT_NUMBER: `gcloud projects describe {model.project} --format='value(projectNumber)'`)")
    )
    yield (
        f"{NAMESPACE}:service.vpc is a network of another project, {host} (Shared VPC): grant "
        f"roles/compute.networkUser to this project's Cloud Run service agent {agent}{how} {where}, or new "
        f'revisions cannot start. The host project\'s admin grants it{declare} (docs/operations.md "Shared VPC")'
    )


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
