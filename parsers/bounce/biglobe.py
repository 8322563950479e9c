"""BIGLOBE (and the Japanese cable ISPs on its platform): "Returned mail: ..."."""

from __future__ import annotations

import re

from parsers.bounce.base import Context, Parsed
from parsers.bounce.simple import LineFormat, read

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:biglobe"
_SENDER = re.compile(r"postmaster@(?:biglobe|inacatv|tmtv|ttv)\.ne\.jp", re.IGNORECASE)
_FORMAT = LineFormat(
    family=FAMILY,
    start=("----- The following addresses had delivery problems -----",),
    recipient=re.compile(r"^(?P<addr>[^ ]+@[^ ]+)$"),
    messages={
        "filtered": ("mail delivery failed... user unknown",),
        "mailboxfull": ("the number of messages in recipient's mailbox exceeded the local limit.",),
    },
)


def parse(ctx: Context) -> Parsed | None:
    """BIGLOBE postmaster notices."""
    if not _SENDER.search(ctx.from_) or not ctx.title.startswith("returned mail:"):
        return None
    return read(_FORMAT, ctx)
