"""``deliverwatch status``: how the service is, on one screen, with a Nagios exit status.

Everything comes from the database (job runs, cursors, the queue, check states, events), so
the command answers the same on any machine that reaches it, whether or not the daemon runs
there. The exit status is the worst finding: 0 healthy, 1 warning, 2 critical. Findings
are the alert rules' (``monitor.alerts.rules``, over their sliding window) plus current
blocklist listings (critical) and failing DNS authentication checks (warning).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from sqlalchemy import exists, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts.model import AlertKind, Severity
from monitor.alerts.rules import Finding, RuleLimits, findings
from monitor.enums import CheckCategory, CheckStatus
from monitor.store import ops
from monitor.store.db import session_scope
from monitor.store.models import RelayMessage
from monitor.store.queue import queue_summary
from reports.providers import load_providers

__all__ = ["EXIT", "Status", "gather"]

EXIT = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


@dataclass
class Status:
    generated_at: datetime
    jobs: list[dict[str, Any]] = field(default_factory=list)
    mailboxes: list[dict[str, Any]] = field(default_factory=list)
    queue: dict[str, Any] | None = None
    listings: list[dict[str, str]] = field(default_factory=list)
    auth: list[dict[str, str]] = field(default_factory=list)
    rates_today: list[dict[str, Any]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    @property
    def worst(self) -> Severity:
        levels = [f.severity for f in self.findings]
        return max(levels, key=list(Severity).index) if levels else Severity.INFO

    @property
    def exit_code(self) -> int:
        return EXIT[self.worst]

    def as_json(self) -> dict[str, Any]:
        return {
            "generated_at": _iso(self.generated_at),
            "state": {0: "ok", 1: "warning", 2: "critical"}[self.exit_code],
            "exit_code": self.exit_code,
            "jobs": self.jobs,
            "mailboxes": self.mailboxes,
            "queue": self.queue,
            "listings": self.listings,
            "auth": self.auth,
            "rates_today": self.rates_today,
            "findings": [
                {"rule": f.rule.value, "scope": f.scope, "severity": f.severity.value,
                 "value": f.value, "summary": f.summary}
                for f in self.findings
            ],
        }  # fmt: skip


def _iso(when: datetime | None) -> str | None:
    return when.isoformat() if when is not None else None


def gather(
    factory: sessionmaker[Session],
    *,
    now: datetime,
    limits: RuleLimits,
    timezone: str = "UTC",
    triggers: dict[str, BaseTrigger] | None = None,
) -> Status:
    """The whole status from one read transaction; ``triggers`` (the configured jobs) give
    each job's next run."""
    status = Status(generated_at=now)
    with session_scope(factory, "reading the status") as session:
        jobs = ops.job_states(session)
        status.jobs = _jobs(jobs, triggers or {}, now)
        for name, (lag, failures) in ops.mailbox_lag(
            ops.mailbox_states(session), jobs, now=now
        ).items():
            st = jobs.get(f"poll-{name}")
            error = st.error if st and failures else None
            status.mailboxes.append({"mailbox": name, "lag_seconds": lag,
                                     "failures_in_row": failures, "last_error": error})  # fmt: skip
        seen = {m["mailbox"] for m in status.mailboxes}
        for job in sorted(triggers or {}):  # configured, never polled yet
            name = job.removeprefix("poll-")
            if job.startswith("poll-") and name not in seen:
                status.mailboxes.append({"mailbox": name, "lag_seconds": None,
                                         "failures_in_row": 0, "last_error": None})  # fmt: skip
        status.queue = _queue(session, now)
        status.listings, status.auth = _checks(session)
        status.rates_today = _rates_today(session, now, timezone, limits)
        status.findings = findings(session, limits, now=now)
    status.findings += [
        Finding(rule=AlertKind.NEWLY_LISTED, scope=f"{x['target']} {x['zone']}",
                severity=Severity.CRITICAL, value="listed",
                summary=f"{x['target']} is listed on {x['zone']}")
        for x in status.listings
    ] + [
        Finding(rule=AlertKind.CHECK_NOW_FAILING, scope=f"{x['check']} {x['subject']}",
                severity=Severity.WARNING, value=x["status"],
                summary=f"{x['check']} {x['subject']}: {x['status']} {x['detail']}".strip())
        for x in status.auth
        if x["status"] == CheckStatus.FAIL.value
    ]  # fmt: skip
    return status


def _jobs(
    jobs: dict[str, ops.JobState], triggers: dict[str, BaseTrigger], now: datetime
) -> list[dict[str, Any]]:
    out = []
    for name in sorted({*jobs, *triggers}):
        st = jobs.get(name)
        trigger = triggers.get(name)
        nxt = None
        if trigger is not None:
            nxt = trigger.get_next_fire_time(st.started_at if st else None, now)
            if nxt is not None and nxt < now:  # overdue or a missed run: the next from now
                nxt = trigger.get_next_fire_time(None, now)
        out.append({
            "job": name,
            "started_at": _iso(st.started_at) if st else None,
            "finished_at": _iso(st.finished_at) if st else None,
            "outcome": st.outcome if st else "never run",
            "summary": st.summary if st else None,
            "counts": st.counts if st else None,
            "error": st.error if st else None,
            "failures_in_row": st.failures_in_row if st else 0,
            "next_run": _iso(nxt),
        })  # fmt: skip
    return out


def _queue(session: Session, now: datetime) -> dict[str, Any] | None:
    """The relay's queue, when the relay has ever queued anything here."""
    if not session.scalar(select(exists().where(RelayMessage.id.is_not(None)))):
        return None
    summary = queue_summary(session)
    return {
        "pending": summary.pending,
        "by_state": dict(sorted(summary.by_state.items())),
        "oldest": _iso(summary.oldest),
        "oldest_age_seconds": (now - summary.oldest).total_seconds() if summary.oldest else None,
    }


def _checks(session: Session) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    listings = [
        {"target": s, "zone": k, "detail": d}
        for s, k, st, d in ops.check_states(session, CheckCategory.BLOCKLIST)
        if st == CheckStatus.LISTED.value
    ]
    auth = [
        {"check": k, "subject": s, "status": st, "detail": d}
        for s, k, st, d in ops.check_states(session, CheckCategory.AUTH)
    ]
    return listings, auth


def rate(numerator: int, denominator: int) -> float | None:
    """A percentage, or None when nothing was sent (never a made-up 0 %)."""
    return 100.0 * numerator / denominator if denominator else None


def _rates_today(
    session: Session, now: datetime, timezone: str, limits: RuleLimits
) -> list[dict[str, Any]]:
    """Since local midnight, per provider group (percentages of sent; None: nothing sent)."""
    local = now.astimezone(ZoneInfo(timezone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    since = midnight.astimezone(now.tzinfo) if now.tzinfo else midnight
    figures = ops.group_figures(session, load_providers(), since=since,
                                until=now + timedelta(microseconds=1))  # fmt: skip
    return [
        {
            "provider_group": g.group,
            "sent": g.sent,
            "delivered": g.delivered,
            "complaint_rate": rate(g.complaints, g.sent),
            "hard_bounce_rate": rate(g.hard_bounces, g.sent),
            "sender_rejection_rate": rate(g.sender_rejections, g.sent),
            "deferral_rate": rate(g.deferrals, g.sent),
            "judged": g.sent >= limits.thresholds.min_volume,
        }
        for g in sorted(figures.values(), key=lambda g: -g.sent)
    ]
