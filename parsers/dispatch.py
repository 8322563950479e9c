"""``parse_message``: the one entry point for anything that arrives in a bounce, feedback or
report mailbox. It decides what the input is (see ``Kind``) and never raises: damaged input
comes back as ``Kind.UNKNOWN`` with ``Report.error`` saying why, so a mailbox job can keep
the message and move on.

Dispatch order: bare report documents (XML/gzip/zip/JSON) go to the feedback parsers; mail
messages go first to ``parsers.feedback.detect_feedback`` (ARF, JMRP, DMARC and TLS-RPT
reports), then to the bounce families (``parsers.bounce``), then to the auto-reply detector.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from email.message import Message

from parsers import feedback
from parsers.autoreply import detect_autoreply
from parsers.bounce import Context, Family, Parsed, evidence
from parsers.bounce import dispatch as dispatch_bounce
from parsers.classify import classify as classify_failure
from parsers.errors import ParseError
from parsers.mime import STATUS_TYPES, flatten, header, iter_parts, part_bytes, read_message
from parsers.original import parse_date, recover_original
from parsers.records import Kind, Reason, Recipient, Report
from parsers.sniff import is_report_document, kind_of, looks_like_message

__all__ = ["ParseError", "Report", "parse_message"]


def _unknown(error: str, received_at: datetime | None) -> Report:
    return Report(kind=Kind.UNKNOWN, error=error, received_at=received_at)


_RECEIVED_FROM = re.compile(r"^\s*from\s+([A-Za-z0-9.-]+\.[A-Za-z]{2,})", re.IGNORECASE)


def _reporting_host(msg: Message) -> str:
    """The host that handed the report to the first MTA (bottom-most Received "from")."""
    received = msg.get_all("Received") or []
    if not received:
        return ""
    match = _RECEIVED_FROM.match(str(received[-1]))
    return match.group(1).lower() if match else ""


#: More recipients than this in one report is an attack or a broken MTA, not a bounce.
MAX_RECIPIENTS = 1000
# A per-recipient field group's first line (RFC 3464 2.3.2), counted in the raw status parts
_FINAL_RECIPIENT = re.compile(rb"^final-recipient[ \t]*:", re.IGNORECASE | re.MULTILINE)


def _recipients_named(msg: Message, read: int) -> int:
    """How many recipients the report names: its delivery-status parts' Final-Recipient
    fields counted in full (the text the families read is cut at ``mime.MAX_TEXT``, so
    ``read`` undercounts a long report), or ``read`` when that is more."""
    named = sum(
        len(_FINAL_RECIPIENT.findall(part_bytes(part)))
        for part in iter_parts(msg)
        if part.get_content_type() in STATUS_TYPES
    )
    return max(named, read)


#: Verdicts that mean "the diagnostic said nothing we understood".
_OPEN = frozenset({Reason.ON_HOLD, Reason.UNDEFINED})


def _classify(parsed: Parsed, text: str) -> tuple[Recipient, ...]:
    """Classify each recipient; where its diagnostic left the reason open, read the notice.

    The family's diagnostic comes first (it is the remote server's answer when the family
    found one); ``evidence.window`` is what the notice says near the address, read without
    the family's layout (issue 18: a re-wrapped or rewritten notice must not lose it).
    """
    recipients = []
    notice: str | None = None
    addresses = [f.address for f in parsed.failures]
    for failure in parsed.failures:
        recipient = classify_failure(failure)
        if recipient.reason in _OPEN and text:
            if notice is None:
                notice = evidence.notice_of(text)
            seen = evidence.window(notice, failure.address, addresses)
            if seen and seen != recipient.diagnostic:
                failure.diagnostic, failure.alt_diagnostic = seen, ""
                second = classify_failure(failure)
                if second.reason not in _OPEN:
                    recipient = second
        recipients.append(recipient)
    return _merge_repeats(recipients)


def _merge_repeats(recipients: list[Recipient]) -> tuple[Recipient, ...]:
    """One record per address: where a report names a recipient twice (qmail repeats the
    address before each line of a wrapped answer), the first definite verdict stands, in
    the place of the first mention."""
    if len(recipients) < 2:
        return tuple(recipients)
    kept: dict[str, int] = {}
    merged: list[Recipient] = []
    for recipient in recipients:
        key = (recipient.address or "").lower()
        if not key:
            merged.append(recipient)
            continue
        index = kept.get(key)
        if index is None:
            kept[key] = len(merged)
            merged.append(recipient)
        elif merged[index].reason in _OPEN and recipient.reason not in _OPEN:
            merged[index] = recipient
    return tuple(merged)


def _report_from(
    parsed: Parsed, msg: Message, received_at: datetime | None, text: str = ""
) -> Report:
    warnings: tuple[str, ...] = ()
    if len(parsed.failures) > MAX_RECIPIENTS:
        named = _recipients_named(msg, len(parsed.failures))
        warnings = (f"{named} recipients; only the first {MAX_RECIPIENTS} kept",)
        parsed.failures = parsed.failures[:MAX_RECIPIENTS]
    host = _reporting_host(msg)
    for failure in parsed.failures:
        failure.reporting_host = failure.reporting_host or host
    recipients = _classify(parsed, text)
    return Report(
        kind=kind_of(recipients),
        recipients=recipients,
        original=recover_original(parsed.original, msg),
        family=parsed.family,
        reporting_mta=parsed.reporting_mta or None,
        arrival_date=parse_date(parsed.arrival_date),
        message_id=header(msg, "Message-ID"),
        subject=header(msg, "Subject"),
        from_=header(msg, "From"),
        received_at=received_at,
        warnings=warnings,
    )


def _parse_mail(
    raw: bytes,
    received_at: datetime | None,
    with_records: bool,
    families: Sequence[Family] | None,
) -> Report:
    msg, lowered = read_message(raw)
    if not looks_like_message(msg):
        return _unknown("not an RFC 5322 message: no header fields", received_at)
    found = feedback.detect_feedback(
        msg, received_at=received_at, with_records=with_records, lowered=lowered
    )
    if found is not None:
        return found
    text = flatten(msg)
    ctx = Context(
        msg=msg,
        text=text,
        subject=header(msg, "Subject") or "",
        from_=header(msg, "From") or "",
        raw=raw,
    )
    parsed = dispatch_bounce(ctx) if families is None else dispatch_bounce(ctx, families)
    if parsed is not None:
        return _report_from(parsed, msg, received_at, text)
    reply = detect_autoreply(msg, text)
    if reply is not None:
        return _report_from(Parsed("rfc3834", [reply], ""), msg, received_at)
    return Report(
        kind=Kind.UNKNOWN,
        error="not a bounce, complaint, report or auto-reply",
        message_id=header(msg, "Message-ID"),
        subject=header(msg, "Subject"),
        from_=header(msg, "From"),
        received_at=received_at,
    )


def parse_message(
    raw: bytes,
    *,
    received_at: datetime | None = None,
    with_records: bool = False,
    families: Sequence[Family] | None = None,
) -> Report:
    """Classify and parse one message or report document; never raises.

    ``received_at`` is when the caller received the input (parsers never read the clock);
    ``with_records`` asks DMARC aggregate parsing to keep every row; ``families`` replaces
    the bounce family modules tried (``parsers.bounce.FAMILIES``), to measure the generic
    readers with a family switched off.
    """
    try:
        if not raw or raw.isspace():  # all ASCII white space, as strip() sees it
            return _unknown("empty input", received_at)
        if is_report_document(raw):
            report = feedback.parse_report_document(
                raw, received_at=received_at, with_records=with_records
            )
            if report is None:
                return _unknown("not a mail message and not a known report document", received_at)
            return report
        return _parse_mail(raw, received_at, with_records, families)
    except ParseError as exc:
        return _unknown(str(exc), received_at)
    except (RecursionError, MemoryError) as exc:
        return _unknown(f"input too complex: {type(exc).__name__}", received_at)
    except Exception as exc:
        return _unknown(f"parser failure: {type(exc).__name__}: {exc}", received_at)
