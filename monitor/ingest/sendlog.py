"""Import a send log (CSV or JSON Lines) into ``sent_messages``.

Why: under ``[suppression] trust = "verified"`` a bounce or complaint only acts when it is
tied to mail we sent (``monitor.store.events``). Senders whose mail leaves through their own
MTA, not the deliverwatch relay, import what they sent so that verification works for them
too. Columns (CSV header or JSON keys): ``recipient`` (required), ``message_id``,
``campaign``, ``sent_at`` (ISO 8601, a date, or Unix seconds; no zone means UTC) and
``token`` (the deliverwatch VERP token, or the whole ``bounce+TOKEN@...`` return path).

The file is streamed and applied in batches of ``BATCH`` rows per transaction; bad rows are
counted and named by line, never fatal; re-importing the same file adds nothing (a row is
known by its Message-ID and recipient, or by recipient and time when it has no Message-ID).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from monitor.enums import MessageState
from monitor.store.db import session_scope
from monitor.store.events import bare_message_id
from monitor.store.sent import insert_sends, known_message_recipients, known_untimed_sends
from parsers.address import AddressError, normalize_address
from parsers.verp import find_verp_token

__all__ = ["BATCH", "SendImportReport", "SendRow", "import_sends", "iter_send_rows"]

BATCH = 5_000
MAX_REJECTS_KEPT = 1_000
_ALIASES = {
    "email": "recipient",
    "to": "recipient",
    "rcpt": "recipient",
    "message-id": "message_id",
    "messageid": "message_id",
    "verp_token": "token",
    "timestamp": "sent_at",
    "date": "sent_at",
}
_KNOWN = {"recipient", "message_id", "campaign", "sent_at", "token"}


@dataclass(frozen=True, slots=True)
class SendRow:
    line: int
    recipient: str
    message_id: str | None
    campaign: str | None
    sent_at: datetime | None
    token: str | None


@dataclass
class SendImportReport:
    added: int = 0
    known: int = 0  # already in the log (or twice in the file)
    rejected: int = 0
    rejects: list[tuple[int, str]] = field(default_factory=list)

    def reject(self, line: int, why: str) -> None:
        self.rejected += 1
        if len(self.rejects) < MAX_REJECTS_KEPT:
            self.rejects.append((line, why))


def _when(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC)
    text = str(value).strip()
    if text.isdigit():
        return datetime.fromtimestamp(int(text), UTC)
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _row(line: int, data: dict[str, Any], lowercase: bool) -> SendRow | str:
    """A validated row, or why it is refused."""
    fields = {_ALIASES.get(k.strip().lower(), k.strip().lower()): v for k, v in data.items() if k}
    raw = str(fields.get("recipient") or "").strip()
    if not raw:
        return "no recipient"
    try:
        recipient = normalize_address(raw, lowercase_local=lowercase)
    except AddressError as exc:
        return str(exc)
    try:
        sent_at = _when(fields.get("sent_at"))
    except (ValueError, OverflowError, OSError):
        return f"sent_at {fields.get('sent_at')!r} is not a date, ISO 8601 time or Unix time"
    token_text = str(fields.get("token") or "").strip()
    token = find_verp_token(token_text if "@" in token_text else f"+{token_text}@")
    if token_text and token is None:
        return f"token {token_text[:40]!r} is not a deliverwatch VERP token"
    campaign = str(fields.get("campaign") or "").strip()[:200] or None
    message_id = bare_message_id(str(fields.get("message_id") or ""))
    return SendRow(line, recipient, message_id, campaign, sent_at, token)


def iter_send_rows(
    lines: Iterable[str], fmt: str, *, lowercase_local: bool = True
) -> Iterator[SendRow | tuple[int, str]]:
    """Rows of a CSV (header required) or JSON Lines file; ``(line, why)`` for bad ones."""
    if fmt == "jsonl":
        for number, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                data = json.loads(text)
            except ValueError as exc:
                yield number, f"not JSON: {exc}"
                continue
            if not isinstance(data, dict):
                yield number, "not a JSON object"
                continue
            row = _row(number, data, lowercase_local)
            yield row if isinstance(row, SendRow) else (number, row)
        return
    reader = csv.DictReader(lines)
    header = {_ALIASES.get(h.strip().lower(), h.strip().lower()) for h in reader.fieldnames or []}
    if "recipient" not in header:
        yield 1, "the CSV header names no recipient (or email) column"
        return
    for data in reader:
        number = reader.line_num
        row = _row(number, data, lowercase_local)
        yield row if isinstance(row, SendRow) else (number, row)


def _identity(row: SendRow) -> tuple[str, str]:
    if row.message_id:
        return ("m", f"{row.message_id}\0{row.recipient}")
    return ("t", f"{row.recipient}\0{row.sent_at.isoformat() if row.sent_at else ''}")


def _known(session: Session, rows: list[SendRow]) -> set[tuple[str, str]]:
    """Identities of ``rows`` already in the log (one query per kind of key)."""
    pairs = [(r.message_id, r.recipient) for r in rows if r.message_id is not None]
    found = {("m", f"{m}\0{r}") for m, r in known_message_recipients(session, pairs)}
    timed = {r.recipient for r in rows if not r.message_id}
    found.update(
        ("t", f"{r}\0{t.isoformat() if t else ''}") for r, t in known_untimed_sends(session, timed)
    )
    return found


def _flush(session: Session, rows: list[SendRow], now: datetime, report: SendImportReport) -> None:
    known = _known(session, rows)
    fresh = []
    for row in rows:
        ident = _identity(row)
        if ident in known:
            report.known += 1
            continue
        known.add(ident)
        fresh.append(
            {
                "message_id": row.message_id,
                "verp_token": row.token,
                "campaign": row.campaign,
                "recipient": row.recipient,
                "recipient_domain": row.recipient.rsplit("@", 1)[-1],
                "state": MessageState.IMPORTED,
                "attempts": 0,
                "created_at": now,
                "sent_at": row.sent_at,
                "updated_at": now,
            }
        )
    insert_sends(session, fresh)
    report.added += len(fresh)


def import_sends(
    factory: sessionmaker[Session],
    lines: Iterable[str],
    *,
    fmt: str,
    now: datetime,
    lowercase_local: bool = True,
    on_batch: Callable[[int], None] | None = None,
) -> SendImportReport:
    """Apply every valid row of ``lines``; see the module docstring."""
    report = SendImportReport()
    batch: list[SendRow] = []

    def flush() -> None:
        with session_scope(factory, "importing the send log") as session:
            _flush(session, batch, now, report)
        if on_batch is not None:
            on_batch(len(batch))
        batch.clear()

    for item in iter_send_rows(lines, fmt, lowercase_local=lowercase_local):
        if isinstance(item, SendRow):
            batch.append(item)
            if len(batch) >= BATCH:
                flush()
        else:
            report.reject(*item)
    if batch:
        flush()
    return report
