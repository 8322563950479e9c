"""Delivery status notifications (RFC 3464) for the submitter, when it asked (RFC 3461).

A DSN is a ``multipart/report; report-type=delivery-status`` message (RFC 3464 2, RFC 6522):
a human-readable part, the machine-readable ``message/delivery-status`` part (per-message
fields 2.2, one block of per-recipient fields 2.3 per recipient), and the original message
(``message/rfc822``) or only its header (``text/rfc822-headers``) as RET asked (RFC 3461
4.3). Without RET, a failure returns the whole message as Postfix does, other notices only
the header; a message larger than ``size_limit`` is reduced to its header (Postfix's
``bounce_size_limit``). Addresses that need UTF-8 make it a ``message/global-delivery-status``
with ``utf-8`` address types (RFC 6533 3, 6) and an SMTPUTF8 message.

The DSN goes back to the envelope sender from the null reverse-path ``<>`` (RFC 5321 4.5.5,
RFC 3464 2), so it can never cause another DSN, and it is queued like any message
(``monitor.store.queue.enqueue``).
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime

from monitor.store.queue import Due, QueuedMessage, QueuedRecipient

__all__ = ["DsnRecipient", "build_dsn"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_SUBJECT = {
    "failed": "Undelivered Mail Returned to Sender",
    "delayed": "Delayed Mail (still being retried)",
    "relayed": "Successful Mail Delivery Report",
}
_INTRO = {
    "failed": "Your message could not be delivered to the recipients below. The reasons "
    "are in the delivery report that follows.",
    "delayed": "Your message has not been delivered yet to the recipients below. The mail "
    "system will keep trying until the time given as Will-Retry-Until; you do not need to "
    "send it again.",
    "relayed": "Your message was handed to the recipients' mail servers below. They did "
    "not offer delivery notifications, so this is the last report you will get.",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class DsnRecipient:
    """One recipient's block of per-recipient fields (RFC 3464 2.3)."""

    address: str
    orcpt: str | None  # as submitted: ``rfc822;addr`` (xtext), RFC 3461 4.2
    action: str  # failed, delayed, relayed (RFC 3464 2.3.3)
    status: str  # RFC 3463 code
    remote_mta: str | None = None
    diagnostic: str | None = None  # the reply, "550 5.1.1 ..." (SMTP) or our own words
    smtp: bool = True  # ``diagnostic`` is an SMTP reply (diagnostic-type ``smtp``)
    last_attempt: datetime | None = None
    will_retry_until: datetime | None = None


def _queue_id() -> str:
    """The relay's queue id shape: 12 base32 characters of 8 random bytes."""
    return base64.b32encode(secrets.token_bytes(8)).decode("ascii")[:12]


def _clean(text: str, limit: int = 900) -> str:
    """One line of field text: no control characters (a reply came from a stranger)."""
    return _CONTROL.sub(" ", text).strip()[:limit]


def _fold(name: str, value: str) -> str:
    """``Name: value`` folded at spaces near 78 characters (RFC 5322 2.2.3)."""
    line = f"{name}: "
    out: list[str] = []
    for word in value.split(" "):
        if len(line) + len(word) > 78 and line.strip():
            out.append(line.rstrip())
            line = " "
        line += word + " "
    out.append(line.rstrip())
    return "\r\n".join(out)


def _address_field(name: str, value: str, utf8: bool) -> str:
    kind = "utf-8" if utf8 and not value.isascii() else "rfc822"
    return _fold(name, f"{kind}; {_clean(value, 500)}")


def _recipient_block(r: DsnRecipient, utf8: bool) -> list[str]:
    lines = []
    if r.orcpt:
        kind, _, value = r.orcpt.partition(";")
        lines.append(_fold("Original-Recipient", f"{_clean(kind, 20)};{_clean(value, 500)}"))
    lines.append(_address_field("Final-Recipient", r.address, utf8))
    lines.append(f"Action: {r.action}")
    lines.append(f"Status: {r.status}")
    if r.remote_mta:
        lines.append(_fold("Remote-MTA", f"dns; {_clean(r.remote_mta, 255)}"))
    if r.diagnostic:
        kind = "smtp" if r.smtp else "X-Deliverwatch"
        lines.append(_fold("Diagnostic-Code", f"{kind}; {_clean(r.diagnostic)}"))
    if r.last_attempt is not None:
        lines.append(f"Last-Attempt-Date: {format_datetime(r.last_attempt)}")
    if r.will_retry_until is not None:
        lines.append(f"Will-Retry-Until: {format_datetime(r.will_retry_until)}")
    return lines


