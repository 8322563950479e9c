"""Feedback that is not ARF: Microsoft JMRP, plain-text DMARC failure reports, unsubscribes.

Big providers still send these, and treating them as ordinary mail loses complaints:

* **JMRP** (Outlook.com/Hotmail Junk Mail Reporting Program): ``multipart/mixed`` with the
  reported message attached as ``message/rfc822`` and no feedback part; the only trace of the
  complainer is the ``X-HmXmrOriginalRecipient`` header Microsoft adds to the enclosure
  (sisimai ``arf-22``). Every JMRP report is a junk (spam) vote: feedback type ``abuse``.
* **Plain-text DMARC failure reports** (Exim's ``dmarc_forensic`` and similar): a text part
  with ``Sender Domain:`` / ``Sender IP Address:`` lines, then the sample's header. Mapped onto
  the RFC 6591 fields they stand for, ``is_arf=False``.
* **Feedback fields in a text part**: reporters that write the RFC 5965 fields into
  ``text/plain`` instead of a ``message/feedback-report`` part.
* **Unsubscribe requests** sent to a List-Unsubscribe ``mailto:`` (RFC 2369 3.2, RFC 8058 is
  the HTTPS variant): subject ``unsubscribe``; reported as feedback type ``opt-out`` for the
  sender, who is the person asking.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.message import Message

from parsers.arf import (
    PROVIDER_RECIPIENT_HEADERS,
    address_of,
    build_report,
    enclosure_of,
    feedback_from_fields,
    parse_date,
    parse_fields,
    report_type,
    top_parts,
    verp_token,
)
from parsers.mime import header, part_text
from parsers.mimeparse import header_message
from parsers.records import Feedback, FeedbackType, Kind, Original, Reason, Recipient, Report

__all__ = ["parse_jmrp", "parse_text_feedback", "parse_unsubscribe"]

# Fields that, beside Feedback-Type, show a text part really is an RFC 5965 report.
_ARF_FIELDS = {
    "user-agent",
    "version",
    "original-rcpt-to",
    "original-mail-from",
    "arrival-date",
    "source-ip",
    "reported-domain",
    "auth-failure",
}
# Exim dmarc.c forensic report labels -> RFC 6591 fields.
_TEXT_LABELS = {
    "sender domain",
    "sender ip address",
    "received date",
    "spf alignment",
    "dkim alignment",
    "dmarc results",
}
# First line of the sample header block that follows the labels.
_HEADER_START = re.compile(
    r"^(Return-Path|Received|From|To|Subject|Date|Message-I[Dd]|DKIM-Signature|"
    r"Authentication-Results|MIME-Version):",
    re.MULTILINE,
)
_LABEL = re.compile(r"^[ \t]*([A-Za-z][A-Za-z ]{2,30}?)[ \t]*:[ \t]*(\S.*?)[ \t]*$", re.MULTILINE)
_UNSUBSCRIBE = re.compile(r"^\s*(?:(?:re|fw|fwd)\s*:\s*)*unsubscribe\b", re.IGNORECASE)


def parse_jmrp(msg: Message, *, received_at: datetime | None = None) -> Report | None:
    """A complaint for a JMRP message: an enclosure naming the provider's recipient."""
    if msg.get_content_maintype() != "multipart":
        return None
    enclosure, headers_only = enclosure_of(msg)
    if enclosure is None or not any(enclosure.get(h) for h in PROVIDER_RECIPIENT_HEADERS):
        return None
    extensions = tuple(
        (h, header(enclosure, h) or "") for h in PROVIDER_RECIPIENT_HEADERS if enclosure.get(h)
    )
    feedback = Feedback(
        feedback_type=FeedbackType.ABUSE,
        is_arf=False,
        original_message_id=_msgid(header(enclosure, "Message-ID")),
        arrival_date=parse_date(header(msg, "Date")),
        extensions=extensions,
    )
    return build_report(
        msg, feedback, enclosure, headers_only=headers_only, family="jmrp", received_at=received_at
    )


