"""Tag-value lists shared by DKIM key records, DMARC and TLS-RPT/MTA-STS TXT records.

RFC 6376 3.2: ``tag-list = tag-spec *( ";" tag-spec ) [ ";" ]`` with whitespace allowed
around tags, ``=`` and values. RFC 7489 6.4 and RFC 8460 3 / RFC 8461 3.1 reuse the same
shape. Duplicate tags are an error in all of them (RFC 6376 3.2 "MUST be treated as an
error"), so they are reported rather than silently overwritten.
"""

from __future__ import annotations

import re

from parsers.errors import ParseError

__all__ = ["parse_tags"]

_TAG = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def parse_tags(text: str, *, where: str) -> list[tuple[str, str]]:
    """Split a tag-list into ordered ``(tag, value)`` pairs; tag names keep their case.

    Raises :class:`ParseError` with ``message`` ``duplicate_tag`` or ``bad_tag`` so callers
    can map them to finding codes.
    """
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for part in text.split(";"):
        if not part.strip():
            continue
        name, eq, value = part.partition("=")
        name = name.strip(" \t\r\n")
        if not eq or not _TAG.match(name):
            raise ParseError("bad_tag", where=f"{where}: {part.strip()!r}")
        if name.lower() in seen:
            raise ParseError("duplicate_tag", where=f"{where}: {name}")
        seen.add(name.lower())
        pairs.append((name, value.strip(" \t\r\n")))
    return pairs
