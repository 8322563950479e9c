"""Courier MTA: "NOTICE: mail delivery status." / "WARNING: delayed mail." reports.

An RFC 3464 report whose diagnostics are Courier's own texts for DNS failures, plus the
SMTP command from its ">>> RCPT TO:" transcript lines.
"""

from __future__ import annotations

import re

from parsers.bounce.base import Context, Parsed, table_reason
from parsers.bounce.rfc3464 import parse_status_text

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:courier"
_SUBJECT = re.compile(r"NOTICE: mail delivery status\.|WARNING: delayed mail\.", re.IGNORECASE)
_MESSAGES = {
    "hostunknown": ("no such domain.",),
    "systemerror": ("this domain's dns violates rfc 1035.",),
    "networkerror": ("dns lookup failed.",),
}
_COMMAND = re.compile(r"^>{3}[ ]+([A-Z]{4})[ ]?", re.MULTILINE)

_MESSAGE_ID = re.compile(r"^<courier\.[0-9A-F]+\.")


def parse(ctx: Context) -> Parsed | None:
    """Courier reports (sender, subject or Message-ID give it away)."""
    if not (
        "Courier mail server at " in ctx.from_
        or _SUBJECT.search(ctx.subject)
        or _MESSAGE_ID.match(ctx.header("Message-ID"))
    ):
        return None
    human, original, failures = parse_status_text(ctx.text)
    command = _COMMAND.search(human)
    for failure in failures:
        failure.reason = table_reason(failure.diagnostic, _MESSAGES)
        failure.command = failure.command or (command.group(1) if command else "")
    return Parsed(FAMILY, failures, original) if failures else None
