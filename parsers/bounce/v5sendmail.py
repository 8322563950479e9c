"""Sendmail V5 (and other pre-RFC 1894 Sendmails): "Returned mail: <reason>", prose only.

The transcript lists each failed recipient as "550 <rcpt>... User unknown", preceded by the
command sent (">>> RCPT To:<rcpt>") and the remote answer ("<<< 550 ..."); the returned
message follows "----- Unsent message follows -----".
"""

from __future__ import annotations

import re

from parsers.bounce.base import Context, Parsed, first_address
from parsers.dsn import Failure

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:v5sendmail"
_SUBJECT = re.compile(r"^Returned mail: [A-Z]")
_BACKBONE = re.compile(
    r"^ +----- (?:Unsent message follows|No message was collected) -----", re.MULTILINE
)
_START = "----- Transcript of session follows -----"
_RECIPIENT = re.compile(r"^\d{3}[ \t]+<([^ ]+@[^ ]+)>\.{3}[ \t]*(.+)$")
_COMMAND = re.compile(r"^>{3}[ \t]*([A-Z]{4})")
_RESPONSE = re.compile(r"^<{3} +(.+)$")
_OTHER = re.compile(r"^\d{3}[ \t]+.+\.{3}[ \t]*(.+)$")


def _read(notice: str) -> tuple[list[Failure], dict[int, str], dict[int, str], str]:
    failures: list[Failure] = []
    commands: dict[int, str] = {}
    responses: dict[int, str] = {}
    another = ""
    reading = False
    for line in notice.split("\n"):
        if not reading:
            reading = _START in line
            continue
        if not line.strip():
            continue
        index = len(failures)
        recipient = _RECIPIENT.match(line)
        command = _COMMAND.match(line)
        response = _RESPONSE.match(line)
        other = _OTHER.match(line)
        if recipient:
            diagnostic = recipient.group(2)
            if responses.get(index):
                diagnostic += ": " + responses[index]
            failures.append(
                Failure(address=first_address(recipient.group(1)), diagnostic=diagnostic)
            )
        elif command:
            commands[index] = command.group(1)
        elif response:
            responses[index] = response.group(1)
        elif other:
            another = line.strip()
    return failures, commands, responses, another


def parse(ctx: Context) -> Parsed | None:
    """Old Sendmail bounces without a delivery status part."""
    if not _SUBJECT.match(ctx.subject):
        return None
    marker = _BACKBONE.search(ctx.text)
    if marker is None:
        return None
    notice, original = ctx.text[: marker.start()], ctx.text[marker.end() :].lstrip("\n")
    failures, commands, responses, another = _read(notice)
    if not failures:
        to = re.search(r"^To:[ ]*(.+)$", original, re.MULTILINE)
        address = first_address(to.group(1)) if to else ""
        failures = [Failure(address=address)] if address else []
    for index, failure in enumerate(failures):
        failure.command = commands.get(index, "")
        failure.diagnostic = " ".join(
            (failure.diagnostic or another or responses.get(index, "")).split()
        )
    failures = [f for f in failures if f.address]
    return Parsed(FAMILY, failures, original) if failures else None
