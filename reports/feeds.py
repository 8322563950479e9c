"""The providers' own view beside ours in the daily report (issue 17, point 5).

Gmail sends no per-message complaints: Postmaster Tools' spam rate is the only Gmail
complaint figure a sender gets, so the report shows it beside our Gmail group's figures;
SNDS rows (per sending IP) stand beside our figures for that IP and the Microsoft group.
Input: the stored feed days (provider, subject, day, parsed record as a dict).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from reports.fmt import num, pct
from reports.model import DailyReport, FeedRow, Figures

__all__ = ["feed_rows"]


def _pct(fraction: Any) -> str:
    return pct(100.0 * fraction) if isinstance(fraction, int | float) else pct(None)


def _ours(fig: Figures | None, label: str) -> tuple[tuple[str, str], ...]:
    if fig is None:
        return ((label, "no mail sent"),)
    return (
        (f"{label}: delivered", num(fig.delivered)),
        (f"{label}: complaint rate", pct(fig.complaint_rate)),
        (f"{label}: bounce rate", pct(fig.bounce_rate)),
    )


def feed_rows(
    days: Sequence[tuple[str, str, date, dict[str, Any]]], report: DailyReport
) -> list[FeedRow]:
    """One row per stored feed day of the report's day, Postmaster Tools first."""
    groups = {f.key: f for f in report.by_provider}
    ips = {f.key: f for f in report.by_ip}
    rows = []
    theirs: tuple[tuple[str, str], ...]
    for provider, subject, _day, d in sorted(days, key=lambda x: (x[0] != "postmaster", x[1])):
        if provider == "postmaster":
            reps = ", ".join(f"{r} {n}" for r, n in d.get("ip_reputations") or []) or "-"
            theirs = (
                ("Spam rate (user reported)", _pct(d.get("spam_rate"))),
                ("Domain reputation", str(d.get("domain_reputation") or "not available")),
                ("IP reputation (IPs)", reps),
                ("SPF / DKIM / DMARC pass",
                 " / ".join(_pct(d.get(k)) for k in ("spf_rate", "dkim_rate", "dmarc_rate"))),
                ("TLS outbound / inbound",
                 f"{_pct(d.get('outbound_encryption_rate'))} / "
                 f"{_pct(d.get('inbound_encryption_rate'))}"),
            )  # fmt: skip
            ours = _ours(groups.get("gmail"), "Gmail")
            rows.append(FeedRow(provider="Google Postmaster Tools", subject=subject,
                                theirs=theirs, ours=ours))  # fmt: skip
        elif provider == "snds":
            theirs = (
                ("Filter result", str(d.get("filter_result") or "not available")),
                ("Complaint rate", str(d.get("complaint_rate_text") or "not available")),
                ("Recipients", num(d.get("recipients"))),
                ("Trap hits", num(d.get("trap_hits"))),
            )
            ours = _ours(ips.get(subject), "This IP") + _ours(groups.get("microsoft"), "Microsoft")
            rows.append(FeedRow(provider="Microsoft SNDS", subject=subject, theirs=theirs,
                                ours=ours))  # fmt: skip
    return rows
