"""settings.py's limit checks at their edges, with exact messages (mutation run, docs/testing.md)."""

from __future__ import annotations
