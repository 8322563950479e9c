"""The events core on its own: observations in, events and suppressions out, no IMAP server.

Every source (mailbox, relay, web, send log, CLI) goes through ``monitor.events.record``; these
tests drive it directly on SQLite and PostgreSQL and show, for a bounce, a delivery and an
unsubscribe under both trust modes, which suppressions each causes.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import func, select

from monitor.enums import EventKind, ListScope, MessageState, SuppressionReason, Trust
from monitor.events import EventContext, Observation, event_key, record, record_events
from monitor.store.models import AllowEntry, Event, SentMessage, Suppression
from monitor.suppression.policy import Rules
from parsers.verp import encode, find_verp_token

NOW = dt.datetime(2026, 3, 31, 12, 0, tzinfo=dt.UTC)
KEY = b"test-verp-key"
VERIFIED = EventContext(rules=Rules(), verp_key=KEY)
ANY = EventContext(rules=Rules(trust_any=True), verp_key=KEY)


def obs(kind: EventKind, recipient: str, **kw: Any) -> Observation:
    values: dict[str, Any] = {
        "kind": kind,
        "key": event_key("test", kind, recipient, kw.get("occurred_at", NOW), kw.get("reason")),
        "source": "test",
        "occurred_at": NOW,
        "recipient": recipient,
    }
    values.update(kw)
    return Observation(**values)


def hard_bounce(recipient: str, **kw: Any) -> Observation:
    return obs(EventKind.BOUNCED, recipient, reason="userunknown", hard=True, status="5.1.1", **kw)


def sent(store: Any, recipient: str, *, message_id: str | None = None, days: int = 3) -> int:
    with store.session() as s, s.begin():
        row = SentMessage(
            recipient=recipient,
            recipient_domain=recipient.rsplit("@", 1)[1],
            message_id=message_id,
            campaign="spring",
            state=MessageState.IMPORTED,
            sent_at=NOW - dt.timedelta(days=days),
        )
        s.add(row)
        s.flush()
        return int(row.id)


def suppressed(store: Any, address: str) -> SuppressionReason | None:
    with store.session() as s:
        row = s.scalar(select(Suppression).where(Suppression.value == address))
        return row.reason if row else None


def events(store: Any) -> list[Event]:
    with store.session() as s:
        return list(s.scalars(select(Event).order_by(Event.id)))


@pytest.mark.parametrize("ctx", [VERIFIED, ANY], ids=["trust=verified", "trust=any"])
def test_bounce_delivery_and_unsubscribe_through_the_core(store: Any, ctx: EventContext) -> None:
    """The three facts every source produces, with and without a send-log match."""
    sent(store, "ours@example.org", message_id="m1@sender.example")
    groups = [
        [hard_bounce("ours@example.org", message_id="<m1@sender.example>")],
        [hard_bounce("stranger@example.org")],  # never mailed: a forged bounce
        [obs(EventKind.DELIVERED, "ours@example.org", reason="delivered")],
        [obs(EventKind.UNSUBSCRIBED, "reader@example.org", feedback_type="opt-out")],
        [obs(EventKind.UNSUBSCRIBED, "clicker@example.org", trust=Trust.LOCAL)],
    ]
    results = record_events(store.factory, groups, ctx, now=NOW)
    assert [r.error for r in results] == [None] * 5
    trust_any = ctx.rules.trust_any
    assert suppressed(store, "ours@example.org") is SuppressionReason.HARD_BOUNCE
    assert results[0].decided[0].trust is Trust.VERIFIED
    assert results[0].decided[0].matched_by == "message-id"
    # the forged bounce is stored as unverified and acts only under trust = "any"
    assert results[1].decided[0].trust is Trust.UNVERIFIED
    assert (suppressed(store, "stranger@example.org") is not None) is trust_any
    # a delivery never suppresses
    assert results[2].effects.deliveries == 1 and not results[2].decided[0].suppressed
    # an opt-out nobody can tie to our mail is only trusted under trust = "any"...
    assert (suppressed(store, "reader@example.org") is not None) is trust_any
    # ...while an unsubscribe our own web service or operator saw always acts
    assert results[4].decided[0].trust is Trust.LOCAL
    assert suppressed(store, "clicker@example.org") is SuppressionReason.UNSUBSCRIBE
    kinds = [e.kind for e in events(store)]
    assert kinds.count(EventKind.BOUNCED) == 2 and kinds.count(EventKind.UNSUBSCRIBED) == 2


def test_the_same_fact_is_stored_once(store: Any) -> None:
    sent(store, "a@example.org")
    group = [hard_bounce("a@example.org")]
    first = record_events(store.factory, [group], VERIFIED, now=NOW)
    again = record_events(store.factory, [group, group], VERIFIED, now=NOW)
    assert first[0].decided[0].stored and first[0].effects.bounces == 1
    assert [d.stored for r in again for d in r.decided] == [False, False]
    assert len(events(store)) == 1


def test_a_signed_verp_token_is_proof_without_any_send_log(store: Any) -> None:
    path = encode(key=KEY, message_id=77, recipient="t@example.org", bounce_domain="b.example")
    token = find_verp_token(path)
    wrong = encode(key=b"other", message_id=77, recipient="t@example.org", bounce_domain="b.x")
    results = record_events(
        store.factory,
        [
            [hard_bounce("t@example.org", verp_token=token)],
            [hard_bounce("u@example.org", verp_token=token)],  # minted for someone else
            [hard_bounce("v@example.org", verp_token=find_verp_token(wrong))],  # forged
        ],
        VERIFIED,
        now=NOW,
    )
    assert [r.decided[0].trust for r in results] == [
        Trust.VERIFIED,
        Trust.UNVERIFIED,
        Trust.UNVERIFIED,
    ]
    assert suppressed(store, "t@example.org") is SuppressionReason.HARD_BOUNCE
    assert suppressed(store, "u@example.org") is None and suppressed(store, "v@example.org") is None
    notes = [e.details.get("match_note") for e in events(store)]
    assert "another recipient" in notes[1] and "does not verify" in notes[2]


def test_soft_bounces_suppress_on_the_third_distinct_day(store: Any) -> None:
    sent(store, "full@example.org", days=10)
    days = [NOW - dt.timedelta(days=d) for d in (5, 5, 3)]
    for when in days:
        record_events(
            store.factory,
            [[obs(EventKind.BOUNCED, "full@example.org", reason="mailboxfull", hard=False,
                  occurred_at=when, key=event_key("soft", when, id(when)))]],
            VERIFIED,
            now=NOW,
        )  # fmt: skip
    assert suppressed(store, "full@example.org") is None  # two distinct days so far
    [result] = record_events(
        store.factory,
        [[obs(EventKind.BOUNCED, "full@example.org", reason="mailboxfull", hard=False)]],
        VERIFIED,
        now=NOW,
    )
    assert result.decided[0].suppressed
    assert suppressed(store, "full@example.org") is SuppressionReason.SOFT_BOUNCE


def test_sender_side_reasons_never_and_the_allowlist_always_win(store: Any) -> None:
    sent(store, "a@example.org")
    sent(store, "ceo@example.org")
    with store.session() as s, s.begin():
        s.add(AllowEntry(scope=ListScope.ADDRESS, value="ceo@example.org", created_at=NOW))
    results = record_events(
        store.factory,
        [
            [obs(EventKind.BOUNCED, "a@example.org", reason="blocked", hard=True)],
            [hard_bounce("ceo@example.org")],
            [obs(EventKind.COMPLAINED, "a@example.org", feedback_type="not-spam")],
        ],
        VERIFIED,
        now=NOW,
    )
    assert [r.decided[0].suppressed for r in results] == [False, False, False]
    assert "sender-side" in results[0].decided[0].why
    assert "allowlisted" in results[1].decided[0].why
    assert suppressed(store, "a@example.org") is None
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Suppression)) == 0


def test_local_trust_ties_the_fact_to_its_sent_row(store: Any) -> None:
    row = sent(store, "r@example.org", message_id="m9@sender.example")
    [by_id, by_mid] = record_events(
        store.factory,
        [
            [obs(EventKind.DELIVERED, "r@example.org", trust=Trust.LOCAL, sent_id=row,
                 reason="delivered", key="k1")],
            [obs(EventKind.DELIVERED, "r@example.org", trust=Trust.LOCAL,
                 message_id="m9@sender.example", reason="delivered", key="k2")],
        ],
        VERIFIED,
        now=NOW,
    )  # fmt: skip
    assert by_id.decided[0].sent_id == row and by_mid.decided[0].sent_id == row
    assert {e.sent_message_id for e in events(store)} == {row}
    assert {e.campaign for e in events(store)} == {"spring"}


def test_a_group_the_database_refuses_fails_alone(store: Any) -> None:
    """The per-item boundary: one group's data is refused, the others are stored."""
    sent(store, "a@example.org")
    sent(store, "b@example.org")
    sent(store, "c@example.org")
    naive = NOW.replace(tzinfo=None)
    with store.session() as s, s.begin():
        results = record(
            s,
            [
                [hard_bounce("a@example.org")],
                # JSON cannot hold a set: the database driver refuses this row
                [hard_bounce("b@example.org", details={"bad": {1, 2}}, key="json")],
                [obs(EventKind.DELIVERED, "a@example.org", reason="delivered", key="d")],
                [hard_bounce("c@example.org", occurred_at=naive, key="naive")],
                [obs(EventKind.DELIVERED, "c@example.org", details={"bad": {1}}, key="json2")],
            ],
            VERIFIED,
            now=NOW,
        )
    assert results[0].error is None and results[2].error is None
    assert results[1].error is not None and "JSON" in results[1].error
    assert results[3].error == "observation time has no time zone"
    assert results[4].error is not None and "JSON" in results[4].error
    assert suppressed(store, "c@example.org") is None
    assert suppressed(store, "a@example.org") is SuppressionReason.HARD_BOUNCE
    assert suppressed(store, "b@example.org") is None
    assert sorted(e.kind for e in events(store)) == [EventKind.BOUNCED, EventKind.DELIVERED]


def test_the_callers_rollback_undoes_everything_recorded(store: Any) -> None:
    """The core works in the caller's transaction: on SQLite too, where a SAVEPOINT issued
    before any write would otherwise open (and its RELEASE commit) a transaction of its own."""
    sent(store, "a@example.org")
    with store.session() as s:
        s.begin()
        results = record(
            s,
            [[hard_bounce("a@example.org")], [obs(EventKind.DELIVERED, "b@example.org")]],
            VERIFIED,
            now=NOW,
        )
        assert results[0].decided[0].suppressed
        s.rollback()
    assert events(store) == [] and suppressed(store, "a@example.org") is None
