"""Text that came from mail, files or DNS, made visible instead of obeyed.

One helper for every human-readable output (issue 11): the HTML report, ``parse --format
table``, ``events list``, the suppression and allowlist listings, poll summaries and the
text log. A hostile diagnostic, subject or address can carry

* C0 and C1 controls: ESC sequences that set the window title (OSC 0), clear the screen
  (CSI 2J), plant hyperlinks (OSC 8), or a carriage return that overwrites the line;
  U+009B is CSI on its own for terminals that honour C1 controls;
* bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069, and the LRM/RLM/ALM
  marks), which make ``exe.pdf`` read as ``fdp.exe`` (Trojan Source, CVE-2021-42574);
* line and paragraph separators (U+2028, U+2029), which some viewers break lines at;
* lone surrogates (U+D800-U+DFFF): bytes that were not UTF-8, kept by ``surrogateescape``,
  which no output stream can encode.

Each such character becomes a visible ``[U+XXXX]`` mark. Machine formats (JSON Lines, CSV,
Parquet) keep the exact data; only what a person reads is marked.
"""

from __future__ import annotations

import re

__all__ = ["terminal_text", "visible_text"]

_FORMAT = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# In HTML, tab and newline are white space like any other; on a terminal they move the cursor
_HTML_UNSAFE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_FORMAT}\ud800-\udfff]")
_TERMINAL_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_FORMAT}\u2028\u2029\ud800-\udfff]")


def _mark(match: re.Match[str]) -> str:
    return f"[U+{ord(match.group()):04X}]"


def visible_text(value: object) -> str:
    """``value`` as text for HTML: controls and bidi marks shown as ``[U+XXXX]``; tab, CR
    and LF kept (HTML renders them as spaces)."""
    text = "" if value is None else str(value)
    return _HTML_UNSAFE.sub(_mark, text)


def terminal_text(value: object) -> str:
    """``value`` as text for a terminal: every control (tab, CR and LF included), bidi mark
    and line separator shown as ``[U+XXXX]``."""
    text = "" if value is None else str(value)
    if text.isascii() and text.isprintable():  # the common case: nothing to mark
        return text
    return _TERMINAL_UNSAFE.sub(_mark, text)
