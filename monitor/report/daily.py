"""Build the daily report, write it into the reports folder, and optionally email it.

The folder holds ``report-YYYY-MM-DD.html`` with a ``.json`` twin (the same figures for other
tools) and an ``index.html`` listing every report, newest first, with its worst verdict.
Files are written atomically (temp file + rename), so a reader never opens half a report and
a re-run for the same day simply replaces it.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts import DeliveryError, SmtpTarget, send_mail
from monitor.checks import compliance as bulk_rules
from monitor.checks.compliance import ComplianceSetup
from monitor.checks.zones import load_catalogue
from monitor.config import ReportConfig
from monitor.errors import MonitorError
from monitor.jobresult import JobResult
from monitor.output import open_output
from monitor.store.compliance import auth_states, compliance_facts
from monitor.store.content import held_campaigns, scan_counts
from monitor.store.db import session_scope
from monitor.store.feeds_repo import feed_days
from monitor.store.reporting import load_report_input
from reports.aggregate import build_daily
from reports.feeds import feed_rows
from reports.model import ComplianceRow, ContentHoldRow, ContentSection, DailyReport, Thresholds
from reports.providers import load_providers
from reports.render import render_daily, render_index, render_mail, report_json
from reports.verdicts import worst_level

__all__ = [
    "ComplianceSetup",
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
    factory: sessionmaker[Session],
    *,
    day: date,
    cfg: ReportConfig,
    timezone: str,
    now: datetime,
    compliance: ComplianceSetup | None = None,
    content: bool = False,
) -> DailyReport:
    """All figures for the local ``day`` (``monitor.store.reporting`` runs the SQL), with
    the bulk-sender requirements when ``compliance`` is given and the content check's
    section when ``content`` (``[relay.content]`` is configured)."""
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
    end = datetime.combine(day + timedelta(days=1), time(), ZoneInfo(timezone))
    if compliance is not None and compliance.plan.from_domains:
        inp = replace(inp, compliance=_compliance(factory, compliance, until=min(end, now)))
    if content:
        inp = replace(inp, content=_content(factory, since=end - timedelta(days=1), until=end))
    delist = {z.zone: z.delist_url for z in load_catalogue().values() if z.delist_url}
    report = build_daily(replace(inp, delist_urls=delist), thresholds_from(cfg))
    with session_scope(factory, "reading the reputation feeds") as session:
        days = feed_days(session, day)
    return replace(report, feeds=feed_rows(days, report)) if days else report


def _compliance(
    factory: sessionmaker[Session], setup: ComplianceSetup, *, until: datetime
) -> list[ComplianceRow]:
    """The requirements judged on the stored check states and facts, plus a live probe of
    the one-click endpoint (one POST, a few seconds at most)."""
    providers = load_providers()
    with session_scope(factory, "reading compliance facts") as session:
        states = auth_states(session)
        domains = bulk_rules.provider_domains(providers)
        since = until - timedelta(days=7)
        facts = compliance_facts(session, since=since, until=until, provider_domains=domains)
    probe = asyncio.run(bulk_rules.probe_one_click(setup.public_url, timeout=5.0))
    lines = bulk_rules.judge(
        bulk_rules.from_states(states),
        setup.plan,
        one_click=facts.one_click,
        tls=facts.tls,
        complaints=(facts.complaints, facts.delivered),
        probe=probe,
        deliveries=bulk_rules.by_provider(facts.delivery_tls, providers),
    )
    return [
        ComplianceRow(key=x.key, subject=x.subject, status=x.status, detail=x.detail, fix=x.fix)
        for x in lines
    ]


def _content(factory: sessionmaker[Session], *, since: datetime, until: datetime) -> ContentSection:
    with session_scope(factory, "reading content checks") as session:
        scans = scan_counts(session, since, until)
        holds = held_campaigns(session)
    return ContentSection(
        scans=scans,
        holds=[
            ContentHoldRow(
                campaign=h.campaign,
                held_since=f"{h.held_at:%Y-%m-%d %H:%M}Z" if h.held_at else "",
                held_recipients=h.held_recipients,
                findings=h.reason,
            )
            for h in holds
        ],
    )


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
    """Send the report: a short summary (text, and HTML with the health cards and the day's
    figures) with the full page attached once. The page itself is too big to read inline
    (Gmail clips past ~100 KB and strips its SVG charts)."""
    level = worst_level([v.level for v in report.verdicts])
    name = f"report-{report.day}.html"
    msg = EmailMessage()
    msg["Subject"] = f"Deliverability report {report.day}: {level.upper()}"
    msg.set_content(_summary_text(report))
    msg.add_alternative(render_mail(report, name), subtype="html")
    msg.add_attachment(html.encode("utf-8"), maintype="text", subtype="html", filename=name)
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
    compliance: ComplianceSetup | None = None,
    content: bool = False,
) -> JobResult:
    """The daemon's job: yesterday's report into ``cfg.output_dir``, mailed to ``mail``'s
    recipients when configured."""
    at = now()
    day = previous_local_day(at, timezone)
    report = build_report(factory, day=day, cfg=cfg, timezone=timezone, now=at,
                          compliance=compliance, content=content)  # fmt: skip
    html = render_daily(report)
    path = write_report(report, html, cfg.output_dir, keep=cfg.keep)
    if mail is None or not mail.recipients:
        return JobResult(f"wrote {path}", {"reports": 1, "mailed_to": 0})
    email_report(report, html, mail)
    n = len(mail.recipients)
    return JobResult(f"wrote {path}, mailed to {n}", {"reports": 1, "mailed_to": n})
