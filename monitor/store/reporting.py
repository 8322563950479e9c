"""SQL for the daily report: every figure is counted in the database, never row by row here.

A report covers a local day and the 30 days before it. Ten million events over 90 days put
about 3.5 million events in that window, so every query groups in SQL (day x provider x kind,
never one row per event) and hands ``reports.aggregate`` a few thousand rows.

Two things need care to give the same numbers on SQLite and PostgreSQL:

- *Local days.* PostgreSQL converts with ``timezone(tz, ts)``. SQLite has no time zones, so
  the window is cut where the zone's UTC offset changes (at most twice a month) and each
  piece is shifted by its fixed offset (``date(ts, '+60 minutes')``): exact, and cheap.
- *Provider groups.* The consumer domains come from ``reports/data/providers.json``; other
  domains join a group when the MX host their mail went to (``events.remote_mta``) is that
  provider's (Google Workspace, Microsoft 365). The mapping becomes one ``CASE`` in SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, func, literal, or_, select
from sqlalchemy.orm import Session, sessionmaker

from monitor.enums import CheckCategory, EventKind, Trust
from monitor.store.db import session_scope
from monitor.store.events import MACHINE_REASON
from monitor.store.models import (
    AuthResult,
    BlocklistResult,
    CheckState,
    DmarcReport,
    DmarcRow,
    Event,
    SentMessage,
    Suppression,
)
from monitor.store.shaping_repo import backoffs_between, tls_outcomes, tlsrpt_by_domain
from reports.model import ReportInput
from reports.providers import OTHER, ProviderMap

__all__ = ["Window", "day_expr", "load_report_input", "local_window", "provider_expr"]

_T = TypeVar("_T")
MAX_MX_DOMAINS = 5_000  # bound the CASE lists (SQLite allows 32,766 parameters per query)
#: Days of deliveries and bounces read to learn each domain's MX host. A domain's MX rarely
#: changes and a week of sending reaches every domain mailed regularly; reading the whole
#: window would cost a table read per event (the remote MTA is in no index).
MX_DAYS = 7


class Window:
    """Local days ``first .. day`` as UTC instants: ``start`` (inclusive), ``end`` (exclusive)."""

    def __init__(self, day: date, days_before: int, tz: ZoneInfo) -> None:
        self.day = day
        self.tz = tz
        self.days = tuple(str(day - timedelta(days=i)) for i in range(days_before, -1, -1))
        self.start = _midnight(day - timedelta(days=days_before), tz)
        self.day_start = _midnight(day, tz)
        self.end = _midnight(day + timedelta(days=1), tz)


def _midnight(d: date, tz: tzinfo) -> datetime:
    return datetime.combine(d, time(0), tzinfo=tz).astimezone(UTC)


def local_window(day: date, days_before: int, tz: str) -> Window:
    return Window(day, days_before, ZoneInfo(tz))


def _offset_pieces(start: datetime, end: datetime, tz: ZoneInfo) -> list[tuple[datetime, int]]:
    """``(from_utc, offset_minutes)`` for each stretch of constant UTC offset in the range.

    Offsets change on quarter hours in every zone of the tz database, so sampling every 15
    minutes finds each change exactly.
    """
    step = timedelta(minutes=15)
    pieces: list[tuple[datetime, int]] = []
    t = start
    while t < end:
        offset = t.astimezone(tz).utcoffset()
        minutes = int(offset.total_seconds() // 60) if offset is not None else 0
        if not pieces or pieces[-1][1] != minutes:
            pieces.append((t, minutes))
        t += step
    return pieces or [(start, 0)]


def _sqlite_time(when: datetime) -> str:
    """A UTC instant in the text form ``UTCDateTime`` stores on SQLite (sorts as time)."""
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def day_expr(col: Any, dialect: str, window: Window) -> ColumnElement[Any]:
    """The local calendar day (``YYYY-MM-DD``) of a UTC timestamp (column or SQLite text)."""
    if dialect == "postgresql":
        return func.to_char(func.timezone(window.tz.key, col), "YYYY-MM-DD")
    pieces = _offset_pieces(window.start, window.end, window.tz)
    if len(pieces) == 1 and pieces[0][1] == 0:
        return func.substr(col, 1, 10)
    modifiers = [f"{m:+d} minutes" for _, m in pieces]
    if len(pieces) == 1:
        return func.date(col, modifiers[0])
    whens = [
        (col < literal(_sqlite_time(pieces[i + 1][0])), modifiers[i])
        for i in range(len(pieces) - 1)
    ]
    return func.date(col, case(*whens, else_=modifiers[-1]))


def _bucket(col: Any, dialect: str, window: Window) -> tuple[Any, Any]:
    """(inner bucket, how the outer query turns a bucket into the local day).

    SQLite spends most of a 3.5-million-row count on per-row expressions, so the inner query
    buckets by the UTC hour prefix of the stored text (a substring) and the outer query,
    with a few thousand rows left, converts hours to local days and domains to providers.
    Zones with half- or quarter-hour offsets bucket by minute instead, to stay exact.
    """
    if dialect == "postgresql":
        return day_expr(col, dialect, window), lambda b: b
    whole_hours = all(m % 60 == 0 for _, m in _offset_pieces(window.start, window.end, window.tz))
    width, pad = (13, ":00:00.000000") if whole_hours else (16, ":00.000000")
    return func.substr(col, 1, width), lambda b: day_expr(b + literal(pad), dialect, window)


def provider_expr(col: Any, table: dict[str, list[str]]) -> ColumnElement[Any]:
    """``CASE WHEN domain IN (...) THEN 'gmail' ... ELSE 'other' END``."""
    whens = [(col.in_(domains), literal(gid)) for gid, domains in table.items() if domains]
    return case(*whens, else_=literal(OTHER)) if whens else literal(OTHER)


E = Event.__table__.c
S = SentMessage.__table__.c
_HARD = case((E.hard.is_(True), True), else_=False)
#: Opens and clicks: a machine's (``reason = "machine"``, written by the web service) are
#: counted as ``machine-opened`` / ``machine-clicked``, apart from people's.
_TRACKED = (EventKind.OPENED, EventKind.CLICKED)
_KIND = case(
    (and_(E.kind == EventKind.OPENED, E.reason == MACHINE_REASON), literal("machine-opened")),
    (and_(E.kind == EventKind.CLICKED, E.reason == MACHINE_REASON), literal("machine-clicked")),
    else_=E.kind,
).label("kind")


def _rows(session: Session, stmt: Any) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in session.execute(stmt)]


def _mx_groups(session: Session, w: Window, providers: ProviderMap) -> dict[str, str]:
    """Domains outside the consumer lists whose MX host (seen in the last ``MX_DAYS`` days)
    belongs to a provider group."""
    known = [d for g in providers.groups for d in g.domains]
    since = max(w.start, w.day_start - timedelta(days=MX_DAYS - 1))
    stmt = (
        select(E.recipient_domain, E.remote_mta, func.count())
        .where(E.occurred_at >= since, E.occurred_at < w.end)
        .where(E.remote_mta.is_not(None), E.recipient_domain.is_not(None))
        .where(E.recipient_domain.not_in(known))
        .group_by(E.recipient_domain, E.remote_mta)
    )
    found = providers.classify((d, h, n) for d, h, n in session.execute(stmt))
    if len(found) > MAX_MX_DOMAINS:  # keep the CASE bounded; the rest count as "other"
        found = dict(sorted(found.items())[:MAX_MX_DOMAINS])
    return found


def _grouped(
    session: Session,
    w: Window,
    dialect: str,
    grp: dict[str, list[str]],
    cols: tuple[Any, Any],  # (UTC time column, recipient domain column)
    extra: Sequence[Any],
    where: Sequence[Any] = (),
) -> list[tuple[Any, ...]]:
    """``(day, provider, *extra, n)`` over the window, grouped in two steps (see ``_bucket``)."""
    at, domain = cols
    bucket, to_day = _bucket(at, dialect, w)
    inner = (
        select(bucket.label("b"), domain.label("dom"), *extra, func.count().label("n"))
        .where(at >= w.start, at < w.end, *where)
        .group_by(bucket, domain, *extra)
        .subquery()
    )
    day = to_day(inner.c.b)
    group = provider_expr(inner.c.dom, grp)
    rest = [inner.c[c.name] for c in extra]
    stmt = select(day, group, *rest, func.sum(inner.c.n)).group_by(day, group, *rest)
    return _rows(session, stmt)


def _event_trend(session: Session, w: Window, dialect: str, grp: Any) -> list[Any]:
    """Opens and clicks apart: telling machines' from people's needs ``reason``, which the
    covering index of the window does not hold, so only those rows are read from the table."""
    cols = (E.occurred_at, E.recipient_domain)
    rows = _grouped(
        session, w, dialect, grp, cols, [E.kind, E.hard, E.trust], [E.kind.not_in(_TRACKED)]
    )
    rows += _grouped(
        session, w, dialect, grp, cols, [_KIND, E.hard, E.trust], [E.kind.in_(_TRACKED)]
    )
    return [(str(d), g, str(k), h is True, str(t), int(n)) for d, g, k, h, t, n in rows]


def _sent_trend(session: Session, w: Window, dialect: str, grp: Any) -> list[Any]:
    rows = _grouped(session, w, dialect, grp, (S.sent_at, S.recipient_domain), [])
    return [(str(d), g, int(n)) for d, g, n in rows]


_DIMS = {"domain": (E.recipient_domain, S.recipient_domain), "ip": (E.source_ip, S.source_ip)}
_DIMS["campaign"] = (E.campaign, S.campaign)


def _day_dimensions(session: Session, w: Window) -> tuple[list[Any], list[Any]]:
    events: list[Any] = []
    sent: list[Any] = []
    for name, (ecol, scol) in _DIMS.items():
        stmt = (
            select(ecol, _KIND, _HARD, E.trust, func.count())
            .where(E.occurred_at >= w.day_start, E.occurred_at < w.end)
            .group_by(ecol, _KIND, _HARD, E.trust)
        )
        events += [
            (name, v, str(k), bool(h), str(t), int(n)) for v, k, h, t, n in _rows(session, stmt)
        ]
        stmt = (
            select(scol, func.count())
            .where(S.sent_at >= w.day_start, S.sent_at < w.end)
            .group_by(scol)
        )
        sent += [(name, v, int(n)) for v, n in _rows(session, stmt)]
    return events, sent


def _bounces(session: Session, w: Window) -> tuple[list[Any], list[Any]]:
    on_day = and_(E.occurred_at >= w.day_start, E.occurred_at < w.end, E.kind == EventKind.BOUNCED)
    reasons = select(E.reason, _HARD, E.trust, func.count()).where(on_day)
    reasons = reasons.group_by(E.reason, _HARD, E.trust)
    diags = select(E.diagnostic, E.reason, E.status, _HARD, E.trust, func.count()).where(on_day)
    diags = diags.group_by(E.diagnostic, E.reason, E.status, _HARD, E.trust)
    return (
        [(r, bool(h), str(t), int(n)) for r, h, t, n in _rows(session, reasons)],
        [(d, r, s, bool(h), str(t), int(n)) for d, r, s, h, t, n in _rows(session, diags)],
    )


def _window_counts(session: Session, w: Window) -> tuple[list[Any], int]:
    in_window = and_(E.occurred_at >= w.start, E.occurred_at < w.end)
    complaints = (
        select(E.campaign, func.count())
        .where(in_window, E.kind == EventKind.COMPLAINED, E.trust != Trust.UNVERIFIED)
        .group_by(E.campaign)
    )
    one_click = select(func.count()).where(
        in_window, E.kind == EventKind.UNSUBSCRIBED, E.source == "web"
    )
    return (
        [(c, int(n)) for c, n in _rows(session, complaints)],
        int(session.execute(one_click).scalar_one()),
    )


def _suppressions(
    session: Session, w: Window, dialect: str, now: datetime
) -> tuple[list[Any], list[Any]]:
    c = Suppression.__table__.c
    day = day_expr(c.created_at, dialect, w)
    growth = (
        select(day, c.reason, func.count())
        .where(c.created_at >= w.start, c.created_at < w.end)
        .group_by(day, c.reason)
    )
    active = or_(c.expires_at.is_(None), c.expires_at > now)
    totals = select(c.reason, func.count()).where(active).group_by(c.reason)
    return (
        [(str(d), str(r), int(n)) for d, r, n in _rows(session, growth)],
        [(str(r), int(n)) for r, n in _rows(session, totals)],
    )


def _checks(session: Session, w: Window, dialect: str) -> dict[str, list[Any]]:
    c = CheckState.__table__.c
    states: dict[str, list[Any]] = {}
    for cat in (CheckCategory.BLOCKLIST, CheckCategory.AUTH):
        stmt = select(c.subject, c.key, c.status, c.since, c.last_checked_at, c.detail)
        stmt = stmt.where(c.category == cat).order_by(c.subject, c.key)
        states[cat.value] = [
            (s, k, str(st), si, la, d) for s, k, st, si, la, d in _rows(session, stmt)
        ]
    b = BlocklistResult.__table__.c
    a = AuthResult.__table__.c
    for name, (subject, key, status, at) in {
        "blocklist_history": (b.target, b.zone, b.status, b.checked_at),
        "auth_history": (a.subject, a.check, a.status, a.checked_at),
    }.items():
        day = day_expr(at, dialect, w)
        stmt = (
            select(subject, key, day, status, func.count())
            .where(at >= w.start, at < w.end)
            .group_by(subject, key, day, status)
        )
        states[name] = [(s, k, str(d), str(st), int(n)) for s, k, d, st, n in _rows(session, stmt)]
    return states


def _dmarc(session: Session, w: Window, days: int) -> tuple[list[Any], list[Any], tuple[str, str]]:
    # Aggregate reports cover UTC days (RFC 7489 7.2: most reporters use 00:00-23:59 UTC), so
    # they are chosen by UTC day whatever the report's time zone.
    first = w.day - timedelta(days=days - 1)
    r = DmarcReport.__table__.c
    row = DmarcRow.__table__.c
    cond = and_(
        r.date_begin >= _midnight(first, UTC),
        r.date_begin < _midnight(w.day + timedelta(days=1), UTC),
    )
    rows = (
        select(
            row.source_ip,
            row.header_from,
            row.dkim_evaluated,
            row.spf_evaluated,
            func.sum(row.count),
        )
        .join_from(DmarcRow.__table__, DmarcReport.__table__, row.report_pk == r.id)
        .where(cond)
        .group_by(row.source_ip, row.header_from, row.dkim_evaluated, row.spf_evaluated)
    )
    reporters = (
        select(r.org_name, func.count(), func.coalesce(func.sum(r.total_messages), 0))
        .where(cond)
        .group_by(r.org_name)
    )
    return (
        [(ip, hf, dk, sp, int(n or 0)) for ip, hf, dk, sp, n in _rows(session, rows)],
        [(o, int(n), int(m)) for o, n, m in _rows(session, reporters)],
        (str(first), str(w.day)),
    )


def _read(factory: sessionmaker[Session], fn: Callable[..., _T], *args: Any) -> _T:
    with session_scope(factory, "reading report figures") as session:
        return fn(session, *args)


def _trends(
    factory: sessionmaker[Session],
    w: Window,
    dialect: str,
    providers: ProviderMap,
    groups: Future[dict[str, list[str]]],
) -> list[Any]:
    """Learn the MX groups, hand them over through ``groups``, then count the window's events."""
    try:
        table = providers.domain_table(_read(factory, _mx_groups, w, providers))
    except BaseException as exc:
        groups.set_exception(exc)
        raise
    groups.set_result(table)
    return _read(factory, _event_trend, w, dialect, table)


