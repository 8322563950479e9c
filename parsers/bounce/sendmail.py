"""Sendmail: "Returned mail: see transcript for details" (sendmail/savemail.c).

Sendmail writes an RFC 3464 report plus a session transcript: "... while talking to
mx.example.:", ">>> RCPT To:<rcpt>", "<<< 550 5.1.1 ... User unknown". The transcript shows
the command that failed and the remote server's complete (multi-line) answer, which the
Diagnostic-Code field often truncates to its first line. Old Sendmail V5 notices have no
report part; ``parsers.bounce.v5sendmail`` reads those.
"""

from __future__ import annotations

from parsers.bounce.base import Context, Parsed, first_address
from parsers.bounce.rfc3464 import parse_status_text, resolve_domain_only
from parsers.mime import STATUS_MARK
from parsers.status import find_command, find_reply, find_status, valid_status

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:sendmail"
_TRANSCRIPT = "   ----- Transcript of session follows -----"
_TALKING = "... while talking to "


class _Transcript:
    """What the "Transcript of session follows" section says."""

    __slots__ = ("command", "diagnostic", "recipient", "replies", "status")

    def __init__(self) -> None:
        self.command = ""
        self.replies: list[str] = []
        self.recipient = ""
        self.diagnostic = ""
        self.status = ""


def _read_transcript(human: str) -> _Transcript:
    found = _Transcript()
    start = human.find(_TRANSCRIPT)
    if start < 0:
        return found
    talking = False
    for line in human[start + len(_TRANSCRIPT) :].split("\n"):
        if not line or line.startswith(" "):
            continue
        if line.startswith(">>> "):
            found.command = find_command(line) or found.command
        elif line.startswith("<<< "):
            if line[4:] not in found.replies:
                found.replies.append(line[4:])
        elif talking:
            continue
        elif line.startswith(_TALKING):
            talking = True
        elif line.startswith("<") and "@" in line and ">." in line and " " in line:
            found.recipient = first_address(line[: line.find(">")])
            found.diagnostic = line[line.find(" ") + 1 :]
        else:
            status = find_status(line) or ""
            reply = find_reply(line) or ""
            if len(reply + status) > 7:
                found.status = status
                found.diagnostic += " " + line
            elif line.startswith(("Message: ", "Warning: ")):
                found.diagnostic += " " + line
    return found


def parse(ctx: Context) -> Parsed | None:
    """Sendmail bounces and delay warnings that carry a delivery status part."""
    if ctx.has("X-AOL-IP"):
        return None
    if "see transcript for details" not in ctx.title and not ctx.title.startswith("warning: "):
        return None
    if _TRANSCRIPT not in ctx.text:
        return None
    if STATUS_MARK not in ctx.text and "final-recipient:" not in ctx.lower:
        return None
    human, original, failures = parse_status_text(ctx.text)
    if not failures:
        return None
    transcript = _read_transcript(human)
    another = " ".join(transcript.diagnostic.split())
    for failure in failures:
        diagnostic = failure.diagnostic
        if another and (not diagnostic or diagnostic.startswith(" ") or diagnostic.isdigit()):
            failure.diagnostic = another
        if transcript.replies and len(failures) == 1:
            failure.diagnostic = " ".join([*transcript.replies, failure.diagnostic]).strip()
        failure.command = transcript.command or find_command(failure.diagnostic) or ""
        if not failure.command and transcript.replies:
            failure.command = "EHLO"
        if transcript.status and not valid_status(failure.status):
            failure.status = transcript.status
    failures = resolve_domain_only(failures)
    return Parsed(FAMILY, failures, original) if failures else None
