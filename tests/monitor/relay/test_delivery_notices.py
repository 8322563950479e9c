"""Expiry after the queue lifetime, DSNs to the submitter when it asked (RFC 3461/3464), DSN
and SMTPUTF8 parameters passed on, a message that makes delivery fail held with its reason,
and stopping: in-flight work finished or given back (real sinks and DNS, both databases)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import subprocess
import threading

import pytest

from monitor.enums import EventKind, MessageState
from monitor.store import queue as q
from parsers import parse_message
from tests.monitor.relay.delivery_kit import (
    SENDER,
    Clock,
    body_of,
    enqueue,
    events,
    final,
    message,
    publish,
    relay_messages,
    rows,
    running,
    settings,
    state,
    until,
)
from tests.servers.dns import DNSServer
from tests.servers.smtp import HANG, SmtpSink


@pytest.fixture
def dns(dns: DNSServer) -> DNSServer:
    """The conftest's server with the MXs every test here sends to: the recipients' and, for
    the DSNs back to the submitter, the sender's."""
    publish(dns, "dest.example", (10, "mx1.dest.example", "127.0.0.2"))
    publish(dns, "sender.example", (10, "mx.sender.example", "127.0.0.6"))
    return dns


def always(answer: str, stage: str = "RCPT"):  # type: ignore[no-untyped-def]
    return lambda st, address, n: answer if st == stage else None


def test_a_message_expires_after_the_queue_lifetime(store, dns, port) -> None:
    enqueue(store, message("AAA", "ann@dest.example", lifetime=dt.timedelta(hours=1)))
    clock = Clock()
    config = settings(dns, port, retry_initial=1800.0, retry_max=7200.0)

    async def go() -> None:
        async with running(store, config, clock) as engine:
            await until(lambda: state(store, "ann@dest.example") == "deferred")
            clock.advance(minutes=40)
            engine.wake()
            await until(lambda: rows(store)["ann@dest.example"].attempts == 2)
            row = rows(store)["ann@dest.example"]  # the next try is the lifetime's end
            assert row.state is MessageState.DEFERRED and row.next_attempt_at == row.expires_at
            clock.advance(minutes=21)
            engine.wake()
            await until(lambda: state(store, "ann@dest.example") == "expired")

    with SmtpSink("127.0.0.2", port, reply=always("451 4.2.0 mailbox busy")) as sink:
        asyncio.run(go())
    row = rows(store)["ann@dest.example"]
    assert row.attempts == 3 and sink.messages == [] and row.final_at == clock.now
    last = events(store)[-1]
    assert last.kind is EventKind.BOUNCED and last.reason == "expired" and last.status == "4.4.7"
    assert body_of(store, row.relay_message_id or 0) is None


def test_notify_failure_sends_a_dsn_from_the_null_sender(store, dns, port) -> None:
    orcpt = "rfc822;gone@dest.example"
    enqueue(
        store,
        message("AAA", "gone@dest.example", notify="FAILURE", orcpt=orcpt, dsn_envid="ENV42",
                dsn_ret="HDRS"),
    )  # fmt: skip
    refuse = always("550 5.1.1 <gone@dest.example>: User unknown")

    async def go() -> None:
        async with running(store, settings(dns, port), Clock()):
            await until(lambda: bool(home.messages))  # the DSN itself is delivered too

    with SmtpSink("127.0.0.2", port, reply=refuse), SmtpSink("127.0.0.6", port) as home:
        asyncio.run(go())
    [dsn] = home.messages
    assert dsn.mail_from == "<>" and dsn.rcpt_tos == [SENDER]
    report = parse_message(dsn.content, received_at=dt.datetime.now(dt.UTC))
    [rcpt] = report.recipients
    assert rcpt.address == "gone@dest.example" and rcpt.status == "5.1.1"
    assert rcpt.action.value == "failed" and rcpt.reason.value == "userunknown"
    text = dsn.content.decode()
    assert (
        "Original-Envelope-Id: ENV42" in text
        and "Original-Recipient: rfc822;gone@dest.example" in text
    )
    assert "Content-Type: text/rfc822-headers" in text and "Hello." not in text  # RET=HDRS
    assert "Diagnostic-Code: smtp; 550 5.1.1" in text
    messages = relay_messages(store)
    assert [m.envelope_sender for m in messages] == [SENDER, ""]


