"""AOL (pre-Yahoo merger MTAs): RFC 3464 reports marked with an X-AOL-IP header."""

from __future__ import annotations

from parsers.bounce.base import Context, Parsed, table_reason
from parsers.bounce.rfc3464 import parse_status_text

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:aol"
_MESSAGES = {
    "hostunknown": ("host or domain name not found",),
    "notaccept": ("type=mx: malformed or unexpected name server reply",),
}


def parse(ctx: Context) -> Parsed | None:
    """AOL reports: the standard reader plus AOL's DNS failure wordings."""
    if not ctx.has("X-AOL-IP"):
        return None
    _human, original, failures = parse_status_text(ctx.text)
    for failure in failures:
        failure.reason = table_reason(failure.diagnostic, _MESSAGES)
    return Parsed(FAMILY, failures, original) if failures else None
