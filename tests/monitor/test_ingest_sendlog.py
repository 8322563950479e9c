"""Send-log import (``monitor.ingest.sendlog``): CSV and JSON Lines, bad rows named, idempotent."""

from __future__ import annotations

import datetime as dt
import io

from sqlalchemy import select

from monitor.enums import MessageState
from monitor.ingest.sendlog import import_sends, iter_send_rows
from monitor.store.models import SentMessage
from parsers import verp

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
TOKEN = verp.encode(key=b"k", message_id=7, recipient="a@example.org", bounce_domain="b.example")

CSV = f"""message_id,recipient,campaign,sent_at,token
<m1@sender.example>,A@Example.org,spring,2026-02-27T10:00:00Z,{TOKEN}
m2@sender.example,b@example.org,spring,2026-02-27,
,c@example.org,,1772100000,
m4@sender.example,not an address,spring,2026-02-27,
m5@sender.example,e@example.org,spring,yesterday,
m6@sender.example,f@example.org,spring,,not-a-token
"""


def test_rows_are_validated_with_line_numbers() -> None:
    rows = list(iter_send_rows(io.StringIO(CSV), "csv"))
    good = [r for r in rows if not isinstance(r, tuple)]
    bad = [r for r in rows if isinstance(r, tuple)]
    assert [r.recipient for r in good] == ["a@example.org", "b@example.org", "c@example.org"]
    first = good[0]
    assert first.message_id == "m1@sender.example" and first.campaign == "spring"
    assert first.token == TOKEN.split("+")[1].split("@")[0]
    assert first.sent_at == dt.datetime(2026, 2, 27, 10, tzinfo=dt.UTC)
    assert good[1].sent_at == dt.datetime(2026, 2, 27, tzinfo=dt.UTC)
    assert good[2].sent_at == dt.datetime.fromtimestamp(1772100000, dt.UTC)
    assert [line for line, _why in bad] == [5, 6, 7]
    assert "not an email address" in bad[0][1] or "invalid" in bad[0][1]
    assert "sent_at" in bad[1][1] and "token" in bad[2][1]


def test_csv_without_a_recipient_column_is_refused() -> None:
    rows = list(iter_send_rows(io.StringIO("id,when\n1,2\n"), "csv"))
    assert rows == [(1, "the CSV header names no recipient (or email) column")]


def test_import_is_idempotent_on_both_backends(store) -> None:
    first = import_sends(store.factory, io.StringIO(CSV), fmt="csv", now=NOW)
    assert (first.added, first.known, first.rejected) == (3, 0, 3)
    again = import_sends(store.factory, io.StringIO(CSV), fmt="csv", now=NOW)
    assert (again.added, again.known, again.rejected) == (0, 3, 3)
    with store.session() as s:
        rows = s.scalars(select(SentMessage).order_by(SentMessage.recipient)).all()
    assert [r.recipient for r in rows] == ["a@example.org", "b@example.org", "c@example.org"]
    assert {r.state for r in rows} == {MessageState.IMPORTED}
    assert rows[0].verp_token and rows[0].recipient_domain == "example.org"
    assert rows[2].message_id is None


def test_jsonl_import(store) -> None:
    lines = [
        '{"message_id": "<j1@sender.example>", "email": "j@example.org", "sent_at": 1772100000}',
        "",
        "[1, 2]",
        "{broken",
        '{"recipient": "k@example.org", "campaign": "summer", "token": "' + TOKEN + '"}',
    ]
    report = import_sends(store.factory, io.StringIO("\n".join(lines)), fmt="jsonl", now=NOW)
    assert (report.added, report.rejected) == (2, 2)
    assert [line for line, _why in report.rejects] == [3, 4]
    with store.session() as s:
        k = s.scalar(select(SentMessage).where(SentMessage.recipient == "k@example.org"))
    assert k is not None and k.campaign == "summer" and k.verp_token
