"""Every `gcloud …` command the docs and runbooks show is a real one.

The reference is tests/gcloud_commands.txt (read from Google's gcloud reference). A command line is
read word by word after `gcloud`: each word must lead into a known group or end on a known command;
what follows the command (IDs, flags) is not checked. Markdown is read in code only (fenced blocks and
`inline code`); Python sources in their string literals (the runbooks of components/).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = Path(__file__).with_name("gcloud_commands.txt")
MARKDOWN = ["README.md", "producer/README.md", *sorted(str(p.relative_to(ROOT)) for p in (ROOT / "docs").glob("*.md"))]
PYTHON_DIRS = ["settings", "components", "tools", "examples", "policy", "producer/src"]
_WORD = re.compile(r"[a-z][a-z0-9-]*")


def _commands() -> set[tuple[str, ...]]:
    lines = (line.split("#", 1)[0].split() for line in REFERENCE.read_text().splitlines())
    return {tuple(words) for words in lines if words}


COMMANDS = _commands()
GROUPS = {command[:i] for command in COMMANDS for i in range(1, len(command))}


def problem(line: str) -> str | None:
    """Why the `gcloud …` command on this line does not exist, or None when it does."""
    words = line.split("gcloud", 1)[1].split()
    path: tuple[str, ...] = ()
    for word in words:
        if not _WORD.fullmatch(word):  # a flag, an ID, a placeholder, the end of the code span
            break
        path = (*path, word)
        if path in COMMANDS:
            return None
        if path not in GROUPS:
            return f"`gcloud {' '.join(path)}` is not a gcloud group or command"
    if not path or (path in GROUPS and len(words) == len(path)):
        return None  # a bare `gcloud`, or a group named on its own in prose
    return f"`gcloud {' '.join(path)}` names a group, not a command"


def _markdown_code(text: str) -> list[str]:
    code: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            code.append(line)
        else:
            code.extend(re.findall(r"`([^`]+)`", line))
    return code


def _python_strings(source: str) -> list[str]:
    # Each string literal, f-strings with their fields shown as `{…}` (never a command word).
    strings: list[str] = []
    tree = ast.parse(source)
    parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    for node in ast.walk(tree):
        if id(node) in parts:
            continue  # a piece of an f-string, read with it
        if isinstance(node, ast.JoinedStr):
            strings.append(
                "".join(
                    v.value if isinstance(v, ast.Constant) and isinstance(v.value, str) else "{…}" for v in node.values
                )
            )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            strings.append(node.value)
    return [line for s in strings for line in s.splitlines()]


def _command_lines() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for name in MARKDOWN:
        found += [(name, line) for line in _markdown_code((ROOT / name).read_text())]
    sources = [ROOT / "__main__.py"]
    sources += [path for directory in PYTHON_DIRS for path in sorted((ROOT / directory).rglob("*.py"))]
    for path in sources:
        found += [(str(path.relative_to(ROOT)), line) for line in _python_strings(path.read_text())]
    return [(where, line.strip()) for where, line in found if re.search(r"\bgcloud\s+[a-z]", line)]


COMMAND_LINES = _command_lines()


def test_the_docs_and_runbooks_show_gcloud_commands() -> None:
    # The scan finds what it should: the runbooks' and the set-up's commands.
    places = {where for where, _ in COMMAND_LINES}
    assert {"README.md", "docs/ci.md", "docs/operations.md", "components/monitoring/runbooks.py"} <= places
    assert any("gcloud tasks queues pause" in line for where, line in COMMAND_LINES if where.endswith(".py"))


def test_every_gcloud_command_shown_exists() -> None:
    wrong = [f"{where}: {line}\n  {p}" for where, line in COMMAND_LINES if (p := problem(line))]
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    "line",
    [
        "gcloud tasks list --queue=Q --location=L",
        "gcloud tasks queues pause QUEUE_ID --location=L --project=P",
        "gcloud tasks queues resume {…} --location=europe-west1",
        "gcloud run services update svc --max-instances=10 \\",
        "gcloud iam workload-identity-pools providers create-oidc task-worker \\",
        "gcloud pubsub subscriptions pull SUB --limit=10 --auto-ack",
        "gcloud logging read \\",
        "gcloud iam service-accounts create task-worker-deployer --project=P",
        "gcloud tasks queues",  # a group named in prose
    ],
)
def test_real_commands_pass(line: str) -> None:
    assert problem(line) is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("gcloud tasks tasks list --queue=Q --location=L", "`gcloud tasks tasks` is not a gcloud group or command"),
        ("gcloud tasks queue pause Q", "`gcloud tasks queue` is not a gcloud group or command"),
        ("gcloud run services rollback svc", "`gcloud run services rollback` is not a gcloud group or command"),
        ("gcloud tasks queues Q --location=L", "`gcloud tasks queues` names a group, not a command"),
        ("gcloud cloudtasks queues pause Q", "`gcloud cloudtasks` is not a gcloud group or command"),
    ],
)
def test_made_up_commands_are_named(line: str, message: str) -> None:
    assert problem(line) == message
