"""One SMTP reply, as a remote MX gave it, classified like a bounce's Diagnostic-Code.

The relay's own delivery attempts and an MTA's send log (a Postfix ``status=bounced (host
mx.example said: 550 5.1.1 ...)``) hold the same words a DSN carries in its
``Diagnostic-Code: smtp; ...`` (RFC 3464 2.3.6). Classifying them with the very same code
(``parsers.classify``) is what makes a reply to our relay and a bounce in the mailbox act
alike on the suppression list (issue 13: "the same classifier as mailbox bounces").
"""

from __future__ import annotations

from parsers.classify import classify
from parsers.dsn import Failure
from parsers.records import Action, Reason, Recipient

__all__ = ["classify_reply", "expired"]


def classify_reply(
    code: int | str | None,
    text: str,
    *,
    address: str = "",
    remote_mta: str = "",
    command: str = "",
) -> Recipient:
    """Reason, status, hard/soft of a reply ``code`` + ``text`` (RFC 5321 4.2).

    ``text`` may already start with the code (``"550 5.1.1 no such user"``), as a log
    line quotes it; a 2xx reply means delivered. Pure, never raises.
    """
    reply = str(code).strip() if code is not None else ""
    body = text.strip()
    if not reply and body[:3].isdigit():
        reply = body[:3]
    if reply.startswith("2"):
        return Recipient(
            address=address or None,
            reason=Reason.DELIVERED,
            action=Action.DELIVERED,
            status="2.0.0",
            reply_code=reply,
            diagnostic=body or None,
            diagnostic_type="smtp",
            remote_mta=remote_mta or None,
        )
    diagnostic = body if body.startswith(reply) or not reply else f"{reply} {body}"
    failure = Failure(
        address=address,
        action="delayed" if reply.startswith("4") else "failed" if reply else "",
        reply_code=reply,
        diagnostic=diagnostic,
        diagnostic_type="SMTP",
        remote_mta=remote_mta,
        command=command.upper(),
    )
    return classify(failure)


def expired(address: str, last_reply: str, *, remote_mta: str = "") -> Recipient:
    """A message given up after the queue lifetime (RFC 5321 4.5.4.1): ``expired``, a
    temporary failure that lasted (4.4.7), with the last reply kept for the postmaster."""
    return Recipient(
        address=address or None,
        reason=Reason.EXPIRED,
        action=Action.FAILED,
        status="4.4.7",
        hard=False,
        diagnostic=last_reply or None,
        diagnostic_type="smtp",
        remote_mta=remote_mta or None,
    )
