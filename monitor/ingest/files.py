"""Read messages from files, directories, mbox files and Maildirs, and parse them.

This is the thin I/O layer around ``parsers.parse_message`` for ``deliverwatch parse``:
it names each message (the path as given; ``path:index`` for messages inside an mbox),
reads its bytes, and parses in this process or in a pool of worker processes. Nothing is
written anywhere; results come back as JSON lines, in input order.

Only regular files found in a directory are read: a FIFO there would block the read
forever (issue 11), and a device file never ends. Each one is reported as skipped, with its
type, and does not change the exit status. A FIFO named on the command line is read, as
``cat`` would (``deliverwatch parse <(zcat mail.gz)``).

The walk over the given paths only lists files (``Source``); reading a file, deciding
whether it is an mbox, parsing and JSON encoding all happen where the parsing happens. With
``--jobs N`` the workers are forked once the parsers are imported (``monitor.ingest.forkmap``),
take chunks of files and send back one string of JSON lines per chunk: the parent only
walks directories and writes, so it never becomes the bottleneck that reading every file
itself, pickling their bytes and unpickling per-message results made it.
"""

from __future__ import annotations

import gc
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, NamedTuple

from monitor.errors import MonitorError
from parsers.dispatch import parse_message
from parsers.records import Kind, Report
from parsers.serialize import report_to_dict

__all__ = [
    "UNREADABLE",
    "Item",
    "Source",
    "is_unreadable",
    "iter_sources",
    "parse_paths",
    "result_record",
]

# Prefix of the error of every input that could not be read (the CLI then exits 1)
UNREADABLE = "cannot read"
# Prefix of the note for a directory entry that is not a regular file (not read, not an error)
SKIPPED = "skipped"
_KINDS = {
    stat.S_IFIFO: "a FIFO",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
}

_MAILDIR_SUBDIRS = ("cur", "new")
_MBOX_SUFFIXES = (".mbox", ".mbx")
# "From MAILER-DAEMON Fri Feb 13 02:47:49 2015": the envelope line mbox(5) starts messages with
_SEPARATOR = rb"From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d "
_SEPARATOR_AT = re.compile(_SEPARATOR)
# after a newline: the literal "\nFrom " lets the regex engine skip ahead
_SEPARATOR_LINE = re.compile(b"\n" + _SEPARATOR)
# json.dumps(record, ensure_ascii=False), without building an encoder per call
_JSON = json.JSONEncoder(ensure_ascii=False).encode
#: Files per task sent to a worker: big enough that the pickling and queueing per task
#: are noise next to parsing (about 10 ms of work), small enough to keep workers even.
CHUNK = 48


@dataclass(frozen=True, slots=True)
class Item:
    """One message to parse: its display name and its bytes (or why it could not be read)."""

    name: str
    data: bytes | None
    error: str | None = None


class Source(NamedTuple):
    """One input found by the walk: a file to read, or an input that cannot be read.

    ``sniff`` says whether the file may be an mbox (Maildir files never are); ``walked``
    that it was found in a directory, so only a regular file is read. A tuple, so that
    chunks of them go to the workers as plain tuples (a tenth of the pickling cost).
    """

    shown: str
    path: str | None = None
    error: str | None = None
    sniff: bool = True
    walked: bool = False


class NotRegular(MonitorError):
    """A directory entry that is not a regular file; ``str()`` says what it is."""


def _is_maildir(path: Path) -> bool:
    return all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def _mbox_by_name(path: Path) -> bool:
    return path.name.lower() == "mbox" or path.suffix.lower() in _MBOX_SUFFIXES


def _mbox_by_content(data: bytes) -> bool:
    """The first line and some later line are mbox separators.

    A single message saved with its "From " envelope line (as many bounce samples are) is
    treated as one message, not as a one-message mbox, so its name stays the plain path.
    """
    # lines are looked for after the first five bytes, the rest of the first line included
    if not data.startswith(b"From "):
        return False
    # a separator right after these five bytes (rest of the first line), or on a later line
    return bool(_SEPARATOR_AT.match(data, 5) or _SEPARATOR_LINE.search(data, 5))


