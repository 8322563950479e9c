"""Import a send log (CSV or JSON Lines) into ``sent_messages``.

Why: under ``[suppression] trust = "verified"`` a bounce or complaint only acts when it is
tied to mail we sent (``monitor.store.events``). Senders whose mail leaves through their own
MTA, not the deliverwatch relay, import what they sent so that verification works for them
too. Columns (CSV header or JSON keys): ``recipient`` (required), ``message_id``,
``campaign``, ``sent_at`` (ISO 8601, a date, or Unix seconds; no zone means UTC) and
``token`` (the deliverwatch VERP token, or the whole ``bounce+TOKEN@...`` return path).

When the MTA's log says what became of the message, ``result`` (or ``status``:
``delivered``/``sent``, ``deferred``, ``bounced``, ``expired``) and ``reply`` (the remote
server's answer, e.g. ``550 5.1.1 <a@example.org>: user unknown``) make each such row an
observation for the events core (``monitor.events``): the reply is classified like a
mailbox bounce (``parsers.reply``), and a hard bounce suppresses exactly as it would had it
come back by mail. These observations carry ``Trust.LOCAL``: the sender's own MTA log is
the proof. Their idempotency key is the row's identity and result, so importing the same
file again records nothing twice, and a later file with results for rows imported before
without them adds the results.

The file is streamed and applied in batches of ``BATCH`` rows per transaction; bad rows are
counted and named by line, never fatal; re-importing the same file adds nothing (a row is
known by its Message-ID and recipient, or by recipient and time when it has no Message-ID).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from monitor.enums import EventKind, MessageState, Trust
from monitor.events import EventContext, Observation, event_key, record
from monitor.store.db import session_scope
from monitor.store.events import bare_message_id
from monitor.store.sent import insert_sends, known_message_recipients, known_untimed_sends
from parsers.address import AddressError, normalize_address
from parsers.listfile import RowError, csv_rows, text_problem
from parsers.reply import classify_reply, expired
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
    "status": "result",
    "outcome": "result",
    "response": "reply",
    "remote_reply": "reply",
    "diagnostic": "reply",
}
_KNOWN = {"recipient", "message_id", "campaign", "sent_at", "token", "result", "reply"}
#: What a send log may say became of a message -> the event it is.
_RESULTS = {
    "delivered": EventKind.DELIVERED,
    "sent": EventKind.DELIVERED,
    "deferred": EventKind.DEFERRED,
    "delayed": EventKind.DEFERRED,
    "bounced": EventKind.BOUNCED,
    "failed": EventKind.BOUNCED,
    "rejected": EventKind.BOUNCED,
    "expired": EventKind.BOUNCED,
}
_STATES = {
    EventKind.DELIVERED: MessageState.DELIVERED,
    EventKind.DEFERRED: MessageState.DEFERRED,
    EventKind.BOUNCED: MessageState.BOUNCED,
}


@dataclass(frozen=True, slots=True)
class SendRow:
    line: int
    recipient: str
    message_id: str | None
    campaign: str | None
    sent_at: datetime | None
    token: str | None
    result: str | None = None  # a key of _RESULTS
    reply: str | None = None


@dataclass
class SendImportReport:
    added: int = 0
    known: int = 0  # already in the log (or twice in the file)
    rejected: int = 0
    results: int = 0  # delivery results recorded as events (new ones only)
    suppressed: int = 0  # addresses those results put on the suppression list
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
    result = str(fields.get("result") or "").strip().lower() or None
    if result is not None and result not in _RESULTS:
        return f"result {result[:40]!r} is not one of {', '.join(sorted(_RESULTS))}"
    reply = str(fields.get("reply") or "").strip()[:4000] or None
    return SendRow(line, recipient, message_id, campaign, sent_at, token, result, reply)


def _jsonl_rows(lines: Iterable[str], lowercase: bool) -> Iterator[SendRow | tuple[int, str]]:
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        problem = text_problem(text) or (
            "contains a NUL byte (escaped)" if "\\u0000" in text else None
        )
        if problem is not None:
            yield number, problem
            continue
        try:
            data = json.loads(text)
        except ValueError as exc:
            yield number, f"not JSON: {exc}"
            continue
        if not isinstance(data, dict):
            yield number, "not a JSON object"
            continue
        row = _row(number, data, lowercase)
        yield row if isinstance(row, SendRow) else (number, row)


def _csv_rows(lines: Iterable[str], lowercase: bool) -> Iterator[SendRow | tuple[int, str]]:
    header: list[str] | None = None
    for item in csv_rows(lines):
        if isinstance(item, RowError):
            yield item.line, item.message
            continue
        number, cells = item
        if header is None:
            header = [_ALIASES.get(h.strip().lower(), h.strip().lower()) for h in cells]
            if "recipient" not in header:
                yield number, "the CSV header names no recipient (or email) column"
                return
            continue
        if not any(cell.strip() for cell in cells):
            continue
        problem = text_problem("".join(cells))
        if problem is not None:
            yield number, problem
            continue
        row = _row(number, dict(zip(header, cells, strict=False)), lowercase)
        yield row if isinstance(row, SendRow) else (number, row)


def iter_send_rows(
    lines: Iterable[str], fmt: str, *, lowercase_local: bool = True
) -> Iterator[SendRow | tuple[int, str]]:
    """Rows of a CSV (header required) or JSON Lines file; ``(line, why)`` for bad ones.

    A row the database could not store (bytes that are not UTF-8, a NUL, which PostgreSQL
    refuses, a field over the csv module's limit, a line over 1 MiB) is refused here with
    its line number, so the import goes on, the same on both backends (issue 11, point 6).
    """
    if fmt == "jsonl":
        yield from _jsonl_rows(lines, lowercase_local)
    else:
        yield from _csv_rows(lines, lowercase_local)


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


def _observation(row: SendRow, sent_id: int | None, now: datetime) -> Observation | None:
    """The delivery result of ``row`` as an observation (None: the log gave none)."""
    if row.result is None:
        return None
    kind = _RESULTS[row.result]
    if row.result == "expired":
        rcpt = expired(row.recipient, row.reply or "")
    elif kind is EventKind.DELIVERED:
        rcpt = classify_reply(250, row.reply or "", address=row.recipient)
    else:
        rcpt = classify_reply(None, row.reply or "", address=row.recipient)
    return Observation(
        kind=kind,
        key=event_key("sendlog", *_identity(row), row.result, row.reply),
        source="sendlog",
        occurred_at=row.sent_at or now,
        recipient=row.recipient,
        sent_id=sent_id,
        verp_token=row.token,
        message_id=row.message_id,
        trust=Trust.LOCAL,
        reason=rcpt.reason.value,
        hard=rcpt.hard,
        status=rcpt.status,
        reply_code=rcpt.reply_code,
        diagnostic=rcpt.diagnostic,
        campaign=row.campaign,
        source_ref=f"line {row.line}",
    )


def _flush(
    session: Session,
    rows: list[SendRow],
    ctx: EventContext,
    now: datetime,
    report: SendImportReport,
) -> None:
    known = _known(session, rows)
    fresh: list[SendRow] = []
    seen: list[SendRow] = []  # rows already in the log: their results may still be new
    for row in rows:
        ident = _identity(row)
        if ident in known:
            report.known += 1
            seen.append(row)
            continue
        known.add(ident)
        fresh.append(row)
    ids = insert_sends(
        session,
        [
            {
                "message_id": row.message_id,
                "verp_token": row.token,
                "campaign": row.campaign,
                "recipient": row.recipient,
                "recipient_domain": row.recipient.rsplit("@", 1)[-1],
                "state": _STATES[_RESULTS[row.result]] if row.result else MessageState.IMPORTED,
                "last_reply": row.reply,
                "attempts": 0,
                "created_at": now,
                "sent_at": row.sent_at,
                "updated_at": now,
            }
            for row in fresh
        ],
    )
    report.added += len(fresh)
    pairs = [*zip(fresh, ids, strict=True), *((row, None) for row in seen)]
    observed = [
        (row, o) for row, sent_id in pairs if (o := _observation(row, sent_id, now)) is not None
    ]
    results = record(session, [[o] for _row, o in observed], ctx, now=now)
    for (row, _o), result in zip(observed, results, strict=True):
        if result.error is not None:
            report.reject(row.line, f"result not recorded: {result.error}")
        report.results += sum(d.stored for d in result.decided)
        report.suppressed += result.effects.suppressed


def import_sends(
    factory: sessionmaker[Session],
    lines: Iterable[str],
    *,
    fmt: str,
    now: datetime,
    ctx: EventContext | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> SendImportReport:
    """Apply every valid row of ``lines``; see the module docstring. ``ctx`` holds the
    suppression rules the delivery results are judged by (default: the default rules)."""
    ctx = ctx or EventContext()
    report = SendImportReport()
    batch: list[SendRow] = []
    lowercase_local = ctx.lowercase_local

    def flush() -> None:
        with session_scope(factory, "importing the send log") as session:
            _flush(session, batch, ctx, now, report)
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
