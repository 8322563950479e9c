"""Pure parsers: bytes in, typed records out. No network, disk, database or clock.

``parse_message`` (in ``parsers.dispatch``) is the one entry point for anything that
arrives in a bounce, feedback or report mailbox; ``from parsers import parse_message``
gives it, as do ``Report`` and ``ParseError``.

This file imports nothing at start-up: Python runs a package's ``__init__`` before any of
its submodules, and ``parsers.dispatch`` pulls in every parser (feedback, the bounce
families, the phrase tables, classify), about 160 ms. Commands that only read a list of
addresses (``suppression check`` imports ``parsers.listfile``) paid that on every run
(issue 14 point 9); the three names are now loaded on first use (PEP 562), and
``tests/monitor/cli/test_startup.py`` fails if such a command imports the parsers again.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from parsers.dispatch import parse_message
    from parsers.errors import ParseError
    from parsers.records import Report

__all__ = ["ParseError", "Report", "parse_message"]

#: Where each public name lives, imported when first asked for.
_HOMES = {
    "ParseError": "parsers.errors",
    "Report": "parsers.records",
    "parse_message": "parsers.dispatch",
}


def __getattr__(name: str) -> object:
    """Import the module a public name lives in on first use (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
