"""flufl.bounce's detectors, used to confirm which addresses a prose bounce is about.

flufl.bounce (Mailman's bounce detector) knows a long tail of old and odd formats (Netscape,
SMTP32, GroupWise, LLNL, many "simple match" wordings) that no module here covers, and it
is conservative: it rarely mistakes a mailing list's own addresses for failed recipients.
``parsers.bounce.text`` uses its answer as the recipient list when it has one and keeps
its own reading of the surrounding text for the diagnostics.
"""

from __future__ import annotations

import re
from email.message import Message

from parsers.dsn import clean_address
from parsers.mime import message_from_bytes

__all__ = ["flufl_addresses"]

# flufl.bounce's detectors are regex heuristics over arbitrary input; any of these can
# escape from them on damaged messages, and none of them should abort parsing.
#: Bytes of a message flufl.bounce gets to see (notices are short; enclosures can be huge).
MAX_INPUT = 256 * 1024
_DETECTOR_ERRORS = (ValueError, TypeError, LookupError, AttributeError, IndexError, re.error)


def _decode(address: bytes | str) -> str:
    text = address.decode("utf-8", "replace") if isinstance(address, bytes) else address
    return clean_address(text)


def flufl_addresses(msg: Message, raw: bytes = b"") -> tuple[list[str], list[str]]:
    """(permanent, temporary) failed addresses according to flufl.bounce, sorted.

    flufl's detectors scan every body line with many regexes; a bounce notice is at the
    start of the message, so a large message is re-parsed from its first ``MAX_INPUT``
    bytes rather than scanned whole.

    Issue 18 ran flufl's line-by-line detectors only when one of their start patterns was
    in the text, reading them from flufl's private modules: 3.9 % of the instructions of
    ``bench/instructions.py`` (28.20 -> 29.31 billion per 10,000 messages without it,
    2026-12-03), under the 10 % a dependency on another package's internals must save
    (issue 12), so flufl runs as published.
    """
    # imported on first use: a few percent of bounces need flufl, and its import (dozens
    # of detector modules and their regexes) would otherwise be paid by every process
    from flufl.bounce import all_failures

    if raw and len(raw) > MAX_INPUT:
        msg = message_from_bytes(raw[:MAX_INPUT])
    try:
        temporary, permanent = all_failures(msg)
    except _DETECTOR_ERRORS:
        return [], []
    perm = sorted({_decode(a) for a in permanent} - {""})
    temp = sorted({_decode(a) for a in temporary} - {""} - set(perm))
    return perm, temp
