"""Blocklist and DNS-authentication sections: latest status, since when, and 30-day history.

The checks (``monitor/checks``) keep one state row per (subject, key) with the time the
current status began, and every run's result as history. Here the state becomes a table
(problems first) and the history a per-(subject, key) summary of the days it was bad.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from reports.model import BlocklistRow, CheckRow, HistoryInRow, HistoryRow, StateRow

__all__ = ["BAD", "blocklist_section", "check_section", "history_section", "stamp"]

#: Statuses that mean something is wrong (``error``/``unknown`` mean "not decided", not bad).
BAD = frozenset({"listed", "fail", "warn"})
_ORDER = {"listed": 0, "fail": 1, "warn": 2, "error": 3, "unknown": 4, "ok": 5}


def stamp(when: datetime) -> str:
    """A UTC time for tables: minutes are enough for a daily report."""
    return when.strftime("%Y-%m-%d %H:%M UTC")


def _rank(status: str) -> int:
    return _ORDER.get(status, 9)


def _web_link(url: str | None) -> str:
    """Only http(s) URLs become links (a catalogue entry added in config could hold anything)."""
    return url if url and url.lower().startswith(("https://", "http://")) else ""


def blocklist_section(
    states: Sequence[StateRow], delist_urls: Mapping[str, str] | None = None
) -> list[BlocklistRow]:
    """Every (target, zone) with its latest status; listings first, then undecided, then clean.
    Each row carries its list's removal page, so a listing says where to ask for delisting."""
    urls = delist_urls or {}
    rows = [
        BlocklistRow(
            subject=s,
            zone=k,
            status=st,
            since=stamp(since),
            detail=detail or "",
            delist_url=_web_link(urls.get(k)),
        )
        for s, k, st, since, _last, detail in states
    ]
    return sorted(rows, key=lambda r: (_rank(r.status), r.subject, r.zone))


def check_section(states: Sequence[StateRow]) -> list[CheckRow]:
    """The DNS-auth checks (SPF, DKIM, DMARC, PTR, MX, MTA-STS, TLS-RPT) as table rows."""
    rows = [
        CheckRow(
            subject=s,
            key=k,
            status=st,
            since=stamp(since),
            last_checked=stamp(last),
            detail=detail or "",
        )
        for s, k, st, since, last, detail in states
    ]
    return sorted(rows, key=lambda r: (_rank(r.status), r.key, r.subject))


def history_section(
    history: Iterable[HistoryInRow], states: Sequence[StateRow]
) -> list[HistoryRow]:
    """For each (subject, key) that was bad on some day of the window: how long and when."""
    current = {(s, k): st for s, k, st, _since, _last, _detail in states}
    bad_days: dict[tuple[str, str], set[str]] = {}
    for subject, key, day, status, _n in history:
        if status in BAD:
            bad_days.setdefault((subject, key), set()).add(day)
    rows = [
        HistoryRow(
            subject=subject,
            key=key,
            bad_days=len(days),
            first_bad=min(days),
            last_bad=max(days),
            current=current.get((subject, key), "unknown"),
        )
        for (subject, key), days in bad_days.items()
    ]
    return sorted(rows, key=lambda r: (-r.bad_days, r.subject, r.key))
