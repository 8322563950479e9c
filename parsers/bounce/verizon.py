"""Verizon Wireless gateways (vtext.com SMS, vzwpix.com MMS)."""

from __future__ import annotations

import re

from parsers.bounce.base import Context, Parsed, first_address, received_mentions, split_original
from parsers.dsn import Failure

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:verizon"
_MMS_SENDER = re.compile(r"<?sysadmin@.+\.vzwpix\.com>?$")


def parse(ctx: Context) -> Parsed | None:
    """vtext.com post_master notices and vzwpix.com MMSC NDRs."""
    sender = ctx.header("From")
    if "post_master@vtext.com" in sender and received_mentions(ctx, ".vtext.com ("):
        pattern, error, reason = (
            re.compile(r"^\s+RCPT TO: (.*)$"),
            re.compile(r"^(\d{3})\s-\s(.*)$"),
            "userunknown",
        )
        phrase = "550 - Requested action not taken: no such user here"
    elif _MMS_SENDER.search(sender):
        pattern, error, reason = (
            re.compile(r"^To:\s+(.*)$"),
            re.compile(r"^Error:\s+(.+)$"),
            "userunknown",
        )
        phrase = "No valid recipients for this MM"
    else:
        return None
    notice, original = split_original(ctx.text, ())
    failures: list[Failure] = []
    diagnostic = ""
    for line in notice.split("\n"):
        recipient, message = pattern.match(line), error.match(line)
        if recipient and first_address(recipient.group(1)):
            failures.append(Failure(address=first_address(recipient.group(1))))
        elif message:
            diagnostic = line.strip()
    for failure in failures:
        failure.diagnostic = diagnostic
        failure.reason = reason if phrase in diagnostic else ""
    return Parsed(FAMILY, failures, original) if failures else None