def load_report_input(
    factory: sessionmaker[Session],
    *,
    day: date,
    timezone: str,
    providers: ProviderMap,
    now: datetime,
    days_before: int = 30,
    dmarc_days: int = 7,
    top_n: int = 10,
) -> ReportInput:
    """Every pre-grouped row the report for ``day`` (local to ``timezone``) needs.

    The queries run on two connections at once: the 31-day event count (the one heavy
    query) on one, everything else on the other. Each reads its own snapshot; for a past day
    the only possible difference is an event ingested during those seconds, which the next
    run counts. With two cores the heavy count no longer waits for the rest.
    """
    with factory() as probe:
        dialect = probe.get_bind().dialect.name
    w = local_window(day, days_before, timezone)
    groups: Future[dict[str, list[str]]] = Future()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="report") as pool:
        heavy = pool.submit(_trends, factory, w, dialect, providers, groups)
        day_events, day_sent = _read(factory, _day_dimensions, w)
        reasons, diagnostics = _read(factory, _bounces, w)
        campaign_complaints, one_click = _read(factory, _window_counts, w)
        growth, totals = _read(factory, _suppressions, w, dialect, now)
        checks = _read(factory, _checks, w, dialect)
        dmarc_rows, reporters, dmarc_days_range = _read(factory, _dmarc, w, dmarc_days)
        sent_trend = _read(factory, _sent_trend, w, dialect, groups.result())
        backoffs = _read(factory, _relay_backoffs, w)
        relay_tls = _read(factory, tls_outcomes, day)
        tlsrpt = _read(factory, tlsrpt_by_domain, day)
        event_trend = heavy.result()
    own_ips = sorted({v for d, v, *_ in day_sent if d == "ip" and v} | _event_ips(day_events))
    return ReportInput(
        day=day,
        timezone=timezone,
        generated_at=now,
        days=w.days,
        event_trend=event_trend,
        sent_trend=sent_trend,
        day_events=day_events,
        day_sent=day_sent,
        reasons=reasons,
        diagnostics=diagnostics,
        campaign_complaints_window=campaign_complaints,
        suppression_growth=growth,
        suppression_totals=totals,
        blocklist_states=checks["blocklist"],
        blocklist_history=checks["blocklist_history"],
        auth_states=checks["auth"],
        auth_history=checks["auth_history"],
        dmarc_rows=dmarc_rows,
        dmarc_reporters=reporters,
        dmarc_days=dmarc_days_range,
        own_ips=tuple(own_ips),
        one_click_unsubscribes=one_click,
        top_n=top_n,
        relay_backoffs=backoffs,
        relay_tls=relay_tls,
        tlsrpt=tlsrpt,
    )


def _relay_backoffs(
    session: Session, w: Window
) -> list[tuple[str, str, datetime, datetime, datetime, float, str]]:
    """The relay's back-offs begun on the report's day (``monitor.store.shaping_repo``)."""
    return [
        (b.group, b.source_ip, b.started_at, b.suspended_until, b.ramp_until, b.factor, b.reply)
        for b in backoffs_between(session, w.day_start, w.end)
    ]


def _event_ips(day_events: Sequence[tuple[Any, ...]]) -> set[str]:
    """Source IPs of our own deliveries that day (the relay records them as local events)."""
    return {
        str(v)
        for d, v, kind, _h, trust, _n in day_events
        if d == "ip" and v and kind == EventKind.DELIVERED.value and trust != Trust.UNVERIFIED.value
    }
