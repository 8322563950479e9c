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
            inner = self._gunzip(chunks)
        elif head.startswith(ZIP_MAGIC):
            inner = self._unzip(chunks)
        else:
            yield from chunks
            return
        if depth + 1 >= MAX_LAYERS:
            raise LimitExceeded(f"more than {MAX_LAYERS - 1} nested compression layers")
        yield from self._peel(inner, depth=depth + 1)

    def _gunzip(self, chunks: Iterator[bytes]) -> Iterator[bytes]:
        """Inflate gzip members back to back (RFC 1952 2.2); stop quietly at trailing junk."""
        self.layers.append("gzip")
        out = 0
        inflater = zlib.decompressobj(wbits=31)
        pending = b""
        for chunk in chunks:
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
                out += len(piece)
                if out > self.limit:
                    raise _too_big("gzip", self.limit)
                if piece:
                    yield piece
                data = inflater.unused_data if inflater.eof else inflater.unconsumed_tail
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
        out = 0
        try:
            with archive.open(members[0]) as fh:
                while piece := fh.read(CHUNK):
                    out += len(piece)
                    if out > self.limit:
                        raise _too_big("zip", self.limit)
                    yield piece
        except (zipfile.BadZipFile, OSError, zlib.error, EOFError) as exc:
            raise ParseError(f"damaged zip member: {exc}", where="zip") from exc


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
