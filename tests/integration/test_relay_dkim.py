"""Signed, unsubscribable mail through the whole relay, on SQLite and PostgreSQL.

An application submits over SMTP AUTH to the real relay; the delivery engine composes one
copy per recipient (its own List-Unsubscribe tokens), signs it with an RSA and an Ed25519
key and delivers to an aiosmtpd sink found through the loopback DNS server, which also
publishes the keys. Every received copy is verified by dkimpy and by opendkim-testmsg; the
one-click URL of a received copy, POSTed by a real HTTP client to the real web service,
suppresses the address, and the relay then refuses it at RCPT. A tracked HTML copy's click
link redirects to its target and its pixel loads. Mail From a domain without a key is
refused at the end of DATA (550 5.7.0) unless the account may send unsigned.
"""

from __future__ import annotations

import datetime as dt
import re
import smtplib
import time
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from monitor.config import CampaignTracking, RelayUser, TrackingConfig
from monitor.enums import EventKind, MessageState
from monitor.events import EventContext
from monitor.relay.compose import Composer, ComposeSettings, DkimSigner, generate_key, load_key
from monitor.relay.compose.dkim import DkimKey
from monitor.relay.delivery import DeliveryEngine
from monitor.store.models import Event, SentMessage, Suppression
from parsers.webtoken import LinkMaker, TokenKind, decode_token
from tests.monitor.relay.conftest import HASH, PASSWORD, RunningRelay
from tests.monitor.relay.delivery_kit import publish, settings
from tests.monitor.web.conftest import KEY, Clock, make_settings
from tests.servers.dkimcheck import OpenDkim, verify_dkimpy
from tests.servers.dkimcheck import publish as publish_key
from tests.servers.dns import DNSServer
from tests.servers.smtp import SmtpSink, free_port
from tests.servers.web import WebServer

HTML = '<html><body><p><a href="https://shop.example/sale?x=1&amp;y=2">Sale</a></p></body></html>'
USERS = {
    "app": RelayUser(password_hash=HASH, domains=("sender.example", "nokey.example")),
    "loose": RelayUser(password_hash=HASH, domains=("nokey.example",), allow_unsigned=True),
}


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> list[DkimKey]:
    folder: Path = tmp_path_factory.mktemp("dkim")
    (folder / "rsa.pem").write_bytes(generate_key("rsa"))
    (folder / "ed.pem").write_bytes(generate_key("ed25519"))
    return [
        load_key(folder / "rsa.pem", domain="sender.example", selector="dw2026"),
        load_key(folder / "ed.pem", domain="sender.example", selector="dw2026ed"),
    ]


@pytest.fixture
def dns(keys: list[DkimKey]) -> Iterator[DNSServer]:
    with DNSServer() as server:
        for key in keys:
            publish_key(server, key)
        yield server


def _message(sender: str, to: list[str], n: int, html: str | None = None) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"] = f"News <{sender}>", ", ".join(to)
    msg["Subject"], msg["X-Campaign"] = f"Spring {n}", "spring"
    msg.set_content("Hello\n")  # no Message-ID and no Date: the relay adds them
    if html is not None:
        msg.add_alternative(html, subtype="html")
    return msg.as_bytes()


