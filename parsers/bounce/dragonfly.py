"""DragonFly Mail Agent (dma): "There was an error delivering your mail to <addr>."

Format from dma's mail.c/net.c: the recipient line, then "host [ip] did not like our CMD:"
and the server's answer, or one of dma's own errors (DNS lookup failure, give-up timeout).
"""

from __future__ import annotations

from parsers.bounce.base import Context, Parsed, first_address, split_original, table_reason
from parsers.dsn import Failure
from parsers.status import find_command

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:dragonfly"
_START = "This is the DragonFly Mail Agent"
_RECIPIENT = "There was an error delivering your mail to <"
_BOUNDARIES = ("Original message follows.", "Message headers follow")
# dma's own error texts (dma.c, net.c)
_MESSAGES = {
    "expired": ("could not deliver for the last ",),
    "hostunknown": ("dns lookup failure: host ",),
}


def parse(ctx: Context) -> Parsed | None:
    """dma bounces: subject "Mail delivery failed" and dma's greeting line."""
    if "mail delivery failed" not in ctx.title or _START not in ctx.text:
        return None
    notice, original = split_original(ctx.text, _BOUNDARIES)
    failures: list[Failure] = []
    reading = False
    for line in notice.split("\n"):
        if not reading:
            reading = line.startswith(_START)
            continue
        if not line.strip():
            continue
        if line.startswith(_RECIPIENT):
            failures.append(Failure(address=first_address(line)))
        elif failures:
            current = failures[-1]
            current.diagnostic = f"{current.diagnostic} {line.strip()}".strip()
            if " did not like our " in line and not current.remote_mta:
                words = line.split()
                current.remote_mta = words[0] if "." in words[0] else words[1]
                current.command = find_command(line) or ""
    for failure in failures:
        failure.reason = table_reason(failure.diagnostic, _MESSAGES)
    failures = [f for f in failures if f.address]
    return Parsed(FAMILY, failures, original) if failures else None
