"""Exim: "A message that you sent could not be delivered to one or more of its recipients."

Layout (exim src/deliver.c): each failed address indented by two spaces, then its error
indented by four ("SMTP error from remote mail server after RCPT TO:<...>: host ...: 550
..."). Exim 4.8x+ adds an RFC 3464 part; older ones only the prose. Exim's own error texts
(route.c, transports/*.c, retry.c) name the reason when no remote server answered.
"""

from __future__ import annotations

import re

from parsers.bounce.base import (
    Context,
    Parsed,
    addresses_in,
    first_address,
    split_original,
    table_reason,
)
from parsers.dsn import Failure, clean_address, parse_fields
from parsers.mime import STATUS_MARK
from parsers.records import Reason
from parsers.status import find_reply, find_status, pseudo_status

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:exim"

_BOUNDARIES = (
    "This is a copy of the message, including all the headers.",
    "This is a copy of the message's headers.",
)
_SUBJECTS = (
    "delivery status notification",
    "mail delivery failed",
    "mail failure",
    "message frozen",
    "warning: message ",
    "error(s) in forwarding or filtering",
)
_START = (
    "This message was created automatically by mail delivery software.",
    "A message that you sent was rejected by the local scannning code",
    "A message that you sent contained one or more recipient addresses ",
    "A message that you sent could not be delivered to all of its recipients",
    " has been frozen",
    " was frozen on arrival",
    " router encountered the following error(s):",
)
_FROZEN = (" has been frozen", " was frozen on arrival")
# Message-IDs Exim generates: "E" + message id, e.g. <E1P1YNN-0003AD-Ga@host> (Exim 4.97+:
# <E1rABCD-000ABCDEFGH-1234@host>)
_EXIM_ID = re.compile(
    r"^<[A-Za-z0-9]{7}-[A-Za-z0-9]{6}-[A-Za-z0-9]{2}@|^<E[A-Za-z0-9]{6}-[A-Za-z0-9]{11}-[A-Za-z0-9]{4}@"
)
_COMMAND = re.compile(
    r"(?:SMTP error from remote (?:mail server|mailer)|LMTP error) after (?:end of )?([A-Za-z]{4})"
)
# Exim's own messages (src/route.c, routers/dnslookup.c, transports/*.c, parser.c, ...)
_MESSAGES = {
    "userunknown": ("user not found",),
    "hostunknown": (
        "all host address lookups failed permanently",
        "all relevant mx records point to non-existent hosts",
        "unrouteable address",
    ),
    "mailboxfull": ("mailbox is full", "error: quota exceed"),
    "notaccept": (
        "an mx or srv record indicated no smtp service",
        "no host found for existing smtp connection",
    ),
    "syntaxerror": (
        "angle-brackets nested too deep",
        'expected word or "<"',
        "domain missing in source-routed address",
        "malformed address:",
    ),
    "systemerror": (
        "delivery to file forbidden",
        "delivery to pipe forbidden",
        "local delivery failed",
        "lmtp error after ",
    ),
    "contenterror": ('too many "received" headers',),
}
# retry.c, deliver.c and smtp.c wordings for giving up after retries or freezing
_DELAYED = (
    "retry timeout exceeded",
    "no action is required on your part",
    "retry time not reached for any host after a long failure period",
    "all hosts have been failing for a long time and were last tried",
    "delay reason: ",
    "has been frozen",
    "was frozen on arrival by ",
)


def _is_exim(ctx: Context) -> bool:
    if ".mail.ru" in ctx.from_:
        return False
    votes = int(ctx.from_.startswith("Mail Delivery System"))
    votes += bool(_EXIM_ID.match(ctx.header("Message-ID")))
    votes += any(s in ctx.title for s in _SUBJECTS)
    return votes >= 2


def _recipient_line(line: str) -> bool:
    if not line.startswith("  ") or line[2:3] in (" ", "<", ""):
        return False
    return line.find("@") > 1 and line.find(".") > 1 and "pipe to |" not in line


def _delivery_line(line: str) -> bool:
    """ "  pipe to |/prog" or "  save to /file": a local delivery whose address follows."""
    body = line[2:]
    return line.startswith("  ") and (body.startswith("save to ") or "pipe to |" in body[:12])


