"""An unidentified MTA ("X3" in Sisimai's catalogue) writing boxed DSN-like notices.

"This is an automatically generated Delivery Status Notification." with "   * rcpt" lines
and a "Technical details:" block of "SMTP:RCPT host ...: 553 ..." answers.
"""

from __future__ import annotations

import re

from parsers.bounce.base import Context, Parsed, first_address, split_original
from parsers.dsn import Failure
from parsers.status import find_status

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:x3"
_START = "This is an automatically generated Delivery Status Notification."
_RECIPIENT = re.compile(r"^\s+\*\s(\S+@\S+)$")
# field names and the diagnostic type are case-insensitive (RFC 3464 2.1, RFC 5322 2.2)
_DETAIL = re.compile(
    r"^(?:SMTP:(\S+)\s(.+)|Routing: (.+)|Diagnostic-Code: smtp; (.+))$", re.IGNORECASE
)


def parse(ctx: Context) -> Parsed | None:
    """Notices from "Mail Delivery System" with subject "Delivery status notification"."""
    if not ctx.from_.startswith("Mail Delivery System"):
        return None
    if not ctx.title.startswith("delivery status notification"):
        return None
    notice, original = split_original(ctx.text, ())
    failures: list[Failure] = []
    reading = False
    for line in notice.split("\n"):
        if not reading:
            reading = _START in line
            continue
        recipient = _RECIPIENT.match(line)
        detail = _DETAIL.match(line.strip())
        if recipient:
            failures.append(Failure(address=first_address(recipient.group(1))))
        elif failures and detail:
            command, smtp_text, routing, code = detail.groups()
            failures[-1].command = (command or "").upper()
            failures[-1].diagnostic = smtp_text or routing or code or ""
    for failure in failures:
        failure.status = find_status(failure.diagnostic) or ""
    failures = [f for f in failures if f.address]
    return Parsed(FAMILY, failures, original) if failures else None
