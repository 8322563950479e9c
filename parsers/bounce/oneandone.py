"""United Internet (1&1 / IONOS, GMX, WEB.DE): "Mail delivery failed: returning message".

Prose notices ending at "--- The header of the original message is following. ---"; the
recipient stands alone on a line (quoted with a colon at GMX), followed by the remote
host and its answer ("SMTP error from remote server for TEXT command, host: ... reason:").
"""

from __future__ import annotations

import re

from parsers.bounce.base import Context, Parsed, first_address, split_original, table_reason
from parsers.dsn import Failure
from parsers.status import find_status

__all__ = ["FAMILY", "parse"]

FAMILY = "lhost:einsundeins"
_BOUNDARY = ("--- The header of the original message is following. ---",)
_START = "This message was created automatically by mail delivery software"
_RECIPIENT = re.compile(r'^"?<?([^ ]+@[^ ]+?)>?"?:?$')
_HOST = re.compile(r"host:[ ]+(\S+?)[ ]+.+[ ]+reason:")
_COMMAND = re.compile(r"^SMTP error .+ ([A-Z]{4}) command:")
_MESSAGES = {
    "mesgtoobig": ("mail size limit exceeded",),
    "expired": ("delivery retry timeout exceeded",),
}


def _read(notice: str) -> list[Failure]:
    failures: list[Failure] = []
    reading = False
    for line in notice.split("\n"):
        if not reading:
            reading = line.startswith(_START)
            continue
        stripped = line.strip()
        if not stripped:
            continue
        recipient = _RECIPIENT.match(stripped)
        if recipient and first_address(recipient.group(1)):
            failures.append(Failure(address=first_address(recipient.group(1))))
        elif failures:
            current = failures[-1]
            command = _COMMAND.match(stripped)
            if command:
                current.command = command.group(1)
            if stripped.startswith("host:") and " reason:" not in stripped:
                current.remote_mta = stripped[5:].strip()
                continue
            if stripped != "For the following reason:":
                current.diagnostic = f"{current.diagnostic} {stripped}".strip()
    return failures


def parse(ctx: Context) -> Parsed | None:
    """1&1 ("Mail Delivery System" sender) and GMX (X-GMX-Antispam) notices."""
    is_gmx = ctx.has("X-GMX-Antispam")
    if not is_gmx and not (
        ctx.from_.startswith(('"Mail Delivery System"', "Mail Delivery System"))
        and ctx.title == "mail delivery failed: returning message to sender"
        and _BOUNDARY[0] in ctx.text
    ):
        return None
    notice, original = split_original(ctx.text, _BOUNDARY)
    failures = _read(notice)
    for failure in failures:
        host = _HOST.search(failure.diagnostic)
        if host:
            failure.remote_mta = host.group(1)
            failure.status = find_status(failure.diagnostic) or ""
            if "for TEXT command" in failure.diagnostic:
                failure.command = "DATA"
        failure.reason = table_reason(failure.diagnostic, _MESSAGES)
    family = "lhost:gmx" if is_gmx else FAMILY
    return Parsed(family, failures, original) if failures else None
