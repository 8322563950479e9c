"""Tolerant MIME helpers shared by every parser.

Real bounces and reports are often broken: bare CR or LF line endings, undeclared or wrong
charsets, RFC 2047 words split mid-character, base64 with garbage. The stdlib ``email``
package with the ``compat32`` policy is the most forgiving (and the fastest) reader, so we
use it and add the decoding helpers it lacks. Nothing here raises on bad input.
"""

from __future__ import annotations

import email
import re
from collections.abc import Iterator
from email.header import decode_header, make_header
from email.message import Message
from email.policy import compat32

__all__ = [
    "decode_header_value",
    "header",
    "iter_parts",
    "message_from_bytes",
    "normalize_newlines",
    "part_bytes",
    "part_text",
]

_CR_OR_LF = re.compile(rb"\r\n|\r|\n")

#: Bound on how many MIME parts we walk: a 10,000-part tree must finish fast (issue 3).
MAX_PARTS = 2000
#: Nested message/rfc822 inside a report deeper than this is not worth reading.
MAX_DEPTH = 12


def normalize_newlines(raw: bytes) -> bytes:
    """Turn CRLF, lone CR and lone LF into LF so one set of patterns fits every MTA."""
    if b"\r" not in raw:
        return raw
    return _CR_OR_LF.sub(b"\n", raw)


def message_from_bytes(raw: bytes) -> Message:
    """Parse ``raw`` with the compat32 policy after newline normalisation."""
    return email.message_from_bytes(normalize_newlines(raw), policy=compat32)


def decode_header_value(value: object) -> str:
    """Decode RFC 2047 words and unfold; never raises (undecodable bytes are replaced)."""
    if value is None:
        return ""
    text = str(value)
    if "=?" in text:
        try:
            text = str(make_header(decode_header(text)))
        except (ValueError, LookupError, UnicodeError, AssertionError):
            pass
    return " ".join(text.split())


def header(msg: Message, name: str) -> str | None:
    """The decoded, unfolded value of the first ``name`` header, or None if absent/empty."""
    raw = msg.get(name)
    if raw is None:
        return None
    text = decode_header_value(raw)
    return text or None


def part_bytes(part: Message) -> bytes:
    """The transfer-decoded body of a non-multipart part (base64/QP undone), never raising."""
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, TypeError, AssertionError):
        payload = None
    if isinstance(payload, bytes):
        return payload
    body = part.get_payload()
    if isinstance(body, str):
        return body.encode("utf-8", "surrogateescape")
    if isinstance(body, list):  # message/* parts: re-serialise the enclosed message
        return b"\n".join(m.as_bytes() if isinstance(m, Message) else b"" for m in body)
    return b""


def _charset(part: Message) -> str:
    charset = part.get_content_charset() or "utf-8"
    charset = charset.strip().strip('"').lower()
    aliases = {"utf8": "utf-8", "iso-2022-jp-ms": "iso-2022-jp", "x-sjis": "shift_jis",
               "sjis": "shift_jis", "ks_c_5601-1987": "euc-kr", "unknown-8bit": "utf-8"}
    return aliases.get(charset, charset)


def decode_bytes(data: bytes, charset: str = "utf-8") -> str:
    """Decode with the declared charset, falling back to UTF-8 then Latin-1 (never fails)."""
    for candidate in (charset, "utf-8"):
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


def part_text(part: Message) -> str:
    """The decoded text of a leaf part, using its declared charset with safe fallbacks."""
    return decode_bytes(part_bytes(part), _charset(part))


def iter_parts(msg: Message, *, max_parts: int = MAX_PARTS) -> Iterator[Message]:
    """Depth-first walk over ``msg`` and its sub-parts, bounded by ``max_parts``.

    ``Message.walk`` is unbounded; a hostile 10,000-part tree must not cost us seconds.
    """
    stack = [msg]
    seen = 0
    while stack and seen < max_parts:
        part = stack.pop()
        seen += 1
        yield part
        payload = part.get_payload()
        if isinstance(payload, list):
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