def _read_notice(lines: list[str]) -> list[Failure]:
    failures: list[Failure] = []
    reading = False
    for line in lines:
        if not reading:
            reading = any(s in line for s in _START)
            if not reading or not any(s in line for s in _FROZEN):
                continue
        if not line.strip():
            continue
        if _recipient_line(line) or " an undisclosed address" in line:
            failure = Failure()
            head, sep, tail = line.partition(">:")
            if sep and " <" in head:
                failure.address = clean_address(head[head.index(" <") + 1 :])
                failure.diagnostic = tail.strip()
            else:
                failure.address = clean_address(line.strip().rstrip(":"))
            failures.append(failure)
        elif _delivery_line(line):
            failures.append(Failure(alt_diagnostic=line.strip()))
        elif " (generated from " in line or " generated by " in line:
            alias = first_address(line)
            if failures and alias and not failures[-1].original_recipient:
                failures[-1].original_recipient = alias
        elif failures and not line.startswith(STATUS_MARK):
            current = failures[-1]
            current.alt_diagnostic = f"{current.alt_diagnostic} {line.strip()}".strip()
        if line.startswith(STATUS_MARK):
            break
    return failures


def _merge_status_part(notice: str, failures: list[Failure]) -> None:
    """Exim 4.8x+ multipart bounces: take Status/Diagnostic-Code from the DSN part."""
    marker = notice.find(STATUS_MARK)
    if marker < 0:
        return
    _per_message, fields = parse_fields(notice[marker + len(STATUS_MARK) :], keep_unaddressed=True)
    by_address = {f.address: f for f in fields}
    for failure in failures:
        found = by_address.get(failure.address)
        if found is None and len(fields) == len(failures) == 1:
            found = fields[0]
        if found is not None:
            failure.status = found.status
            failure.remote_mta = found.remote_mta
            failure.diagnostic_type = found.diagnostic_type
            failure.diagnostic = failure.diagnostic or found.diagnostic


def _own_reason(failure: Failure) -> str:
    command = failure.command
    if command in ("HELO", "EHLO"):
        return "blocked"
    if command == "MAIL":
        return "onhold"
    reason = table_reason(failure.diagnostic, _MESSAGES)
    if reason:
        return reason
    lowered = failure.diagnostic.lower()
    if any(p in lowered for p in _DELAYED):
        return "expired"
    return "mailererror" if "pipe to |" in lowered else ""


def _status(failure: Failure) -> str:
    """A pseudo status from Exim's own reason when the answer had a reply code only."""
    status = failure.status or find_status(failure.diagnostic) or ""
    if status:
        return status
    reply = find_reply(failure.diagnostic) or ""
    if not failure.reason:
        return ""
    reason = Reason(failure.reason)
    if reply:
        return pseudo_status(reason, permanent=reply[0] != "4") or ""
    temporary = reason in (Reason.EXPIRED, Reason.MAILBOX_FULL)
    return pseudo_status(reason, permanent=not temporary) or ""


def _finish(failure: Failure) -> None:
    if failure.alt_diagnostic and (
        not failure.diagnostic
        or failure.diagnostic.startswith("-")
        or failure.diagnostic.lower() in failure.alt_diagnostic.lower()
    ):
        failure.diagnostic = failure.alt_diagnostic
    failure.diagnostic = " ".join(failure.diagnostic.split())
    failure.alt_diagnostic = ""
    if not failure.remote_mta:
        match = re.search(r"\bhost ([^\s\[\]:]+)", failure.diagnostic)
        failure.remote_mta = match.group(1) if match else ""
    match = _COMMAND.search(failure.diagnostic)
    command = match.group(1).upper() if match else ""
    failure.command = {"INIT": "CONN"}.get(command, command)
    failure.reason = _own_reason(failure)
    failure.status = _status(failure)


def parse(ctx: Context) -> Parsed | None:
    """Exim bounces, identified by sender name, Message-ID shape and subject."""
    if not _is_exim(ctx):
        return None
    notice, original = split_original(ctx.text, _BOUNDARIES)
    failures = _read_notice(notice.split("\n"))
    for failure in failures:
        failure.address = failure.address or failure.original_recipient
    failures = [f for f in failures if f.address]
    if not failures:
        failures = [Failure(address=a) for a in addresses_in(ctx.header("X-Failed-Recipients"))]
    if not failures:
        return None
    _merge_status_part(notice, failures)
    delayed = ctx.title.startswith("warning: message ") or "has not yet been delivered" in notice
    first = failures[0]
    for failure in failures:
        if delayed:
            failure.action = "delayed"
        if not failure.diagnostic and not failure.alt_diagnostic:
            failure.diagnostic, failure.alt_diagnostic = first.diagnostic, first.alt_diagnostic
        _finish(failure)
    return Parsed(FAMILY, failures, original)
