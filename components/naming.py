"""Names derived from a component's name: stable, valid, collision-free."""

from __future__ import annotations

import hashlib
import re

# Service account IDs: 6–30 characters, [a-z][a-z0-9-]*[a-z0-9] (IAM's rule).
_ACCOUNT_ID_MAX = 30


def slug(member: str) -> str:
    """A resource-name-safe form of an IAM member, stable across list reordering."""
    return re.sub(r"[^a-z0-9]+", "-", member.lower()).strip("-")


def account_id(prefix: str, role: str) -> str:
    """`{prefix}-{role}`, shortened with a hash when too long for IAM.

    The prefix carries the stack, so dev and prod can share a project.
    """
    base = re.sub(r"[^a-z0-9]+", "-", prefix.lower()).strip("-")
    if not base[:1].isalpha():
        base = "tw-" + base
    room = _ACCOUNT_ID_MAX - len(role) - 1
    if len(base) > room:
        digest = hashlib.sha256(base.encode()).hexdigest()[:4]
        base = base[: room - 5].rstrip("-") + "-" + digest
    return f"{base}-{role}"
