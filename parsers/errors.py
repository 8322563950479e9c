"""Errors raised inside ``parsers``.

Hierarchy::

    ValueError
     └── ParseError            anything in the input that stops a parser
          ├── NotAReport       well-formed input that is not the format asked for
          └── LimitExceeded    input that would blow a configured bound (zip bomb, depth)

``parse_message`` never lets these escape: it turns them into ``Report(kind=UNKNOWN,
error=str(exc))``. Format-specific entry points (``parse_dmarc_aggregate`` ...) raise them so a
caller can tell "not mine" from "damaged".
"""

from __future__ import annotations

__all__ = ["LimitExceeded", "NotAReport", "ParseError"]


class ParseError(ValueError):
    """The input could not be parsed; ``str()`` says what and where."""

    def __init__(self, message: str, *, where: str | None = None) -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class NotAReport(ParseError):
    """The input is readable but is not the kind of document the parser handles."""


class LimitExceeded(ParseError):
    """The input exceeds a safety limit (decompressed size, MIME depth, part count)."""
