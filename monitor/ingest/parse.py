"""One fetched message, parsed: what storing it needs, and nothing else.

Kept apart from the rest of ``monitor.ingest`` so that parse workers (``drain`` runs
``parse_jobs`` in a process pool for big backlogs) import only ``parsers``, not SQLAlchemy:
each worker stays small, and parsing, the slowest step, runs on every core.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from parsers.dispatch import parse_message
from parsers.feedback import extract_report_document
from parsers.records import Kind, Report
from parsers.webtoken import unsubscribe_token_in_headers

__all__ = ["ParsedItem", "oversize_hash", "parse_item", "parse_jobs"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedItem:
    report: Report
    #: The attached report file of a DMARC aggregate (rows are streamed from it at store
    #: time); the raw message itself is not kept, so a batch holds no message bodies.
    document: bytes | None
    content_hash: str  # SHA-256 of the raw message, hex
    ref: str  # folder:uidvalidity:uid, for the event's source_ref
    received_at: datetime | None  # IMAP INTERNALDATE
    #: The token of an ``unsub+TOKEN@`` address the message was sent to (a mailto
    #: unsubscribe, RFC 2369); not yet verified.
    unsubscribe_token: str | None = None


def parse_item(raw: bytes, *, ref: str, received_at: datetime | None) -> ParsedItem:
    """Hash and parse one message (``parse_message`` never raises); pure and picklable."""
    report = parse_message(raw, received_at=received_at)
    document = extract_report_document(raw) if report.kind is Kind.DMARC_AGGREGATE else None
    return ParsedItem(
        report=report,
        document=document,
        content_hash=hashlib.sha256(raw).hexdigest(),
        ref=ref,
        received_at=received_at,
        unsubscribe_token=unsubscribe_token_in_headers(raw),
    )


def parse_jobs(jobs: list[tuple[bytes, str, datetime | None]]) -> list[ParsedItem]:
    """``parse_item`` over ``(raw, ref, received_at)`` jobs: one executor task per chunk."""
    return [parse_item(raw, ref=ref, received_at=when) for raw, ref, when in jobs]


def oversize_hash(size: int, header: bytes) -> str:
    """Content hash of a message too big to download: its header section and its size."""
    return hashlib.sha256(b"oversize\0%d\0" % size + header).hexdigest()
