"""First looks: is the input a mail message at all, and what kind of report is the result.

Report files arrive bare as well as mailed: a DMARC aggregate as XML, gzip or zip, a TLS-RPT
as JSON (RFC 7489 7.2.1.1, RFC 8460 5.3). Those are recognised by their first bytes and
handed to the feedback parsers; everything else is read as an RFC 5322 message.
"""

from __future__ import annotations

from collections.abc import Sequence
from email.message import Message

from parsers.records import Action, Kind, Reason, Recipient

__all__ = ["is_report_document", "kind_of", "looks_like_message"]

_GZIP = b"\x1f\x8b"
_ZIP = b"PK\x03\x04"
_BOM = b"\xef\xbb\xbf"


def is_report_document(raw: bytes) -> bool:
    """True for a bare XML/gzip/zip/JSON document rather than a mail message."""
    if raw.startswith((_GZIP, _ZIP)):
        return True
    head = raw[:64].removeprefix(_BOM).lstrip().lower()
    return head.startswith((b"<?xml", b"<feedback", b"{"))


def looks_like_message(msg: Message) -> bool:
    """True if parsing found at least one header field (random bytes yield none)."""
    return bool(msg.keys()) or msg.get_unixfrom() is not None


_NON_FAILURE = {
    Reason.VACATION: Kind.AUTO_REPLY,
    Reason.FEEDBACK: Kind.COMPLAINT,
    Reason.DELIVERED: Kind.DELIVERY,
}


def kind_of(recipients: Sequence[Recipient]) -> Kind:
    """Bounce if any recipient failed for good; delay if all are still being retried.

    RFC 3464 2.3.3: ``delayed`` means the MTA will keep trying; ``failed`` (or a failure
    without an Action) is final even when its status is a 4.x.x that ran out of retries.
    """
    if not recipients:
        return Kind.UNKNOWN
    reasons = {r.reason for r in recipients}
    if len(reasons) == 1 and next(iter(reasons)) in _NON_FAILURE:
        return _NON_FAILURE[next(iter(reasons))]
    failures = [r for r in recipients if r.reason not in _NON_FAILURE]
    if failures and all(r.action is Action.DELAYED for r in failures):
        return Kind.DELAY
    return Kind.BOUNCE
