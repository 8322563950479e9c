"""A generated, realistic stream of sending and feedback for the demo and the benchmark.

What a mid-size sender sees in a month: most mail to Gmail, Microsoft, Yahoo/AOL and Apple,
the rest spread over thousands of company domains (many on Google Workspace or Microsoft 365,
which only their MX host reveals); deliveries, deferrals, opens and clicks; hard and soft
bounces with the diagnostics those providers really send; a stale "win-back" list that bounces
and draws complaints; a few days when one IP is blocked; forged bounces that match nothing we
sent.

Only what a real sender can see: per-message complaints come from the providers that run an
ARF feedback loop (Yahoo/AOL, Microsoft's consumer domains, Comcast), never from Gmail or a
Google Workspace domain (Gmail sends no ARF: its spam rate is only in Postmaster Tools), nor
from Apple or Microsoft 365 tenants; opens and clicks only when the plan says tracking is on.

Rows come out as tuples in table-column order with UTC text times, ready for
``monitor.store.bulkload``; the generator is seeded, so a run is reproducible.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

__all__ = ["EVENT_COLUMNS", "SENT_COLUMNS", "SUPPRESSION_COLUMNS", "DemoPlan", "generate"]

SENT_COLUMNS = (
    "id", "message_id", "campaign", "envelope_sender", "recipient", "recipient_domain",
    "source_ip", "state", "attempts", "created_at", "sent_at", "updated_at",
)  # fmt: skip
EVENT_COLUMNS = (
    "id", "kind", "address", "recipient_domain", "reason", "status", "hard", "diagnostic",
    "remote_mta", "feedback_type", "campaign", "source_ip", "sent_message_id", "trust",
    "source", "occurred_at", "ingested_at", "dedupe_key",
)  # fmt: skip
SUPPRESSION_COLUMNS = (
    "id", "scope", "value", "reason", "source_event_id", "created_at", "updated_at",
)  # fmt: skip

IPS = ("192.0.2.10", "192.0.2.11", "198.51.100.7")
BLOCKED_IP = "198.51.100.7"
_CONSUMER = (  # (domain, share of recipients, MX host)
    ("gmail.com", 0.28, "gmail-smtp-in.l.google.com"),
    ("yahoo.com", 0.08, "mta5.am0.yahoodns.net"),
    ("aol.com", 0.02, "mx-aol.mail.gm0.yahoodns.net"),
    ("hotmail.com", 0.06, "hotmail-com.olc.protection.outlook.com"),
    ("outlook.com", 0.06, "outlook-com.olc.protection.outlook.com"),
    ("live.com", 0.02, "live-com.olc.protection.outlook.com"),
    ("icloud.com", 0.05, "mx01.mail.icloud.com"),
    ("me.com", 0.01, "mx02.mail.icloud.com"),
    ("gmx.de", 0.03, "mx00.emig.gmx.net"),
    ("orange.fr", 0.02, "smtp-in.orange.fr"),
    ("comcast.net", 0.02, "mx1.comcast.net"),
)
#: Domains whose provider sends an ARF report per complaint (a feedback loop the sender joined).
_FEEDBACK_LOOP = frozenset(
    {"yahoo.com", "aol.com", "hotmail.com", "outlook.com", "live.com", "comcast.net"}
)
# Per-provider wording, as those MTAs phrase it (status, reply text).
_USER_UNKNOWN = {
    "gmail": "550-5.1.1 The email account that you tried to reach does not exist. Please try "
    "double-checking the recipient's email address for typos",
    "microsoft": "550 5.5.0 Requested action not taken: mailbox unavailable (S2017062302)",
    "yahoo": "554 delivery error: dd This user doesn't have a yahoo.com account ({addr}) [0]",
    "apple": "550 5.1.1 <{addr}>: user does not exist",
    "other": "550 5.1.1 <{addr}>: Recipient address rejected: User unknown in local table",
}
_MAILBOX_FULL = "452 4.2.2 The email account that you tried to reach is over quota"
_DEFERRED = {
    "gmail": "421-4.7.28 Gmail has detected an unusual rate of unsolicited mail originating from "
    "your IP address. To protect our users from spam, mail sent from your IP address has been "
    "temporarily rate limited",
    "yahoo": "421 4.7.0 [TSS04] Messages from {ip} temporarily deferred due to unexpected volume "
    "or user complaints",
    "other": "451 4.7.1 Greylisted, please try again in 300 seconds",
}
_BLOCKED = (
    "550 5.7.1 Unfortunately, messages from [{ip}] weren't sent. Please contact your Internet "
    "service provider since part of their network is on our block list (S3150)"
)


@dataclass
class DemoPlan:
    """What to generate: local days ``first .. last`` (inclusive) and the daily volume."""

    last_day: date
    days: int = 30
    sends_per_day: int = 2_000
    company_domains: int = 300
    seed: int = 7
    #: Open and click tracking (``[web]`` tracking links and pixel) in use: without it no
    #: open or click can be recorded, so none is generated.
    tracking: bool = False
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def first_day(self) -> date:
        return self.last_day - timedelta(days=self.days - 1)


class _Clock:
    """Epoch seconds -> SQLite/SQLAlchemy UTC text, from two lookup tables (fast)."""

    def __init__(self) -> None:
        self._days: dict[int, str] = {}
        self._hms = [
            f"{h:02d}:{m:02d}:{s:02d}.000000"
            for h in range(24)
            for m in range(60)
            for s in range(60)
        ]

    def __call__(self, ts: int) -> str:
        d, s = divmod(ts, 86_400)
        prefix = self._days.get(d)
        if prefix is None:
            prefix = self._days[d] = (datetime(1970, 1, 1) + timedelta(days=d)).strftime(
                "%Y-%m-%d "
            )
        return prefix + self._hms[s]


def _domains(plan: DemoPlan, rnd: random.Random) -> list[tuple[str, str, str]]:
    """(domain, provider group, MX) for a cumulative-weight draw of 10,000 recipients."""
    out: list[tuple[str, str, str]] = []
    for domain, share, mx in _CONSUMER:
        group = _group_of_mx(mx)
        out += [(domain, group, mx)] * int(share * 10_000)
    rest = 10_000 - len(out)
    for _ in range(rest):
        n = int(rnd.paretovariate(1.1)) % plan.company_domains
        domain = f"company{n}.example"
        host = (
            "aspmx.l.google.com"
            if n % 3 == 0
            else f"company{n}-example.mail.protection.outlook.com"
            if n % 3 == 1
            else f"mx.company{n}.example"
        )
        out.append((domain, _group_of_mx(host), host))
    return out


def _group_of_mx(host: str) -> str:
    if host.endswith("google.com"):
        return "gmail"
    if host.endswith("outlook.com"):
        return "microsoft"
    if host.endswith("yahoodns.net"):
        return "yahoo"
    if host.endswith("icloud.com"):
        return "apple"
    return "other"


def _campaigns(day: date) -> list[tuple[str, float, bool]]:
    """(name, share of the day's sends, stale list?) — a stale win-back list every 9 days."""
    plan = [(f"newsletter-{day:%Y-%m-%d}", 0.6, False), ("product-updates", 0.3, False)]
    if day.toordinal() % 9 == 0:
        return [*plan[:1], ("winback-2019-list", 0.4, True)]
    return [*plan, ("onboarding", 0.1, False)]


def _midnight_utc(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


Row = tuple[str, tuple[object, ...]]


class _Generator:
    """The state one run carries: random source, ids, who is suppressed already."""

    def __init__(self, plan: DemoPlan) -> None:
        self.plan = plan
        self.rnd = random.Random(plan.seed)
        self.clock = _Clock()
        self.domains = _domains(plan, self.rnd)
        self.last = _midnight_utc(plan.last_day) + 86_400
        self.ids = {"sent_messages": 0, "events": 0, "suppressions": 0}
        self.suppressed: set[str] = set()
        self.blocked_days = {plan.last_day - timedelta(days=d) for d in (0, 1, 2)}

    def event(self, kind: str, ts: int, addr: str | None, dom: str | None, **kw: object) -> Row:
        self.ids["events"] += 1
        n = self.ids["events"]
        at = self.clock(ts)
        return "events", (
            n, kind, addr, dom, kw.get("reason"), kw.get("status"), kw.get("hard"),
            kw.get("diagnostic"), kw.get("mx"), kw.get("feedback_type"), kw.get("campaign"),
            kw.get("ip"), kw.get("sent_id"), kw.get("trust", "local"), kw.get("source", "relay"),
            at, at, f"demo:{n}",
        )  # fmt: skip

    def suppress(self, addr: str, reason: str, ts: int) -> Iterator[Row]:
        if addr not in self.suppressed:
            self.suppressed.add(addr)
            self.ids["suppressions"] += 1
            at = self.clock(ts)
            n = self.ids["suppressions"]
            yield "suppressions", (n, "address", addr, reason, self.ids["events"], at, at)

    def message(self, day: date, base: int, campaign: str, stale: bool) -> Iterator[Row]:
        """One recipient of one campaign: its sent-message row, then its fate and feedback."""
        rows = list(self._fate(day, base, campaign, stale))
        yield rows[-1]  # the sent message first: events point at it
        yield from rows[:-1]

    def _fate(self, day: date, base: int, campaign: str, stale: bool) -> Iterator[Row]:
        rnd = self.rnd
        domain, group, mx = self.domains[rnd.randrange(10_000)]
        addr = f"user{rnd.randrange(5_000_000)}@{domain}"
        ip = IPS[rnd.randrange(3)]
        sent_at = base + 28_800 + rnd.randrange(36_000)
        self.ids["sent_messages"] += 1
        sid = self.ids["sent_messages"]
        common: dict[str, object] = {"campaign": campaign, "ip": ip, "sent_id": sid, "mx": mx}
        r = rnd.random()
        hard_p, soft_p = (0.07, 0.02) if stale else (0.005, 0.004)
        state = "bounced"
        if ip == BLOCKED_IP and day in self.blocked_days and group == "microsoft":
            text = _BLOCKED.format(ip=ip)
            yield self.event(
                "bounced", sent_at + 2, addr, domain, reason="blocked", status="5.7.1",
                hard=False, diagnostic=text, **common,
            )  # fmt: skip
        elif r < hard_p:
            text = _USER_UNKNOWN.get(group, _USER_UNKNOWN["other"]).format(addr=addr)
            yield self.event(
                "bounced", sent_at + 3, addr, domain, reason="userunknown", status="5.1.1",
                hard=True, diagnostic=text, trust="verified", **common,
            )  # fmt: skip
            yield from self.suppress(addr, "hard-bounce", sent_at + 3)
        elif r < hard_p + soft_p:
            yield self.event(
                "bounced", sent_at + 600, addr, domain, reason="mailboxfull", status="4.2.2",
                hard=False, diagnostic=_MAILBOX_FULL, trust="verified", **common,
            )  # fmt: skip
        else:
            state = "delivered"
            yield from self.delivery(sent_at, addr, domain, group, stale, common)
        yield "sent_messages", (
            sid, f"<{sid}.demo@news.example>", campaign, "bounces@news.example", addr, domain,
            ip, state, 1, self.clock(sent_at - 5), self.clock(sent_at), self.clock(sent_at),
        )  # fmt: skip

    def delivery(
        self, ts: int, addr: str, domain: str, group: str, stale: bool, common: dict[str, object]
    ) -> Iterator[Row]:
        """A delivery (sometimes after a deferral), then opens, clicks and feedback."""
        rnd = self.rnd
        if rnd.random() < 0.06:
            text = _DEFERRED.get(group, _DEFERRED["other"]).format(ip=common["ip"])
            yield self.event(
                "deferred", ts + 1, addr, domain, reason="toomanyconn", status="4.7.0",
                diagnostic=text, **common,
            )  # fmt: skip
            ts += 900
        yield self.event("delivered", ts + 1, addr, domain, status="2.0.0", **common)
        if self.plan.tracking and rnd.random() < (0.08 if stale else 0.32):
            yield self.event(
                "opened", ts + rnd.randrange(60, 20_000), addr, domain, source="web", **common
            )
            if rnd.random() < 0.15:
                yield self.event("clicked", ts + 20_000, addr, domain, source="web", **common)
        if rnd.random() < 0.01:
            yield self.event(
                "auto-replied", ts + 30, addr, domain, reason="vacation", trust="verified",
                source="imap:bounces", **common,
            )  # fmt: skip
        r = rnd.random()
        later = ts + rnd.randrange(600, 3 * 86_400)
        if later >= self.last:
            return
        # Only a feedback-loop provider reports a complaint, and it reports each one; the
        # rates are those providers' (0.2 % on a fresh list, 1.5 % on the stale one).
        complaint_p = (0.015 if stale else 0.002) if domain in _FEEDBACK_LOOP else 0.0
        if r < complaint_p:
            yield self.event(
                "complained", later, addr, domain, feedback_type="abuse", trust="verified",
                source="imap:fbl", reason="feedback", **common,
            )  # fmt: skip
            yield from self.suppress(addr, "complaint", later)
        elif r < complaint_p + (0.006 if stale else 0.002):
            yield self.event("unsubscribed", later, addr, domain, source="web", **common)
            yield from self.suppress(addr, "unsubscribe", later)

    def forged(self, base: int) -> Iterator[Row]:
        """Bounces for addresses we never mailed (backscatter, or someone probing us)."""
        for _ in range(max(1, self.plan.sends_per_day // 2_000)):
            dom = f"victim{self.rnd.randrange(50)}.example"
            yield self.event(
                "bounced", base + self.rnd.randrange(86_400), f"x{self.rnd.randrange(10**6)}@{dom}",
                dom, reason="userunknown", status="5.1.1", hard=True, trust="unverified",
                diagnostic=f"550 5.1.1 <x@{dom}>: Recipient address rejected: User unknown",
                source="imap:bounces",
            )  # fmt: skip


def generate(plan: DemoPlan) -> Iterator[Row]:
    """Yield ``(table, row)`` pairs for sent messages, events and suppressions, day by day."""
    gen = _Generator(plan)
    for offset in range(plan.days):
        day = plan.first_day + timedelta(days=offset)
        base = _midnight_utc(day)
        for campaign, share, stale in _campaigns(day):
            for _ in range(int(plan.sends_per_day * share)):
                yield from gen.message(day, base, campaign, stale)
        yield from gen.forged(base)
    plan.stats.update(gen.ids)
