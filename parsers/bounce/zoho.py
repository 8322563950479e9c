"""Zoho Mail: "This message was created automatically by mail delivery software/system."

Recipient lines are "rcpt Invalid Address, ERROR_CODE :550, ..." or, in delay notices,
"[Status: Error, Address: <rcpt>, ResponseCode 421, , Host not reachable.]".
"""

from __future__ import annotations

import re

from parsers.bounce.base import Context, Parsed
from parsers.bounce.simple import LineFormat, read

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:zoho"
_FORMAT = LineFormat(
    family=FAMILY,
    start=("This message was created automatically by mail delivery",),
    boundaries=(
        "Received:from mail.zoho.com by mx.zohomail.com",
        "Received: from mail.zoho.com by mx.zohomail.com",
    ),
    recipient=re.compile(
        r"^(?:\[Status: [^<]*<)?(?P<addr>[^\s<>]+@[^\s<>,]+)>?[\s,]+(?P<diag>.+)$"
    ),
    messages={"expired": ("host not reachable",)},
    continuation=False,
)


def parse(ctx: Context) -> Parsed | None:
    """Bounces from Zoho's MTAs (they carry an X-ZohoMail header)."""
    if not ctx.has("X-ZohoMail"):
        return None
    return read(_FORMAT, ctx)
