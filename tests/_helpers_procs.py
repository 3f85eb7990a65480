"""Helpers for tests that start their own Python processes."""

from __future__ import annotations

import os


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWYML_")}
    env.update(extra)
    return env
