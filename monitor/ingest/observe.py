"""What a parsed mailbox message means: observations for the events core, or a report.

Bounces, delay and delivery notices, complaints and auto-replies become one
:class:`~monitor.events.Observation` per recipient (``observations``); DMARC aggregate,
TLS-RPT and RFC 6591 failure reports go to their own tables (``store_report``), deduplicated
by their natural keys (``monitor.store.ingest_repo``). The idempotency key of each
observation is the message's content hash and the recipient's position, so reading the
same message again (a crash before the MOVE, a new UIDVALIDITY) stores nothing twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from monitor.enums import EventKind, Trust
from monitor.errors import MonitorError
from monitor.events import Observation, event_key, normalize_recipient, unsubscribe_key
from monitor.ingest.parse import ParsedItem
from monitor.store.events import bare_message_id
from monitor.store.ingest_repo import store_auth_failure, store_dmarc, store_tls
from parsers.dmarc import iter_dmarc_records
from parsers.records import Action, Kind, Reason, Recipient, Report
from parsers.unsubscribe import OneClick, check_one_click, sender_domain
from parsers.webtoken import BadToken, TokenKind, decode_token

__all__ = [
    "REPORT_KINDS",
    "ItemRejected",
    "observations",
    "one_click",
    "store_report",
]

REPORT_KINDS = frozenset({Kind.DMARC_AGGREGATE, Kind.TLS_REPORT, Kind.AUTH_FAILURE})


class ItemRejected(MonitorError):
    """The message cannot be used (not a report we understand); ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def _mailed_unsubscribe(
    item: ParsedItem, token: str, keys: Sequence[bytes], source: str, now: datetime
) -> Observation:
    """Mail to ``unsub+TOKEN@`` (RFC 2369 mailto): an unsubscribe vouched for by our token."""
    try:
        proof = decode_token(TokenKind.UNSUBSCRIBE, token, keys=keys)
    except BadToken as exc:
        raise ItemRejected(f"mail to an unsubscribe address: {exc}") from None
    return Observation(
        kind=EventKind.UNSUBSCRIBED,
        key=unsubscribe_key(proof.sent_id),
        source=source,
        occurred_at=item.received_at or now,
        sent_id=proof.sent_id,
        trust=Trust.LOCAL,
        reason="unsubscribe",
        source_ref=item.ref,
        details={"via": "mailto"},
    )


def observations(
    item: ParsedItem,
    *,
    source: str,
    lowercase_local: bool,
    now: datetime,
    token_keys: Sequence[bytes] = (),
) -> list[Observation]:
    """The events ``item`` tells of ([] for a report); raise ``ItemRejected`` when it has
    none to give. Mail sent to ``unsub+TOKEN@`` is an unsubscribe when the token verifies
    under ``token_keys`` (and is refused, kept in the failed folder, when it does not)."""
    if item.unsubscribe_token is not None and token_keys:
        return [_mailed_unsubscribe(item, item.unsubscribe_token, token_keys, source, now)]
    report = item.report
    if report.kind is Kind.UNKNOWN:
        raise ItemRejected(report.error or "not a bounce, complaint, report or auto-reply")
    if report.kind in REPORT_KINDS:
        return []
    if not report.recipients:
        raise ItemRejected(f"{report.kind.value} names no recipient")
    when = item.received_at or report.arrival_date or now
    original, fb = report.original, report.feedback
    message_id = bare_message_id(
        (original.message_id if original else None) or (fb.original_message_id if fb else None)
    )
    token = original.verp_token if original else None
    feedback_type = fb.feedback_type.value if fb and fb.feedback_type else None
    out = []
    for index, rcpt in enumerate(report.recipients):
        kind = _event_kind(report, rcpt)
        address, _unreadable = normalize_recipient(rcpt.address, lowercase_local)
        out.append(
            Observation(
                kind=kind,
                key=event_key(item.content_hash, index, kind.value, address),
                source=source,
                occurred_at=when,
                recipient=rcpt.address,
                verp_token=token,
                message_id=message_id,
                reason=rcpt.reason.value,
                hard=rcpt.hard,
                status=rcpt.status,
                reply_code=rcpt.reply_code,
                diagnostic=rcpt.diagnostic,
                remote_mta=rcpt.remote_mta,
                feedback_type=feedback_type,
                campaign=original.campaign if original else None,
                source_ip=fb.source_ip if fb else None,
                source_ref=item.ref,
                details={"family": report.family, "reporting_mta": report.reporting_mta},
            )
        )
    return out


def store_report(session: Session, item: ParsedItem, *, source: str, now: datetime) -> bool:
    """Store a DMARC aggregate, TLS-RPT or failure report; False when it was stored before."""
    report = item.report
    if report.kind is Kind.DMARC_AGGREGATE and report.dmarc is not None:
        document = item.document
        rows = iter_dmarc_records(document) if document is not None else iter(())
        return store_dmarc(
            session, report.dmarc, rows, fallback_id=item.content_hash, source=source, now=now
        )
    if report.kind is Kind.TLS_REPORT and report.tls is not None:
        return store_tls(session, report.tls, fallback_id=item.content_hash, source=source, now=now)
    return store_auth_failure(
        session, report, content_hash=item.content_hash, source=source, now=now
    )


def one_click(report: Report) -> tuple[str, OneClick, str] | None:
    """(From domain, RFC 8058 verdict, which message) of our bulk mail enclosed in a report;
    only asked of reports verified to be about mail we sent (a forged report must not speak
    for our templates)."""
    original = report.original
    verdict = check_one_click(original)
    domain = sender_domain(original) if original is not None else None
    if verdict is None or domain is None or original is None:
        return None
    which = original.message_id or original.campaign or original.subject or "?"
    return domain[:255], verdict, which[:200]
