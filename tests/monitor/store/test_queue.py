"""The relay's queue repository on SQLite and PostgreSQL: enqueue, claim with leases,
outcomes, and the operator's hold / release / retry / delete."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select

from monitor.enums import MessageState as S
from monitor.store import queue as q
from monitor.store.models import RelayMessage, SentMessage

T0 = dt.datetime(2026, 3, 31, 12, 0, tzinfo=dt.UTC)


def message(queue_id: str, *rcpts: str, campaign: str = "spring") -> q.QueuedMessage:
    return q.QueuedMessage(
        queue_id=queue_id,
        submitted_by="app",
        envelope_sender="news@sender.example",
        body=b"Subject: hi\r\n\r\nhello\r\n",
        received_at=T0,
        expires_at=T0 + dt.timedelta(days=5),
        recipients=tuple(q.QueuedRecipient(address=r, notify="FAILURE") for r in rcpts),
        header_from="news@sender.example",
        message_id=f"{queue_id}@sender.example",
        campaign=campaign,
    )


def enqueue(store: Any, *messages: q.QueuedMessage) -> list[list[int]]:
    with store.session() as s, s.begin():
        return q.enqueue(s, list(messages))


def test_enqueue_writes_one_row_per_recipient_due_at_once(store) -> None:
    [[a, b], [c]] = enqueue(
        store, message("AAA", "a@x.example", "b@y.example"), message("BBB", "c@x.example")
    )
    with store.session() as s:
        rows = {r.id: r for r in s.scalars(select(SentMessage))}
        relay = s.scalars(select(RelayMessage).order_by(RelayMessage.id)).all()
    assert [m.queue_id for m in relay] == ["AAA", "BBB"] and relay[0].size == 22
    assert rows[a].queue_id == "AAA.1" and rows[b].queue_id == "AAA.2"
    assert rows[b].recipient_domain == "y.example" and rows[c].relay_message_id == relay[1].id
    assert {r.state for r in rows.values()} == {S.QUEUED}
    assert rows[a].sent_at == T0 and rows[a].next_attempt_at == T0 and rows[a].notify == "FAILURE"


def test_claims_lease_rows_and_an_expired_lease_is_taken_again(store) -> None:
    enqueue(store, message("AAA", "a@x.example", "b@y.example", "c@z.example"))
    lease = T0 + dt.timedelta(minutes=5)
    with store.session() as s, s.begin():
        first = q.claim_due(s, now=T0, owner="r1", lease_until=lease, limit=2)
    with store.session() as s, s.begin():
        second = q.claim_due(s, now=T0, owner="r2", lease_until=lease, limit=10)
        none_left = q.claim_due(s, now=T0, owner="r2", lease_until=lease, limit=10)
    assert [d.recipient for d in first] == ["a@x.example", "b@y.example"]
    assert [d.recipient for d in second] == ["c@z.example"] and none_left == []
    assert first[0].envelope_sender == "news@sender.example" and first[0].campaign == "spring"
    # r1 dies: once its lease has run out, its rows are due again (at least once)
    later = lease + dt.timedelta(seconds=1)
    with store.session() as s, s.begin():
        again = q.claim_due(s, now=later, owner="r3", lease_until=later, limit=10)
    assert sorted(d.recipient for d in again) == [
        "a@x.example",
        "b@y.example",
        "c@z.example",
    ]


def test_outcomes_are_written_and_bodies_dropped_when_every_recipient_is_final(store) -> None:
    [[a, b]] = enqueue(store, message("AAA", "a@x.example", "b@y.example"))
    with store.session() as s, s.begin():
        q.claim_due(s, now=T0, owner="r1", lease_until=T0, limit=10)
        q.record_outcomes(
            s,
            [
                q.Outcome(id=a, state=S.DELIVERED, reply="250 2.0.0 ok", remote_mx="mx1"),
                q.Outcome(id=b, state=S.DEFERRED, reply="451 4.3.0 later",
                          next_attempt_at=T0 + dt.timedelta(minutes=5)),
            ],
            now=T0,
        )  # fmt: skip
    with store.session() as s:
        rows = {r.id: r for r in s.scalars(select(SentMessage))}
        assert q.message_bodies(s, [rows[a].relay_message_id or 0]) != {}
    assert rows[a].state is S.DELIVERED and rows[a].attempts == 1 and rows[a].final_at == T0
    assert rows[a].lease_owner is None and rows[a].remote_mx == "mx1"
    assert rows[b].state is S.DEFERRED and rows[b].next_attempt_at == T0 + dt.timedelta(minutes=5)
    with store.session() as s:
        [body] = q.message_bodies(s, [rows[a].relay_message_id or 0]).values()
    assert body is not None  # b is still pending
    with store.session() as s, s.begin():
        q.record_outcomes(s, [q.Outcome(id=b, state=S.BOUNCED, reply="550 5.1.1")], now=T0)
    with store.session() as s:
        [body] = q.message_bodies(s, [rows[a].relay_message_id or 0]).values()
    assert body is None


def test_release_leases_makes_the_rows_due_again(store) -> None:
    enqueue(store, message("AAA", "a@x.example"))
    with store.session() as s, s.begin():
        q.claim_due(s, now=T0, owner="r1", lease_until=T0 + dt.timedelta(hours=1), limit=10)
        assert q.release_leases(s, "r1") == 1
        [due] = q.claim_due(s, now=T0, owner="r2", lease_until=T0, limit=10)
    assert due.recipient == "a@x.example"


def test_operator_hold_release_retry_delete_and_listing(store) -> None:
    enqueue(
        store,
        message("AAA", "a@x.example", "b@y.example"),
        message("BBB", "c@x.example", campaign="autumn"),
    )
    with store.session() as s, s.begin():
        assert q.hold(s, q.QueueFilter(domain="x.example"), reason="spam check", now=T0) == 2
        held = q.list_queue(s, q.QueueFilter(states=(S.HELD,)))
        assert {r.recipient for r in held} == {"a@x.example", "c@x.example"}
        assert {r.hold_reason for r in held} == {"spam check"}
        assert q.claim_due(s, now=T0, owner="r", lease_until=T0, limit=10)[0].recipient == (
            "b@y.example"
        )
        assert q.release(s, q.QueueFilter(queue_id="BBB"), now=T0) == 1
        assert q.retry(s, q.QueueFilter(campaign="autumn"), now=T0) == 1
        assert q.delete_queued(s, q.QueueFilter(queue_id="AAA.1")) == 1
        summary = q.queue_summary(s)
        shown = q.show_message(s, "BBB.1")
    assert summary.by_state == {"sending": 1, "deferred": 1} and summary.oldest == T0
    assert summary.pending == 2
    assert shown is not None and shown[0].queue_id == "BBB" and len(shown[1]) == 1


def test_renewed_leases_keep_rows_away_from_other_relays(store) -> None:
    [[a, b]] = enqueue(store, message("AAA", "a@x.example", "b@y.example"))
    soon = T0 + dt.timedelta(minutes=1)
    with store.session() as s, s.begin():
        q.claim_due(s, now=T0, owner="r1", lease_until=soon, limit=10)
        assert q.lease_owners(s) == ["r1"]
        later = T0 + dt.timedelta(hours=1)
        assert q.renew_leases(s, "r1", [a], lease_until=later) == 1
        assert q.renew_leases(s, "r2", [b], lease_until=later) == 0  # not r2's to renew
    after = soon + dt.timedelta(seconds=1)
    with store.session() as s, s.begin():
        taken = q.claim_due(s, now=after, owner="r2", lease_until=later, limit=10)
    assert [d.id for d in taken] == [b]  # a's lease was renewed, b's ran out


def test_note_hold_says_why_the_relay_held_a_message(store) -> None:
    [[a]] = enqueue(store, message("AAA", "a@x.example"))
    with store.session() as s, s.begin():
        [due] = q.claim_due(s, now=T0, owner="r1", lease_until=T0, limit=10)
        q.record_outcomes(s, [q.Outcome(id=a, state=S.HELD, attempted=False)], now=T0)
        q.note_hold(s, [due.relay_message_id], "internal error: ValueError: boom")
        [row] = q.list_queue(s, q.QueueFilter(states=(S.HELD,)))
    assert row.hold_reason == "internal error: ValueError: boom" and row.attempts == 0
