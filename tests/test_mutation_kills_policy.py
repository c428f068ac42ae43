"""Exact-expectation tests that kill mutmut survivors in policy (docs/testing.md)."""
