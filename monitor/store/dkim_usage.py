"""Which DKIM selectors receivers still see signing: the evidence a key rotation waits for.

DMARC aggregate reports (RFC 7489 7.2) list, per row of messages, each DKIM signature's
domain and selector. After a rotation the old selector's record must stay published until
no mail signed with it is still being delivered or re-checked; the reports say when that is.
Rows are read for the period and summed here (the selector list is JSON, which SQLite and
PostgreSQL query differently; a week of aggregate rows is small).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.store.models import DmarcReport, DmarcRow

__all__ = ["SelectorUse", "selector_usage"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SelectorUse:
    messages: int
    last_seen: datetime | None  # end of the latest report period that listed it


def selector_usage(
    session: Session, domains: Iterable[str], since: datetime
) -> dict[tuple[str, str], SelectorUse]:
    """(domain, selector) -> messages reported signed with it in reports ending at or
    after ``since``, for signatures of ``domains`` (lower-cased)."""
    wanted = {d.lower().rstrip(".") for d in domains}
    rows = session.execute(
        select(DmarcRow.count, DmarcRow.dkim_results, DmarcReport.date_end)
        .join(DmarcReport, DmarcReport.id == DmarcRow.report_pk)
        .where(DmarcReport.date_end >= since)
    )
    totals: dict[tuple[str, str], tuple[int, datetime | None]] = {}
    for count, results, end in rows:
        for item in results or ():
            if not isinstance(item, list | tuple) or len(item) < 2:
                continue
            domain, selector = (str(item[0] or "").lower().rstrip("."), str(item[1] or ""))
            if domain not in wanted or not selector:
                continue
            messages, last = totals.get((domain, selector), (0, None))
            newest = end if last is None or (end is not None and end > last) else last
            totals[(domain, selector)] = (messages + int(count or 0), newest)
    return {k: SelectorUse(messages=m, last_seen=t) for k, (m, t) in totals.items()}
