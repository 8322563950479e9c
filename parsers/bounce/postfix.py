"""Postfix: "Undelivered Mail Returned to Sender" (bounce(5) templates).

Postfix sends an RFC 3464 report, but its ``X-Postfix`` diagnostics are often terse while
the notice quotes the remote answer in full: "<rcpt>: host mx[ip] said: 550 5.1.1 ... (in
reply to RCPT TO command)". That text names the SMTP command and usually the real status,
so it is merged in. Also handled: the "SMTP server: errors from" postmaster notice (a
session transcript) and "--- Delivery report unavailable ---".
"""

from __future__ import annotations

import re

from parsers.bounce.base import Context, Parsed, first_address
from parsers.bounce.rfc3464 import merge_alternative, parse_status_text
from parsers.dsn import Failure, clean_address
from parsers.status import find_command, find_reply

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:postfix"
_SUBJECT = "undelivered mail returned to sender"
_SESSION = "smtp server: errors from "
_BLOCK = re.compile(r"^<([^<>\s]+@[^<>\s]+)>(?: \(expanded from <[^<>]*>\))?:\s*(.*)$")
_IN_REPLY = re.compile(r"\(in reply to (.+?) command\)", re.IGNORECASE | re.DOTALL)
_TRANSCRIPT = re.compile(r"^(In|Out):\s*(.*)$")


def _blocks(human: str) -> dict[str, str]:
    """ "<rcpt>: text" paragraphs of the notice, keyed by recipient."""
    blocks: dict[str, str] = {}
    current = ""
    for line in human.split("\n"):
        match = _BLOCK.match(line)
        if match:
            current = clean_address(match.group(1))
            if current:
                blocks[current] = match.group(2).strip()
            continue
        if current and line.strip():
            blocks[current] += " " + line.strip()
        elif not line.strip():
            current = ""
    return blocks


def _command(text: str) -> str:
    match = _IN_REPLY.search(text)
    if match:
        return find_command(match.group(1).upper().replace("END OF ", "")) or ""
    if "refused to talk to me:" in text:
        return "HELO"
    return find_command(text) or ""


def _session(ctx: Context) -> list[Failure]:
    """The "errors from" notice: pick the refused RCPT (or the last refused command)."""
    failures: list[Failure] = []
    command, argument = "", ""
    for line in ctx.text.split("\n"):
        match = _TRANSCRIPT.match(line.strip())
        if not match:
            continue
        kind, value = match.groups()
        if kind == "In":
            command = (find_command(value.upper()) or value.split(" ")[0]).upper()
            argument = value
            continue
        reply = find_reply(value[:3]) or ""
        if reply[:1] not in ("4", "5"):
            continue
        address = first_address(argument) if command in ("RCPT", "MAIL") else ""
        if command == "RCPT" and address:
            failures.append(Failure(address=address, command="RCPT", diagnostic=value))
        elif failures and not failures[-1].diagnostic:
            failures[-1].diagnostic = value
    return failures


def _unavailable(human: str, original: str) -> list[Failure]:
    if "--- Delivery report unavailable ---" not in human:
        return []
    match = re.search(r"^To:\s*(.+)$", original, re.MULTILINE)
    address = first_address(match.group(1)) if match else ""
    return [Failure(address=address)] if address else []


def parse(ctx: Context) -> Parsed | None:
    """Postfix bounce notices and postmaster "SMTP server: errors from" notices."""
    if ctx.has("X-AOL-IP"):
        return None
    if _SESSION in ctx.title:
        failures = _session(ctx)
        return Parsed(FAMILY, failures, "") if failures else None
    if ctx.title.strip() != _SUBJECT:
        return None
    human, original, failures = parse_status_text(ctx.text)
    if not failures:
        failures = _unavailable(human, original)
    blocks = _blocks(human)
    only = next(iter(blocks.values())) if len(blocks) == 1 else ""
    for failure in failures:
        block = blocks.get(failure.address, only)
        if block:
            merge_alternative(failure, block, must_contain=True)
        failure.command = _command(block) if block else find_command(failure.diagnostic) or ""
        if not failure.command and "refused to talk to me:" in failure.diagnostic:
            failure.command = "HELO"
        if failure.diagnostic_type == "X-POSTFIX":
            failure.diagnostic_type = "SMTP"
    if not failures:
        return None
    return Parsed(FAMILY, failures, original)
