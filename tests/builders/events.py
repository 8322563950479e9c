"""A month of sending with known numbers, for the report tests (hand-computed in the tests).

Report day: 2026-03-31 in Europe/Berlin; the window starts 2026-03-01 and crosses the switch to
summer time (2026-03-29 02:00 CET), so a figure lands on the right *local* day only if the
day bucketing honours the zone. Written through SQLAlchemy (not the demo's bulk loader), so
the report is checked against data that took the application's own path into the store.

On the report day (local):

==================  ====  =========  ==========================  =========  ========  =====
domain (group)      sent  delivered  bounces                     complaint  unsub     other
==================  ====  =========  ==========================  =========  ========  =====
gmail.com (Gmail)   1000  980        10 hard userunknown,        2          3 (web)   300 opens,
                                     10 soft mailboxfull                              40 clicks,
                                                                                      5 deferred
company.example     100   100        -                           1          -
(Gmail by MX)
outlook.com (MS)    500   470        30 soft blocked (sender)    -          -
yahoo.com (Yahoo)   200   190        10 hard userunknown         1          -
other.example       200   200        -                           -          -         4 auto-replies
==================  ====  =========  ==========================  =========  ========  =====

plus 7 unverified bounces and 2 unverified complaints (hostile text), and one delivery at
2026-04-01 00:30 local that must not count. Each of the 30 days before: gmail.com 100 sent,
99 delivered, 1 soft bounce; one complaint at 2026-03-29 00:30 local (23:30 UTC the day before).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import count
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from monitor.enums import CheckCategory, CheckStatus, ListScope, SuppressionReason
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

TZ = "Europe/Berlin"
DAY = date(2026, 3, 31)
FIRST = date(2026, 3, 1)
HOSTILE_SCRIPT = "<script>alert(1)</script>"
HOSTILE_ATTR = '"><img src=x onerror=alert(1)>'
RTL = "\u202e"
HOSTILE_CAMPAIGN = f"spring{HOSTILE_ATTR}"
HOSTILE_ORG = f"Reporter{HOSTILE_ATTR}"
HOSTILE_FROM = f"evil{RTL}gnp.example"
_ZONE = ZoneInfo(TZ)


def local(d: date, hour: int, minute: int = 0) -> datetime:
    return datetime(d.year, d.month, d.day, hour, minute, tzinfo=_ZONE).astimezone(UTC)


class _Rows:
    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.ids = count(1)
        self.keys = count(1)

    def send(self, d: date, domain: str, campaign: str, ip: str, n: int) -> list[int]:
        ids = []
        for _ in range(n):
            i = next(self.ids)
            at = local(d, 9)
            self.sent.append(
                {
                    "id": i,
                    "recipient": f"r{i}@{domain}",
                    "recipient_domain": domain,
                    "campaign": campaign,
                    "source_ip": ip,
                    "state": "delivered",
                    "sent_at": at,
                    "created_at": at,
                    "updated_at": at,
                }
            )
            ids.append(i)
        return ids

    def event(self, kind: str, at: datetime, domain: str, n: int = 1, **kw: Any) -> None:
        for _ in range(n):
            k = next(self.keys)
            row = {
                "kind": kind,
                "address": f"e{k}@{domain}",
                "recipient_domain": domain,
                "occurred_at": at,
                "ingested_at": at,
                "dedupe_key": f"t:{k}",
                "trust": "local",
                "source": "relay",
                "hard": None,
                "reason": None,
                "diagnostic": None,
                "campaign": None,
                "source_ip": None,
                "remote_mta": None,
                "status": None,
            }
            row.update(kw)
            self.events.append(row)


def _report_day(rows: _Rows) -> None:
    noon = local(DAY, 12)
    g = {
        "campaign": "spring-sale",
        "source_ip": "192.0.2.1",
        "remote_mta": "gmail-smtp-in.l.google.com",
    }
    rows.send(DAY, "gmail.com", "spring-sale", "192.0.2.1", 1000)
    rows.event("delivered", noon, "gmail.com", 979, **g)
    rows.event("delivered", local(DAY, 23, 30), "gmail.com", 1, **g)  # 21:30 UTC: still the day
    rows.event(
        "bounced",
        noon,
        "gmail.com",
        10,
        hard=True,
        reason="userunknown",
        status="5.1.1",
        diagnostic="550-5.1.1 <{addr}> The email account that you tried to reach does not exist",
        trust="verified",
        **g,
    )
    rows.event(
        "bounced",
        noon,
        "gmail.com",
        10,
        hard=False,
        reason="mailboxfull",
        status="4.2.2",
        diagnostic="452 4.2.2 The email account that you tried to reach is over quota",
        trust="verified",
        **g,
    )
    rows.event("complained", local(DAY, 0, 30), "gmail.com", 1, trust="verified", **g)  # 22:30Z
    rows.event("complained", noon, "gmail.com", 1, trust="verified", **g)
    rows.event("unsubscribed", noon, "gmail.com", 3, source="web", **g)
    rows.event("opened", noon, "gmail.com", 300, source="web", **g)
    rows.event("clicked", noon, "gmail.com", 40, source="web", **g)
    rows.event("deferred", noon, "gmail.com", 5, reason="toomanyconn", **g)
    c = {**g, "remote_mta": "aspmx.l.google.com"}
    rows.send(DAY, "company.example", "spring-sale", "192.0.2.1", 100)
    rows.event("delivered", noon, "company.example", 100, **c)
    rows.event("complained", noon, "company.example", 1, trust="verified", **c)
    o = {
        "campaign": "newsletter",
        "source_ip": "192.0.2.2",
        "remote_mta": "outlook-com.olc.protection.outlook.com",
    }
    rows.send(DAY, "outlook.com", "newsletter", "192.0.2.2", 500)
    rows.event("delivered", noon, "outlook.com", 470, **o)
    rows.event(
        "bounced",
        noon,
        "outlook.com",
        30,
        hard=False,
        reason="blocked",
        status="5.7.1",
        diagnostic="550 5.7.1 Unfortunately, messages from [192.0.2.2] weren't sent (S3150)",
        **o,
    )
    y = {
        "campaign": HOSTILE_CAMPAIGN,
        "source_ip": "192.0.2.3",
        "remote_mta": "mta5.am0.yahoodns.net",
    }
    rows.send(DAY, "yahoo.com", HOSTILE_CAMPAIGN, "192.0.2.3", 200)
    rows.event("delivered", noon, "yahoo.com", 190, **y)
    rows.event(
        "bounced",
        noon,
        "yahoo.com",
        10,
        hard=True,
        reason="userunknown",
        status="5.1.1",
        diagnostic="554 delivery error: dd This user doesn't have a yahoo.com account",
        trust="verified",
        **y,
    )
    rows.event("complained", noon, "yahoo.com", 1, trust="verified", **y)
    x = {"campaign": "newsletter", "source_ip": "192.0.2.3", "remote_mta": "mx.other.example"}
    rows.send(DAY, "other.example", "newsletter", "192.0.2.3", 200)
    rows.event("delivered", noon, "other.example", 200, **x)
    rows.event("auto-replied", noon, "other.example", 4, trust="verified", reason="vacation", **x)
    forged = f"550 5.1.1 {HOSTILE_SCRIPT} {HOSTILE_ATTR} user {RTL}fdp.exe unknown"
    rows.event(
        "bounced",
        noon,
        "victim.example",
        7,
        hard=True,
        reason="userunknown",
        diagnostic=forged,
        trust="unverified",
        source="imap:bounces",
    )
    rows.event("complained", noon, "victim.example", 2, trust="unverified", source="imap:fbl")
    rows.event("delivered", local(DAY + timedelta(days=1), 0, 30), "gmail.com", 1, **g)  # next day


def _before(rows: _Rows) -> None:
    for i in range(30):
        d = FIRST + timedelta(days=i)
        kw = {
            "campaign": "march-digest",
            "source_ip": "192.0.2.1",
            "remote_mta": "gmail-smtp-in.l.google.com",
        }
        rows.send(d, "gmail.com", "march-digest", "192.0.2.1", 100)
        rows.event("delivered", local(d, 12), "gmail.com", 99, **kw)
        rows.event(
            "bounced",
            local(d, 12),
            "gmail.com",
            1,
            hard=False,
            reason="mailboxfull",
            diagnostic="452 4.2.2 over quota",
            trust="verified",
            **kw,
        )
    rows.event(
        "complained",
        local(date(2026, 3, 29), 0, 30),
        "gmail.com",
        1,
        trust="verified",
        campaign="march-digest",
        source_ip="192.0.2.1",
    )


def _suppressions() -> list[Suppression]:
    out = []
    for reason, n, when in (
        (SuppressionReason.HARD_BOUNCE, 20, local(DAY, 12)),
        (SuppressionReason.COMPLAINT, 4, local(DAY, 12)),
        (SuppressionReason.UNSUBSCRIBE, 3, local(DAY, 12)),
        (SuppressionReason.MANUAL, 5, local(date(2026, 3, 10), 12)),
        (SuppressionReason.IMPORT, 1, local(date(2026, 2, 1), 12)),
    ):
        out += [
            Suppression(
                scope=ListScope.ADDRESS,
                value=f"{reason.value}{i}@x.example",
                reason=reason,
                created_at=when,
                updated_at=when,
            )
            for i in range(n)
        ]
    return out


def _checks() -> list[Any]:
    t30, t31 = datetime(2026, 3, 30, 10, tzinfo=UTC), datetime(2026, 3, 31, 10, tzinfo=UTC)
    out: list[Any] = [
        CheckState(
            category=CheckCategory.BLOCKLIST,
            subject="192.0.2.2",
            key="zen.spamhaus.org",
            status=CheckStatus.LISTED,
            since=t30,
            last_checked_at=t31,
            detail=HOSTILE_SCRIPT,
        ),
        CheckState(
            category=CheckCategory.BLOCKLIST,
            subject="192.0.2.1",
            key="zen.spamhaus.org",
            status=CheckStatus.OK,
            since=t30,
            last_checked_at=t31,
        ),
    ]
    for at in (t30, t31):
        out.append(
            BlocklistResult(
                target="192.0.2.2",
                target_type="ip4",
                zone="zen.spamhaus.org",
                status=CheckStatus.LISTED,
                checked_at=at,
            )
        )
        out.append(
            BlocklistResult(
                target="192.0.2.1",
                target_type="ip4",
                zone="zen.spamhaus.org",
                status=CheckStatus.OK,
                checked_at=at,
            )
        )
    for check, status in (
        ("spf", CheckStatus.OK),
        ("dkim", CheckStatus.FAIL),
        ("dmarc", CheckStatus.WARN),
        ("ptr", CheckStatus.OK),
    ):
        out.append(
            CheckState(
                category=CheckCategory.AUTH,
                subject="news.example",
                key=check,
                status=status,
                since=t30,
                last_checked_at=t31,
            )
        )
        out.append(AuthResult(check=check, subject="news.example", status=status, checked_at=t31))
    return out


def _dmarc() -> tuple[DmarcReport, list[DmarcRow]]:
    report = DmarcReport(
        org_name=HOSTILE_ORG,
        report_id="r1",
        policy_domain="news.example",
        date_begin=datetime(2026, 3, 30, tzinfo=UTC),
        date_end=datetime(2026, 3, 30, 23, 59, 59, tzinfo=UTC),
        total_messages=160,
    )
    rows = [
        DmarcRow(
            source_ip="192.0.2.1",
            count=100,
            header_from="news.example",
            dkim_evaluated="pass",
            spf_evaluated="pass",
        ),
        DmarcRow(
            source_ip="192.0.2.2",
            count=50,
            header_from="news.example",
            dkim_evaluated="pass",
            spf_evaluated="fail",
        ),
        DmarcRow(
            source_ip="203.0.113.9",
            count=10,
            header_from=HOSTILE_FROM,
            dkim_evaluated="fail",
            spf_evaluated="fail",
        ),
    ]
    return report, rows


def build_month(factory: Any, *, with_checks: bool = True) -> None:
    """Write the whole scenario (with ``with_checks=False``: only mail, no DNS/DMARC data)."""
    rows = _Rows()
    _report_day(rows)
    _before(rows)
    for e in rows.events:
        if e["diagnostic"] and "{addr}" in e["diagnostic"]:
            e["diagnostic"] = e["diagnostic"].replace("{addr}", e["address"])
    with factory() as session, session.begin():
        session.execute(insert(SentMessage), rows.sent)
        session.execute(insert(Event), rows.events)
        session.add_all(_suppressions())
        if with_checks:
            session.add_all(_checks())
            report, dmarc_rows = _dmarc()
            session.add(report)
            session.flush()
            for r in dmarc_rows:
                r.report_pk = report.id
            session.add_all(dmarc_rows)
