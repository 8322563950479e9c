"""Amazon SES: mailed DSNs (sending and receiving side) and SNS JSON notifications.

SES reports in three shapes: an RFC 3464 DSN from the sending side ("The following message
to <rcpt> was undeliverable"), a DSN from a receiving rule set ("This message could not be
delivered."), and, when notifications go to an e-mail SNS subscription, the JSON document
of the notification-contents reference (Bounce, Complaint or Delivery).
https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html
"""

from __future__ import annotations

import json
import re
from typing import Any

from parsers.bounce.base import Context, Parsed, table_reason
from parsers.bounce.rfc3464 import parse_status_text
from parsers.dsn import Failure, clean_address
from parsers.status import find_reply, find_status, reason_of_status

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:amazonses"
_SENDING_START = (
    "The following message to <",
    "An error occurred while trying to deliver the mail ",
)
_RECEIVING_START = "This message could not be delivered."
# SES bounceType/bounceSubType values that name a reason by themselves
_SUBTYPES = {
    ("Transient", "MailboxFull"): "mailboxfull",
    ("Transient", "MessageTooLarge"): "mesgtoobig",
}
# Texts of SES receiving rule-set bounce actions (Rule sets > Actions > Bounce templates)
_RECEIVING = {
    "filtered": ("mailbox does not exist",),
    "mesgtoobig": ("message too large",),
    "mailboxfull": ("mailbox full",),
    "contenterror": ("message content rejected",),
}
_QUOTED = re.compile(r"-['\"](.+)['\"] ")
_HEADERS = ("From", "To", "Subject", "Message-ID", "Date")


def _unfold(body: str) -> str:
    """SNS e-mail notifications wrap long lines with a trailing "!" and a leading space."""
    out: list[str] = []
    folded = False
    for raw in body.split("\n"):
        if not raw:
            continue
        if raw == "--":
            break
        line = raw[1:] if folded else raw
        folded = line.endswith("!")
        out.append(line[:-1] if folded else line)
    return "".join(out)


def _payload(text: str) -> dict[str, Any] | None:
    try:
        document = json.loads(_unfold(text))
        if isinstance(document, dict) and isinstance(document.get("Message"), str):
            document = json.loads(document["Message"])
    except (ValueError, TypeError):
        return None
    return document if isinstance(document, dict) and "notificationType" in document else None


def _bounced(payload: dict[str, Any]) -> list[Failure]:
    bounce = payload.get("bounce") or {}
    bounce_type = (str(bounce.get("bounceType") or ""), str(bounce.get("bounceSubType") or ""))
    subtype = _SUBTYPES.get(bounce_type, "")
    failures = []
    for item in bounce.get("bouncedRecipients") or []:
        address = clean_address(str(item.get("emailAddress") or ""))
        if not address:
            continue
        code = str(item.get("diagnosticCode") or "")
        kind, sep, text = code.partition("; ")
        failures.append(
            Failure(
                address=address,
                action=str(item.get("action") or ""),
                status=str(item.get("status") or ""),
                diagnostic=text if sep and len(kind) > 3 else code,
                diagnostic_type=kind.upper() if sep and len(kind) > 3 else "",
                reason=subtype,
            )
        )
    return failures


def _json_failures(payload: dict[str, Any]) -> list[Failure]:
    kind = payload.get("notificationType")
    if kind == "Bounce":
        return _bounced(payload)
    if kind == "Complaint":
        complaint = payload.get("complaint") or {}
        return [
            Failure(address=clean_address(str(i.get("emailAddress") or "")), reason="feedback")
            for i in complaint.get("complainedRecipients") or []
        ]
    if kind == "Delivery":
        delivery = payload.get("delivery") or {}
        response = str(delivery.get("smtpResponse") or "")
        return [
            Failure(
                address=clean_address(str(a)),
                diagnostic=response,
                reason="delivered",
                action="delivered",
                status=find_status(response) or "",
            )
            for a in delivery.get("recipients") or []
        ]
    return []


def _original(payload: dict[str, Any]) -> str:
    mail = payload.get("mail") or {}
    lines = [
        f"{h.get('name')}: {h.get('value')}"
        for h in mail.get("headers") or []
        if isinstance(h, dict) and h.get("name") in _HEADERS
    ]
    if not any(line.startswith("Message-ID:") for line in lines) and mail.get("messageId"):
        lines.append(f"Message-ID: <{mail['messageId']}>")
    return "\n".join(lines) + "\n\n" if lines else ""


def _status_from_quote(failure: Failure) -> None:
    """ "5.1.0 - Unknown address error 550-'5.7.1 ... Access denied' ": the quoted answer's
    status is the real one."""
    if ".0.0" in failure.status or ".1.0" in failure.status:
        quoted = _QUOTED.search(failure.diagnostic)
        failure.status = find_status(quoted.group(1) if quoted else failure.diagnostic) or (
            failure.status
        )


def _mailed(ctx: Context) -> Parsed | None:
    if "Amazon WorkMail" in ctx.header("X-Mailer"):
        return None
    if not (ctx.has("X-AWS-Outgoing") or ctx.has("X-SES-Outgoing")):
        return None
    receiving = _RECEIVING_START in ctx.text
    if not receiving and not any(m in ctx.text for m in _SENDING_START):
        return None
    _human, original, failures = parse_status_text(ctx.text)
    for failure in failures:
        _status_from_quote(failure)
        failure.reply_code = find_reply(failure.diagnostic, failure.status[:1] or None) or ""
        if receiving:
            failure.reason = table_reason(failure.diagnostic, _RECEIVING)
            implied = reason_of_status(failure.status)
            failure.reason = failure.reason or (implied.value if implied else "")
        elif "Delivery expired" in failure.diagnostic:
            failure.reason = "expired"
    family = "lhost:receivingses" if receiving else FAMILY
    return Parsed(family, failures, original) if failures else None


def parse(ctx: Context) -> Parsed | None:
    """SES bounces: JSON notifications (X-Amz-Sns-Message-Id) or mailed DSNs."""
    if ctx.text.lstrip().startswith("{") and ctx.has("X-Amz-Sns-Message-Id"):
        payload = _payload(ctx.text.lstrip())
        if payload is None:
            return None
        failures = [f for f in _json_failures(payload) if f.address]
        return Parsed(FAMILY, failures, _original(payload)) if failures else None
    return _mailed(ctx)
