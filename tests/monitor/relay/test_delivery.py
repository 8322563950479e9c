"""Delivery to real aiosmtpd sinks named by MX records on the loopback DNS server, on SQLite
and PostgreSQL: replies and what they become (queue state, events, suppression), retries,
source address and EHLO name, VERP return paths, connection reuse."""

from __future__ import annotations

import asyncio

from monitor.enums import EventKind, MessageState, Trust
from monitor.events import EventContext
from parsers.verp import decode
from tests.monitor.relay.delivery_kit import (
    BODY,
    SENDER,
    Clock,
    body_of,
    enqueue,
    events,
    final,
    message,
    publish,
    rows,
    running,
    settings,
    state,
    suppressed,
    until,
)
from tests.servers.smtp import SmtpSink


def test_delivers_from_the_configured_source_and_helo_and_records_events(store, dns, port) -> None:
    publish(dns, "dest.example", (10, "mx1.dest.example", "127.0.0.2"))
    [[a, b]] = enqueue(store, message("AAA", "ann@dest.example", "bob@dest.example"))
    config = settings(
        dns, port, source_ips=("127.0.0.9",), helo={"127.0.0.9": "mta1.sender.example"}
    )

    async def go() -> None:
        async with running(store, config, Clock()):
            await until(final(store, "ann@dest.example", "bob@dest.example"))

    with SmtpSink("127.0.0.2", port) as sink:
        asyncio.run(go())
    [got] = sink.messages  # both recipients in one transaction
    assert got.mail_from == SENDER and got.rcpt_tos == ["ann@dest.example", "bob@dest.example"]
    assert got.peer == "127.0.0.9" and got.helo == "mta1.sender.example"
    assert got.content.replace(b"\r\n", b"\n") == BODY.replace(b"\r\n", b"\n")
    found = rows(store)
    for rcpt, sent_id in (("ann@dest.example", a), ("bob@dest.example", b)):
        row = found[rcpt]
        assert row.id == sent_id and row.state is MessageState.DELIVERED and row.attempts == 1
        assert row.remote_mx == "mx1.dest.example" and row.source_ip == "127.0.0.9"
        assert row.last_reply == "250 2.0.0 OK queued" and row.lease_owner is None
    assert body_of(store, found["ann@dest.example"].relay_message_id or 0) is None
    seen = events(store)
    assert sorted((e.kind, e.sent_message_id) for e in seen) == [
        (EventKind.DELIVERED, a),
        (EventKind.DELIVERED, b),
    ]
    assert {e.trust for e in seen} == {Trust.LOCAL} and {e.source for e in seen} == {"relay"}
    assert {e.remote_mta for e in seen} == {"mx1.dest.example"}


def test_a_4xx_defers_with_back_off_and_the_retry_delivers(store, dns, port) -> None:
    publish(dns, "dest.example", (10, "mx1.dest.example", "127.0.0.2"))
    [[sent_id]] = enqueue(store, message("AAA", "ann@dest.example"))
    clock = Clock()
    config = settings(dns, port, retry_initial=60.0)

    def later_ok(stage: str, address: str | None, n: int) -> str | None:
        return "451 4.3.0 try again later" if stage == "RCPT" and n == 1 else None

    async def go() -> None:
        async with running(store, config, clock) as engine:
            await until(lambda: state(store, "ann@dest.example") == "deferred")
            row = rows(store)["ann@dest.example"]
            assert row.last_reply == "451 4.3.0 try again later" and row.attempts == 1
            wait = (row.next_attempt_at - clock.now).total_seconds()  # type: ignore[operator]
            assert 0.8 * 60 <= wait <= 1.2 * 60  # initial back-off, with jitter
            await asyncio.sleep(0.3)  # polls come and go: not due yet, nothing happens
            assert state(store, "ann@dest.example") == "deferred" and not sink.messages
            clock.advance(seconds=wait + 1)
            engine.wake()
            await until(lambda: state(store, "ann@dest.example") == "delivered")

    with SmtpSink("127.0.0.2", port, reply=later_ok) as sink:
        asyncio.run(go())
    row = rows(store)["ann@dest.example"]
    assert row.state is MessageState.DELIVERED and row.attempts == 2 and len(sink.messages) == 1
    kinds = [(e.kind, e.reason, e.hard) for e in events(store)]
    assert kinds[0][0] is EventKind.DEFERRED and kinds[0][2] is False
    assert kinds[1][0] is EventKind.DELIVERED
    assert {e.sent_message_id for e in events(store)} == {sent_id}


