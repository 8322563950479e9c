"""Reading a DATA section (RFC 5321 4.1.1.4, 4.5.2) in large pieces instead of line by line.

aiosmtpd reads DATA one line at a time through a 1001-byte stream buffer, which paused and
resumed the socket every 2 KB and cost 34 % of the relay's CPU on 10 KB messages
(``make bench`` relay figures, py-spy with ``--gil``). Here the whole section up to the
terminator ``CRLF.CRLF`` is read with one ``readuntil`` (the stream buffer is raised to
``CHUNK``; a longer message is collected in ``CHUNK`` pieces), and dot-unstuffing is one
``replace``. What follows the terminator (pipelined commands) stays in the stream.

The terminator's first CRLF may be the one that ended the DATA command itself: a message
whose first line is ``.`` is empty, and a first line shorter than three bytes could hide a
terminator the bulk search cannot see; those (rare) starts are read line by line.
"""

from __future__ import annotations

import asyncio

from monitor.errors import RelayError

__all__ = ["CHUNK", "DataTooBig", "read_data", "unstuff"]

#: Bytes the stream may buffer (aiosmtpd's ``line_length_limit`` sets the reader's limit).
CHUNK = 64 * 1024
_END = b"\r\n.\r\n"


class DataTooBig(RelayError):
    """The section was longer than the limit (it was read to its end and dropped)."""


def unstuff(raw: bytes) -> bytes:
    """RFC 5321 4.5.2: the first period of every line that starts with one is dropped."""
    if raw.startswith(b"."):
        raw = raw[1:]
    return raw.replace(b"\r\n.", b"\r\n")


async def _line(reader: asyncio.StreamReader) -> bytes:
    """One line with its CRLF, however long."""
    parts = []
    while True:
        try:
            parts.append(await reader.readuntil(b"\r\n"))
            return b"".join(parts)
        except asyncio.LimitOverrunError as exc:
            parts.append(await reader.readexactly(exc.consumed))


async def _line_by_line(reader: asyncio.StreamReader, head: bytes, limit: int) -> bytes:
    """The slow path: ``head`` (3 bytes, not ``.CRLF``) holds a line end. No terminator can
    lie inside it (its ``.`` would need a CRLF before it within three bytes)."""
    *complete, partial = head.split(b"\r\n")
    lines = [line + b"\r\n" for line in complete]
    size = len(head)
    while partial.endswith(b"\r"):  # a CRLF split between the head and the stream
        nxt = await reader.readexactly(1)
        size += 1
        if nxt == b"\n":
            lines.append(partial + nxt)
            partial = b""
        else:
            partial += nxt
    while True:
        line = partial + await _line(reader)
        partial = b""
        if line == b".\r\n":
            break
        size += len(line)
        if size <= limit:
            lines.append(line)
    if size > limit:
        raise DataTooBig
    return b"".join(lines)


async def read_data(reader: asyncio.StreamReader, limit: int) -> bytes:
    """The section after ``354`` up to (without) the terminator, still dot-stuffed.

    Raises ``DataTooBig`` after reading to the end when it exceeds ``limit`` bytes.
    """
    head = await reader.readexactly(3)
    if head == b".\r\n":
        return b""
    if b"\r" in head or b"\n" in head:  # a first line of 0-2 bytes: no bulk search
        return await _line_by_line(reader, head, limit)
    parts = [head]
    size = len(head)
    while True:
        try:
            chunk = await reader.readuntil(_END)
        except asyncio.LimitOverrunError as exc:
            chunk = await reader.readexactly(exc.consumed)
            size += len(chunk)
            if size <= limit:  # past the limit only the end is looked for: drop the rest
                parts.append(chunk)
            continue
        size += len(chunk)
        parts.append(chunk)
        break
    if size > limit:
        raise DataTooBig
    return b"".join(parts)[: -len(_END) + 2]  # keep the CRLF that ends the last line
