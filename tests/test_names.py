"""settings/names.py at its edges: the account-ID shortening and member slugs.

IAM account IDs are 6–30 characters matching [a-z][a-z0-9-]{4,28}[a-z0-9]. Expected IDs are written
out; the 4 hex characters are the start of sha256 of the lowercased prefix, pinned here so a change
to the hash (or what is hashed) renames the accounts of every deployed stack and fails here first.
"""

from __future__ import annotations

import re

import pytest

from settings.names import account_id, slug, stack_label
from tests.conftest import run_ok, stack_config

IAM_ACCOUNT_ID = re.compile(r"[a-z][a-z0-9-]{4,28}[a-z0-9]")


@pytest.mark.parametrize(
    ("prefix", "role", "expected"),
    [
        # Room for the prefix is 30 - len("-invoker") = 22: 22 characters fit as they are ...
        ("abcdefghijklmnopqrstuv", "invoker", "abcdefghijklmnopqrstuv-invoker"),
        # ... 23 are shortened to 17, a hyphen and 4 hex characters.
        ("abcdefghijklmnopqrstuvw", "invoker", "abcdefghijklmnopq-7f07-invoker"),
        # "-run" leaves 26.
        ("abcdefghijklmnopqrstuvwxyz", "run", "abcdefghijklmnopqrstuvwxyz-run"),
        ("abcdefghijklmnopqrstuvwxyz0", "run", "abcdefghijklmnopqrstu-a11d-run"),
        # The cut ends on a hyphen: it is dropped, never doubled before the hash.
        ("abcdefghijklmnopqrst-uvwxyz", "run", "abcdefghijklmnopqrst-aef5-run"),
        ("task-worker-a-very-long-stack-name-for-prod", "invoker", "task-worker-a-ver-b954-invoker"),
        ("task-worker-a-very-long-stack-name-for-prod", "run", "task-worker-a-very-lo-b954-run"),
        # Lowercased; runs of other characters become one hyphen; none at the ends.
        ("Task_Worker.PROD", "run", "task-worker-prod-run"),
        ("--Task__Worker--", "run", "task-worker-run"),
        # An ID starts with a letter.
        ("42", "run", "tw-42-run"),
        ("9-lives", "invoker", "tw-9-lives-invoker"),
        # Only the first character must be a letter.
        ("x1-stack", "run", "x1-stack-run"),
        ("a-stack", "run", "a-stack-run"),
    ],
)
def test_account_id(prefix: str, role: str, expected: str) -> None:
    assert account_id(prefix, role) == expected
    assert IAM_ACCOUNT_ID.fullmatch(expected)


def test_long_stack_names_give_valid_distinct_ids() -> None:
    """Two long stacks sharing their first characters still get their own accounts."""
    blue = account_id("task-worker-staging-europe-west1-blue", "invoker")
    green = account_id("task-worker-staging-europe-west1-green", "invoker")
    assert (blue, green) == ("task-worker-stagi-289a-invoker", "task-worker-stagi-2346-invoker")
    assert account_id("task-worker-staging-europe-west1-blue", "invoker") == blue  # stable


@pytest.mark.parametrize(
    ("member", "expected"),
    [
        ("serviceAccount:Orders.API@p.iam.gserviceaccount.com", "serviceaccount-orders-api-p-iam-gserviceaccount-com"),
        ("user:a--b@x.test", "user-a-b-x-test"),
        ("principal://iam.googleapis.com/x/", "principal-iam-googleapis-com-x"),
    ],
)
def test_slug(member: str, expected: str) -> None:
    assert slug(member) == expected


@pytest.mark.parametrize(
    ("stack", "expected"),
    [
        ("prod_eu-1", "prod_eu-1"),  # a label value's own characters are kept
        ("Prod.EU", "prod-eu"),  # lowercased; anything else becomes a hyphen, one each
        ("a..b", "a--b"),
        ("s" * 64, "s" * 63),  # cut to a label value's 63 characters
    ],
)
def test_stack_label(stack: str, expected: str) -> None:
    assert stack_label(stack) == expected


def test_long_stack_name_through_the_program() -> None:
    """The stack name reaches the account IDs: a long one is shortened, both roles distinct."""
    stack = "europe-west1-production-blue"
    run = run_ok(stack_config(stack))
    ids = sorted(r.inputs["accountId"] for r in run.of_type("gcp:serviceaccount/account:Account"))
    assert ids == ["task-worker-europ-61ad-invoker", "task-worker-europe-we-61ad-run"]
