"""Whose problem a bounce reason is: the sender's or the recipient's.

A sender acts on the two differently: a recipient-side reason (the mailbox is unknown, full,
disabled, moved, or refuses the mail) is about that one address and feeds the suppression
list; a sender-side reason (the sending IP is blocked, the domain fails authentication, the
rate is too high, the content looks like spam) is about the sender's own set-up and must
never suppress the recipient. Transport reasons (expired, network or system errors) and the
non-failures are neither.
"""

from __future__ import annotations

from parsers.records import Reason, Side

__all__ = ["SIDES", "side_of"]

_R = Reason

#: The side each failure reason is on; reasons absent here are on neither.
SIDES: dict[Reason, Side] = {
    **dict.fromkeys(
        (
            _R.USER_UNKNOWN,
            _R.HOST_UNKNOWN,
            _R.MAILBOX_FULL,
            _R.SUSPEND,
            _R.HAS_MOVED,
            _R.FILTERED,
            _R.NOT_ACCEPT,
            _R.EXCEED_LIMIT,  # the message is over this recipient's own limit
            _R.SYSTEM_FULL,
        ),
        Side.RECIPIENT,
    ),
    **dict.fromkeys(
        (
            _R.BLOCKED,
            _R.SPAM_DETECTED,
            _R.POLICY_VIOLATION,
            _R.REJECTED,
            _R.AUTH_FAILURE,
            _R.BAD_REPUTATION,
            _R.REQUIRE_PTR,
            _R.SPEEDING,
            _R.TOO_MANY_CONN,
            _R.SECURITY_ERROR,
            _R.NO_RELAYING,
            _R.NOT_COMPLIANT_RFC,
            _R.CONTENT_ERROR,
            _R.VIRUS_DETECTED,
            _R.MESG_TOO_BIG,
            _R.SYNTAX_ERROR,
        ),
        Side.SENDER,
    ),
}


def side_of(reason: Reason) -> Side | None:
    """The side ``reason`` is on, or None (transport failures, non-failures, unknown)."""
    return SIDES.get(reason)
