"""What commands print for people: values from mail, files or DNS made visible, not obeyed.

Every table cell and interpolated value of a human-readable output goes through ``cell``
or ``text`` (issue 11: a diagnostic carrying ``ESC ] 0 ;`` retitled the terminal from
``parse --format table``). ``cell`` also keeps rich from reading ``[link=...]`` in a value
as markup. The rules live in ``reports.visible``, shared with the HTML report; JSON Lines,
CSV and Parquet outputs keep the exact data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reports.visible import terminal_text

if TYPE_CHECKING:
    from rich.text import Text

__all__ = ["cell", "text"]


def text(value: object) -> str:
    """``value`` for a line of terminal output (``None`` -> empty)."""
    return terminal_text(value)


def cell(value: object, limit: int | None = None) -> Text:
    """``value`` as a rich table cell: controls marked, no markup, cut to ``limit`` chars
    (before marking, so a mark is never cut in half)."""
    from rich.text import Text

    raw = "" if value is None else str(value)
    return Text(terminal_text(raw[:limit] if limit is not None else raw))
