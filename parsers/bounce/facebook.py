"""Facebook's inbound mail (2010s): "Sorry, your message could not be delivered".

Each refusal carries a code such as "RCP-P2" whose meaning Facebook documented; the code,
not the prose, decides the reason.
"""

from __future__ import annotations

import re

from parsers.bounce.base import Context, Parsed
from parsers.bounce.rfc3464 import parse_status_text

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:facebook"
_CODES = {
    "userunknown": ("RCP-P1", "INT-P1", "INT-P3", "INT-P4"),
    "filtered": ("RCP-P2", "RCP-P3"),
    "blocked": ("POL-P1", "POL-P2"),
    "mesgtoobig": ("MSG-P1", "INT-P2"),
    "contenterror": ("MSG-P2", "MSG-P3", "POL-P6", "POL-P7"),
    "notaccept": ("POL-P3", "POL-P4", "POL-T1", "POL-T2", "POL-T3"),
    "rejected": ("DNS-P1", "DNS-P2", "DNS-T1", "DNS-P3", "DNS-T2"),
    "systemerror": ("CON-T1", "RCP-T1"),
    "toomanyconn": ("CON-T2", "CON-T3"),
    "virusdetected": ("POL-P5",),
    "suspend": ("RCP-T4",),
    "undefined": ("MSG-T1", "CON-T4"),
}
_CODE = re.compile(r"\b([A-Z]{3}-[PT]\d)\b", re.IGNORECASE)  # quoted in any case


def parse(ctx: Context) -> Parsed | None:
    """Bounces from mailer-daemon@mx.facebook.com."""
    if "mailer-daemon@mx.facebook.com" not in ctx.from_:
        return None
    if ctx.title != "sorry, your message could not be delivered":
        return None
    _human, original, failures = parse_status_text(ctx.text)
    for failure in failures:
        code = _CODE.search(failure.diagnostic)
        value = code.group(1).upper() if code else ""
        failure.reason = next((r for r, codes in _CODES.items() if value in codes), "")
    return Parsed(FAMILY, failures, original) if failures else None
