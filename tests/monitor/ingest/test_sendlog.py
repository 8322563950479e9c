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


RESULTS = "\n".join(
    [
        "message_id,recipient,sent_at,status,reply",
        "r1@sender.example,gone@example.org,2026-02-27,bounced,"
        '"550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown"',
        'r2@sender.example,full@example.org,2026-02-27,deferred,"452 4.2.2 Mailbox full"',
        'r3@sender.example,ok@example.org,2026-02-27,delivered,"250 2.0.0 Ok: queued as 4AbC"',
        "r4@sender.example,ours@example.org,2026-02-27,bounced,"
        '"550 5.7.1 Service unavailable; client [192.0.2.1] blocked using zen.spamhaus.org"',
        'r5@sender.example,late@example.org,2026-02-27,expired,"421 4.4.2 connection timed out"',
        "r6@sender.example,odd@example.org,2026-02-27,maybe,",
    ]
)


def test_delivery_results_go_through_the_events_core(store) -> None:
    """Issue 14, point 1: an MTA log with results gives events and acts like bounces; the
    send-log import is one more caller of the events core (issue 12)."""
    from monitor.enums import EventKind, SuppressionReason, Trust
    from monitor.store.models import Event, Suppression

    report = import_sends(store.factory, io.StringIO(RESULTS), fmt="csv", now=NOW)
    assert (report.added, report.rejected, report.results, report.suppressed) == (5, 1, 5, 1)
    assert report.rejects[0][0] == 7 and "maybe" in report.rejects[0][1]
    with store.session() as s:
        events = {e.address: e for e in s.scalars(select(Event))}
        states = {r.recipient: r.state for r in s.scalars(select(SentMessage))}
        sups = {r.value: r.reason for r in s.scalars(select(Suppression))}
    assert events["gone@example.org"].kind is EventKind.BOUNCED
    assert events["gone@example.org"].reason == "userunknown" and events["gone@example.org"].hard
    assert events["full@example.org"].kind is EventKind.DEFERRED
    assert events["ok@example.org"].kind is EventKind.DELIVERED
    assert events["ours@example.org"].reason == "blocked"  # our IP: never suppresses
    assert events["late@example.org"].reason == "expired"
    assert {e.trust for e in events.values()} == {Trust.LOCAL}
    assert {e.source for e in events.values()} == {"sendlog"}
    assert all(e.sent_message_id for e in events.values())
    assert sups == {"gone@example.org": SuppressionReason.HARD_BOUNCE}
    assert states["gone@example.org"] is MessageState.BOUNCED
    assert states["ok@example.org"] is MessageState.DELIVERED
    again = import_sends(store.factory, io.StringIO(RESULTS), fmt="csv", now=NOW)
    assert (again.added, again.known, again.results) == (0, 5, 0)


def test_results_for_rows_imported_earlier_are_added(store) -> None:
    """A log imported first without results, then again with them: the results count."""
    from monitor.store.models import Event, Suppression

    plain = "message_id,recipient,sent_at\nr1@sender.example,gone@example.org,2026-02-27\n"
    later = (
        "message_id,recipient,sent_at,result,reply\n"
        "r1@sender.example,gone@example.org,2026-02-27,bounced,550 5.1.1 no such user\n"
    )
    import_sends(store.factory, io.StringIO(plain), fmt="csv", now=NOW)
    report = import_sends(store.factory, io.StringIO(later), fmt="csv", now=NOW)
    assert (report.added, report.known, report.results, report.suppressed) == (0, 1, 1, 1)
    with store.session() as s:
        [event] = s.scalars(select(Event))
        sent_row = s.scalar(select(SentMessage))
        assert s.scalar(select(Suppression)) is not None
    assert sent_row is not None and event.sent_message_id == sent_row.id


def test_events_record_from_the_cli(cli, config_file) -> None:
    """The operator is one more source of facts (trust: local)."""
    reply = "550 5.1.1 user unknown"
    r = cli("--config", config_file, "events", "record", "--kind", "bounced",
            "--reply", reply, "Gone@Example.org", "mbox@example.org")  # fmt: skip
    assert r.code == 0, r.err
    assert "gone@example.org: bounced recorded; suppressed: hard bounce (userunknown)" in r.out
    r = cli("--config", config_file, "events", "record", "--kind", "unsubscribed", "u@example.org")
    assert r.code == 0 and "u@example.org: unsubscribed recorded; suppressed" in r.out
    r = cli("--config", config_file, "suppression", "check", "u@example.org")
    assert r.code == 1
    r = cli("--config", config_file, "events", "record", "--kind", "bounced", "not an address")
    assert r.code == 2 and "not an email address" in r.err
