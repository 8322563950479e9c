"""Apply parsed messages to the store: events, report rows, suppressions.

This is the seam between the pure parts (``parsers`` say what a message is, ``policy`` says
what it means for the list) and the database. Per batch: ``prepare`` each parsed message
(normalised addresses, the dedupe key of each event), ``load_lookups`` once, then
``apply_report`` per message inside the caller's SAVEPOINT. Each recipient is matched to the
send log, gets one event whose ``dedupe_key`` (content hash + position) makes a second run
a no-op, and when ``policy.decide_event`` says so its address is suppressed with
``source_event_id`` pointing at that event. Reports go to their own tables, deduplicated by
their natural keys (``monitor.store.ingest_repo``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from monitor.enums import EventKind, ListScope, SuppressionReason, Trust
from monitor.parsed import ParsedItem
from monitor.policy import BounceClass, EventFacts, Rules, bounce_class, decide_event
from monitor.store.events import Lookups, bare_message_id, insert_events, insert_one_event
from monitor.store.ingest_repo import cut, store_auth_failure, store_dmarc, store_tls
from monitor.store.suppressions import add_suppression
from parsers.address import AddressError, normalize_address
from parsers.dmarc import iter_dmarc_records
from parsers.records import Action, Kind, Reason, Recipient, Report
from parsers.unsubscribe import OneClick, check_one_click, sender_domain

__all__ = [
    "ApplyContext",
    "Effects",
    "ItemRejected",
    "ParsedItem",
    "Plan",
    "Prepared",
    "learn",
    "load_lookups",
    "plan_report",
    "prepare",
    "write_plan",
]

_REPORT_KINDS = frozenset({Kind.DMARC_AGGREGATE, Kind.TLS_REPORT, Kind.AUTH_FAILURE})
_ACTING = frozenset({EventKind.BOUNCED, EventKind.COMPLAINED, EventKind.UNSUBSCRIBED})


class ItemRejected(Exception):
    """The message cannot be used (not a report we understand); ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True, kw_only=True)
class ApplyContext:
    rules: Rules
    source: str  # "imap:<mailbox>"
    verp_key: bytes | None = None
    lowercase_local: bool = True


@dataclass
class Effects:
    """What applying messages did (summed over a batch by the ingester)."""

    bounces: int = 0
    delays: int = 0
    deliveries: int = 0
    complaints: int = 0
    auto_replies: int = 0
    reports: int = 0
    duplicate_reports: int = 0
    unverified: int = 0
    suppressed: int = 0
    suppressed_addresses: list[str] = field(default_factory=list)

    def add(self, other: Effects) -> None:
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            setattr(self, f.name, mine + theirs if isinstance(mine, int) else mine)
        self.suppressed_addresses.extend(other.suppressed_addresses)


_COUNTER = {
    EventKind.BOUNCED: "bounces",
    EventKind.DEFERRED: "delays",
    EventKind.DELIVERED: "deliveries",
    EventKind.COMPLAINED: "complaints",
    EventKind.UNSUBSCRIBED: "complaints",
    EventKind.AUTO_REPLIED: "auto_replies",
}


@dataclass(frozen=True, slots=True)
class Prepared:
    """One recipient of one message, with what the batch lookups need to know."""

    index: int
    rcpt: Recipient
    kind: EventKind
    address: str | None
    unreadable: str | None  # the raw text when the address could not be normalised
    dedupe_key: str
    when: datetime


def _event_kind(report: Report, rcpt: Recipient) -> EventKind:
    """Per recipient: a report may mix failed, delayed and delivered recipients (RFC 3464)."""
    if report.kind is Kind.COMPLAINT:
        fb = report.feedback
        opt_out = fb is not None and fb.feedback_type is not None and fb.feedback_type == "opt-out"
        return EventKind.UNSUBSCRIBED if opt_out else EventKind.COMPLAINED
    if report.kind is Kind.AUTO_REPLY or rcpt.reason is Reason.VACATION:
        return EventKind.AUTO_REPLIED
    if report.kind is Kind.DELIVERY or rcpt.reason is Reason.DELIVERED:
        return EventKind.DELIVERED
    if rcpt.reason is Reason.FEEDBACK:
        return EventKind.COMPLAINED
    if report.kind is Kind.DELAY or rcpt.action is Action.DELAYED:
        return EventKind.DEFERRED
    return EventKind.BOUNCED


def _address(raw: str | None, lowercase: bool) -> tuple[str | None, str | None]:
    if not raw:
        return None, None
    try:
        return normalize_address(raw, lowercase_local=lowercase), None
    except AddressError:
        return None, raw[:320]