def test_5xx_bounces_and_only_a_recipient_failure_suppresses(store, dns, port) -> None:
    publish(dns, "dest.example", (10, "mx1.dest.example", "127.0.0.2"))
    publish(dns, "other.example", (10, "mx.other.example", "127.0.0.3"))
    enqueue(
        store,
        message("AAA", "gone@dest.example", "ann@dest.example"),
        message("BBB", "carl@other.example"),
    )

    def dest(stage: str, address: str | None, n: int) -> str | None:
        if address == "gone@dest.example":
            return "550 5.1.1 <gone@dest.example>: Recipient address rejected: User unknown"
        return None

    def other(stage: str, address: str | None, n: int) -> str | None:
        if stage == "DATA":
            return "554 5.7.1 Service unavailable; client [127.0.0.1] blocked using bl.example"
        return None

    async def go() -> None:
        async with running(store, settings(dns, port), Clock()):
            await until(final(store, "gone@dest.example", "ann@dest.example", "carl@other.example"))

    with SmtpSink("127.0.0.2", port, reply=dest) as one, SmtpSink("127.0.0.3", port, reply=other):
        asyncio.run(go())
    found = rows(store)
    assert found["gone@dest.example"].state is MessageState.BOUNCED
    assert found["ann@dest.example"].state is MessageState.DELIVERED
    assert [m.rcpt_tos for m in one.messages] == [["ann@dest.example"]]
    assert found["carl@other.example"].state is MessageState.BOUNCED
    assert found["carl@other.example"].last_reply.startswith("554 5.7.1")  # type: ignore[union-attr]
    bounces = {e.address: e for e in events(store) if e.kind is EventKind.BOUNCED}
    assert (
        bounces["gone@dest.example"].reason == "userunknown" and bounces["gone@dest.example"].hard
    )
    assert bounces["carl@other.example"].reason == "blocked"  # sender-side: never suppresses
    assert suppressed(store) == {"gone@dest.example"}


def test_verp_return_paths_name_each_sent_row(store, dns, port) -> None:
    publish(dns, "dest.example", (10, "mx1.dest.example", "127.0.0.2"))
    [[a, b]] = enqueue(store, message("AAA", "ann@dest.example", "bob@dest.example"))
    key = b"verp secret"
    config = settings(dns, port, verp_key=key, envelope_domain="bounces.sender.example")

    async def go() -> None:
        async with running(store, config, Clock(), EventContext(verp_key=key)):
            await until(final(store, "ann@dest.example", "bob@dest.example"))

    with SmtpSink("127.0.0.2", port) as sink:
        asyncio.run(go())
    got = {m.rcpt_tos[0]: m.mail_from for m in sink.messages}
    assert len(sink.messages) == 2  # one transaction per recipient
    for rcpt, sent_id in (("ann@dest.example", a), ("bob@dest.example", b)):
        path = got[rcpt]
        assert path.startswith("bounce+") and path.endswith("@bounces.sender.example")
        token = decode(path, key=key)
        assert token.message_id == sent_id and token.matches(rcpt)
    assert got["ann@dest.example"] != got["bob@dest.example"]


def test_a_null_sender_is_never_verp(store, dns, port) -> None:
    publish(dns, "dest.example", (10, "mx1.dest.example", "127.0.0.2"))
    enqueue(store, message("AAA", "ann@dest.example", sender=""))
    config = settings(dns, port, verp_key=b"k", envelope_domain="bounces.sender.example")

    async def go() -> None:
        async with running(store, config, Clock()):
            await until(final(store, "ann@dest.example"))

    with SmtpSink("127.0.0.2", port) as sink:
        asyncio.run(go())
    assert [m.mail_from for m in sink.messages] == ["<>"]


def test_one_connection_carries_several_messages_and_idle_ones_are_reused(store, dns, port) -> None:
    publish(dns, "dest.example", (10, "mx1.dest.example", "127.0.0.2"))
    enqueue(store, *(message(f"M{i}", f"r{i}@dest.example") for i in range(3)))
    config = settings(dns, port, max_connections_per_domain=1, messages_per_connection=4)

    async def go() -> None:
        async with running(store, config, Clock()) as engine:
            await until(final(store, *(f"r{i}@dest.example" for i in range(3))))
            enqueue(store, *(message(f"N{i}", f"s{i}@dest.example") for i in range(2)))
            engine.wake()
            await until(final(store, "s0@dest.example", "s1@dest.example"))

    with SmtpSink("127.0.0.2", port) as sink:
        asyncio.run(go())
    # 3 messages, then 2 more from the idle pool: the 5th opens a second connection
    # because messages_per_connection is 4
    assert [m.connection for m in sink.messages] == [1, 1, 1, 1, 2]