def test_without_notify_no_dsn_and_never_one_about_the_null_sender(store, dns, port) -> None:
    enqueue(store, message("AAA", "gone@dest.example"),
            message("BBB", "bob@dest.example", sender="", notify="FAILURE"))  # fmt: skip
    refuse = always("550 5.1.1 User unknown")

    async def go() -> None:
        async with running(store, settings(dns, port), Clock()):
            await until(final(store, "gone@dest.example", "bob@dest.example"))
            await asyncio.sleep(0.3)

    with SmtpSink("127.0.0.2", port, reply=refuse), SmtpSink("127.0.0.6", port) as home:
        asyncio.run(go())
    assert home.messages == [] and len(relay_messages(store)) == 2
    assert state(store, "gone@dest.example") == "bounced"


def test_notify_delay_reports_the_first_deferral_only(store, dns, port) -> None:
    enqueue(store, message("AAA", "ann@dest.example", notify="DELAY,FAILURE"))
    clock = Clock()

    async def go() -> None:
        async with running(store, settings(dns, port), clock) as engine:
            await until(lambda: bool(home.messages))
            clock.advance(hours=1)
            engine.wake()
            await until(lambda: rows(store)["ann@dest.example"].attempts == 2)
            await asyncio.sleep(0.3)

    with (
        SmtpSink("127.0.0.2", port, reply=always("451 4.3.0 later")),
        SmtpSink("127.0.0.6", port) as home,
    ):
        asyncio.run(go())
    [notice] = home.messages
    report = parse_message(notice.content, received_at=dt.datetime.now(dt.UTC))
    assert [r.action.value for r in report.recipients] == ["delayed"]
    assert b"Will-Retry-Until:" in notice.content


def test_dsn_parameters_are_passed_on_and_success_is_then_the_servers_to_report(
    store, dns, port
) -> None:
    enqueue(store, message("AAA", "ann@dest.example", notify="SUCCESS,FAILURE",
                           orcpt="rfc822;ann@dest.example", dsn_ret="FULL", dsn_envid="E1"),
            message("BBB", "bob@other.example", notify="SUCCESS"))  # fmt: skip
    publish(dns, "other.example", (10, "mx.other.example", "127.0.0.3"))

    async def go() -> None:
        async with running(store, settings(dns, port), Clock()):
            await until(lambda: bool(home.messages))
            await until(final(store, "ann@dest.example", "bob@other.example"))
            await asyncio.sleep(0.3)

    with (
        SmtpSink("127.0.0.2", port, dsn=True) as dest,
        SmtpSink("127.0.0.3", port),
        SmtpSink("127.0.0.6", port) as home,
    ):
        asyncio.run(go())
    [got] = dest.messages
    assert "RET=FULL" in got.mail_options and "ENVID=E1" in got.mail_options
    assert got.rcpt_options == (("NOTIFY=SUCCESS,FAILURE", "ORCPT=RFC822;ANN@DEST.EXAMPLE"),)
    [relayed] = home.messages  # only about bob: other.example does not do DSN
    report = parse_message(relayed.content, received_at=dt.datetime.now(dt.UTC))
    assert [(r.address, r.action.value) for r in report.recipients] == [
        ("bob@other.example", "relayed")
    ]


def test_smtputf8_is_passed_on_or_the_message_bounces(store, dns, port) -> None:
    publish(dns, "other.example", (10, "mx.other.example", "127.0.0.3"))
    body = "Subject: h\u00e9\r\nFrom: n\u00f6@sender.example\r\n\r\nhi\r\n".encode()
    utf8 = {"body": body, "smtputf8": True, "body_8bit": True}
    enqueue(
        store,
        message("AAA", "j\u00fcrgen@dest.example", **utf8),  # type: ignore[arg-type]
        message("BBB", "z\u00f6e@other.example", **utf8),  # type: ignore[arg-type]
    )

    async def go() -> None:
        async with running(store, settings(dns, port), Clock()):
            await until(final(store, "j\u00fcrgen@dest.example", "z\u00f6e@other.example"))

    with SmtpSink("127.0.0.2", port) as utf8, SmtpSink("127.0.0.3", port, smtputf8=False):
        asyncio.run(go())
    [got] = utf8.messages
    assert "SMTPUTF8" in got.mail_options and "BODY=8BITMIME" in got.mail_options
    assert got.rcpt_tos == ["j\u00fcrgen@dest.example"]
    row = rows(store)["z\u00f6e@other.example"]
    assert row.state is MessageState.BOUNCED and (row.last_reply or "").startswith("5.6.7")