def _looks_like_mbox(path: Path) -> bool:
    """An mbox by name, or by content (see ``_mbox_by_content``)."""
    if _mbox_by_name(path):
        return True
    try:
        return _mbox_by_content(path.read_bytes())
    except OSError:
        return False


def _mbox_items(path: Path, shown: str) -> Iterator[Item]:
    import mailbox  # only mbox inputs need it (and it imports much of the email package)

    try:
        box = mailbox.mbox(path, create=False)
    except (OSError, mailbox.Error) as exc:
        yield Item(shown, None, f"{UNREADABLE} mbox: {exc}")
        return
    try:
        for index, key in enumerate(list(box.keys())):
            try:
                data = box.get_bytes(key)
            except (OSError, KeyError, mailbox.Error) as exc:
                yield Item(f"{shown}:{index}", None, f"{UNREADABLE} message: {exc}")
                continue
            yield Item(f"{shown}:{index}", data)
    except (OSError, mailbox.Error) as exc:
        yield Item(shown, None, f"{UNREADABLE} mbox: {exc}")
    finally:
        box.close()


def _file_item(path: Path, shown: str) -> Item:
    try:
        return Item(shown, path.read_bytes())
    except OSError as exc:
        return Item(shown, None, f"{UNREADABLE} file: {exc.strerror or exc}")


def _path_items(path: Path, shown: str) -> Iterator[Item]:
    """The messages at ``path``, checking step by step what it is (the slow, exact path)."""
    if path.is_dir():
        for source in _directory_sources(path):
            yield from source_items(source)
    elif not path.exists():
        yield Item(shown, None, f"{UNREADABLE}: no such file or directory")
    elif _looks_like_mbox(path):
        yield from _mbox_items(path, shown)
    else:
        yield _file_item(path, shown)


