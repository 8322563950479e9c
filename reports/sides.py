"""Whose problem a bounce reason is: the recipient's (clean the list), ours (reputation or
set-up: never suppress anyone), transient, or other.

Apart from ``reports.aggregate`` so that the daemon's alert rules and metrics can use it
without importing pandas (the idle daemon's memory, issue 17).
"""

from __future__ import annotations

__all__ = ["reason_side"]

# Reasons (parsers.records.Reason values) by whose problem they are: recipient-side reasons
# clean the list; sender-side ones are our reputation or set-up and never suppress anyone.
_RECIPIENT = {"userunknown", "hostunknown", "mailboxfull", "suspend", "hasmoved", "filtered"}
_RECIPIENT |= {"notaccept"}
_SENDER = {"blocked", "spamdetected", "badreputation", "requireptr", "authfailure"}
_SENDER |= {"policyviolation", "rejected", "securityerror", "norelaying", "notcompliantrfc"}
_SENDER |= {"contenterror", "virusdetected", "mesgtoobig", "exceedlimit", "toomanyconn"}
_SENDER |= {"speeding"}
_TRANSIENT = {"expired", "systemerror", "systemfull", "networkerror", "mailererror", "onhold"}


def reason_side(reason: str | None) -> str:
    """``recipient``, ``sender``, ``transient`` or ``other`` for a bounce reason."""
    if reason in _RECIPIENT:
        return "recipient"
    if reason in _SENDER:
        return "sender"
    if reason in _TRANSIENT:
        return "transient"
    return "other"
