"""Render a ``DailyReport`` as one self-contained HTML file (and as JSON for other tools).

Jinja2 with autoescape on for every template: diagnostics, campaign names, DMARC org names
and header-from domains all come from mail that anyone can send us, so every value is
escaped, and bidirectional control characters (U+202E and friends, which can make
``exe.pdf`` read as ``fdp.exe``) are shown as visible ``[U+202E]`` marks inside ``<bdi>``.
Only the chart SVGs, which we generate, are inserted as markup.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from reports.charts import bar_chart, line_chart
from reports.fmt import NOT_AVAILABLE, avg, num, pct
from reports.model import DailyReport
from reports.visible import visible_text

__all__ = ["render_daily", "render_index", "render_mail", "report_json", "visible_text"]

LEVEL_MARK = {"critical": "\u2716 CRITICAL", "warning": "\u26a0 WARNING", "ok": "\u2714 OK"}
LEVEL_MARK["unknown"] = "? UNKNOWN"


def _untrusted(value: object) -> Markup:
    """Escape and isolate a value that came from an email."""
    return Markup("<bdi>%s</bdi>") % escape(visible_text(value))


def _env() -> Environment:
    env = Environment(
        loader=PackageLoader("reports", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=pct, num=num, avg=avg, untrusted=_untrusted)
    env.globals.update(LEVEL_MARK=LEVEL_MARK, NOT_AVAILABLE=NOT_AVAILABLE)
    return env


def _group_series(report: DailyReport, attr: str) -> list[tuple[str, list[float | None]]]:
    out = []
    for gid, label in report.groups.items():
        points = [p for p in report.trend if p.group == gid]
        values = [getattr(p, attr) for p in points]
        if any(v not in (None, 0) for v in values):
            out.append((label, values))
    return out


def _charts(report: DailyReport) -> dict[str, Markup]:
    days = report.days
    n = len(days)
    span = f"{days[0]} to {days[-1]}"
    volume_attr = "sent" if any(p.sent for p in report.trend) else "delivered"
    charts: dict[str, str] = {
        "volume": bar_chart(
            "chart-volume", f"Messages {volume_attr} per day by provider group",
            f"Stacked bars, one per day from {span}; the provider table below gives the "
            "figures for the report day.", days, _group_series(report, volume_attr),
            unit="messages",
        ),
        "bounce": line_chart(
            "chart-bounce", "Bounce rate per day by provider group",
            f"Bounces as a percentage of messages sent, {n} days from {span}; gaps are days "
            "with no recorded sending.", days, _group_series(report, "bounce_rate"),
        ),
        "complaint": line_chart(
            "chart-complaint", "Complaint rate per day by provider group",
            f"Complaints as a percentage of delivered messages, {span}; dotted lines mark the "
            f"warning ({pct(report.thresholds.complaint_warn)}) and critical "
            f"({pct(report.thresholds.complaint_critical)}) limits.",
            days, _group_series(report, "complaint_rate"),
            limits=[
                (report.thresholds.complaint_warn, "warning"),
                (report.thresholds.complaint_critical, "critical"),
            ],
        ),
    }  # fmt: skip
    growth = report.suppressions
    if any(any(v) for v in growth.counts.values()):
        charts["suppressions"] = bar_chart(
            "chart-suppressions", "New suppression-list entries per day by reason",
            f"Stacked bars of entries added each day from {span}, by reason.",
            days, [(r, [float(v) for v in growth.counts[r]]) for r in growth.reasons],
            unit="entries",
        )  # fmt: skip
    return {k: Markup(v) for k, v in charts.items()}  # noqa: S704 - SVG we generated


def render_daily(report: DailyReport) -> str:
    """The report as one HTML document: inline CSS and SVG, no script, no external request."""
    template = _env().get_template("daily.html.j2")
    return template.render(r=report, charts=_charts(report))


def render_mail(report: DailyReport, attachment: str) -> str:
    """The mail's HTML body: the health cards and the day's figures only. Gmail clips a mail
    past about 100 KB and strips SVG, so the full page (charts, tables) goes as the
    attachment named ``attachment``, never inline."""
    template = _env().get_template("mail.html.j2")
    return template.render(r=report, attachment=attachment)


def render_index(entries: list[tuple[str, str, str]]) -> str:
    """The folder's ``index.html``: ``(day, file name, worst verdict level)``, newest first."""
    template = _env().get_template("index.html.j2")
    return template.render(entries=entries)


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def report_json(report: DailyReport) -> str:
    """The same figures as JSON (rates in percent; ``null`` where not available)."""
    return json.dumps(_plain(report), ensure_ascii=False, indent=2, sort_keys=False) + "\n"
