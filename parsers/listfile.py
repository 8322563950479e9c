"""Read suppression-list files (our CSV/JSON Lines and the shapes ESPs export) into rows.

Pure: the caller opens the file and passes an iterable of text lines; we yield one
``ListRow`` or ``RowError`` per data line and never stop at a bad one, so an import of a
million rows with three broken lines imports the rest and names the three (line number
and why).

Formats
  ``csv``        header row naming ``email`` or ``address`` (any case); optional ``reason``,
                 ``expires_at``, ``note``, ``created_at``, ``scope``. Other columns ignored.
  ``jsonl``      one object per line with ``address`` (or ``email``) and the same optional keys.
  ``sendgrid``   SendGrid suppression CSV: ``email`` column, optional ``created`` (epoch
                 seconds or ISO) and ``reason`` (free text, kept as the note).
  ``mailchimp``  Mailchimp audience export: ``Email Address`` column, other columns ignored.
  ``ses``        Amazon SES bulk suppression import: ``address,BOUNCE|COMPLAINT`` rows, with
                 or without an ``EmailAddress,Reason`` header.
An address written ``@example.com`` (or with ``scope`` = ``domain``) is a whole-domain entry.

Hostile or broken files (issue 11) cost a rejected row each, never the rest of the import,
and the same on SQLite and PostgreSQL. The caller decodes with ``errors="surrogateescape"``
and reads lines of at most ``MAX_LINE`` characters (``LINE_TOO_LONG`` stands in for a
longer one); then a row is rejected, with its line number, when it

* breaks the csv module (a field over its 131,072-character limit; reading resumes at the
  next line, so lines that were inside the broken quoted field are read as rows);
* holds bytes that are not UTF-8 (a cp1252 "é"), or a NUL, which PostgreSQL refuses in text
  and SQLite would store: ``text_problem`` says which;
* is longer than ``MAX_LINE``.

A file whose encoding cannot be read line by line (UTF-16 or UTF-32 without being declared)
is refused before any row is imported: ``undecodable_encoding``. These helpers are shared
with the send-log import (``csv_rows``, ``text_problem``, ``undecodable_encoding``).
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from parsers.address import AddressError, normalize_address, normalize_domain

__all__ = [
    "FORMATS",
    "LINE_TOO_LONG",
    "MAX_LINE",
    "ListRow",
    "RowError",
    "csv_rows",
    "iter_list_rows",
    "parse_reason",
    "parse_timestamp",
    "text_problem",
    "undecodable_encoding",
]

FORMATS = ("csv", "jsonl", "sendgrid", "mailchimp", "ses")
#: Longest line (in characters) an import reads; see ``LINE_TOO_LONG``.
MAX_LINE = 1024 * 1024
#: What the line reader hands on instead of a line longer than ``MAX_LINE`` (whose rest it
#: skips): NUL bytes make it a line no valid row can be, and its row is rejected as too long.
LINE_TOO_LONG = "\x00line longer than the limit\x00\n"
_TOO_LONG_CELL = LINE_TOO_LONG.rstrip("\n")

#: Accepted spellings of our reasons (the values of monitor.enums.SuppressionReason).
_REASONS = {
    "hard-bounce": "hard-bounce",
    "hardbounce": "hard-bounce",
    "hard_bounce": "hard-bounce",
    "bounce": "hard-bounce",
    "bounced": "hard-bounce",
    "bounces": "hard-bounce",
    "soft-bounce": "soft-bounce",
    "softbounce": "soft-bounce",
    "soft_bounce": "soft-bounce",
    "complaint": "complaint",
    "complained": "complaint",
    "spam": "complaint",
    "spamreport": "complaint",
    "spam_report": "complaint",
    "abuse": "complaint",
    "unsubscribe": "unsubscribe",
    "unsubscribed": "unsubscribe",
    "opt-out": "unsubscribe",
    "optout": "unsubscribe",
    "manual": "manual",
    "import": "import",
    "imported": "import",
}
_ADDRESS_COLUMNS = ("address", "email", "email address", "emailaddress", "email_address")


class ListRow(NamedTuple):
    """One valid entry. ``reason``/``expires_at``/``note`` are None when the file is silent.

    A named tuple: one is built per row of files with millions of rows, and a frozen
    dataclass's ``__init__`` costs several times as much."""

    line: int
    domain: bool
    value: str
    reason: str | None
    expires_at: datetime | None
    note: str | None
    created_at: datetime | None


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str


