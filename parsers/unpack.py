"""Peel gzip and zip layers off a report, streaming, under a size limit.

Why by hand: ``gzip.decompress`` and ``zipfile.ZipFile.read`` inflate the whole payload into
memory and have no output bound, so a 10 kB zip bomb becomes gigabytes before anyone can say
no. Reporters also do odd things that the stdlib refuses or silently truncates:

* gzip inside gzip (``.xml.gz.gz``, tierpod/dmarc-report-converter ``test.xml.gz.gz``);
* bytes after the gzip member (parsedmarc ``mimecast-weird-gzip.eml``): RFC 1952 2.2 allows
  only further members, anything else is dropped with a warning, not an error;
* zip holding one report file plus, sometimes, directories or ``__MACOSX`` debris.

The result is an iterator of chunks, so a 1,000,000-record aggregate report (RFC 7489
Appendix C) never exists decompressed in memory at once. Every layer counts its output against
``limit`` and raises ``LimitExceeded`` the moment it is passed.

Bombs are refused early, by construction rather than by the size limit alone (issue 11: a
gzip of ``<feedback>`` and 2 GB of NUL bytes took 40 s to reach the limit):

* a size known before inflating is checked first: a bare document's length, a zip member's
  size in the central directory (APPNOTE 4.4.9), a gzip trailer's ISIZE (RFC 1952 2.3.1)
  when it is credible (no more than deflate's 1032-fold maximum of the file, because bytes
  after the member, as in ``mimecast-weird-gzip.eml``, make the last four bytes junk);
* past its first ``RATIO_FREE`` bytes, no layer may put out more than ``MAX_RATIO`` times
  what it has consumed. The corpus reports expand 1.3 to 16-fold; the generated reports of
  ``tests/builders`` (sequential addresses, gzip -9) 85 to 135-fold, and 200,000 identical
  records 229-fold. A bomb of a repeated byte or short pattern expands about 1000-fold
  (deflate's ceiling), so it is stopped after about 1.4 MB, in well under a second,
  whatever its trailer claims. (A bomb of varied markup can stay under the ratio; what
  bounds it is the size limit, as for the largest real report.)
* more than ``MAX_LAYERS - 1`` nested compression layers are refused.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterable, Iterator

from parsers.errors import LimitExceeded, ParseError

__all__ = [
    "DEFAULT_LIMIT",
    "GZIP_MAGIC",
    "MAX_RATIO",
    "RATIO_FREE",
    "ZIP_MAGIC",
    "Unpacked",
    "is_compressed",
    "read_all",
    "unpack",
]

#: Largest decompressed report accepted by default (issue 4): 200 MB.
DEFAULT_LIMIT = 200 * 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGIC = b"PK\x03\x04"
#: Compression layers deeper than this are not a report anyone sends: treat as hostile.
MAX_LAYERS = 4
CHUNK = 64 * 1024
#: Output a layer may put out before its expansion ratio is judged (small bombs are harmless
#: and small files compress oddly).
RATIO_FREE = 1024 * 1024
#: Largest expansion (output bytes per input byte) a layer may show past ``RATIO_FREE``.
MAX_RATIO = 300
#: Deflate's own ceiling (RFC 1951: a 258-byte match in about two bits): a gzip trailer
#: claiming more than this many times the file's size is not a trailer.
_DEFLATE_MAX_RATIO = 1032


def is_compressed(data: bytes) -> bool:
    """True when ``data`` starts with a gzip or zip local-file-header signature."""
    return data.startswith(GZIP_MAGIC) or data.startswith(ZIP_MAGIC)


class Unpacked:
    """The innermost payload of ``raw`` as a chunk stream, plus what was peeled to get there.

    ``layers`` (outermost first, e.g. ``["gzip", "gzip"]``) and ``warnings`` are complete only
    once the stream has been consumed, because a layer is discovered when its first bytes are.
    """

    def __init__(self, raw: bytes, *, limit: int = DEFAULT_LIMIT) -> None:
        self.raw = raw
        self.limit = limit
        self.layers: list[str] = []
        self.warnings: list[str] = []

    def __iter__(self) -> Iterator[bytes]:
        return self._peel(_chunks_of(self.raw), depth=0)

    def _peel(self, chunks: Iterator[bytes], *, depth: int) -> Iterator[bytes]:
        head, chunks = _peek(chunks, 4)
        if head.startswith(GZIP_MAGIC):
            if depth == 0:
                self._check_trailer()
            inner = self._gunzip(chunks)
        elif head.startswith(ZIP_MAGIC):
            inner = self._unzip(chunks)
        else:
            if depth == 0 and len(self.raw) > self.limit:
                raise LimitExceeded(f"report exceeds the {self.limit:,}-byte limit")
            yield from chunks
            return
        if depth + 1 >= MAX_LAYERS:
            raise LimitExceeded(f"more than {MAX_LAYERS - 1} nested compression layers")
        yield from self._peel(inner, depth=depth + 1)

    def _gunzip(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """Inflate gzip members back to back (RFC 1952 2.2); stop quietly at trailing junk."""
        self.layers.append("gzip")
        out = fed = 0
        inflater = zlib.decompressobj(wbits=31)
        pending = b""
        for chunk in chunks:
            fed += len(chunk)
            data = pending + chunk
            pending = b""
            while data:
                if inflater.eof:  # bytes after a member: another member, or junk
                    if len(data) < 2 and GZIP_MAGIC.startswith(data):
                        pending = data
                        break
                    if not data.startswith(GZIP_MAGIC):
                        self.warnings.append("ignored trailing bytes after the gzip data")
                        return
                    inflater = zlib.decompressobj(wbits=31)
                try:
                    piece = inflater.decompress(data, CHUNK)
                except zlib.error as exc:
                    raise ParseError(f"damaged gzip data: {exc}", where="gzip") from exc
                data = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
                out += len(piece)
                self._check("gzip", out, fed - len(data))  # what was really consumed
                if piece:
                    yield piece
        if not inflater.eof and out == 0:
            raise ParseError("gzip data ends before any content", where="gzip")
        if not inflater.eof:
            self.warnings.append("gzip data is truncated")

    def _unzip(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Stream the one report file of a zip archive (directories and debris skipped)."""
        self.layers.append("zip")
        data = b"".join(chunks)  # zip needs its central directory at the end: seekable bytes
        try:
            archive = zipfile.ZipFile(io.BytesIO(data))
            members = [i for i in archive.infolist() if not i.is_dir() and _wanted(i.filename)]
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise ParseError(f"damaged zip archive: {exc}", where="zip") from exc
        if not members:
            raise ParseError("zip archive holds no file", where="zip")
        if len(members) > 1:
            self.warnings.append(f"zip holds {len(members)} files; read {members[0].filename}")
        member = members[0]
        if member.file_size > self.limit:  # the central directory's word, before inflating
            raise LimitExceeded(
                f"decompressed report exceeds the {self.limit:,}-byte limit (the archive "
                f"says {member.file_size:,} bytes)",
                where="zip",
            )
        if member.compress_type == zipfile.ZIP_DEFLATED and not member.flag_bits & 1:
            yield from self._inflate_member(data, member)
            return
        out = 0  # stored, bzip2, lzma, encrypted: zipfile, judged against the whole member
        try:
            with archive.open(member) as fh:
                while piece := fh.read(CHUNK):
                    out += len(piece)
                    self._check("zip", out, member.compress_size)
                    yield piece
        except (zipfile.BadZipFile, OSError, zlib.error, EOFError, RuntimeError) as exc:
            raise ParseError(f"damaged zip member: {exc}", where="zip") from exc

    def _inflate_member(self, data: bytes, member: zipfile.ZipInfo) -> Iterator[bytes]:
        """Inflate a deflated zip member ourselves, so the ratio check sees what is consumed.

        ``ZipExtFile`` reads compressed bytes ahead of what it inflates, which hides a
        bomb's ratio. The member starts after its local header (APPNOTE 4.3.7: 30 bytes,
        then the name and extra field, whose lengths may differ from the central ones).
        """
        at = member.header_offset
        if data[at : at + 4] != ZIP_MAGIC:
            raise ParseError("damaged zip member: no local header", where="zip")
        start = at + 30 + int.from_bytes(data[at + 26 : at + 28], "little")
        start += int.from_bytes(data[at + 28 : at + 30], "little")
        body = memoryview(data)[start : start + member.compress_size]
        inflater = zlib.decompressobj(wbits=-15)
        out = fed = crc = 0
        for begin in range(0, len(body), CHUNK):
            rest = bytes(body[begin : begin + CHUNK])
            fed += len(rest)
            while rest and not inflater.eof:
                try:
                    piece = inflater.decompress(rest, CHUNK)
                except zlib.error as exc:
                    raise ParseError(f"damaged zip member: {exc}", where="zip") from exc
                rest = inflater.unconsumed_tail
                out += len(piece)
                self._check("zip", out, fed - len(rest))
                if out > member.file_size:
                    raise ParseError("damaged zip member: longer than its size", where="zip")
                crc = zlib.crc32(piece, crc)
                yield piece
        if not inflater.eof or out != member.file_size or crc != member.CRC:
            raise ParseError("damaged zip member: truncated or bad CRC-32", where="zip")

    def _check(self, layer: str, out: int, consumed: int) -> None:
        """Refuse a layer past the size limit, or expanding like a bomb (module docstring)."""
        if out > self.limit:
            raise _too_big(layer, self.limit)
        if out > RATIO_FREE + MAX_RATIO * consumed:
            raise LimitExceeded(
                f"decompressed data expands more than {MAX_RATIO}-fold (over the limit "
                f"for any real report): {consumed:,} bytes gave {out:,}",
                where=layer,
            )

    def _check_trailer(self) -> None:
        """Refuse a gzip whose trailer credibly says it inflates past the limit."""
        raw = self.raw
        if len(raw) < 18:  # RFC 1952 2.3: a 10-byte header and an 8-byte trailer
            return
        isize = int.from_bytes(raw[-4:], "little")
        if self.limit < isize <= len(raw) * _DEFLATE_MAX_RATIO:
            raise LimitExceeded(
                f"decompressed report exceeds the {self.limit:,}-byte limit (its trailer "
                f"says {isize:,} bytes)",
                where="gzip",
            )


