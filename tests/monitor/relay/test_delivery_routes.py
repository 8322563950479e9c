"""Where delivery goes and what it does when it cannot get there: MX preference and failover,
the implicit MX, null MX, NXDOMAIN and SERVFAIL, servers that hang, drop the connection or
greet with 421, opportunistic STARTTLS and its plain-text fallback (real sinks, real DNS)."""

from __future__ import annotations

import asyncio
import random

import pytest

from monitor.enums import EventKind, MessageState
from monitor.relay.delivery.mx import order_mx
from tests.monitor.relay.delivery_kit import (
    Clock,
    enqueue,
    events,
    final,
    message,
    publish,
    rows,
    running,
    settings,
    state,
    until,
)
from tests.servers.smtp import DROP, HANG, ScriptedServer, SmtpSink, self_signed_context


def deliver(store, config, *recipients: str, timeout: float = 10.0) -> None:
    async def go() -> None:
        async with running(store, config, Clock()):
            await until(final(store, *recipients), timeout)

    asyncio.run(go())


def test_the_most_preferred_mx_gets_the_mail(store, dns, port) -> None:
    publish(dns, "dest.example", (20, "mx2.dest.example", "127.0.0.3"),
            (10, "mx1.dest.example", "127.0.0.2"))  # fmt: skip
    enqueue(store, message("AAA", "ann@dest.example"))
    with SmtpSink("127.0.0.2", port) as mx1, SmtpSink("127.0.0.3", port) as mx2:
        deliver(store, settings(dns, port), "ann@dest.example")
    assert len(mx1.messages) == 1 and mx2.messages == []
    assert rows(store)["ann@dest.example"].remote_mx == "mx1.dest.example"


def test_failover_to_the_next_mx_when_the_first_refuses_connections(store, dns, port) -> None:
    publish(dns, "dest.example", (10, "mx1.dest.example", "127.0.0.4"),
            (20, "mx2.dest.example", "127.0.0.3"))  # fmt: skip
    enqueue(store, message("AAA", "ann@dest.example"))
    with SmtpSink("127.0.0.3", port) as mx2:  # nothing listens on 127.0.0.4
        deliver(store, settings(dns, port), "ann@dest.example")
    row = rows(store)["ann@dest.example"]
    assert row.state is MessageState.DELIVERED and row.remote_mx == "mx2.dest.example"
    assert len(mx2.messages) == 1


def test_failover_when_the_first_mx_greets_with_421(store, dns, port) -> None:
    publish(dns, "dest.example", (10, "mx1.dest.example", "127.0.0.2"),
            (20, "mx2.dest.example", "127.0.0.3"))  # fmt: skip
    enqueue(store, message("AAA", "ann@dest.example"))
    busy = ScriptedServer("127.0.0.2", port, b"421 4.3.2 too busy, try later\r\n")
    with busy, SmtpSink("127.0.0.3", port) as mx2:
        deliver(store, settings(dns, port), "ann@dest.example")
    assert busy.connections == 1 and len(mx2.messages) == 1
    assert rows(store)["ann@dest.example"].state is MessageState.DELIVERED


def test_all_mx_unreachable_defers_with_the_reason(store, dns, port) -> None:
    publish(dns, "dest.example", (10, "mx1.dest.example", "127.0.0.4"))
    enqueue(store, message("AAA", "ann@dest.example"), message("BBB", "bob@dest.example"))
    deliver(store, settings(dns, port), "ann@dest.example", "bob@dest.example")
    found = rows(store)
    for rcpt in ("ann@dest.example", "bob@dest.example"):
        assert found[rcpt].state is MessageState.DEFERRED
        assert "connect to mx1.dest.example[127.0.0.4]" in (found[rcpt].last_reply or "")


def test_equal_preferences_are_shuffled_lower_first() -> None:
    records = [(20, "c"), (10, "a"), (10, "b"), (30, "d")]
    orders = {tuple(h for _, h in order_mx(records, random.Random(seed))) for seed in range(40)}
    assert orders == {("a", "b", "c", "d"), ("b", "a", "c", "d")}


def test_no_mx_means_the_domains_own_address(store, dns, port) -> None:
    dns.zone.add("dest.example", "A", "127.0.0.2")
    enqueue(store, message("AAA", "ann@dest.example"))
    with SmtpSink("127.0.0.2", port) as sink:
        deliver(store, settings(dns, port), "ann@dest.example")
    assert len(sink.messages) == 1
    assert rows(store)["ann@dest.example"].remote_mx == "dest.example"