def test_a_message_that_makes_delivery_fail_is_held_with_its_reason(store, dns, port) -> None:
    [[bad], [good]] = enqueue(
        store, message("BAD", "evil\r\nRSET@dest.example"), message("OK1", "ann@dest.example")
    )

    async def go() -> None:
        async with running(store, settings(dns, port), Clock()):
            await until(final(store, "evil\r\nRSET@dest.example", "ann@dest.example"))
            await asyncio.sleep(0.3)  # polls come and go: a held message is not tried again

    with SmtpSink("127.0.0.2", port) as sink:
        asyncio.run(go())
    found = rows(store)
    held = found["evil\r\nRSET@dest.example"]
    assert held.id == bad and held.state is MessageState.HELD and held.attempts == 0
    assert "ValueError" in (held.last_reply or "")
    [message_row] = [m for m in relay_messages(store) if m.queue_id == "BAD"]
    assert "internal error: ValueError" in (message_row.hold_reason or "")
    assert found["ann@dest.example"].id == good and [m.rcpt_tos for m in sink.messages] == [
        ["ann@dest.example"]
    ]
    assert [e.sent_message_id for e in events(store)] == [good]  # no event for the held one


def test_stopping_finishes_or_gives_back_what_is_in_hand(store, dns, port) -> None:
    enqueue(store, message("AAA", "ann@dest.example"), message("BBB", "bob@dest.example"))
    config = settings(dns, port, max_connections_per_domain=1, stop_grace_seconds=0.5)
    in_data = threading.Event()

    def hang(stage: str, address: str | None, n: int) -> str | None:
        if stage == "DATA":
            in_data.set()
            return HANG
        return None

    async def go() -> None:
        async with running(store, config, Clock()):
            await until(in_data.is_set)  # one message in the middle of DATA, one waiting

    with SmtpSink("127.0.0.2", port, reply=hang):
        asyncio.run(go())
    found = rows(store)
    for rcpt in ("ann@dest.example", "bob@dest.example"):  # one in flight, one waiting
        assert found[rcpt].state is MessageState.DEFERRED and found[rcpt].lease_owner is None
        assert found[rcpt].attempts == 0 and found[rcpt].next_attempt_at <= Clock().now  # type: ignore[operator]


def test_leases_of_a_dead_relay_on_this_host_are_given_back_at_start(store, dns, port) -> None:
    publish(dns, "other.example", (10, "mx.other.example", "127.0.0.3"))
    enqueue(store, message("AAA", "ann@dest.example"), message("BBB", "bob@other.example"))
    gone = subprocess.Popen(["true"])
    gone.wait()
    host = socket.gethostname()
    hour = Clock().now + dt.timedelta(hours=1)
    with store.session() as s, s.begin():  # two relays died holding one row each
        q.claim_due(s, now=Clock().now, owner=f"{host}:{gone.pid}", lease_until=hour, limit=1)
        q.claim_due(s, now=Clock().now, owner="elsewhere:1", lease_until=hour, limit=1)

    async def go() -> None:
        async with running(store, settings(dns, port), Clock(), owner=f"{host}:{os.getpid()}"):
            await until(lambda: state(store, "ann@dest.example") == "delivered")
            await asyncio.sleep(0.3)

    with SmtpSink("127.0.0.2", port), SmtpSink("127.0.0.3", port) as other:
        asyncio.run(go())
    bob = rows(store)["bob@other.example"]  # another host's relay: left to its lease
    assert bob.state is MessageState.SENDING and bob.lease_owner == "elsewhere:1"
    assert other.messages == []
