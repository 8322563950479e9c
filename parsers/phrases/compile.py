"""Compile a list of phrase regexes into one alternation."""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = ["alt"]


def alt(parts: Iterable[str]) -> re.Pattern[str]:
    """One compiled alternation of ``parts`` (each wrapped in a non-capturing group)."""
    return re.compile("|".join(f"(?:{p})" for p in parts))