def unpack(raw: bytes, *, limit: int = DEFAULT_LIMIT) -> Unpacked:
    """Stream the payload of ``raw`` through every gzip/zip layer (see ``Unpacked``)."""
    return Unpacked(raw, limit=limit)


def read_all(raw: bytes, *, limit: int = DEFAULT_LIMIT) -> tuple[bytes, Unpacked]:
    """The whole decompressed payload, for small documents such as TLS-RPT JSON."""
    stream = Unpacked(raw, limit=limit)
    return b"".join(stream), stream


def _wanted(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return not name.startswith("__MACOSX/") and not base.startswith(".")


def _too_big(layer: str, limit: int) -> LimitExceeded:
    return LimitExceeded(f"decompressed report exceeds the {limit:,}-byte limit", where=layer)


def _chunks_of(raw: bytes) -> Iterator[bytes]:
    view = memoryview(raw)
    for start in range(0, len(raw), CHUNK):
        yield bytes(view[start : start + CHUNK])


def _peek(chunks: Iterator[bytes], n: int) -> tuple[bytes, Iterator[bytes]]:
    """The first ``n`` bytes of a chunk stream, and the stream again with them put back."""
    taken: list[bytes] = []
    size = 0
    for chunk in chunks:
        taken.append(chunk)
        size += len(chunk)
        if size >= n:
            break
    head = b"".join(taken)

    def replay() -> Iterator[bytes]:
        if head:
            yield head
        yield from chunks

    return head[:n], replay()
