"""Trend Micro InterScan Messaging Security Suite notifications.

Either an SMTP transcript ("Sent <<< RCPT TO:<rcpt>" / "Received >>> 550 ...") or the
sentence "Unable to deliver message to <rcpt>", which InterScan uses for unknown users.
"""

from __future__ import annotations

import re

from parsers.bounce.base import Context, Parsed, first_address, split_original
from parsers.dsn import Failure

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:interscanmss"
_SUBJECTS = (
    "Mail could not be delivered",
    "メッセージを配信できません。",
    "メール配信に失敗しました",
)
_RECIPIENT = re.compile(
    r"^.+[<>]{3}[ \t]+.+<([^ ]+@[^ ]+)>|^(?:Reason:[ ]+)?Unable to deliver message to <(.+?)>"
)
_SENT = re.compile(r"^Sent[ \t]+<{3}[ \t]+([A-Z]{4})[ \t]")
_RECEIVED = re.compile(r"^Received[ \t]+>{3}[ \t]+(\d{3}[ \t]+.+)$")

_TITLES = frozenset(s.lower() for s in _SUBJECTS)


def parse(ctx: Context) -> Parsed | None:
    """InterScan MSS bounces (sender name or fixed subjects)."""
    if '"InterScan' not in ctx.header("From") and ctx.title not in _TITLES:
        return None
    notice, original = split_original(ctx.text, ())
    failures: list[Failure] = []
    for line in notice.split("\n"):
        recipient = _RECIPIENT.match(line)
        if recipient:
            address = first_address(recipient.group(1) or recipient.group(2) or "")
            if address and (not failures or failures[-1].address != address):
                failures.append(Failure(address=address))
            if failures and "Unable to deliver " in line:
                failures[-1].diagnostic = line.strip()
                failures[-1].reason = "userunknown"
        if not failures:
            continue
        sent, received = _SENT.match(line), _RECEIVED.match(line)
        if sent:
            failures[-1].command = sent.group(1)
        elif received:
            failures[-1].diagnostic = received.group(1)
    failures = [f for f in failures if f.address]
    return Parsed(FAMILY, failures, original) if failures else None
