"""qmail and its descendants (netqmail, notqmail, qmail-ldap, Yahoo's qmail): "failure notice".

Layout (qmail-send.c): "<recipient>:" on a line of its own, then qmail-remote's report
("192.0.2.1 does not like recipient.", "Remote host said: 550 ...", "Giving up on ...") or a
local delivery error ending in "(#5.1.1)". The report's fixed phrases name the SMTP stage.
"""

from __future__ import annotations

import re

from parsers.bounce.base import (
    Context,
    Parsed,
    first_address,
    received_mentions,
    split_original,
    table_reason,
)
from parsers.dsn import Failure
from parsers.status import find_command, find_status

__all__ = ["FAMILY", "parse", "read_blocks"]

FAMILY = "lhost:qmail"
_BOUNDARIES = ("--- Below this line is a copy of the message.", "--- Original message follows.")
# First lines of qmail's notice and of the qmail derivatives that reword it ("X4")
_START = re.compile(
    r"^(?:Hi\. This is the qmail|He/Her is not .+ user|Hi\. .+ unable to deliver your message to"
    r" the following addresses|Su mensaje no pudo ser entregado|This is the (?:machine generated"
    r" message from mail service|mail delivery agent at)|Unable to deliver message to the"
    r" following address|Unfortunately, your mail was not delivered to the following address:"
    r"|Your (?:mail message to the following address|message to the following addresses)"
    r"|We're sorry\.)"
)
_RECIPIENT = re.compile(r"^<[^<>\s]+@[^<>\s]+>:?")
_RHOST = re.compile(r"(?:Giving up on |Connected to |remote host )\[?([A-Za-z0-9.:-]+[A-Za-z0-9])")
# qmail-remote.c: which stage of the SMTP session the report is about
_COMMANDS = (
    ("CONN", (" but greeting failed.",)),
    ("EHLO", (" but my name was rejected.",)),
    ("MAIL", (" but sender was rejected.",)),
    ("RCPT", (" does not like recipient.",)),
    ("DATA", (" failed on DATA command", " failed after I sent the message")),
)
# qmail-local.c, qmail-remote.c, error_str.c, notqmail null-MX and "fallback" patches
_MESSAGES = {
    "userunknown": ("no mailbox here by that name", "does not like recipient."),
    "mailboxfull": ("disk quota exceeded",),
    "mesgtoobig": ("message size exceeds fixed maximum message size:",),
    "hostunknown": ("sorry, i couldn't find any host ",),
    "systemfull": ("requested action not taken: mailbox unavailable (not enough free space)",),
    "systemerror": ("bad interpreter: no such file or directory", "system error", "unable to"),
    "notaccept": ("sorry, i couldn't find a mail exchanger or ip address",),
    "networkerror": (
        "sorry, i wasn't able to establish an smtp connection",
        "sorry. although i'm listed as a best-preference mx or a for that host",
    ),
}
# qmail-ldap patch error texts
_LDAP = {
    "suspend": (
        "mailaddress is administrativley disabled",
        "mailaddress is administratively disabled",
    ),
    "userunknown": ("sorry, no mailbox here by that name",),
    "exceedlimit": ("the message exeeded the maximum size the user accepts",),
    "systemerror": (
        "automatic homedir creator crashed",
        "illegal value in ldap attribute",
        "ldap attribute is not given but mandatory",
        "timeout while performing search on ldap server",
        "too many results returned but needs to be unique",
        "permanent error while executing qmail-forward",
        "temporary error in automatic homedir creation",
        "temporary error while executing qmail-forward",
        "temporary failure in ldap lookup",
        "unable to contact ldap server",
        "unable to login into ldap server, bad credentials",
    ),
}
_EXPIRED = "this message has been in the queue too long."


def read_blocks(notice: str, start: re.Pattern[str]) -> list[Failure]:
    """ "<address>:" blocks after the ``start`` line, with the lines that follow each."""
    failures: list[Failure] = []
    reading = False
    for line in notice.split("\n"):
        if not reading:
            reading = start.match(line) is not None
            continue
        if not line.strip():
            continue
        if _RECIPIENT.match(line):
            failures.append(Failure(address=first_address(line)))
            rest = line[line.find(">") + 1 :].lstrip(":").strip()
            if rest:
                failures[-1].diagnostic = rest
        elif failures:
            current = failures[-1]
            current.diagnostic = f"{current.diagnostic} {line.strip()}".strip()
            if line.startswith("Remote host said:"):
                current.alt_diagnostic = line
            if not current.remote_mta:
                match = _RHOST.search(line)
                current.remote_mta = match.group(1).rstrip(".") if match else ""
    return [f for f in failures if f.address]


def _own_reason(failure: Failure) -> str:
    text = failure.diagnostic
    if failure.command in ("HELO", "EHLO"):
        return "blocked"
    if " does not like recipient." in text and _EXPIRED in text:
        return "onhold"
    reason = table_reason(failure.alt_diagnostic, _MESSAGES) if failure.alt_diagnostic else ""
    reason = reason or table_reason(text, _MESSAGES) or table_reason(text, _LDAP)
    if not reason and _EXPIRED in text:
        reason = "expired"
    return reason


def finish(failure: Failure) -> None:
    """Command, family reason and status from a qmail-style report text."""
    for command, phrases in _COMMANDS:
        if any(failure.diagnostic.find(p) > 0 for p in phrases):
            failure.command = command
            break
    if not failure.command and "no SMTP connection got far enough" in failure.diagnostic:
        failure.command = find_command(failure.diagnostic) or ""
    failure.reason = _own_reason(failure)
    failure.alt_diagnostic = ""
    failure.status = find_status(failure.diagnostic) or ""


_INVOKED_FROM_NETWORK = re.compile(r"\(qmail \d+ invoked from .*network\)")


def parse(ctx: Context) -> Parsed | None:
    """qmail bounces: subject "failure notice" or a qmail bounce Received line."""
    subject = ctx.title.strip()
    if not subject.startswith(("failure notice", "permanent delivery failure")) and not (
        received_mentions(ctx, "invoked for bounce")
        or any(_INVOKED_FROM_NETWORK.search(r) for r in ctx.headers("Received"))
    ):
        return None
    notice, original = split_original(ctx.text, _BOUNDARIES)
    failures = read_blocks(notice, _START)
    if not failures:
        return None
    for failure in failures:
        finish(failure)
    return Parsed(FAMILY, failures, original)
