"""OpenSMTPD: "This is the MAILER-DAEMON, please DO NOT REPLY to this e-mail." (bounce.c).

One "rcpt: reason" line per recipient; the reason is the remote answer or one of smtpd's own
relay errors (mta.c, queue.c), which name the failure precisely. Newer versions add an RFC
3464 part, but the notice lines are per recipient and more specific, so they are preferred.
"""

from __future__ import annotations

import re

from parsers.bounce.base import Context, Parsed, received_mentions
from parsers.bounce.simple import LineFormat, read

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:opensmtpd"
# smtpd/mta.c and smtpd/queue.c failure strings
_MESSAGES = {
    "expired": ("envelope expired",),
    "hostunknown": ("invalid domain name", "domain does not exist"),
    "notaccept": ("destination seem to reject all mails",),
    "networkerror": (
        "address family mismatch on destination mxs",
        "all routes to destination blocked",
        "bad dns lookup error code",
        "could not retrieve source address",
        "loop detected",
        "network error on destination mxs",
        "no mx found for domain",
        "no mx found for destination",
        "no valid route to remote mx",
        "no valid route to destination",
        "temporary failure in mx lookup",
    ),
    "securityerror": ("could not retrieve credentials",),
}
_FORMAT = LineFormat(
    family=FAMILY,
    start=("This is the MAILER-DAEMON, please DO NOT REPLY to this",),
    boundaries=("    Below is a copy of the original message:",),
    recipient=re.compile(r"^(?P<addr>[^\s]+?@[^\s]+?):?\s(?P<diag>.+)$"),
    messages=_MESSAGES,
    continuation=False,
)


def parse(ctx: Context) -> Parsed | None:
    """OpenSMTPD delivery status notifications."""
    if "delivery status notification" not in ctx.title or "Mailer Daemon <" not in ctx.from_:
        return None
    if not received_mentions(ctx, " (OpenSMTPD) with "):
        return None
    return read(_FORMAT, ctx)