def _returned(original: bytes | None, *, full: bool, limit: int) -> tuple[str, bytes] | None:
    """(content type, bytes) of the returned message or its header; None without one."""
    if original is None:
        return None
    data = original.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    if full and len(data) <= limit:
        return "message/rfc822", data
    head, _, _ = data.partition(b"\r\n\r\n")
    return "text/rfc822-headers", head + b"\r\n"


def build_dsn(
    message: Due,
    recipients: Sequence[DsnRecipient],
    *,
    original: bytes | None,
    hostname: str,
    now: datetime,
    lifetime: timedelta,
    size_limit: int,
) -> QueuedMessage:
    """The DSN about ``message`` (any of its recipients' ``Due`` rows: the per-message
    fields are the same) for ``recipients``, queued to its envelope sender from ``<>``."""
    action = next((a for a in ("failed", "delayed", "relayed") if any(
        r.action == a for r in recipients)), "failed")  # fmt: skip
    utf8 = not message.envelope_sender.isascii() or any(not r.address.isascii() for r in recipients)
    boundary = f"{_queue_id()}/{hostname}"
    msgid = f"{_queue_id().lower()}.{int(now.timestamp())}@{hostname}"
    full = (message.dsn_ret or "").upper() == "FULL" or (not message.dsn_ret and action == "failed")
    returned = _returned(original, full=full, limit=size_limit)
    if returned is not None and utf8:
        returned = (returned[0].replace("rfc822", "global"), returned[1])
    status_type = "message/global-delivery-status" if utf8 else "message/delivery-status"
    head = [
        f"From: Mail Delivery System <MAILER-DAEMON@{hostname}>",
        f"To: <{message.envelope_sender}>",
        f"Subject: {_SUBJECT[action]}",
        f"Date: {format_datetime(now)}",
        f"Message-ID: <{msgid}>",
        "Auto-Submitted: auto-replied",  # RFC 3834 5
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"',
        "",
        "This is a MIME-encapsulated message.",
        "",
        f"--{boundary}",
        "Content-Description: Notification",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
        "",
        f"This is the mail system at host {hostname}.",
        "",
        _INTRO[action],
        "",
        *(f"<{_clean(r.address, 500)}>: {_clean(r.diagnostic or r.status)}" for r in recipients),
        "",
        f"--{boundary}",
        "Content-Description: Delivery report",
        f"Content-Type: {status_type}",
        "",
        f"Reporting-MTA: dns; {hostname}",
    ]
    if message.dsn_envid:
        head.append(_fold("Original-Envelope-Id", _clean(message.dsn_envid, 100)))
    head.append(f"Arrival-Date: {format_datetime(message.received_at)}")
    for r in recipients:
        head += ["", *_recipient_block(r, utf8)]
    head.append("")
    parts = "\r\n".join(head).encode("utf-8") + b"\r\n"
    if returned is not None:
        kind, data = returned
        description = "Undelivered Message" if action == "failed" else "Message"
        cte = "" if data.isascii() else "Content-Transfer-Encoding: 8bit\r\n"
        parts += (
            f"--{boundary}\r\nContent-Description: {description}"
            f"{' Headers' if kind.startswith('text/') else ''}\r\n"
            f"Content-Type: {kind}\r\n{cte}\r\n"
        ).encode() + data
    body = parts + f"\r\n--{boundary}--\r\n".encode()
    return QueuedMessage(
        queue_id=_queue_id(),
        submitted_by="MAILER-DAEMON",
        envelope_sender="",
        body=body,
        received_at=now,
        expires_at=now + lifetime,
        recipients=(QueuedRecipient(address=message.envelope_sender),),
        header_from=f"MAILER-DAEMON@{hostname}",
        message_id=msgid,
        stream="transactional",
        smtputf8=utf8,
        body_8bit=not body.isascii(),
    )
