"""``deliverwatch demo``: a throw-away database with a generated month, and its report.

A newcomer should see a full report before wiring up a relay or a mailbox: sending,
deliveries, bounces, complaints, unsubscribes, a blocklist listing, DNS-auth results and DMARC
aggregate data, all generated (``monitor.report.demodata``) into a fresh SQLite database under a
temporary folder, then reported exactly as the daemon would report real data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Engine

from monitor.enums import CheckCategory, CheckStatus
from monitor.report.demodata import (
    BLOCKED_IP,
    EVENT_COLUMNS,
    IPS,
    SENT_COLUMNS,
    SUPPRESSION_COLUMNS,
    DemoPlan,
    generate,
)
from monitor.store.bulkload import bulk_insert, fix_sequences
from monitor.store.db import make_session_factory, session_scope
from monitor.store.models import (
    AuthResult,
    BlocklistResult,
    CheckState,
    DmarcReport,
    DmarcRow,
)

__all__ = ["seed_database"]

_COLUMNS = {
    "sent_messages": SENT_COLUMNS,
    "events": EVENT_COLUMNS,
    "suppressions": SUPPRESSION_COLUMNS,
}
_ZONES = ("zen.spamhaus.org", "b.barracudacentral.org", "bl.spamcop.net", "psbl.surriel.com")
DOMAIN = "news.example"


def seed_database(
    engine: Engine, plan: DemoPlan, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Generate ``plan`` into an empty, migrated database; return rows per table.

    The generator yields the three big tables interleaved (a suppression refers to the event
    before it); they are split into per-table batches of one generated day each so every
    ``bulk_insert`` gets a single table's rows and memory stays at one day.
    """
    counts = dict.fromkeys(_COLUMNS, 0)
    pending: dict[str, list[tuple[object, ...]]] = {t: [] for t in _COLUMNS}
    batch = max(50_000, plan.sends_per_day * 2)

    def flush() -> None:
        for table in ("sent_messages", "events", "suppressions"):  # foreign keys: this order
            rows = pending[table]
            if rows:
                counts[table] += bulk_insert(engine, table, _COLUMNS[table], rows)
                rows.clear()
        if progress is not None:
            progress("events", counts["events"])

    size = 0
    for table, row in generate(plan):
        pending[table].append(row)
        size += 1
        if size >= batch:
            flush()
            size = 0
    flush()
    fix_sequences(engine, list(_COLUMNS))
    counts.update(_seed_checks(engine, plan))
    counts["dmarc_reports"] = _seed_dmarc(engine, plan)
    return counts


def _at(day: date, hour: int = 6) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def _seed_checks(engine: Engine, plan: DemoPlan) -> dict[str, int]:
    """A daily blocklist and DNS-auth history: one IP listed for the last three days."""
    listed_since = plan.last_day - timedelta(days=2)
    blocklist, auth = [], []
    for offset in range(plan.days):
        day = plan.first_day + timedelta(days=offset)
        for ip in IPS:
            for zone in _ZONES:
                bad = ip == BLOCKED_IP and zone == _ZONES[1] and day >= listed_since
                blocklist.append(
                    BlocklistResult(
                        target=ip,
                        target_type="ip4",
                        zone=zone,
                        checked_at=_at(day),
                        status=CheckStatus.LISTED if bad else CheckStatus.OK,
                        codes=["127.0.0.2"] if bad else None,
                        txt="Client host blocked using Barracuda Reputation" if bad else None,
                    )
                )
        for check, subject, status in _auth_plan():
            auth.append(
                AuthResult(check=check, subject=subject, status=status, checked_at=_at(day))
            )
    states = [
        CheckState(
            category=CheckCategory.BLOCKLIST,
            subject=r.target,
            key=r.zone,
            status=r.status,
            since=_at(listed_since) if r.status is CheckStatus.LISTED else _at(plan.first_day),
            last_checked_at=r.checked_at,
            detail=r.txt,
        )
        for r in blocklist[-len(IPS) * len(_ZONES) :]
    ]
    states += [
        CheckState(
            category=CheckCategory.AUTH,
            subject=subject,
            key=check,
            status=status,
            since=_at(plan.first_day),
            last_checked_at=_at(plan.last_day),
            detail=detail,
        )
        for (check, subject, status), detail in zip(_auth_plan(), _AUTH_DETAIL, strict=True)
    ]
    with session_scope(make_session_factory(engine), "seeding demo checks") as session:
        session.add_all([*blocklist, *auth, *states])
    return {
        "blocklist_results": len(blocklist),
        "auth_results": len(auth),
        "check_states": len(states),
    }


