"""ARF complaints and DMARC failure reports (RFC 5965, RFC 6650, RFC 6591).

An ARF report is ``multipart/report; report-type=feedback-report`` with three parts: a human
text, a ``message/feedback-report`` part of header-like fields, and the original message
(``message/rfc822``) or its header (``text/rfc822-headers``). Real reports bend this, and each
bend here is forced by a sample in ``shared/corpus/reports``:

* the feedback part is base64 inside ``multipart/mixed`` (NetEase failure reports), so we
  look for the part by type anywhere above the enclosure and decode it ourselves;
* draft-era fields: ``Received-Date`` for ``Arrival-Date``, ``Version: 0.1``/``1.0``, the
  ``opt-out`` feedback type (sisimai ``arf-01``, Yahoo ``arf-02``);
* ``Source-IP: 148.163.85.135 (host.example)`` and redacted ``x.x.x.x`` (kumomta
  ``rfc5965-4``): the address alone, or the redacted text verbatim;
* fields we do not model (``Redacted-Address``, ``Abuse-Type``, ``Subscription-Link`` ...)
  are kept, in order, in ``Feedback.extensions`` rather than dropped.

The complainer is taken, in order, from ``Original-Rcpt-To`` (RFC 5965 3.2, one recipient per
value), provider headers of the enclosure (``X-HmXmrOriginalRecipient``), then the enclosure's
single ``To:`` address. Our VERP token (``parsers.verp``: it carries only a hash of
the recipient) is surfaced in ``Original.verp_token`` for the monitor, which holds the key.
Nothing knowable gives ``Recipient(address=None)``.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import quopri
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email.message import Message
from email.utils import collapse_rfc2231_value, getaddresses, parsedate_to_datetime
from typing import Any

from parsers.mime import HeaderIndex, decode_header_value, header, names_param, part_text
from parsers.mimeparse import header_message
from parsers.original import list_fields
from parsers.records import Feedback, FeedbackType, Kind, Original, Reason, Recipient, Report
from parsers.verp import find_verp_token

__all__ = [
    "PROVIDER_RECIPIENT_HEADERS",
    "address_of",
    "complainers",
    "enclosure_of",
    "feedback_from_fields",
    "find_feedback_part",
    "original_of",
    "parse_arf",
    "parse_date",
    "parse_fields",
    "report_type",
    "top_parts",
]

#: Headers a provider adds to the enclosed original naming its own user (Microsoft JMRP).
PROVIDER_RECIPIENT_HEADERS = ("X-HmXmrOriginalRecipient",)
#: Our campaign header, set by the relay on every message it sends.
CAMPAIGN_HEADER = "X-Campaign-ID"
_ENCLOSURE_TYPES = (
    "message/rfc822",
    "text/rfc822-headers",
    "message/rfc822-headers",
    "message/global",
    "message/global-headers",
)
_FIELD = re.compile(r"^([A-Za-z][A-Za-z0-9_-]*)[ \t]*:[ \t]*(.*)$")
_ADDRESS = re.compile(r"^[^@\s<>(),;:\"]+@[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+$")
_SINGLE = {
    "user-agent": "user_agent",
    "version": "version",
    "removal-recipient": "removal_recipient",
    "dkim-domain": "dkim_domain",
    "dkim-identity": "dkim_identity",
    "dkim-selector": "dkim_selector",
    "dkim-canonicalized-header": "dkim_canonicalized_header",
    "dkim-canonicalized-body": "dkim_canonicalized_body",
    "spf-dns": "spf_dns",
    "delivery-result": "delivery_result",
    "identity-alignment": "identity_alignment",
}
_LOWER = {"delivery_result", "identity_alignment"}


def top_parts(msg: Message, *, limit: int = 200) -> Iterator[Message]:
    """Leaf and ``message/*`` parts of ``msg``, never descending into an enclosed message.

    A bounce or complaint that encloses a message carrying a report must not be mistaken for
    the report itself, so the walk stops at every ``message/*`` part.
    """
    stack = [msg]
    seen = 0
    while stack and seen < limit:
        part = stack.pop()
        seen += 1
        # is_multipart() first: a leaf's get_payload() would scan its text for nothing
        if part.get_content_maintype() == "multipart" and part.is_multipart():
            stack.extend(reversed([p for p in part.get_payload() if isinstance(p, Message)]))
        else:
            yield part


def report_type(msg: Message) -> str:
    """The ``report-type`` parameter of a multipart/report (RFC 6522 3), lower-cased."""
    if not names_param(msg, "report-type"):  # most mail: no parameter parsing
        return ""
    value = msg.get_param("report-type")
    return collapse_rfc2231_value(value).strip().lower() if value else ""


def find_feedback_part(msg: Message) -> Message | None:
    """The ``message/feedback-report`` part (RFC 5965 3), wherever the sender put it."""
    for part in top_parts(msg):
        if part.get_content_type().endswith("/feedback-report"):  # text/ seen mislabelled
            return part
    return None


def feedback_text(part: Message) -> str:
    """The fields of a feedback part as text, undoing a transfer encoding the parser kept.

    compat32 parses any ``message/*`` body as a message and ignores its
    Content-Transfer-Encoding, so a base64 feedback part arrives as one body of base64 lines.
    """
    payload = part.get_payload()
    if not isinstance(payload, list):
        return part_text(part)
    inner = payload[0] if payload and isinstance(payload[0], Message) else None
    text = inner.as_string(maxheaderlen=0) if inner is not None else ""
    cte = (part.get("Content-Transfer-Encoding") or "").strip().lower()
    try:
        if cte == "base64":
            return base64.b64decode("".join(text.split())).decode("utf-8", "replace")
        if cte == "quoted-printable":
            return quopri.decodestring(text.encode("utf-8", "replace")).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return text
    return text


def parse_fields(text: str) -> list[tuple[str, str]]:
    """``Name: value`` lines with RFC 5322 folding undone; blank lines do not stop the scan."""
    fields: list[tuple[str, str]] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if line[:1] in (" ", "\t") and fields and line.strip():
            name, value = fields[-1]
            fields[-1] = (name, f"{value} {line.strip()}".strip())
            continue
        found = _FIELD.match(line)
        if found:
            fields.append((found.group(1), found.group(2).strip()))
    return fields


def feedback_from_fields(fields: list[tuple[str, str]], *, is_arf: bool) -> Feedback:
    """Map RFC 5965 3.1-3.3 and RFC 6591 3.1-3.2 fields onto ``Feedback``."""
    values: dict[str, Any] = {}  # keys from the closed tables below
    lists: dict[str, list[str]] = {
        "original_rcpt_to": [],
        "reported_domain": [],
        "reported_uri": [],
    }
    extensions: list[tuple[str, str]] = []
    for name, raw in fields:
        value = decode_header_value(raw)
        key = name.lower()
        if not _take(key, value, values, lists):
            extensions.append((name, value))
    return Feedback(
        feedback_type=_feedback_type(values.pop("feedback_type", None)),
        is_arf=is_arf,
        original_rcpt_to=tuple(lists["original_rcpt_to"]),
        reported_domain=tuple(lists["reported_domain"]),
        reported_uri=tuple(lists["reported_uri"]),
        extensions=tuple(extensions),
        **values,
    )


def _take(key: str, value: str, values: dict[str, Any], lists: dict[str, list[str]]) -> bool:
    """Store one field; False when it is not one we model (it becomes an extension)."""
    attr = _SINGLE.get(key)
    if attr is not None:
        if value and attr not in values:
            values[attr] = value.lower() if attr in _LOWER else value
        return True
    if key == "original-rcpt-to":
        lists["original_rcpt_to"].extend(a for a in _addresses(value) if a)
    elif key == "reported-domain":
        lists["reported_domain"].extend(
            d.strip().rstrip(".").lower() for d in value.split(",") if d.strip()
        )
    elif key == "reported-uri":
        lists["reported_uri"].append(value)
    elif key in ("arrival-date", "received-date"):  # Received-Date: draft-shafranovich-feedback
        values.setdefault("arrival_date", parse_date(value))
    else:
        return _take_special(key, value, values)
    return True


def _take_special(key: str, value: str, values: dict[str, Any]) -> bool:
    if key == "feedback-type":
        values.setdefault("feedback_type", value)
    elif key == "original-mail-from":
        values.setdefault("original_mail_from", address_of(value) or value.strip("<> ") or None)
    elif key == "source-ip":
        values.setdefault("source_ip", _source_ip(value))
    elif key == "reporting-mta":
        values.setdefault("reporting_mta", value.split(";", 1)[-1].strip() or None)
    elif key == "incidents":
        values.setdefault("incidents", int(value) if value.strip().isdigit() else None)
    elif key == "auth-failure":
        values.setdefault("auth_failure", value.lower() or None)
    else:
        return False
    return True


def _feedback_type(value: object) -> FeedbackType | None:
    """RFC 5965 7.3 registry; an unregistered type is ``other`` (RFC 5965 3.1 says so)."""
    if not isinstance(value, str) or not value.strip():
        return None
    token = value.strip().lower().split(";", 1)[0].strip()
    try:
        return FeedbackType(token)
    except ValueError:
        return FeedbackType.OTHER


def _source_ip(value: str) -> str | None:
    """The IP of ``Source-IP: 192.0.2.1 (host)``; a redacted form such as ``x.x.x.x`` as is."""
    token = value.strip().split()[0].strip("[],;") if value.strip() else ""
    if not token:
        return None
    try:
        return str(ipaddress.ip_address(token.removeprefix("IPv6:")))
    except ValueError:
        return token


def parse_date(value: str | None) -> datetime | None:
    """RFC 5322 date (obsolete zones such as ``EDT`` included) or ISO 8601, as aware UTC."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    if when.tzinfo is None:  # "-0000" (RFC 5322 3.3: no zone information) or naive ISO
        return when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def address_of(value: str | None) -> str | None:
    """The one address in ``value``, domain lower-cased; None when there is not exactly one."""
    found = [a for a in _addresses(value or "") if a]
    return found[0] if len(found) == 1 else None


def _addresses(value: str) -> list[str | None]:
    out: list[str | None] = []
    for _name, found in getaddresses([value]):
        addr = found.strip().strip("<>").strip()
        if not _ADDRESS.match(addr):
            out.append(None)
            continue
        local, _, domain = addr.rpartition("@")
        out.append(f"{local}@{domain.lower()}")
    return out


def enclosure_of(msg: Message) -> tuple[Message | None, bool]:
    """The enclosed original (RFC 5965 2 item 3) and whether only its header is there."""
    for part in top_parts(msg):
        ctype = part.get_content_type()
        if ctype not in _ENCLOSURE_TYPES:
            continue
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            inner = payload[0]
            body = inner.get_payload()
            return inner, ctype.endswith("headers") or not body
        text = part_text(part)
        return header_message(text.lstrip("\r\n")), True
    return None, False


def original_of(
    enclosure: Message | None, *, headers_only: bool, mail_from: str | None = None
) -> Original | None:
    """What the enclosure tells of the message we sent (RFC 5965 2, RFC 6591 3.1)."""
    if enclosure is None:
        return None
    return_path = address_of(header(enclosure, "Return-Path"))
    return Original(
        message_id=_msgid(header(enclosure, "Message-ID")),
        from_=address_of(header(enclosure, "From")),
        to=address_of(header(enclosure, "To")),
        subject=header(enclosure, "Subject"),
        date=parse_date(header(enclosure, "Date")),
        list_id=header(enclosure, "List-Id"),
        feedback_id=header(enclosure, "Feedback-ID"),
        campaign=header(enclosure, CAMPAIGN_HEADER),
        verp_token=verp_token(return_path, mail_from, enclosure.get("To")),
        return_path=return_path,
        headers_only=headers_only,
        **list_fields(HeaderIndex(enclosure)),
    )


def verp_token(*candidates: str | None) -> str | None:
    """Our signed token (``parsers.verp`` format) in the first candidate that has one.

    Only the format is checked here; the monitor, which holds the key, verifies the HMAC.
    """
    for text in candidates:
        token = find_verp_token(text)
        if token:
            return token
    return None


def _msgid(value: str | None) -> str | None:
    return "".join(value.split()) if value else None


def complainers(
    feedback: Feedback | None, enclosure: Message | None, outer: Message | None = None
) -> tuple[Recipient, ...]:
    """Who complained, in the order of trust of the module docstring; never a guess."""
    if feedback is not None and feedback.original_rcpt_to:
        return tuple(
            Recipient(address=a, reason=Reason.FEEDBACK)
            for a in dict.fromkeys(feedback.original_rcpt_to)
        )
    for source in (enclosure, outer):
        for name in PROVIDER_RECIPIENT_HEADERS:
            found = address_of(header(source, name)) if source is not None else None
            if found:
                return (Recipient(address=found, reason=Reason.FEEDBACK),)
    to = address_of(header(enclosure, "To")) if enclosure is not None else None
    return (Recipient(address=to, reason=Reason.FEEDBACK),)


def parse_arf(msg: Message, *, received_at: datetime | None = None) -> Report | None:
    """A Report for an ARF message, or None when ``msg`` has no feedback part."""
    part = find_feedback_part(msg)
    if part is None:
        return None
    is_arf = msg.get_content_type() == "multipart/report" and report_type(msg) == "feedback-report"
    feedback = feedback_from_fields(parse_fields(feedback_text(part)), is_arf=is_arf)
    enclosure, headers_only = enclosure_of(msg)
    if enclosure is not None and not feedback.original_message_id:
        feedback = replace(feedback, original_message_id=_msgid(header(enclosure, "Message-ID")))
    return build_report(
        msg,
        feedback,
        enclosure,
        headers_only=headers_only,
        family="arf" if is_arf else "arf-nonstandard",
        received_at=received_at,
    )


def build_report(
    msg: Message,
    feedback: Feedback,
    enclosure: Message | None,
    *,
    headers_only: bool,
    family: str,
    received_at: datetime | None,
) -> Report:
    """The Report for any feedback format once its fields and enclosure are known."""
    kind = (
        Kind.AUTH_FAILURE if feedback.feedback_type is FeedbackType.AUTH_FAILURE else Kind.COMPLAINT
    )
    warnings = () if feedback.feedback_type else ("no Feedback-Type field",)
    return Report(
        kind=kind,
        recipients=complainers(feedback, enclosure, msg),
        original=original_of(
            enclosure, headers_only=headers_only, mail_from=feedback.original_mail_from
        ),
        feedback=feedback,
        family=family,
        reporting_mta=feedback.reporting_mta,
        arrival_date=feedback.arrival_date,
        message_id=_msgid(header(msg, "Message-ID")),
        subject=header(msg, "Subject"),
        from_=address_of(header(msg, "From")),
        received_at=received_at,
        warnings=warnings,
    )
