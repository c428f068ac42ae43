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
from settings.names import account_id, slug, stack_label  # noqa: F401
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
    # Placeholders from the sample stacks, still there: the first `pulumi up` would fail or grant nobody.
    if model.project.startswith(("my-project", "example")):
        yield f"gcp:project is {model.project!r}, the sample's placeholder: set your own project ID"
    for i, member in enumerate(model.enqueuers):
        if member.endswith(("@example.com", "example.com.iam.gserviceaccount.com")) or "my-project" in member:
            yield f"{ns}enqueuers[{i}] is {member!r}, a placeholder: name your producers' identities"


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
