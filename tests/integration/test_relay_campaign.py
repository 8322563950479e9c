"""A campaign through the whole relay, end to end, on SQLite and PostgreSQL.

An application submits over SMTP AUTH to the real relay; the delivery engine finds the MX
hosts on the loopback DNS server and delivers to aiosmtpd sinks that accept, defer once, or
refuse; ``deliverwatch report json`` then shows the counts the sinks saw. A late bounce mailed
back to the signed VERP return path goes through the real IMAP poller, is verified by its
token under the default ``trust = "verified"``, suppresses the address, and the relay then
refuses that recipient at RCPT time: the sending and the listening halves closing the loop.
"""

from __future__ import annotations

import datetime as dt
import json
import smtplib
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from monitor.enums import EventKind, MessageState, SuppressionReason, Trust
from monitor.events import EventContext
from monitor.relay.delivery import DeliveryEngine
from monitor.store.models import Event, SentMessage, Suppression
from parsers.verp import decode
from tests.conftest import write_config
from tests.integration.rig import VERP_KEY, Rig
from tests.monitor.relay.conftest import PASSWORD, RunningRelay
from tests.monitor.relay.delivery_kit import publish, settings
from tests.servers.dns import DNSServer
from tests.servers.dovecot import Dovecot
from tests.servers.smtp import SmtpSink, free_port

BOUNCE_DOMAIN = "bounces.sender.example"


@pytest.fixture
def dns() -> Iterator[DNSServer]:
    with DNSServer() as server:
        yield server


def _message(to: str, n: int) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"] = "News <news@sender.example>", to
    msg["Subject"], msg["Message-ID"] = f"Spring {n}", f"<spring-{n}@sender.example>"
    msg["X-Campaign"] = "spring"
    msg.set_content("Hello\n")
    return msg.as_bytes()


def _final(store: Any, n: int) -> bool:
    done = {MessageState.DELIVERED, MessageState.BOUNCED, MessageState.EXPIRED}
    with store.session() as s:
        states = list(s.scalars(select(SentMessage.state)))
    return len(states) == n and all(st in done for st in states)


def _wait(check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _dsn(verp: str, recipient: str) -> bytes:
    """A remote MX's late bounce to our VERP return path (RFC 3464)."""
    return (
        "Return-Path: <>\r\n"
        f"Delivered-To: {verp}\r\n"
        "From: Mail Delivery System <MAILER-DAEMON@mx.ok.example>\r\n"
        f"To: {verp}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Date: Tue, 02 Jan 2024 10:00:00 +0000\r\n"
        "Message-ID: <late-bounce-1@mx.ok.example>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nThe mailbox was closed.\r\n\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.ok.example\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: user unknown\r\n\r\n"
        "--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Return-Path: <{verp}>\r\nFrom: News <news@sender.example>\r\nTo: {recipient}\r\n"
        "Subject: Spring 1\r\nMessage-ID: <spring-1@sender.example>\r\n\r\n"
        "--b1--\r\n"
    ).encode()


def test_campaign_counts_and_a_verp_bounce_close_the_loop(
    store: Any, dns: DNSServer, imap: Dovecot, tmp_path: Path, cli: Any
) -> None:
    port = free_port("127.0.0.1")
    publish(dns, "ok.example", (10, "mx.ok.example", "127.0.0.2"))
    publish(dns, "slow.example", (10, "mx.slow.example", "127.0.0.3"))
    publish(dns, "bad.example", (10, "mx.bad.example", "127.0.0.4"))

    def later(stage: str, address: str | None, n: int) -> str | None:
        return "451 4.7.1 greylisted, try again" if stage == "RCPT" and n == 1 else None

    def refuse(stage: str, address: str | None, n: int) -> str | None:
        return f"550 5.1.1 <{address}>: no such user" if stage == "RCPT" else None

    engine = DeliveryEngine(
        factory=store.factory,
        settings=settings(dns, port, retry_initial=0.3, retry_max=1.0, verp_key=VERP_KEY,
                          envelope_domain=BOUNCE_DOMAIN),
        ctx=EventContext(verp_key=VERP_KEY),
        clock=lambda: dt.datetime.now(dt.UTC),
        owner="campaign-test:1",
    )  # fmt: skip
    recipients = [
        *("ann@ok.example", "bob@ok.example", "cid@ok.example"),
        *("dan@slow.example", "eve@slow.example"),
        *("fay@bad.example", "gus@bad.example"),
    ]
    with (
        SmtpSink("127.0.0.2", port) as ok,
        SmtpSink("127.0.0.3", port, reply=later) as slow,
        SmtpSink("127.0.0.4", port, reply=refuse) as bad,
        RunningRelay(store, tmp_path, deliverer=engine) as relay,
    ):
        with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
            client.starttls(context=relay.client_context())
            client.login("app", PASSWORD)
            for n, rcpt in enumerate(recipients, start=1):
                client.sendmail("news@sender.example", [rcpt], _message(rcpt, n))
        _wait(lambda: _final(store, len(recipients)))
        seen = {"ok": len(ok.messages), "slow": len(slow.messages), "bad": len(bad.messages)}
        verp = ok.messages[0].mail_from
        first = ok.messages[0].rcpt_tos[0]
    assert seen == {"ok": 3, "slow": 2, "bad": 0}
    # the signed return path names the sent row of that very recipient
    with store.session() as s:
        row = s.scalar(select(SentMessage).where(SentMessage.recipient == first))
    assert row is not None and verp.endswith(f"@{BOUNCE_DOMAIN}")
    assert decode(verp, key=VERP_KEY).message_id == row.id

    today = dt.datetime.now(dt.UTC).date().isoformat()
    config = write_config(tmp_path / "c.toml", store.url)
    r = cli("--config", config, "report", "json", "--date", today)
    assert r.code == 0, r.err
    totals = json.loads(r.out)["totals"]
    assert (totals["sent"], totals["delivered"], totals["deferred"], totals["bounced"]) == (
        7, seen["ok"] + seen["slow"], 2, 2,
    )  # fmt: skip
    with store.session() as s:
        refused = set(s.scalars(select(Suppression.value)))
    assert refused == {"fay@bad.example", "gus@bad.example"}  # 5.1.1 at RCPT: hard bounces

    # a late bounce to the VERP address, read from the bounce mailbox by the real poller
    rig = Rig(imap, store, imap.add_user())
    rig.append(_dsn(verp, first))
    summary = rig.poll()
    assert summary.processed == 1
    with store.session() as s:
        late = s.scalar(select(Event).where(Event.source.like("imap:%")))
        sup = s.scalar(select(Suppression).where(Suppression.value == first))
    assert late is not None and late.kind is EventKind.BOUNCED
    assert late.trust is Trust.VERIFIED and late.details["matched_by"] == "verp"
    assert late.sent_message_id == row.id
    assert sup is not None and sup.reason is SuppressionReason.HARD_BOUNCE
    # ...and the relay now refuses that recipient at RCPT time
    with (
        RunningRelay(store, tmp_path / "again") as relay,
        smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client,
    ):
        client.starttls(context=relay.client_context())
        client.login("app", PASSWORD)
        client.mail("news@sender.example")
        code, text = client.rcpt(first)
    assert code == 550 and text.startswith(b"5.7.1") and b"hard-bounce" in text
