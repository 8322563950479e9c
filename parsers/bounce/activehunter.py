"""TransWARE Active!hunter: ">>> rcpt <rcpt>" lines under Sendmail-style headings."""

from __future__ import annotations

import re

from parsers.bounce.base import Context, Parsed
from parsers.bounce.simple import LineFormat, read

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:activehunter"
_FORMAT = LineFormat(
    family=FAMILY,
    start=("  ----- The following addresses had permanent fatal errors -----",),
    recipient=re.compile(r"^>{3}[ \t]+.+<(?P<addr>[^ ]+?@[^ ]+?)>$"),
)


def parse(ctx: Context) -> Parsed | None:
    """Active!hunter bounces carry an X-AHMailID header."""
    return read(_FORMAT, ctx) if ctx.has("X-AHMailID") else None
