"""The docs quote Google's limits as the one table has them (settings/limits.py): a number written in
prose next to what it limits must be the table's value, so a changed limit cannot leave a doc behind."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from settings import limits

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", ROOT / "producer" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# (phrase with the number as its group, the limit it states)
PHRASES: list[tuple[str, int | float]] = [
    (r"at most ([\d,]+) tasks (?:a second|/s)", limits.MAX_DISPATCHES_PER_SECOND),
    (r"([\d,]+) dispatches/s", limits.MAX_DISPATCHES_PER_SECOND),
    (r"([\d,]+) concurrent dispatches", limits.MAX_CONCURRENT_DISPATCHES),
    (r"([\d,]+) queues per (?:region|location)", limits.MAX_QUEUES_PER_LOCATION),
    (r"filter holds\s+at most ([\d,]+) characters", limits.FILTER_MAX_CHARS),
    (r"policy holds at most ([\d,]+) conditions", limits.CONDITIONS_MAX),
    (r"runbook holds ([\d,]+) characters", limits.DOCUMENTATION_MAX_CHARS),
    (r"for the field \(([\d,]+) characters", limits.DOCUMENTATION_MAX_CHARS),
    (r"characters, ([\d,]+) bytes\)", limits.DOCUMENTATION_MAX_BYTES),
    (r"longest IDs Cloud\s+Tasks allows \(([\d,]+) characters", limits.MAX_QUEUE_ID_CHARS),
    (r"([\d,]+) env vars", limits.MAX_ENV_VARS),
]


def stated(text: str) -> list[tuple[str, float, int | float]]:
    """(phrase, number written, the table's value) for every phrase found in `text`."""
    found = []
    for pattern, value in PHRASES:
        for match in re.finditer(pattern, text):
            found.append((match.group(0), float(match.group(1).replace(",", "")), value))
    return found


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_limits_quoted_in_the_docs_are_the_tables(doc: Path) -> None:
    wrong = [(phrase, value) for phrase, number, value in stated(doc.read_text()) if number != value]
    assert wrong == []


def test_the_docs_quote_the_main_limits_somewhere() -> None:
    # The check above must have something to check: the phrases occur in today's docs.
    text = "\n".join(doc.read_text() for doc in DOCS)
    assert {value for _, _, value in stated(text)} >= {
        limits.MAX_DISPATCHES_PER_SECOND,
        limits.MAX_QUEUES_PER_LOCATION,
        limits.FILTER_MAX_CHARS,
        limits.MAX_ENV_VARS,
    }


def test_a_changed_number_is_caught() -> None:
    assert stated("one queue dispatches at most 499 tasks a second") == [
        ("at most 499 tasks a second", 499.0, limits.MAX_DISPATCHES_PER_SECOND)
    ]