def _wait(check: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def _delivered(store: Any, n: int) -> bool:
    with store.session() as s:
        states = list(s.scalars(select(SentMessage.state)))
    return len(states) == n and all(st is MessageState.DELIVERED for st in states)


def _login(relay: RunningRelay, user: str) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", relay.port, timeout=10)
    client.starttls(context=relay.client_context())
    client.login(user, PASSWORD)
    return client


def test_signed_copies_verify_and_one_click_unsubscribe_closes_the_loop(
    store: Any, dns: DNSServer, keys: list[DkimKey], tmp_path: Path
) -> None:
    port = free_port("127.0.0.1")
    publish(dns, "ok.example", (10, "mx.ok.example", "127.0.0.2"))
    clock = Clock(at=dt.datetime.now(dt.UTC))
    with (
        WebServer(make_settings(store, clock)) as web,
        SmtpSink("127.0.0.2", port) as sink,
    ):
        links = LinkMaker(key=KEY, base_url=web.url, unsubscribe_domain="bounces.sender.example")
        signer = DkimSigner({"sender.example": keys})
        tracking = TrackingConfig(campaigns={"spring": CampaignTracking(opens=True, clicks=True)})
        composer = Composer(ComposeSettings(links=links, signer=signer, tracking=tracking))
        engine = DeliveryEngine(factory=store.factory, settings=settings(dns, port),
                                ctx=EventContext(web_keys=(KEY,)),
                                clock=lambda: dt.datetime.now(dt.UTC), owner="dkim-test:1",
                                composer=composer)  # fmt: skip
        with RunningRelay(store, tmp_path, users=USERS, deliverer=engine,
                          dkim_domains=frozenset({"sender.example"})) as relay:  # fmt: skip
            pair = ["ann@ok.example", "bob@ok.example"]
            sub, nokey = "news@news.sender.example", "news@nokey.example"
            with _login(relay, "app") as client:
                client.sendmail("news@sender.example", pair,
                                _message("news@sender.example", pair, 1))  # fmt: skip
                client.sendmail(sub, ["cid@ok.example"], _message(sub, ["cid@ok.example"], 2,
                                                                  html=HTML))  # fmt: skip
                with pytest.raises(smtplib.SMTPDataError) as refused:
                    client.sendmail(nokey, ["dan@ok.example"], _message(nokey, ["dan"], 3))
            assert refused.value.smtp_code == 550
            assert refused.value.smtp_error.startswith(b"5.7.0 No DKIM key for nokey.example")
            with _login(relay, "loose") as client:  # allow_unsigned: accepted, sent unsigned
                client.sendmail("news@nokey.example", ["eve@ok.example"],
                                _message("news@nokey.example", ["eve@ok.example"], 4))  # fmt: skip
            _wait(lambda: _delivered(store, 4))
            received = {m.rcpt_tos[0]: m.content for m in sink.messages}
            assert sorted(received) == ["ann@ok.example", "bob@ok.example", "cid@ok.example",
                                        "eve@ok.example"]  # one copy per recipient  # fmt: skip
            with store.session() as s:
                rows = {r.recipient: r for r in s.scalars(select(SentMessage))}

            checker = OpenDkim(dns, tmp_path)
            try:
                for rcpt in ("ann@ok.example", "bob@ok.example", "cid@ok.example"):
                    copy = received[rcpt]
                    assert verify_dkimpy(copy, dns) == [True, True], rcpt
                    assert checker.verify_each(copy) == [(0, ""), (0, "")], rcpt
            finally:
                checker.close()
            assert b"DKIM-Signature" not in received["eve@ok.example"]

            tokens = {}
            for rcpt in ("ann@ok.example", "bob@ok.example"):
                msg = message_from_bytes(received[rcpt])
                assert "X-Campaign" not in msg and msg["Feedback-ID"] == (
                    "spring:app:bulk:sender.example"
                )
                assert msg["Message-ID"] and msg["Date"]  # added at submission
                assert rows[rcpt].message_id == msg["Message-ID"].strip("<>")
                https, mailto = (x.strip(" <>") for x in msg["List-Unsubscribe"].split(","))
                assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
                token = decode_token(TokenKind.UNSUBSCRIBE, https.rsplit("/", 1)[1], keys=[KEY])
                assert token.sent_id == rows[rcpt].id and token.matches(rcpt)
                assert mailto.startswith("mailto:unsub+") and "@bounces.sender.example" in mailto
                tokens[rcpt] = https
            assert tokens["ann@ok.example"] != tokens["bob@ok.example"]

            # the tracked HTML copy: its click link redirects to the target, its pixel loads
            html = next(p for p in message_from_bytes(received["cid@ok.example"]).walk()
                        if p.get_content_type() == "text/html")  # fmt: skip
            text = html.get_payload(decode=True).decode()
            click = re.search(r'href="([^"]+/c/[A-Za-z0-9_-]+)"', text)
            pixel = re.search(r'<img src="([^"]+/o/[a-z2-7]{40}\.gif)"', text)
            assert click is not None and pixel is not None, text
            browser = {"User-Agent": "Mozilla/5.0 (X11; Linux)"}
            with httpx.Client(timeout=10, follow_redirects=False, headers=browser) as http:
                went = http.get(click.group(1))
                seen = http.get(pixel.group(1))
            assert went.status_code in (302, 303, 307) and went.headers["location"] == (
                "https://shop.example/sale?x=1&y=2"
            )
            assert seen.status_code == 200 and seen.headers["content-type"] == "image/gif"

            # the one-click POST a mailbox provider makes (RFC 8058 3.2)
            response = httpx.post(tokens["ann@ok.example"],
                                  data={"List-Unsubscribe": "One-Click"}, timeout=10)  # fmt: skip
            assert response.status_code == 200, response.text
            with store.session() as s:
                values = set(s.scalars(select(Suppression.value)))
                kinds = [e.kind for e in s.scalars(select(Event).where(
                    Event.sent_message_id == rows["ann@ok.example"].id))]  # fmt: skip
            assert values == {"ann@ok.example"} and EventKind.UNSUBSCRIBED in kinds

            def refused_now() -> bool:  # the relay's index polls the table every second
                with _login(relay, "app") as client:
                    client.mail("news@sender.example")
                    code, text = client.rcpt("ann@ok.example")
                return code == 550 and text.startswith(b"5.7.1") and b"unsubscribe" in text

            _wait(refused_now, timeout=10)
