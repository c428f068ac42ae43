"""Names derived from keys: stable, valid; settings/resolve.py checks them for collisions."""

import hashlib
import re

from settings.limits import MAX_ACCOUNT_ID_CHARS, MAX_LABEL_CHARS


def slug(member: str) -> str:
    """A resource-name-safe form of an IAM member or secret (lossy: the model checks collisions)."""
    return re.sub(r"[^a-z0-9]+", "-", member.lower()).strip("-")


def account_id(prefix: str, role: str) -> str:
    """`{prefix}-{role}`, shortened with a hash when too long for IAM (6–30 characters).

    The prefix carries the stack, so dev and prod can share a project.
    """
    base = re.sub(r"[^a-z0-9]+", "-", prefix.lower()).strip("-")
    if not base[:1].isalpha():
        base = "tw-" + base
    room = MAX_ACCOUNT_ID_CHARS - len(role) - 1
    if len(base) > room:
        digest = hashlib.sha256(base.encode()).hexdigest()[:4]
        base = base[: room - 5].rstrip("-") + "-" + digest
    return f"{base}-{role}"


def stack_label(stack: str) -> str:
    """The stack name as a valid GCP label value."""
    return re.sub(r"[^a-z0-9_-]", "-", stack.lower())[:MAX_LABEL_CHARS]


# Service agents' addresses, as Google documents them (gcp-facts.md "IAM", "Corrections and additions").
CLOUD_TASKS_AGENT_DOMAIN = "gcp-sa-cloudtasks.iam.gserviceaccount.com"
CLOUD_RUN_AGENT_DOMAIN = "serverless-robot-prod.iam.gserviceaccount.com"


def cloud_tasks_agent_email(project_number: str) -> str:
    return f"service-{project_number}@{CLOUD_TASKS_AGENT_DOMAIN}"


def cloud_run_agent_email(project_number: str) -> str:
    return f"service-{project_number}@{CLOUD_RUN_AGENT_DOMAIN}"
