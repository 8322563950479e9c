"""A shared reader for the many prose formats that list "recipient + reason" line by line.

Most small MTAs and gateways write the same shape: a fixed sentence, then one line (or a
short block) per failed recipient, then the returned message after a fixed separator. A
family module describes its shape with a ``LineFormat`` and its own reason table; this
module does the reading, so each family stays a few declarative lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from parsers.bounce.base import Context, Parsed, first_address, split_original, table_reason
from parsers.dsn import Failure

__all__ = ["LineFormat", "read"]


@dataclass(frozen=True, slots=True)
class LineFormat:
    """How one family writes its notice."""

    family: str
    #: reading starts after the first line containing one of these ("" = from the top)
    start: tuple[str, ...] = ("",)
    #: the returned message starts at the first of these
    boundaries: tuple[str, ...] = ()
    #: a line naming a recipient: group "addr", optional group "diag" (rest of the line)
    recipient: re.Pattern[str] = re.compile(r"(?P<addr>[^\s<>]+@[^\s<>]+)")
    #: reason phrases (lower case) of the family's own messages
    messages: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: lines after a recipient line belong to its diagnostic (until the next recipient)
    continuation: bool = True
    #: stop reading at the first line containing one of these
    end: tuple[str, ...] = ()
    #: text before the first recipient is that recipient's diagnostic too
    preamble: bool = False


def _diagnostic_lines(fmt: LineFormat, notice: str) -> list[tuple[str, list[str]]]:
    blocks: list[tuple[str, list[str]]] = []
    preamble: list[str] = []
    reading = fmt.start == ("",)
    for line in notice.split("\n"):
        if not reading:
            reading = any(s and s in line for s in fmt.start)
            continue
        if any(e in line for e in fmt.end):
            break
        if not line.strip():
            continue
        match = fmt.recipient.search(line)
        address = first_address(match.group("addr")) if match else ""
        if address:
            groups = match.groupdict() if match else {}
            diagnostic = (groups.get("diag") or "").strip()
            blocks.append((address, [diagnostic] if diagnostic else []))
        elif blocks and fmt.continuation:
            blocks[-1][1].append(line.strip())
        elif not blocks:
            preamble.append(line.strip())
    if blocks and fmt.preamble and preamble:
        first_address_, lines = blocks[0]
        blocks[0] = (first_address_, preamble + lines)
    return blocks


def read(fmt: LineFormat, ctx: Context) -> Parsed | None:
    """Recipients and diagnostics of a prose bounce written in ``fmt``."""
    notice, original = split_original(ctx.text, fmt.boundaries)
    failures: list[Failure] = []
    for address, lines in _diagnostic_lines(fmt, notice):
        if any(f.address == address for f in failures):
            continue
        diagnostic = " ".join(" ".join(lines).split())
        failures.append(
            Failure(
                address=address,
                diagnostic=diagnostic,
                reason=table_reason(diagnostic, fmt.messages),
            )
        )
    return Parsed(fmt.family, failures, original) if failures else None