@pytest.mark.parametrize(
    ("setup", "expect"),
    [
        ("nullmx", ("bounced", "5.1.10", "notaccept")),
        ("nxdomain", ("bounced", "5.1.2", "hostunknown")),
        ("servfail", ("deferred", "4.4.3", None)),
    ],
)
def test_dns_verdicts(store, dns, port, setup, expect) -> None:
    if setup == "nullmx":
        dns.zone.add("dest.example", "MX", [0, "."])
        dns.zone.add("dest.example", "A", "127.0.0.2")  # never used: null MX wins
    elif setup == "servfail":
        dns.zone.add_marker("dest.example", "SERVFAIL")
    dns.zone.add("unrelated.example", "A", "127.0.0.8")  # the zone is not empty
    enqueue(store, message("AAA", "ann@dest.example"))
    with SmtpSink("127.0.0.2", port) as sink:
        deliver(store, settings(dns, port), "ann@dest.example")
    row = rows(store)["ann@dest.example"]
    want_state, status, reason = expect
    assert row.state.value == want_state and (row.last_reply or "").startswith(status)
    assert sink.messages == []
    [event] = events(store)
    assert event.status == status
    if reason is not None:
        assert event.kind is EventKind.BOUNCED and event.reason == reason


def test_a_hanging_mx_times_out_and_holds_up_no_other_destination(store, dns, port) -> None:
    publish(dns, "slow.example", (10, "mx.slow.example", "127.0.0.2"))
    publish(dns, "mute.example", (10, "mx.mute.example", "127.0.0.5"))
    publish(dns, "fast.example", (10, "mx.fast.example", "127.0.0.3"))
    enqueue(store, message("AAA", "ann@slow.example"), message("CCC", "cid@mute.example"),
            message("BBB", "bob@fast.example"))  # fmt: skip
    config = settings(dns, port, command_timeout=3.0)

    def hang(stage: str, address: str | None, n: int) -> str | None:
        return HANG if stage == "DATA" else None

    async def go() -> None:
        async with running(store, config, Clock()):
            await until(lambda: state(store, "bob@fast.example") == "delivered")
            assert state(store, "ann@slow.example") == "sending"  # still waiting for DATA
            assert state(store, "cid@mute.example") == "sending"
            await until(final(store, "ann@slow.example", "cid@mute.example"))

    mute = ScriptedServer("127.0.0.5", port, None)  # accepts, never greets
    with SmtpSink("127.0.0.2", port, reply=hang), mute, SmtpSink("127.0.0.3", port) as fast:
        asyncio.run(go())
    found = rows(store)
    assert len(fast.messages) == 1
    assert found["ann@slow.example"].state is MessageState.DEFERRED
    assert "timed out while sending end of data" in (found["ann@slow.example"].last_reply or "")
    assert found["cid@mute.example"].state is MessageState.DEFERRED
    assert "timed out while receiving the greeting" in (found["cid@mute.example"].last_reply or "")


def test_a_dropped_connection_defers(store, dns, port) -> None:
    publish(dns, "dest.example", (10, "mx1.dest.example", "127.0.0.2"))
    enqueue(store, message("AAA", "ann@dest.example"))

    def drop(stage: str, address: str | None, n: int) -> str | None:
        return DROP if stage == "RCPT" else None

    with SmtpSink("127.0.0.2", port, reply=drop) as sink:
        deliver(store, settings(dns, port), "ann@dest.example")
    row = rows(store)["ann@dest.example"]
    assert row.state is MessageState.DEFERRED and sink.messages == []
    assert "lost connection with mx1.dest.example[127.0.0.2] while sending RCPT TO" in (
        row.last_reply or ""
    )


def test_starttls_when_offered(store, dns, port) -> None:
    publish(dns, "dest.example", (10, "mx1.dest.example", "127.0.0.2"))
    enqueue(store, message("AAA", "ann@dest.example"))
    config = settings(
        dns, port, helo={"127.0.0.9": "mta1.sender.example"}, source_ips=("127.0.0.9",)
    )
    with SmtpSink("127.0.0.2", port, tls_context=self_signed_context("mx1.dest.example")) as sink:
        deliver(store, config, "ann@dest.example")
    [got] = sink.messages
    assert got.tls and got.helo == "mta1.sender.example"  # EHLO again after TLS (RFC 3207 4.2)
    [delivered] = [e for e in events(store) if e.kind is EventKind.DELIVERED]
    assert delivered.details is not None and delivered.details["tls"] is True


def test_a_broken_starttls_falls_back_to_plain_text_once(store, dns, port) -> None:
    publish(dns, "dest.example", (10, "mx1.dest.example", "127.0.0.2"))
    enqueue(store, message("AAA", "ann@dest.example"))
    with SmtpSink("127.0.0.2", port, broken_tls=True) as sink:
        deliver(store, settings(dns, port), "ann@dest.example")
    [got] = sink.messages
    assert not got.tls and got.connection == 2  # the first connection's handshake failed
    assert rows(store)["ann@dest.example"].state is MessageState.DELIVERED
    [delivered] = [e for e in events(store) if e.kind is EventKind.DELIVERED]
    assert delivered.details is not None and delivered.details["tls"] is False  # on record
