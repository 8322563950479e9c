"""Hostile inputs (issue 11), one function per class, each returning the bytes to feed.

Written for deliverwatch from the issue's description; nothing here is a stored sample. The
tests (``tests/parsers/test_hostile.py``, ``tests/monitor/test_hostile_cli.py``) and the
benchmark (``bench/bench_hostile.py``) import these, and so can a mailbox drain that wants
one of each: ``CLASSES`` names every message-shaped class with a small and a full size.

Decompression bombs are built without ever holding the decompressed bytes: a block of junk
is deflated once with a full flush (byte-aligned, history reset), so the same compressed
bytes stand for every further block; only the CRC is computed over the whole (about 0.3 s
per GiB). A 2 GiB bomb is about 2 MB of gzip and a few kB once gzipped again.
"""

from __future__ import annotations

import base64
import struct
import zlib
from collections.abc import Callable
from functools import lru_cache

__all__ = [
    "CLASSES",
    "GIB",
    "MIB",
    "control_dsn",
    "deep_json",
    "deep_xml",
    "envelope_then_folded",
    "folded_headers",
    "gzip_bomb",
    "gzip_of",
    "json_bomb",
    "mailed",
    "many_fields",
    "nested_folded_headers",
    "xml_bomb_head",
    "zip_bomb",
    "zip_of",
]

MIB = 1 << 20
GIB = 1 << 30
_BLOCK = MIB
#: What a bomb starts with: it looks like an aggregate report (RFC 7489 Appendix C).
XML_HEAD = b'<?xml version="1.0" encoding="UTF-8"?>\n<feedback>\n'


def xml_bomb_head() -> bytes:
    """The prologue every XML bomb here starts with."""
    return XML_HEAD


@lru_cache(maxsize=8)
def _deflated_block(junk: bytes) -> bytes:
    """A 1 MiB block of ``junk`` as raw deflate ending in a full flush (so it repeats)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    return comp.compress((junk * (_BLOCK // len(junk) + 1))[:_BLOCK]) + comp.flush(
        zlib.Z_FULL_FLUSH
    )


@lru_cache(maxsize=8)
def _deflate_bomb(head: bytes, junk: bytes, size: int) -> tuple[bytes, int, int]:
    """Raw deflate of ``head`` + ``size`` bytes of ``junk`` (whole MiB blocks), its CRC-32
    and decompressed length."""
    block = (junk * (_BLOCK // len(junk) + 1))[:_BLOCK]
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = comp.compress(head) + comp.flush(zlib.Z_FULL_FLUSH)
    blocks = max(1, size // _BLOCK)
    body = _deflated_block(junk) * blocks
    last = comp.flush(zlib.Z_FINISH)  # an empty final block
    crc = zlib.crc32(head)
    big = block * 64
    for _ in range(blocks // 64):
        crc = zlib.crc32(big, crc)
    for _ in range(blocks % 64):
        crc = zlib.crc32(block, crc)
    return first + body + last, crc, len(head) + blocks * _BLOCK


def gzip_bomb(
    junk: bytes = b"\0", size: int = 2 * GIB, *, head: bytes = XML_HEAD, lie: bool = True
) -> bytes:
    """gzip of ``head`` then ``size`` bytes of ``junk`` (RFC 1952, valid CRC).

    With ``lie`` (the default: what an attacker sends) the trailer's ISIZE claims only the
    head, so a reader that trusts it must still stop the stream itself.
    """
    data, crc, length = _deflate_bomb(head, junk, size)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    isize = len(head) if lie else length & 0xFFFFFFFF
    return header + data + struct.pack("<II", crc, isize)


def zip_bomb(
    junk: bytes = b"\0", size: int = 2 * GIB, *, head: bytes = XML_HEAD, name: str = "report.xml"
) -> bytes:
    """A zip holding one deflated member: ``head`` then ``size`` bytes of ``junk``.

    The sizes in the archive are true: a reader stops a member at its stated size, so a
    zip bomb that lies is only a truncated member, and the one to fear is just under the
    limit."""
    data, crc, length = _deflate_bomb(head, junk, size)
    return _zip_member(name, data, crc, length, method=8)


def _zip_member(name: str, data: bytes, crc: int, length: int, *, method: int) -> bytes:
    """One-member zip (APPNOTE 4.3.7 local header, 4.3.12 central header, 4.3.16 end)."""
    raw_name = name.encode()
    local = struct.pack(
        "<IHHHHHIIIHH", 0x04034B50, 20, 0, method, 0, 0x21, crc, len(data), length,
        len(raw_name), 0,
    )  # fmt: skip
    central = struct.pack(
        "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, method, 0, 0x21, crc, len(data), length,
        len(raw_name), 0, 0, 0, 0, 0, 0,
    )  # fmt: skip
    body = local + raw_name + data
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, 1, 1, len(central) + len(raw_name), len(body), 0
    )
    return body + central + raw_name + end


def gzip_of(data: bytes) -> bytes:
    """``data`` gzip'd (another layer around a bomb is a few kB)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    return comp.compress(data) + comp.flush()