def prepare(item: ParsedItem, ctx: ApplyContext, now: datetime) -> list[Prepared]:
    """The events ``item`` will produce; raise ``ItemRejected`` when it has none to give."""
    report = item.report
    if report.kind is Kind.UNKNOWN:
        raise ItemRejected(report.error or "not a bounce, complaint, report or auto-reply")
    if report.kind in _REPORT_KINDS:
        return []
    if not report.recipients:
        raise ItemRejected(f"{report.kind.value} names no recipient")
    when = item.received_at or report.arrival_date or now
    out = []
    for index, rcpt in enumerate(report.recipients):
        kind = _event_kind(report, rcpt)
        address, unreadable = _address(rcpt.address, ctx.lowercase_local)
        basis = f"{item.content_hash}:{index}:{kind.value}:{address or ''}"
        key = hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()
        out.append(Prepared(index, rcpt, kind, address, unreadable, key, when))
    return out


def _original_ids(report: Report) -> tuple[str | None, str | None]:
    """(original Message-ID, VERP token) of the message a report is about."""
    original, fb = report.original, report.feedback
    message_id = bare_message_id(
        (original.message_id if original else None) or (fb.original_message_id if fb else None)
    )
    return message_id, original.verp_token if original else None


def load_lookups(
    session: Session,
    items: list[tuple[ParsedItem, list[Prepared]]],
    ctx: ApplyContext,
) -> Lookups:
    """Read what the whole batch needs in a few queries (``monitor.store.events``)."""
    addresses: set[str] = set()
    message_ids: set[str] = set()
    anonymous: set[str] = set()
    tokens: set[str] = set()
    keys: list[str] = []
    times: list[datetime] = []
    for item, prepared in items:
        message_id, token = _original_ids(item.report)
        if token:
            tokens.add(token)
        for p in prepared:
            keys.append(p.dedupe_key)
            times.append(p.when)
            if p.address:
                addresses.add(p.address)
            if message_id:
                (message_ids if p.address else anonymous).add(message_id)
    window = timedelta(days=ctx.rules.soft_bounce_window_days)
    return Lookups.load(
        session,
        verp_key=ctx.verp_key,
        addresses=addresses,
        message_ids=message_ids,
        anonymous_ids=anonymous,
        tokens=tokens,
        dedupe_keys=keys,
        until=max(times) if times else None,
        soft_since=min(times) - window if times else None,
        verified_only=not ctx.rules.trust_any,
    )


def _facts(
    p: Prepared,
    address: str | None,
    trust: Trust,
    report: Report,
    lookups: Lookups,
    ctx: ApplyContext,
) -> EventFacts:
    fb = report.feedback
    facts: dict[str, Any] = {
        "kind": p.kind,
        "address": address,
        "trust": trust,
        "reason": p.rcpt.reason.value,
        "hard": p.rcpt.hard,
        "feedback_type": fb.feedback_type.value if fb and fb.feedback_type else None,
    }
    if address is not None and p.kind in _ACTING:
        verdict = lookups.verdict(address, p.when)
        facts["allowlisted"] = verdict.allowed_by is not None
        entry = verdict.entry
        facts["already_suppressed"] = (
            verdict.suppressed and entry is not None and not entry.expires_at
        )
        counts = trust is not Trust.UNVERIFIED or ctx.rules.trust_any
        if counts and _is_soft(p):
            facts["soft_bounce_days"] = lookups.soft_days(
                address, p.when, ctx.rules.soft_bounce_window_days
            )
    return EventFacts(**facts)


def _is_soft(p: Prepared) -> bool:
    return p.kind is EventKind.BOUNCED and bounce_class(p.rcpt.reason.value, p.rcpt.hard) is (
        BounceClass.SOFT
    )


def _event_row(
    item: ParsedItem,
    p: Prepared,
    address: str | None,
    facts: EventFacts,
    details: dict[str, Any],
    sent_id: int | None,
    trust: Trust,
    campaign: str | None,
    ctx: ApplyContext,
    now: datetime,
) -> dict[str, Any]:
    report, rcpt = item.report, p.rcpt
    message_id, _token = _original_ids(report)
    original, fb = report.original, report.feedback
    return {
        "dedupe_key": p.dedupe_key,
        "kind": p.kind,
        "address": address,
        "recipient_domain": address.rsplit("@", 1)[-1] if address else None,
        "reason": rcpt.reason.value,
        "status": cut(rcpt.status, 16),
        "reply_code": cut(rcpt.reply_code, 3),
        "hard": rcpt.hard,
        "diagnostic": cut(rcpt.diagnostic, 4000),
        "remote_mta": cut(rcpt.remote_mta, 255),
        "feedback_type": facts.feedback_type,
        "campaign": cut((original.campaign if original else None) or campaign, 200),
        "source_ip": cut(fb.source_ip if fb else None, 45),
        "message_id": message_id,
        "sent_message_id": sent_id,
        "trust": trust,
        "source": cut(ctx.source, 100),
        "source_ref": cut(item.ref, 200),
        "occurred_at": p.when,
        "ingested_at": now,
        "details": {k: v for k, v in details.items() if v is not None},
    }


