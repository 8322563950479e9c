"""Number formatting shared by the HTML template and the verdict texts."""

from __future__ import annotations

__all__ = ["NOT_AVAILABLE", "avg", "num", "pct"]

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


def avg(total: int | None, days: int) -> str:
    """A window's total as a daily average, to sit beside one day's count (``3000, 30`` ->
    ``"100"``; ``1, 30`` -> ``"0.03"``): whole numbers plain, others to two decimals."""
    if total is None or days <= 0:
        return NOT_AVAILABLE
    value = total / days
    if value == int(value):
        return num(int(value))
    return f"{value:,.2f}".replace(",", "\u2009")
