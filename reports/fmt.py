"""Number formatting shared by the HTML template and the verdict texts."""

from __future__ import annotations

__all__ = ["NOT_AVAILABLE", "num", "pct"]

NOT_AVAILABLE = "not available"


def pct(value: float | None, digits: int = 2) -> str:
    """``0.1234`` -> ``"0.12 %"``; None -> "not available" (no volume known, never 0 %)."""
    if value is None:
        return NOT_AVAILABLE
    return f"{value:.{digits}f} %"


def num(value: int | None) -> str:
    """Thousands separated with a thin space: unambiguous in every locale."""
    if value is None:
        return NOT_AVAILABLE
    return f"{value:,}".replace(",", "\u2009")
