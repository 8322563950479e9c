"""Read messages from files, directories, mbox files and Maildirs, and parse them.

This is the thin I/O layer around ``parsers.parse_message`` for ``deliverwatch parse``:
it names each message (the path as given; ``path:index`` for messages inside an mbox),
reads its bytes, and parses in this process or in a pool of worker processes. Nothing is
written anywhere; results are yielded in input order.
"""

from __future__ import annotations

import json
import mailbox
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parsers import parse_message
from parsers.records import Kind, Report
from parsers.serialize import report_to_dict

__all__ = ["UNREADABLE", "Item", "is_unreadable", "iter_items", "parse_items", "result_record"]

# Prefix of the error of every input that could not be read (the CLI then exits 1)
UNREADABLE = "cannot read"

_MAILDIR_SUBDIRS = ("cur", "new")
_MBOX_SUFFIXES = (".mbox", ".mbx")
# "From MAILER-DAEMON Fri Feb 13 02:47:49 2015": the envelope line mbox(5) starts messages with
_SEPARATOR = re.compile(rb"^From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d ")


@dataclass(frozen=True, slots=True)
class Item:
    """One message to parse: its display name and its bytes (or why it could not be read)."""

    name: str
    data: bytes | None
    error: str | None = None


def _is_maildir(path: Path) -> bool:
    return all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def _looks_like_mbox(path: Path) -> bool:
    """An mbox by name, or a file whose first line and some later line are mbox separators.

    A single message saved with its "From " envelope line (as many bounce samples are) is
    treated as one message, not as a one-message mbox, so its name stays the plain path.
    """
    if path.name.lower() == "mbox" or path.suffix.lower() in _MBOX_SUFFIXES:
        return True
    try:
        with path.open("rb") as handle:
            head = handle.read(5)
            if head != b"From ":
                return False
            for line in handle:
                if line.startswith(b"From ") and _SEPARATOR.match(line):
                    return True
    except OSError:
        return False
    return False


def _mbox_items(path: Path, shown: str) -> Iterator[Item]:
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


def _maildir_files(path: Path) -> list[Path]:
    files: list[Path] = []
    for sub in _MAILDIR_SUBDIRS:
        files += sorted(p for p in (path / sub).iterdir() if p.is_file())
    return files


def _directory_items(path: Path) -> Iterator[Item]:
    if _is_maildir(path):
        for file in _maildir_files(path):
            yield _file_item(file, str(file))
        return
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        here = Path(root)
        if _is_maildir(here):
            dirs[:] = [d for d in dirs if d not in ("cur", "new", "tmp")]
            for file in _maildir_files(here):
                yield _file_item(file, str(file))
        for name in sorted(files):
            if not name.startswith("."):
                yield from _path_items(here / name, str(here / name))


def _path_items(path: Path, shown: str) -> Iterator[Item]:
    if path.is_dir():
        yield from _directory_items(path)
    elif not path.exists():
        yield Item(shown, None, f"{UNREADABLE}: no such file or directory")
    elif _looks_like_mbox(path):
        yield from _mbox_items(path, shown)
    else:
        yield _file_item(path, shown)


def iter_items(paths: Iterable[str]) -> Iterator[Item]:
    """Every message under ``paths``, in the order given (directories sorted, recursive)."""
    for shown in paths:
        yield from _path_items(Path(shown), shown)


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


def _work(args: tuple[str, bytes | None, str | None, bool]) -> tuple[str, bool]:
    # JSON is encoded where the parsing happened: a worker sends back one string, which
    # pickles far faster than the nested dict would.
    record = result_record(*args)
    return json.dumps(record, ensure_ascii=False), is_unreadable(record)


def parse_items(
    items: Iterable[Item], *, jobs: int = 1, with_records: bool = False
) -> Iterator[tuple[str, bool]]:
    """(JSON line, unreadable?) per item, in input order; ``jobs`` > 1 uses worker processes."""
    work = ((i.name, i.data, i.error, with_records) for i in items)
    if jobs <= 1:
        for args in work:
            yield _work(args)
        return
    import multiprocessing

    context = multiprocessing.get_context("fork" if hasattr(os, "fork") else "spawn")
    with context.Pool(processes=jobs) as pool:
        yield from pool.imap(_work, work, chunksize=32)
