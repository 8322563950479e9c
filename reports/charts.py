"""Inline SVG charts for the report, drawn with matplotlib's SVG backend.

Why matplotlib: it is the most widely maintained Python plotting library, its SVG backend
needs no browser, no network and no JavaScript (pygal's SVGs expect a script for tooltips),
and it draws hatches and markers, so a series is told apart by shape as well as by colour.
Text stays text (``svg.fonttype = none``): small, selectable and read by screen readers; the
page's own sans-serif font draws it. We use the object API (``Figure``), never ``pyplot``
and its global figure registry; the style is applied per figure with ``rc_context``, which is
process-wide, so charts are drawn by one report at a time (the daemon's report job runs with
``max_instances=1``).

Each SVG gets ``role="img"``, a ``<title>`` and a ``<desc>`` (what the chart shows, in
words), its fixed size removed so CSS scales it to the column, and its element ids prefixed
so several charts can live in one HTML document.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence
from typing import Any

import matplotlib as mpl
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure

__all__ = ["Series", "bar_chart", "line_chart"]

# Okabe-Ito: distinguishable with every common colour-vision deficiency.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
HATCHES = ("", "///", "...", "xx", "\\\\", "++", "--")
MARKERS = ("o", "s", "^", "D", "v", "P", "X")
LINESTYLES = ("-", "--", "-.", ":", "-", "--", "-.")

Series = tuple[str, Sequence[float | None]]

#: Drawn 360 units wide (5 in at 72 dpi) with text of 11.5 units: on a 375 px phone the chart
#: fills the column at about 1:1, so its labels stay above 11 px (issue 14.12); the page's CSS
#: caps the width on a desktop so they do not grow past ~19 px.
FIGSIZE = (5.0, 3.3)
FONT = 11.5
_RC: dict[Any, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "deliverwatch",
    "font.family": "sans-serif",
    "font.size": FONT,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}
_ID = re.compile(r'\bid="([^"]+)"')


def _svg(fig: Figure, key: str, title: str, desc: str) -> str:
    """Serialise ``fig`` as an accessible, scalable SVG fragment with ids unique to ``key``."""
    buf = io.StringIO()
    FigureCanvasSVG(fig).print_svg(buf, metadata={"Date": None, "Creator": None})  # type: ignore[no-untyped-call]
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    for old in set(_ID.findall(svg)):
        new = f"{key}-{old}"
        svg = svg.replace(f'id="{old}"', f'id="{new}"').replace(f"#{old})", f"#{new})")
        svg = svg.replace(f'href="#{old}"', f'href="#{new}"')
    svg = re.sub(r'\s(width|height)="[^"]*pt"', "", svg, count=2)
    head = (
        f'<svg role="img" aria-labelledby="{key}-title {key}-desc" class="chart"'
        f' preserveAspectRatio="xMidYMid meet"'
    )
    svg = svg.replace("<svg", head, 1)
    close = svg.index(">", svg.index("<svg")) + 1
    title_el = (
        f'<title id="{key}-title">{_esc(title)}</title><desc id="{key}-desc">{_esc(desc)}</desc>'
    )
    return svg[:close] + title_el + svg[close:]


def _esc(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _figure() -> Figure:
    return Figure(figsize=FIGSIZE, dpi=72, layout="constrained")


def _legend_columns(names: Sequence[str]) -> int:
    """As many legend columns as fit the figure's width (a column: marker, gap and label at
    about 0.62 em a character), so the legend never runs past the chart on a phone."""
    width = FIGSIZE[0] * 72
    column = max((len(n) for n in names), default=1) * FONT * 0.62 + 45
    return max(1, min(len(names), int(width // column)))


def _finish(ax: Any, days: Sequence[str], unit: str, names: Sequence[str]) -> None:
    """Ticks, label and legend; an empty chart says so instead of drawing a blank frame."""
    ticks, labels = _day_ticks(days)
    ax.set_xticks(ticks, labels)
    ax.set_ylabel(unit)
    if names:
        # above the plot area, never over the bars or lines
        ax.legend(
            loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=FONT, ncols=_legend_columns(names),
            frameon=False, borderaxespad=0.2,
        )  # fmt: skip
    else:
        ax.text(0.5, 0.5, "nothing recorded in this period", transform=ax.transAxes,
                ha="center", va="center", color="#555555")  # fmt: skip


def _day_ticks(days: Sequence[str]) -> tuple[list[int], list[str]]:
    step = max(1, len(days) // 5)  # five labels fit the phone-sized width
    idx = list(range(len(days) - 1, -1, -step))[::-1]
    return idx, [days[i][5:] for i in idx]


def line_chart(
    key: str,
    title: str,
    desc: str,
    days: Sequence[str],
    series: Sequence[Series],
    *,
    unit: str = "%",
    limits: Sequence[tuple[float, str]] = (),
) -> str:
    """One line per series; missing values (no volume) leave a gap instead of a zero."""
    with mpl.rc_context(_RC):
        fig = _figure()
        ax = fig.add_subplot()
        x = list(range(len(days)))
        for i, (name, values) in enumerate(series):
            y = [math.nan if v is None else v for v in values]
            ax.plot(
                x, y, label=name, color=PALETTE[i % 7], marker=MARKERS[i % 7], markersize=4,
                linestyle=LINESTYLES[i % 7], linewidth=1.5,
            )  # fmt: skip
        for value, label in limits:
            ax.axhline(value, color="#B00020", linestyle=":", linewidth=1)
            ax.annotate(label, (0, value), xytext=(2, 2), textcoords="offset points", fontsize=FONT)
        ax.set_ylim(bottom=0)
        _finish(ax, days, unit, [name for name, _ in series])
        return _svg(fig, key, title, desc)


def bar_chart(
    key: str, title: str, desc: str, days: Sequence[str], series: Sequence[Series], *, unit: str
) -> str:
    """Stacked bars per day; each series has its own colour *and* hatch pattern."""
    with mpl.rc_context(_RC):
        fig = _figure()
        ax = fig.add_subplot()
        x = list(range(len(days)))
        bottom = [0.0] * len(days)
        for i, (name, values) in enumerate(series):
            y = [v or 0.0 for v in values]
            ax.bar(
                x, y, bottom=bottom, label=name, color=PALETTE[i % 7], hatch=HATCHES[i % 7],
                edgecolor="white", linewidth=0.5,
            )  # fmt: skip
            bottom = [b + v for b, v in zip(bottom, y, strict=True)]
        _finish(ax, days, unit, [name for name, _ in series])
        return _svg(fig, key, title, desc)