def text_problem(text: str) -> str | None:
    """Why ``text`` (decoded with ``surrogateescape``) cannot be stored, or None.

    Fast for the common row: an ASCII text without NUL is fine.
    """
    if "\x00" in text:
        if _TOO_LONG_CELL in text:
            return f"line longer than {MAX_LINE:,} characters"
        return "contains a NUL byte"
    if text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate: a byte that was not UTF-8
        char = text[exc.start]
        what = f"byte 0x{ord(char) - 0xDC00:02X}" if "\udc80" <= char <= "\udcff" else "text"
        return f"{what} is not UTF-8 (a file in another encoding must say so: --encoding)"
    return None


_BOMS = (
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\xfe\xff", "UTF-16"),
    (b"\xff\xfe", "UTF-16"),
)


def undecodable_encoding(head: bytes) -> str | None:
    """Name the encoding of a file that starts with ``head`` when no line of it can be read
    as UTF-8 (UTF-16/UTF-32: a byte order mark, or every other byte NUL), else None."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return f"{name} (byte order mark)"
    sample = head[:4096]
    if len(sample) >= 8 and sample.count(0) * 4 >= len(sample):
        return "UTF-16 or UTF-32 (NUL bytes between the characters)"
    return None


def csv_rows(lines: Iterable[str]) -> Iterator[tuple[int, list[str]] | RowError]:
    """``csv.reader`` records with the line each ends on; a record the csv module refuses
    comes back as ``RowError`` and reading goes on at the next line."""
    reader = csv.reader(lines)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield RowError(reader.line_num, f"not CSV: {exc}")
            continue
        yield reader.line_num, row


def parse_reason(text: str) -> str:
    """Map a reason spelling to our vocabulary; raise ValueError on anything else."""
    found = _REASONS.get(text)  # already in our spelling: nearly every row of an export
    if found is not None:
        return found
    key = text.strip().lower().replace(" ", "")
    try:
        return _REASONS[key]
    except KeyError:
        raise ValueError(f"unknown reason {text.strip()!r}") from None


def parse_timestamp(text: str) -> datetime | None:
    """ISO 8601 date/datetime (naive = UTC) or epoch seconds; empty -> None."""
    t = text.strip()
    if not t:
        return None
    if t.isdigit():
        return datetime.fromtimestamp(int(t), UTC)
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a date/time: {t!r}") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def _entry(
    line: int,
    raw_address: str,
    *,
    scope: str | None,
    reason: str | None,
    expires: str | None,
    note: str | None,
    created: str | None,
    lowercase_local: bool,
) -> ListRow | RowError:
    try:
        value = raw_address.strip()
        domain = value.startswith("@") or (scope or "").strip().lower() == "domain"
        if not value:
            return RowError(line, "empty address")
        value = (
            normalize_domain(value)
            if domain
            else normalize_address(value, lowercase_local=lowercase_local)
        )
        return ListRow(  # positional: the fields in order (keywords cost more per row)
            line,
            domain,
            value,
            parse_reason(reason) if reason and reason.strip() else None,
            parse_timestamp(expires) if expires else None,
            note.strip() or None if note else None,
            parse_timestamp(created) if created else None,
        )
    except (AddressError, ValueError, OverflowError, OSError) as exc:
        return RowError(line, str(exc))


def _column(header: list[str], *names: str) -> int | None:
    return next((header.index(n) for n in names if n in header), None)


_Record = tuple[int, list[str]] | RowError


def _find_header(
    records: Iterator[_Record], fmt: str
) -> tuple[list[str] | None, list[_Record], list[RowError]]:
    """The lower-cased header row (or SES's implied one), the rows read ahead that are data,
    and the rejects met before it; no header and an error when the file has none."""
    rejects: list[RowError] = []
    for record in records:
        if isinstance(record, RowError):
            rejects.append(record)
            continue
        line, row = record
        if not row or all(not c.strip() for c in row):
            continue
        lowered = [c.strip().lstrip("\ufeff").lower() for c in row]
        if any(c in _ADDRESS_COLUMNS for c in lowered):
            return lowered, [], rejects
        if fmt == "ses":  # a header-less SES file's first row is data
            return ["emailaddress", "reason"], [record], rejects
        problem = text_problem("".join(row))
        why = problem or "no header row naming an 'email' or 'address' column"
        return None, [], [*rejects, RowError(line, why)]
    return None, [], rejects


def _iter_csv(
    lines: Iterable[str], fmt: str, lowercase_local: bool
) -> Iterator[ListRow | RowError]:
    records = csv_rows(lines)
    header, first, rejects = _find_header(records, fmt)
    yield from rejects
    if header is None:
        return
    idx = {
        "address": _column(header, *_ADDRESS_COLUMNS),
        "reason": _column(header, "reason"),
        "note": _column(header, "note"),
        "scope": _column(header, "scope"),
        "expires": _column(header, "expires_at"),
        "created": _column(header, "created_at", "created"),
    }
    if fmt == "sendgrid":  # SendGrid's "reason" is the remote server's text: keep it as note
        idx["note"], idx["reason"] = idx["reason"], None
    elif fmt == "mailchimp":  # Mailchimp exports carry no reason of ours
        idx["note"] = idx["reason"] = None
    # the column of each field, or past any row's end (so the slice below gives nothing)
    at = {k: (1 << 30) if i is None else i for k, i in idx.items()}
    i_addr, i_scope, i_reason = at["address"], at["scope"], at["reason"]
    i_expires, i_note, i_created = at["expires"], at["note"], at["created"]
    for record in itertools.chain(first, records):
        if isinstance(record, RowError):
            yield record
            continue
        line, cells = record
        joined = "".join(cells)
        if not joined.strip():  # an empty line, or only blank cells
            continue
        problem = text_problem(joined)
        if problem is not None:
            yield RowError(line, problem)
            continue
        yield _entry(
            line,
            cells[i_addr] if i_addr < len(cells) else "",
            scope=cells[i_scope] if i_scope < len(cells) else None,
            reason=cells[i_reason] if i_reason < len(cells) else None,
            expires=cells[i_expires] if i_expires < len(cells) else None,
            note=cells[i_note] if i_note < len(cells) else None,
            created=cells[i_created] if i_created < len(cells) else None,
            lowercase_local=lowercase_local,
        )


def _iter_jsonl(lines: Iterable[str], lowercase_local: bool) -> Iterator[ListRow | RowError]:
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        problem = text_problem(line) or ("contains a NUL byte" if "\\u0000" in line else None)
        if problem is not None:
            yield RowError(number, problem)
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RowError(number, f"invalid JSON: {exc.msg}")
            continue
        if not isinstance(obj, dict):
            yield RowError(number, "expected a JSON object")
            continue
        address = obj.get("address", obj.get("email"))
        if not isinstance(address, str):
            yield RowError(number, "missing 'address'")
            continue
        values = {k: obj.get(k) for k in ("scope", "reason", "expires_at", "note", "created_at")}
        bad = [k for k, v in values.items() if v is not None and not isinstance(v, str | int)]
        if bad:
            yield RowError(number, f"'{bad[0]}' must be a string")
            continue
        yield _entry(
            number,
            address,
            scope=_opt(values["scope"]),
            reason=_opt(values["reason"]),
            expires=_opt(values["expires_at"]),
            note=_opt(values["note"]),
            created=_opt(values["created_at"]),
            lowercase_local=lowercase_local,
        )


def _opt(value: object) -> str | None:
    return None if value is None else str(value)


def iter_list_rows(
    lines: Iterable[str], fmt: str = "csv", *, lowercase_local: bool = True
) -> Iterator[ListRow | RowError]:
    """Yield one ``ListRow`` or ``RowError`` per data line of a suppression file."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    if fmt == "jsonl":
        return _iter_jsonl(lines, lowercase_local)
    return _iter_csv(lines, fmt, lowercase_local)
