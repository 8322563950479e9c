"""Build the daily report, write it into the reports folder, and optionally email it.

The folder holds ``report-YYYY-MM-DD.html`` with a ``.json`` twin (the same figures for other
tools) and an ``index.html`` listing every report, newest first, with its worst verdict.
Files are written atomically (temp file + rename), so a reader never opens half a report and
a re-run for the same day simply replaces it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts import DeliveryError, SmtpTarget, send_mail
from monitor.config import ReportConfig
from monitor.errors import MonitorError
from monitor.output import open_output
from monitor.store.db import session_scope
from monitor.store.feeds_repo import feed_days
from monitor.store.reporting import load_report_input
from reports.aggregate import build_daily
from reports.feeds import feed_rows
from reports.model import DailyReport, Thresholds
from reports.providers import load_providers
from reports.render import render_daily, render_index, report_json
from reports.verdicts import worst_level

__all__ = [
    "ReportError",
    "build_report",
    "daily_report_job",
    "email_report",
    "thresholds_from",
    "write_report",
]

log = logging.getLogger(__name__)


class ReportError(MonitorError):
    """The report could not be written or sent."""


def thresholds_from(cfg: ReportConfig) -> Thresholds:
    return cfg.thresholds  # a ReportThresholds is a validated Thresholds


def build_report(
    factory: sessionmaker[Session], *, day: date, cfg: ReportConfig, timezone: str, now: datetime
) -> DailyReport:
    """All figures for the local ``day`` (``monitor.store.reporting`` runs the SQL)."""
    inp = load_report_input(
        factory,
        day=day,
        timezone=timezone,
        providers=load_providers(),
        now=now,
        days_before=cfg.trend_days,
        dmarc_days=cfg.dmarc_days,
        top_n=cfg.top_n,
    )
    report = build_daily(inp, thresholds_from(cfg))
    with session_scope(factory, "reading the reputation feeds") as session:
        days = feed_days(session, day)
    return replace(report, feeds=feed_rows(days, report)) if days else report


def _write_text(path: Path, text: str) -> None:
    with open_output(path) as out:
        out.write(text.encode("utf-8"))


def write_report(report: DailyReport, html: str, out_dir: Path, *, keep: int = 0) -> Path:
    """Write the day's HTML and JSON, prune beyond ``keep``, and rewrite ``index.html``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"report-{report.day}.html"
    _write_text(target, html)
    _write_text(target.with_suffix(".json"), report_json(report))
    if keep > 0:
        for stale in sorted(out_dir.glob("report-*.html"))[:-keep]:
            stale.unlink(missing_ok=True)
            stale.with_suffix(".json").unlink(missing_ok=True)
    _write_text(out_dir / "index.html", render_index(_index_entries(out_dir)))
    return target


def _index_entries(out_dir: Path) -> list[tuple[str, str, str]]:
    entries = []
    for page in sorted(out_dir.glob("report-*.html"), reverse=True):
        day = page.stem.removeprefix("report-")
        level = "unknown"
        try:
            data = json.loads(page.with_suffix(".json").read_text(encoding="utf-8"))
            level = worst_level([v["level"] for v in data.get("verdicts", [])])
        except (OSError, ValueError, KeyError, TypeError):
            log.warning("report %s has no readable JSON twin; listed without a verdict", page)
        entries.append((day, page.name, level))
    return entries


def _summary_text(report: DailyReport) -> str:
    lines = [f"Deliverability report for {report.day} ({report.timezone})", ""]
    for v in report.verdicts:
        lines.append(f"[{v.level.upper()}] {v.title}: {v.value}")
        lines.append(f"    what to do: {v.action}")
    lines += ["", "The full report is attached as HTML."]
    return "\n".join(lines) + "\n"


def email_report(report: DailyReport, html: str, target: SmtpTarget) -> None:
    """Send the report (text summary + the HTML, attached and as the HTML alternative)."""
    level = worst_level([v.level for v in report.verdicts])
    msg = EmailMessage()
    msg["Subject"] = f"Deliverability report {report.day}: {level.upper()}"
    msg.set_content(_summary_text(report))
    msg.add_alternative(html, subtype="html")
    msg.add_attachment(
        html.encode("utf-8"), maintype="text", subtype="html", filename=f"report-{report.day}.html"
    )
    try:
        send_mail(target, msg)
    except DeliveryError as exc:
        raise ReportError(
            f"could not email the report via {target.host}:{target.port}: {exc}"
        ) from exc


def previous_local_day(now: datetime, timezone: str) -> date:
    """The day a morning report covers: yesterday in the configured time zone."""
    return now.astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


def daily_report_job(
    *,
    factory: sessionmaker[Session],
    now: Callable[[], datetime],
    cfg: ReportConfig,
    timezone: str,
    mail: SmtpTarget | None = None,
) -> str:
    """The daemon's job: yesterday's report into ``cfg.output_dir``, mailed to ``mail``'s
    recipients when configured."""
    at = now()
    day = previous_local_day(at, timezone)
    report = build_report(factory, day=day, cfg=cfg, timezone=timezone, now=at)
    html = render_daily(report)
    path = write_report(report, html, cfg.output_dir, keep=cfg.keep)
    if mail is None or not mail.recipients:
        return f"wrote {path}"
    email_report(report, html, mail)
    return f"wrote {path}, mailed to {len(mail.recipients)}"