def _store_report(session: Session, item: ParsedItem, ctx: ApplyContext, now: datetime) -> bool:
    report = item.report
    if report.kind is Kind.DMARC_AGGREGATE and report.dmarc is not None:
        document = item.document
        rows = iter_dmarc_records(document) if document is not None else iter(())
        return store_dmarc(
            session, report.dmarc, rows, fallback_id=item.content_hash, source=ctx.source, now=now
        )
    if report.kind is Kind.TLS_REPORT and report.tls is not None:
        return store_tls(
            session, report.tls, fallback_id=item.content_hash, source=ctx.source, now=now
        )
    return store_auth_failure(
        session, report, content_hash=item.content_hash, source=ctx.source, now=now
    )


@dataclass
class Plan:
    """What one message will write, decided in memory from the batch ``Lookups``.

    Most bounces only add event rows; those plans are ``simple`` and the batch inserts all
    their rows in one statement. Reports and suppressions are written per message.
    """

    item: ParsedItem
    effects: Effects = field(default_factory=Effects)
    rows: list[dict[str, Any]] = field(default_factory=list)
    suppress: list[tuple[dict[str, Any], str, SuppressionReason, str]] = field(default_factory=list)
    learned: list[tuple[str, str | None, datetime, bool]] = field(default_factory=list)
    report: bool = False
    #: (From domain, verdict, which message) when a verified report enclosed our bulk mail
    one_click: tuple[str, OneClick, str] | None = None

    @property
    def simple(self) -> bool:
        return not self.report and not self.suppress


def plan_report(
    item: ParsedItem,
    prepared: list[Prepared],
    lookups: Lookups,
    ctx: ApplyContext,
    now: datetime,
) -> Plan:
    """Decide every event of ``item`` (no database access: ``lookups`` hold the facts)."""
    plan = Plan(item=item, report=item.report.kind in _REPORT_KINDS)
    if plan.report:
        return plan
    effects = plan.effects
    message_id, token = _original_ids(item.report)
    verified = False
    for p in prepared:
        if p.dedupe_key in lookups.stored_keys:
            continue  # this very event was stored by an earlier run
        match = lookups.match(address=p.address, token=token, message_id=message_id, when=p.when)
        address = p.address or match.recipient
        facts = _facts(p, address, match.trust, item.report, lookups, ctx)
        decision = decide_event(facts, ctx.rules)
        details = {
            "family": item.report.family,
            "matched_by": match.via,
            "match_note": match.note,
            "decision": decision.why,
            "reporting_mta": item.report.reporting_mta,
            "unreadable_address": p.unreadable,
            "bounce_class": bounce_class(p.rcpt.reason.value, p.rcpt.hard).value
            if p.kind is EventKind.BOUNCED
            else None,
        }
        row = _event_row(
            item, p, address, facts, details, match.sent_id, match.trust, match.campaign, ctx, now
        )
        setattr(effects, _COUNTER[p.kind], getattr(effects, _COUNTER[p.kind]) + 1)
        effects.unverified += match.trust is Trust.UNVERIFIED
        verified = verified or match.trust is not Trust.UNVERIFIED or ctx.rules.trust_any
        counted = _is_soft(p) and (match.trust is not Trust.UNVERIFIED or ctx.rules.trust_any)
        plan.learned.append((p.dedupe_key, address, p.when, counted))
        if decision.suppress and decision.reason is not None and address is not None:
            note = f"{decision.why} ({ctx.source})"
            plan.suppress.append((row, address, decision.reason, note))
            effects.suppressed += 1
            effects.suppressed_addresses.append(address)
        else:
            plan.rows.append(row)
    if verified:  # a forged report must not speak for our templates either
        plan.one_click = _one_click(item.report)
    return plan


def _one_click(report: Report) -> tuple[str, OneClick, str] | None:
    original = report.original
    verdict = check_one_click(original)
    domain = sender_domain(original) if original is not None else None
    if verdict is None or domain is None or original is None:
        return None
    which = original.message_id or original.campaign or original.subject or "?"
    return domain[:255], verdict, which[:200]


def write_plan(session: Session, plan: Plan, ctx: ApplyContext, now: datetime) -> None:
    """Write a plan's report, suppressions (each pointing at its event) and event rows."""
    if plan.report:
        if _store_report(session, plan.item, ctx, now):
            plan.effects.reports += 1
        else:
            plan.effects.duplicate_reports += 1
        return
    for row, address, reason, note in plan.suppress:
        event_id = insert_one_event(session, row)
        add_suppression(
            session,
            scope=ListScope.ADDRESS,
            value=address,
            reason=reason,
            now=now,
            note=cut(note, 500),
            source_event_id=event_id,
        )
    insert_events(session, plan.rows)


def learn(plan: Plan, lookups: Lookups, now: datetime) -> None:
    """Tell the batch ``lookups`` what a plan wrote, for the messages after it."""
    for key, address, when, counted in plan.learned:
        lookups.note_event(key, address, when, counted)
    for _row, address, reason, note in plan.suppress:
        lookups.note_suppression(address, reason, now, note)