def parse_text_feedback(msg: Message, *, received_at: datetime | None = None) -> Report | None:
    """Feedback written as text: RFC 5965 fields in ``text/plain``, or Exim's labels."""
    if report_type(msg) == "delivery-status":
        return None  # a DSN quoting feedback fields is a bounce, not feedback
    for part in top_parts(msg, limit=20):
        if part.get_content_type() != "text/plain":
            continue
        text = part_text(part)
        head = text[:20000]
        # Both readings need their field names in the text: a substring test on the
        # lower-cased head spares the line-by-line reading of every other text part.
        lowered = head.lower()
        if "feedback-type" in lowered:
            fields = parse_fields(head)
            names = {n.lower() for n, _ in fields}
            if "feedback-type" in names and names & _ARF_FIELDS:
                feedback = feedback_from_fields(fields, is_arf=False)
                enclosure, headers_only = enclosure_of(msg)
                return build_report(
                    msg,
                    feedback,
                    enclosure,
                    headers_only=headers_only,
                    family="arf-text",
                    received_at=received_at,
                )
        # three of the six labels: then one at least is not a "sender ..." label
        if (
            "alignment" in lowered or "received date" in lowered or "dmarc results" in lowered
        ) and sum(label in lowered for label in _TEXT_LABELS) >= 3:
            labels = _LABEL.findall(head)
            if len(_TEXT_LABELS & {n.lower() for n, _ in labels}) >= 3:
                return _exim_report(msg, text, labels, received_at)
    return None


def _exim_report(
    msg: Message, text: str, fields: list[tuple[str, str]], received_at: datetime | None
) -> Report:
    """Exim's forensic text (src/dmarc.c) as an RFC 6591 auth-failure report."""
    labels = {n.lower(): v for n, v in reversed(fields)}
    aligned = [k for k in ("dkim", "spf") if labels.get(f"{k} alignment", "").lower() == "yes"]
    domain = labels.get("sender domain", "").strip().lower()
    found = _HEADER_START.search(text)
    enclosure = None
    if found:
        enclosure = header_message(text[found.start() :])  # header caps applied (issue 11)
    feedback = Feedback(
        feedback_type=FeedbackType.AUTH_FAILURE,
        is_arf=False,
        auth_failure="dmarc",
        source_ip=labels.get("sender ip address") or None,
        arrival_date=parse_date(labels.get("received date")),
        reported_domain=(domain,) if domain else (),
        delivery_result=(labels.get("dmarc results") or "").lower() or None,
        identity_alignment=", ".join(aligned) or "none",
        original_mail_from=address_of(header(enclosure, "Return-Path")) if enclosure else None,
        original_message_id=_msgid(header(enclosure, "Message-ID")) if enclosure else None,
    )
    return build_report(
        msg, feedback, enclosure, headers_only=True, family="dmarc-text", received_at=received_at
    )


def parse_unsubscribe(msg: Message, *, received_at: datetime | None = None) -> Report | None:
    """An unsubscribe request mailed to our List-Unsubscribe address (RFC 2369 3.2)."""
    subject = header(msg, "Subject") or ""
    if not _UNSUBSCRIBE.match(subject) or msg.get_content_type() == "multipart/report":
        return None
    sender = address_of(header(msg, "From"))
    to = address_of(header(msg, "To"))
    feedback = Feedback(
        feedback_type=FeedbackType.OPT_OUT,
        is_arf=False,
        arrival_date=parse_date(header(msg, "Date")),
    )
    return Report(
        kind=Kind.COMPLAINT,
        recipients=(Recipient(address=sender, reason=Reason.FEEDBACK),),
        original=Original(to=to, verp_token=verp_token(header(msg, "To")), headers_only=True),
        feedback=feedback,
        family="unsubscribe",
        arrival_date=feedback.arrival_date,
        message_id=_msgid(header(msg, "Message-ID")),
        subject=subject,
        from_=sender,
        received_at=received_at,
    )


def _msgid(value: str | None) -> str | None:
    return "".join(value.split()) if value else None