def _read(path: str, *, regular_only: bool = False) -> bytes:
    """The bytes of the file at ``path``: ``Path.read_bytes`` without its file objects, in
    one read of the size fstat gives (and more reads if the file grew meanwhile).

    With ``regular_only`` the file is opened without blocking (a FIFO with no writer would
    block ``open`` itself) and anything but a regular file raises ``NotRegular``.
    """
    fd = os.open(path, os.O_RDONLY | (os.O_NONBLOCK if regular_only else 0))
    try:
        info = os.fstat(fd)
        if regular_only and not stat.S_ISREG(info.st_mode):
            raise NotRegular(_KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file"))
        size = info.st_size
        data = os.read(fd, size + 1)
        if len(data) <= size:
            return data
        chunks = [data]
        while chunk := os.read(fd, 1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _suffix(name: str) -> str:
    """``PurePath(name).suffix`` for a file name."""
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


def source_items(source: Source) -> Iterator[Item]:
    """The messages of one source: its file's bytes, or one item per message of an mbox."""
    if source.path is None:
        yield Item(source.shown, None, source.error)
        return
    if not source.sniff:
        yield _file_item(Path(source.path), source.shown)
        return
    # the walk and iter_sources hand over normalised paths of existing files, whose last
    # component is what Path.name would say
    name = os.path.basename(source.path).lower()
    try:
        if name == "mbox" or _suffix(name) in _MBOX_SUFFIXES:
            if source.walked:
                _regular(source.path)
            yield from _mbox_items(Path(source.path), source.shown)
            return
        data = _read(source.path, regular_only=source.walked)
    except NotRegular as what:
        yield Item(source.shown, None, f"{SKIPPED}: {what}, not a regular file")
        return
    except OSError:  # gone, a directory now, unreadable: name the problem as the walk would
        yield from _path_items(Path(source.path), source.shown)
        return
    if _mbox_by_content(data):
        yield from _mbox_items(Path(source.path), source.shown)
    else:
        yield Item(source.shown, data)


def _regular(path: str) -> None:
    """``NotRegular`` unless ``path`` is a regular file (``OSError`` if it cannot be seen)."""
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        raise NotRegular(_KINDS.get(stat.S_IFMT(mode), "not a regular file"))


def _maildir_sources(path: Path) -> Iterator[Source]:
    for sub in _MAILDIR_SUBDIRS:
        for file in sorted(p for p in (path / sub).iterdir() if p.is_file()):
            yield Source(str(file), str(file), sniff=False)


def _directory_sources(path: Path) -> Iterator[Source]:
    if _is_maildir(path):
        yield from _maildir_sources(path)
        return
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        here = Path(root)
        if _is_maildir(here):
            dirs[:] = [d for d in dirs if d not in ("cur", "new", "tmp")]
            yield from _maildir_sources(here)
        # str(here / name) for names without a slash, without a Path per file
        base = str(here)
        prefix = "" if base == "." else base if base.endswith("/") else base + "/"
        for name in sorted(files):
            if not name.startswith("."):
                shown = prefix + name
                yield Source(shown, shown, walked=True)


def iter_sources(paths: Iterable[str]) -> Iterator[Source]:
    """Every input under ``paths``, in the order given (directories sorted, recursive).

    Only directories are listed here; files are opened by ``source_items``.
    """
    for shown in paths:
        path = Path(shown)
        if path.is_dir():
            yield from _directory_sources(path)
        elif not path.exists():
            yield Source(shown, error=f"{UNREADABLE}: no such file or directory")
        else:
            yield Source(shown, shown)


def result_record(name: str, data: bytes | None, error: str | None, with_records: bool) -> Any:
    """Parse one item into the JSON-ready dict the CLI prints (file name first)."""
    if data is None:
        report = Report(kind=Kind.UNKNOWN, error=error or "unreadable")
    else:
        report = parse_message(data, with_records=with_records)
    return {"file": name, **report_to_dict(report)}


def is_unreadable(record: Any) -> bool:
    """True for the record of an input that could not be read (see ``UNREADABLE``)."""
    return bool(record["kind"] == "unknown" and (record.get("error") or "").startswith(UNREADABLE))


def _parse_chunk(task: tuple[list[tuple[Any, ...]], bool]) -> tuple[str, int]:
    """JSON lines (each ending in a newline) for the messages of a chunk of sources (as
    plain tuples), and how many of them could not be read. Encoded where they were parsed:
    one string per chunk is all a worker sends back."""
    sources, with_records = task
    lines: list[str] = []
    unreadable = 0
    for source in sources:
        for item in source_items(Source._make(source)):
            record = result_record(item.name, item.data, item.error, with_records)
            lines.append(_JSON(record) + "\n")
            unreadable += is_unreadable(record)
    return "".join(lines), unreadable


def _chunks(sources: Iterable[Source], size: int) -> Iterator[list[tuple[Any, ...]]]:
    iterator = iter(sources)
    while chunk := [tuple(source) for source in islice(iterator, size)]:
        yield chunk


def parse_paths(
    paths: Iterable[str], *, jobs: int = 1, with_records: bool = False
) -> Iterator[tuple[str, int]]:
    """(JSON lines, how many inputs were unreadable) per chunk of inputs, in input order.

    ``jobs`` > 1 parses in that many forked worker processes.
    """
    tasks = ((chunk, with_records) for chunk in _chunks(iter_sources(paths), CHUNK))
    if jobs <= 1:
        # the parsers' tables (thousands of long-lived objects, built at import) leave the
        # collector's generations, as in forked workers (forkmap): its full passes no longer
        # walk them (callgrind, bench/instructions.py --bytecode: -40 million at start,
        # -0.15 % for 10,000 messages)
        gc.freeze()
        yield from map(_parse_chunk, tasks)
        return
    if not hasattr(os, "fork"):  # no fork (Windows): a spawning pool, slower to start
        import multiprocessing

        with multiprocessing.get_context("spawn").Pool(processes=jobs) as pool:
            yield from pool.imap(_parse_chunk, tasks)
        return
    # Everything the workers need is imported by now (module level above), so forked
    # workers start parsing at once.
    from monitor.ingest.forkmap import ordered_map

    yield from ordered_map(_parse_chunk, tasks, jobs)
