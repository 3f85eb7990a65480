"""Helpers for tests that start their own Python processes."""

from __future__ import annotations


def _env(**extra: str) -> dict[str, str]:
    from tests.conftest import child_env

    return child_env(extra)
