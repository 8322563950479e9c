"""Dispatch for everything providers send back besides bounces (ARF, JMRP, DMARC, TLS-RPT).

Placeholder contract: the feedback-parser work fills these in.
"""

from __future__ import annotations

from datetime import datetime
from email.message import Message

from parsers.records import Report


def detect_feedback(msg: Message, *, received_at: datetime | None = None,
                    with_records: bool = False) -> Report | None:
    """Return a complaint/auth-failure/dmarc-aggregate/tls-report Report, or None."""
    return None


def parse_report_document(raw: bytes, *, received_at: datetime | None = None,
                          with_records: bool = False) -> Report | None:
    """Parse a bare report file (XML, gzip, zip, JSON); None when ``raw`` is not one."""
    return None