def zip_of(data: bytes, name: str = "report.xml.gz") -> bytes:
    """``data`` as the deflated member of a zip."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = comp.compress(data) + comp.flush()
    return _zip_member(name, packed, zlib.crc32(data), len(data), method=8)


def mailed(
    document: bytes,
    *,
    filename: str = "isp.example!sender.example!1704067200!1704153599.xml.gz",
    ctype: str = "application/gzip",
) -> bytes:
    """A report mail (RFC 7489 7.2.1.1) carrying ``document`` as a base64 attachment."""
    body = base64.encodebytes(document).decode()
    return (
        "From: noreply-dmarc@isp.example\nTo: dmarc@sender.example\n"
        "Subject: Report domain: sender.example Submitter: isp.example\n"
        "Date: Tue, 02 Jan 2024 10:05:00 +0000\nMessage-ID: <hostile-1@isp.example>\n"
        'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b1"\n\n'
        "--b1\nContent-Type: text/plain\n\nReport attached.\n"
        f'--b1\nContent-Type: {ctype}; name="{filename}"\n'
        f"Content-Transfer-Encoding: base64\n"
        f'Content-Disposition: attachment; filename="{filename}"\n\n{body}--b1--\n'
    ).encode()


def deep_xml(depth: int = 100_000, *, name: str = "a") -> bytes:
    """An aggregate "report" whose ``<feedback>`` holds ``depth`` nested elements."""
    return XML_HEAD + f"<{name}>".encode() * depth + f"</{name}>".encode() * depth + b"</feedback>"


def deep_json(depth: int = 100_000) -> bytes:
    """A TLS-RPT "report" (RFC 8460) whose ``policies`` nests ``depth`` arrays."""
    return (
        b'{"organization-name":"x","report-id":"y","policies":' + b"[" * depth + b"]" * depth + b"}"
    )


def json_bomb(size: int = 64 * MIB) -> bytes:
    """A TLS-RPT "report" of ``size`` bytes of empty arrays (a Python list each when loaded)."""
    return b'{"organization-name":"x","report-id":"y","policies":[' + b"[]," * (size // 3) + b"[]]}"


_MAIL_HEAD = (
    b"From: MAILER-DAEMON@mx.isp.example\nTo: bounces@sender.example\n"
    b"Subject: Undelivered Mail Returned to Sender\nMessage-ID: <hostile-2@isp.example>\n"
)


def folded_headers(size: int = 12_500_000, *, line: bytes = b"\tx\n") -> bytes:
    """A message whose header section is one field folded over ``size`` bytes of lines."""
    return _MAIL_HEAD + b"X-Fold: start\n" + line * (size // len(line)) + b"\nbody\n"


def many_fields(count: int = 300_000, *, field: bytes = b"a:\n") -> bytes:
    """A message whose header section holds ``count`` short fields (900 kB by default:
    under any byte cap, so only a cap on the number of fields stops it)."""
    return _MAIL_HEAD + field * count + b"\nbody\n"


def envelope_then_folded(size: int = 12_500_000) -> bytes:
    """A message whose header section ends in an mbox envelope line (a layout a fast MIME
    reader may hand to the stdlib parser), then an enclosed part with a huge folded header.
    """
    return (
        _MAIL_HEAD + b'MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="b4"\n'
        b"From someone Tue Jan  2 10:00:00 2024\n\n--b4\nContent-Type: message/rfc822\n\n"
        b"X-Fold: start\n" + b"\tx\n" * (size // 3) + b"\nbody\n--b4--\n"
    )


def nested_folded_headers(size: int = 12_500_000) -> bytes:
    """A bounce whose enclosed message (a MIME part) has the huge folded header section."""
    return (
        _MAIL_HEAD + b"MIME-Version: 1.0\nContent-Type: multipart/report; report-type="
        b'delivery-status; boundary="b2"\n\n--b2\nContent-Type: text/plain\n\nFailed.\n'
        b"--b2\nContent-Type: message/rfc822\n\nX-Fold: start\n"
        + b"\tx\n" * (size // 3)
        + b"\nbody\n--b2--\n"
    )


#: What a hostile mailer puts in text we show: OSC 0 (window title), CSI 2J (clear the
#: screen), OSC 8 (a hyperlink), a bidi override, BEL and C1 CSI.
CONTROLS = (
    "\x1b]0;pwned\x07",
    "\x1b[2J",
    "\x1b]8;;https://evil.example/\x1b\\click\x1b]8;;\x1b\\",
    "\u202e",
    "\u2066",
    "\x07",
    "\x9b31m",
)


def control_dsn(address: str = "user@isp.example") -> bytes:
    """An RFC 3464 DSN whose subject, diagnostic and (display) addresses carry controls.

    The diagnostic and the subject are RFC 2047 / 8-bit so the controls survive header
    unfolding; the recipient address is an ordinary one so the bounce still parses.
    """
    ctl = "".join(CONTROLS)
    subject = "=?utf-8?b?" + base64.b64encode(f"Undelivered{ctl}".encode()).decode() + "?="
    diag = f"550 5.1.1 <{address}>: unknown user{ctl}"
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.isp.example>\n"
        f"To: bounces@sender.example\nSubject: {subject}\n"
        "Message-ID: <hostile-3@isp.example>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b3"\n\n'
        "--b3\nContent-Type: text/plain; charset=utf-8\n\n"
        f"Delivery failed{ctl}\n"
        "--b3\nContent-Type: message/delivery-status; charset=utf-8\n\n"
        "Reporting-MTA: dns; mx.isp.example\n\n"
        f"Final-Recipient: rfc822; {address}\nAction: failed\nStatus: 5.1.1\n"
        f"Diagnostic-Code: smtp; {diag}\n"
        "--b3--\n"
    ).encode()


#: name -> (small, full): message-shaped hostile inputs, for tests (small) and for the
#: benchmark and a mailbox drain (full size). Each is a mail or a bare report document.
CLASSES: dict[str, tuple[Callable[[], bytes], Callable[[], bytes]]] = {
    "deep-xml bare": (lambda: deep_xml(30_000), lambda: deep_xml(100_000)),
    "deep-xml gzip-in-gzip mailed": (
        lambda: mailed(gzip_of(gzip_of(deep_xml(30_000)))),
        lambda: mailed(gzip_of(gzip_of(deep_xml(100_000)))),
    ),
    "deep-xml zip": (
        lambda: zip_of(deep_xml(30_000), "r.xml"),
        lambda: zip_of(deep_xml(100_000), "r.xml"),
    ),
    "nul bomb gzip": (lambda: gzip_bomb(b"\0", 256 * MIB), lambda: gzip_bomb(b"\0", 2 * GIB)),
    "nul bomb gzip-in-gzip mailed": (
        lambda: mailed(gzip_of(gzip_bomb(b"\0", 256 * MIB))),
        lambda: mailed(gzip_of(gzip_bomb(b"\0", 2 * GIB))),
    ),
    "ctl bomb gzip-in-zip": (
        lambda: zip_of(gzip_bomb(b"\x01", 256 * MIB)),
        lambda: zip_of(gzip_bomb(b"\x01", 2 * GIB)),
    ),
    "bad-utf8 bomb zip mailed": (
        lambda: mailed(zip_bomb(b"\xff", 190 * MIB), ctype="application/zip", filename="r.zip"),
        lambda: mailed(zip_bomb(b"\xff", 190 * MIB), ctype="application/zip", filename="r.zip"),
    ),
    "markup bomb zip": (
        lambda: zip_bomb(b"<a/>", 190 * MIB),
        lambda: zip_bomb(b"<a/>", 190 * MIB),
    ),
    "honest nul bomb gzip": (
        lambda: gzip_bomb(b"\0", 256 * MIB, lie=False),
        lambda: gzip_bomb(b"\0", 2 * GIB, lie=False),
    ),
    "space bomb gzip": (
        lambda: gzip_bomb(b" ", 256 * MIB),
        lambda: gzip_bomb(b" ", 2 * GIB),
    ),
    "text bomb gzip": (
        lambda: gzip_bomb(b"a", 256 * MIB),
        lambda: gzip_bomb(b"a", 2 * GIB),
    ),
    "json bomb gzip": (lambda: gzip_of(json_bomb(16 * MIB)), lambda: gzip_of(json_bomb(190 * MIB))),
    "json containers bare": (lambda: json_bomb(2 * MIB), lambda: json_bomb(12 * MIB)),
    "deep-json gzip": (lambda: gzip_of(deep_json(30_000)), lambda: gzip_of(deep_json(150_000))),
    "folded headers": (lambda: folded_headers(4 * MIB), lambda: folded_headers(12_500_000)),
    "many header fields": (lambda: many_fields(300_000), lambda: many_fields(300_000)),
    "envelope line, then folded part": (
        lambda: envelope_then_folded(4 * MIB),
        lambda: envelope_then_folded(12_500_000),
    ),
    "folded headers in a part": (
        lambda: nested_folded_headers(4 * MIB),
        lambda: nested_folded_headers(12_500_000),
    ),
    "control characters": (control_dsn, control_dsn),
}
