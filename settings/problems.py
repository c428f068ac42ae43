"""A problem in the stack config, by key; every problem at once."""

from collections.abc import Iterable
from typing import NamedTuple


class Problem(NamedTuple):
    key: str
    value: str
    allowed: str

    def __str__(self) -> str:
        return f"{self.key}: {self.value} is not allowed; {self.allowed}"


class SettingsError(Exception):
    """Every problem found in the stack config, at once."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"invalid stack config ({len(self.problems)} problem(s)):\n{lines}")
