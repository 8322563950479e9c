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

__all__ = ["FORMATS", "ListRow", "RowError", "iter_list_rows", "parse_reason", "parse_timestamp"]

FORMATS = ("csv", "jsonl", "sendgrid", "mailchimp", "ses")

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


def _iter_csv(
    lines: Iterable[str], fmt: str, lowercase_local: bool
) -> Iterator[ListRow | RowError]:
    reader = csv.reader(lines)
    header: list[str] | None = None
    first: list[list[str]] = []  # a header-less SES file's first row is data
    for row in reader:
        if not row or all(not c.strip() for c in row):
            continue
        lowered = [c.strip().lstrip("\ufeff").lower() for c in row]
        if any(c in _ADDRESS_COLUMNS for c in lowered):
            header = lowered
        elif fmt == "ses":
            header, first = ["emailaddress", "reason"], [row]
        else:
            yield RowError(reader.line_num, "no header row naming an 'email' or 'address' column")
            return
        break
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
    for cells in itertools.chain(first, reader):
        if not "".join(cells).strip():  # an empty line, or only blank cells
            continue
        yield _entry(
            reader.line_num,
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
