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

from flufl.bounce import all_failures

from parsers.dsn import clean_address

__all__ = ["flufl_addresses"]

# flufl.bounce's detectors are regex heuristics over arbitrary input; any of these can
# escape from them on damaged messages, and none of them should abort parsing.
_DETECTOR_ERRORS = (ValueError, TypeError, LookupError, AttributeError, IndexError, re.error)


def _decode(address: bytes | str) -> str:
    text = address.decode("utf-8", "replace") if isinstance(address, bytes) else address
    return clean_address(text)


def flufl_addresses(msg: Message) -> tuple[list[str], list[str]]:
    """(permanent, temporary) failed addresses according to flufl.bounce, sorted."""
    try:
        permanent, temporary = all_failures(msg)
    except _DETECTOR_ERRORS:
        return [], []
    perm = sorted({_decode(a) for a in permanent} - {""})
    temp = sorted({_decode(a) for a in temporary} - {""} - set(perm))
    return perm, temp
