"""Fairness (issue 16): transactional mail goes ahead of a big campaign, campaigns share the
bulk claim in turn, and a submitter can mark a message transactional by a header."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import time
from collections import Counter
from typing import Any, cast

from sqlalchemy import Table, func, select, text

from monitor.relay.delivery.shaping import ShapingSettings
from monitor.relay.intake import stream_of
from monitor.store import queue as q
from monitor.store.models import RelayMessage, SentMessage
from tests.monitor.relay.delivery_kit import (
    T0,
    Clock,
    enqueue,
    message,
    publish,
    rows,
    running,
    settings,
    until,
)
from tests.servers.smtp import SmtpSink


def campaign(name: str, n: int, domain: str, *, start: int = 0) -> list[q.QueuedMessage]:
    return [
        dataclasses.replace(message(f"{name}{i:06d}", f"r{i}@{domain}"), campaign=name)
        for i in range(start, start + n)
    ]


def seed_campaign(store: Any, name: str, n: int, domain: str) -> None:
    """``n`` one-recipient messages of campaign ``name``, queued at T0, written in bulk (as
    ``queue.enqueue`` would, without its per-row RETURNING: a 20,000-message campaign in a
    second or two)."""
    messages, recipients = cast(Table, RelayMessage.__table__), cast(Table, SentMessage.__table__)
    template = message("X", f"r@{domain}")
    with store.session() as s, s.begin():
        first = (s.scalar(select(func.max(RelayMessage.id))) or 0) + 1
        s.execute(messages.insert(), [
            {"id": first + i, "queue_id": f"{name}{i:06d}", "submitted_by": "app",
             "envelope_sender": template.envelope_sender, "header_from": template.header_from,
             "message_id": f"{name}{i}@sender.example", "campaign": name, "stream": "bulk",
             "size": len(template.body), "body": template.body, "smtputf8": False,
             "body_8bit": False, "received_at": T0}
            for i in range(n)
        ])  # fmt: skip
        s.execute(recipients.insert(), [
            {"queue_id": f"{name}{i:06d}.1", "message_id": f"{name}{i}@sender.example",
             "campaign": name, "envelope_sender": template.envelope_sender,
             "recipient": f"r{i}@{domain}", "recipient_domain": domain, "state": "queued",
             "attempts": 0, "next_attempt_at": T0, "size": len(template.body), "created_at": T0,
             "sent_at": T0, "updated_at": T0, "relay_message_id": first + i,
             "expires_at": template.expires_at, "stream": "bulk"}
            for i in range(n)
        ])  # fmt: skip
        if s.get_bind().dialect.name == "postgresql":  # explicit ids: move the sequence on
            s.execute(text("SELECT setval(pg_get_serial_sequence('relay_messages', 'id'), "
                           "(SELECT max(id) FROM relay_messages))"))  # fmt: skip


def test_the_header_names_the_stream() -> None:
    head = b"From: a@sender.example\r\nX-Deliverwatch-Stream: Transactional\r\n\r\nHi\r\n"
    assert stream_of(message("A", "x@d.example", body=head)).stream == "transactional"
    body_only = b"Subject: stream\r\n\r\nX-Deliverwatch-Stream: transactional\r\n"
    assert stream_of(message("B", "x@d.example", body=body_only)).stream == "bulk"
    back = b"X-Deliverwatch-Stream: bulk\r\n\r\nx\r\n"
    assert stream_of(message("C", "x@d.example", body=back, stream="transactional")).stream == (
        "bulk"
    )


def test_the_fair_claim_takes_transactional_first_then_campaigns_in_turn(store) -> None:
    enqueue(store, *campaign("big", 300, "d.example"), *campaign("small", 20, "d.example"))
    later = T0 + dt.timedelta(seconds=5)
    urgent = dataclasses.replace(message("T1", "pw@d.example", received=later),
                                 stream="transactional", campaign=None)  # fmt: skip
    enqueue(store, urgent)
    now = T0 + dt.timedelta(minutes=1)
    until_ = now + dt.timedelta(minutes=5)
    with store.session() as s, s.begin():
        campaigns = q.due_campaigns(s, now=now)
        assert campaigns == ["big", "small"]  # the one waiting longest first
        dues = q.claim_fair(s, now=now, owner="t:1", lease_until=until_, limit=40,
                            urgent_limit=10, campaigns=campaigns)  # fmt: skip
    assert dues[0].recipient == "pw@d.example" and dues[0].stream == "transactional"
    assert Counter(d.campaign for d in dues[1:]) == {"big": 20, "small": 20}
    with store.session() as s, s.begin():
        more = q.claim_fair(s, now=now, owner="t:1", lease_until=until_, limit=40,
                            urgent_limit=10, campaigns=["big", "small"])  # fmt: skip
    assert Counter(d.campaign for d in more) == {"big": 40}  # small is done: big takes the rest
    assert {d.id for d in more}.isdisjoint(d.id for d in dues)


def test_a_transactional_message_overtakes_a_20000_message_campaign(store, dns, port) -> None:
    publish(dns, "d.example", (10, "mx.d.example", "127.0.0.2"))
    seed_campaign(store, "huge", 20_000, "d.example")
    config = settings(dns, port, shaping=ShapingSettings(), max_connections_per_domain=4)
    took: dict[str, float] = {}

    async def go() -> None:
        async with running(store, config, Clock()) as engine:
            await until(lambda: len(sink.messages) >= 200, 30)  # the campaign is under way
            urgent = dataclasses.replace(message("PWRESET", "me@d.example"),
                                         stream="transactional", campaign=None)  # fmt: skip
            start = time.monotonic()
            await asyncio.get_running_loop().run_in_executor(None, enqueue, store, urgent)
            engine.wake()
            await until(lambda: any("me@d.example" in m.rcpt_tos for m in sink.messages), 10)
            took["urgent"] = time.monotonic() - start
            took["campaign_done"] = len(sink.messages)

    with SmtpSink("127.0.0.2", port) as sink:
        asyncio.run(go())
    assert took["urgent"] < 5.0, took
    assert took["campaign_done"] < 20_000  # it really was behind the campaign
    assert rows(store)["me@d.example"].state.value == "delivered"