def _auth_plan() -> list[tuple[str, str, CheckStatus]]:
    return [
        ("spf", DOMAIN, CheckStatus.OK),
        ("dkim", f"s2024._domainkey.{DOMAIN}", CheckStatus.WARN),
        ("dmarc", DOMAIN, CheckStatus.WARN),
        ("ptr", IPS[0], CheckStatus.OK),
        ("ptr", IPS[1], CheckStatus.OK),
        ("ptr", IPS[2], CheckStatus.FAIL),
        ("mx", DOMAIN, CheckStatus.OK),
        ("mta-sts", DOMAIN, CheckStatus.OK),
        ("tls-rpt", DOMAIN, CheckStatus.OK),
    ]


_AUTH_DETAIL = [
    "v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.7 -all (4 DNS lookups)",
    "RSA key of 1024 bits: publish a 2048-bit key",
    "p=none: monitoring only; move to p=quarantine",
    "mail10.news.example -> 192.0.2.10",
    "mail11.news.example -> 192.0.2.11",
    "no PTR record for 198.51.100.7",
    "2 MX hosts",
    "policy mode enforce, max_age 604800",
    "rua=mailto:tls@news.example",
]


def _seed_dmarc(engine: Engine, plan: DemoPlan) -> int:
    """Daily aggregate reports from three reporters: our IPs pass, a forwarder breaks SPF,
    a spoofer fails both."""
    reporters = ("google.com", "Yahoo", "Enterprise Outlook")
    reports: list[tuple[DmarcReport, list[DmarcRow]]] = []
    for offset in range(plan.days):
        day = plan.first_day + timedelta(days=offset)
        for i, org in enumerate(reporters):
            rows = [
                DmarcRow(
                    source_ip=ip,
                    count=400 + 50 * i,
                    header_from=DOMAIN,
                    dkim_evaluated="pass",
                    spf_evaluated="pass",
                    disposition="none",
                )
                for ip in IPS
            ]
            rows.append(
                DmarcRow(
                    source_ip="203.0.113.25",
                    count=30,
                    header_from=DOMAIN,
                    dkim_evaluated="pass",
                    spf_evaluated="fail",
                    disposition="none",
                )
            )
            rows.append(
                DmarcRow(
                    source_ip="203.0.113.66",
                    count=12 + offset % 5,
                    header_from=DOMAIN,
                    dkim_evaluated="fail",
                    spf_evaluated="fail",
                    disposition="none",
                )
            )
            report = DmarcReport(
                org_name=org,
                report_id=f"{day:%Y%m%d}.{i}",
                policy_domain=DOMAIN,
                date_begin=_at(day, 0),
                date_end=_at(day, 0) + timedelta(seconds=86_399),
                policy_p="none",
                n_records=len(rows),
                total_messages=sum(r.count for r in rows),
                received_at=_at(day + timedelta(days=1)),
            )
            reports.append((report, rows))
    with session_scope(make_session_factory(engine), "seeding demo DMARC reports") as session:
        for report, rows in reports:
            session.add(report)
            session.flush()
            for row in rows:
                row.report_pk = report.id
            session.add_all(rows)
    return len(reports)
