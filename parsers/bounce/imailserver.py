"""Ipswitch IMail Server: "Undeliverable Mail", "<reason>: <rcpt>" lines.

IMail's notices name the SMTP stage ("Additional RCPT TO generated following response:")
and use fixed wordings for local failures ("Invalid final delivery userid").
"""

from __future__ import annotations

import re

from parsers.bounce.base import Context, Parsed, first_address, split_original
from parsers.dsn import Failure

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:imailserver"
_RECIPIENT = re.compile(r"^(\S+) (.+):[ \t]*(\S+@\S+)")
_UNDELIVERABLE = re.compile(r"^undeliverable[ ]+to[ ]+(.+)$")
_COMMANDS = (
    ("CONN", re.compile(r"SMTP connection failed,|Unexpected connection response from server:")),
    ("EHLO", re.compile(r"Unexpected response to EHLO/HELO:")),
    ("MAIL", re.compile(r"Server response to MAIL FROM:")),
    ("RCPT", re.compile(r"Additional RCPT TO generated following response:")),
    ("DATA", re.compile(r"DATA command generated response:")),
)
_REASONS = (
    ("hostunknown", re.compile(r"Unknown host")),
    ("userunknown", re.compile(r"^(?:Unknown user|Invalid final delivery userid)")),
    ("mailboxfull", re.compile(r"^User mailbox exceeds allowed size")),
    ("virusdetected", re.compile(r"^Requested action not taken: virus detected")),
    ("undefined", re.compile(r"^undeliverable to")),
    ("expired", re.compile(r"^Delivery failed \d+ attempts")),
)

_SUBJECT = re.compile(r"^Undeliverable Mail\s*$", re.IGNORECASE)


def parse(ctx: Context) -> Parsed | None:
    """IMail notices (subject or X-Mailer "<SMTP32 v...>")."""
    if not (_SUBJECT.match(ctx.subject) or ctx.header("X-Mailer").startswith("<SMTP32 v")):
        return None
    notice, original = split_original(ctx.text, ("Original message follows.",))
    failures: list[Failure] = []
    extra = ""
    for line in notice.split("\n"):
        recipient, undeliverable = _RECIPIENT.match(line), _UNDELIVERABLE.match(line)
        if recipient:
            failures.append(
                Failure(
                    address=first_address(recipient.group(3)),
                    diagnostic=f"{recipient.group(1)} {recipient.group(2)}",
                )
            )
        elif undeliverable:
            failures.append(Failure(address=first_address(undeliverable.group(1))))
        elif "Body of message generated response:" in line or extra:
            extra += " " + line.strip()
    for failure in failures:
        failure.diagnostic = f"{extra.strip()} {failure.diagnostic}".strip()
        failure.command = next((c for c, p in _COMMANDS if p.search(failure.diagnostic)), "")
        failure.reason = next((r for r, p in _REASONS if p.search(failure.diagnostic)), "")
    failures = [f for f in failures if f.address]
    return Parsed(FAMILY, failures, original) if failures else None
