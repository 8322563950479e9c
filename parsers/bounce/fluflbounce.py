"""flufl.bounce's detectors, used to confirm which addresses a prose bounce is about.

flufl.bounce (Mailman's bounce detector) knows a long tail of old and odd formats (Netscape,
SMTP32, GroupWise, LLNL, many "simple match" wordings) that no module here covers, and it
is conservative: it rarely mistakes a mailing list's own addresses for failed recipients.
``parsers.bounce.text`` uses its answer as the recipient list when it has one and keeps
its own reading of the surrounding text for the diagnostics.
"""

from __future__ import annotations

import functools
import re
from email.iterators import body_line_iterator
from email.message import Message
from typing import Any

from parsers.dsn import clean_address
from parsers.mime import message_from_bytes
from parsers.phrases.compile import literal_run

__all__ = ["flufl_addresses"]

# flufl.bounce's detectors are regex heuristics over arbitrary input; any of these can
# escape from them on damaged messages, and none of them should abort parsing.
#: Bytes of a message flufl.bounce gets to see (notices are short; enclosures can be huge).
MAX_INPUT = 256 * 1024
_DETECTOR_ERRORS = (ValueError, TypeError, LookupError, AttributeError, IndexError, re.error)


def _decode(address: bytes | str) -> str:
    text = address.decode("utf-8", "replace") if isinstance(address, bytes) else address
    return clean_address(text)


class _Start:
    """A start pattern of a line-by-line detector, asked about the whole text: first
    whether its plain run is there at all (a substring test), then the regex."""

    __slots__ = ("_flags", "_pattern", "_regex", "run")

    def __init__(self, run: str, pattern: str, flags: int) -> None:
        self.run = run  # lower-cased: the detectors' patterns ignore case
        self._pattern = pattern
        self._flags = flags | re.MULTILINE
        self._regex: re.Pattern[str] | None = None  # compiled when its run is first found

    def search(self, text: str, lowered: str) -> bool:
        if self.run not in lowered:
            return False
        if self._regex is None:
            self._regex = re.compile(self._pattern, self._flags)
        return self._regex.search(text) is not None


@functools.cache
def _detectors() -> list[tuple[type[Any], tuple[_Start, ...]]]:
    """flufl's detectors in its order, each with the start patterns of its line-by-line
    reading when it has them (SimpleMatch, SimpleWarning), compiled to search whole text.

    Empty (and ``all_failures`` is used as it is) when this flufl.bounce does not have the
    internals this relies on.
    """
    try:
        from flufl.bounce._detectors.simplematch import SimpleMatch
        from flufl.bounce._scan import _DETECTORS as detectors
    except ImportError:
        return []
    found: list[tuple[type[Any], tuple[_Start, ...]]] = []
    for detector in detectors:
        starts: tuple[_Start, ...] = ()
        if issubclass(detector, SimpleMatch):
            patterns = getattr(detector, "PATTERNS", None)
            if not isinstance(patterns, list) or not all(len(p) == 3 for p in patterns):
                return []
            # with MULTILINE, ^ and $ match at each line's ends: whatever a start pattern
            # matches in one line it matches in the whole text
            starts = tuple(
                _Start(literal_run(start.pattern).lower(), start.pattern, start.flags)
                for start, _end, _address in patterns
                if isinstance(start.pattern, str)
            )
            if len(starts) != len(patterns):
                return []
        found.append((detector, starts))
    return found


def _all_failures(
    msg: Message, detectors: list[tuple[type[Any], tuple[_Start, ...]]]
) -> tuple[frozenset[bytes], frozenset[bytes]]:
    """``flufl.bounce.all_failures``, without running a line-by-line detector whose start
    patterns are nowhere in the message: SimpleMatch reads every body line once per
    pattern set (some forty), the slowest step of the whole parser, and finds nothing
    when no set can start (the answer is the same, in a fraction of the time)."""
    text: str | None = None
    lowered = ""
    for detector, starts in detectors:
        if starts:
            if text is None:
                text = "".join(body_line_iterator(msg))
                lowered = text.lower()
            if not any(start.search(text, lowered) for start in starts):
                continue
        temporary, permanent = detector().process(msg)
        if temporary or permanent:
            return frozenset(temporary), frozenset(permanent)
    return frozenset(), frozenset()


def flufl_addresses(msg: Message, raw: bytes = b"") -> tuple[list[str], list[str]]:
    """(permanent, temporary) failed addresses according to flufl.bounce, sorted.

    flufl's detectors scan every body line with many regexes; a bounce notice is at the
    start of the message, so a large message is re-parsed from its first ``MAX_INPUT``
    bytes rather than scanned whole.
    """
    # imported on first use: a few percent of bounces need flufl, and its import (dozens
    # of detector modules and their regexes) would otherwise be paid by every process
    from flufl.bounce import all_failures

    if raw and len(raw) > MAX_INPUT:
        msg = message_from_bytes(raw[:MAX_INPUT])
    try:
        detectors = _detectors()
        permanent, temporary = _all_failures(msg, detectors) if detectors else all_failures(msg)
    except _DETECTOR_ERRORS:
        return [], []
    perm = sorted({_decode(a) for a in permanent} - {""})
    temp = sorted({_decode(a) for a in temporary} - {""} - set(perm))
    return perm, temp
