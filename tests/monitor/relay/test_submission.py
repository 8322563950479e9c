"""The submission side of the relay, driven by smtplib and swaks against a real listener, on
SQLite and PostgreSQL: authentication, no open relay, suppression at RCPT, limits, DSN
parameters, enhanced status codes, and 250 only once the message is stored."""

from __future__ import annotations

import datetime as dt
import shutil
import smtplib
import subprocess
import time
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from monitor.enums import ListScope, MessageState, SuppressionReason
from monitor.store.models import AllowEntry, RelayMessage, SentMessage
from monitor.store.suppressions import add_suppression
from tests.monitor.relay.conftest import PASSWORD, RunningRelay
from tests.servers.require import skip_or_fail
from tests.servers.smtp import free_port

NOW = dt.datetime.now(dt.UTC)


def message(
    frm: str = "News <news@sender.example>", to: str = "a@example.org", **headers: str
) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = frm, to, "Spring news"
    msg["Message-ID"] = "<spring-1@sender.example>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Hello\n")
    return msg.as_bytes()


def login(relay: RunningRelay, user: str = "app") -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", relay.port, timeout=10)
    client.starttls(context=relay.client_context())
    client.login(user, PASSWORD)
    return client


def rows(store: Any) -> list[SentMessage]:
    with store.session() as s:
        return list(s.scalars(select(SentMessage).order_by(SentMessage.id)))


def suppress(store: Any, value: str, scope: ListScope = ListScope.ADDRESS) -> None:
    with store.session() as s, s.begin():
        add_suppression(
            s, scope=scope, value=value, reason=SuppressionReason.HARD_BOUNCE, now=NOW, note="t"
        )


def test_ehlo_offers_the_extensions_and_auth_only_after_tls(relay: RunningRelay) -> None:
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
        client.ehlo("client.test")
        for ext in ("pipelining", "enhancedstatuscodes", "dsn", "8bitmime", "smtputf8",
                    "starttls", "size"):  # fmt: skip
            assert client.has_extn(ext), ext
        assert not client.has_extn("auth")
        code, text = client.docmd("AUTH", "PLAIN AGFwcABz")
        assert code == 538 and text.startswith(b"5.7.11")
        code, text = client.docmd("MAIL", "FROM:<news@sender.example>")
        assert code == 530 and text.startswith(b"5.7.0")
        client.starttls(context=relay.client_context())
        client.ehlo("client.test")
        assert client.has_extn("auth") and "PLAIN" in client.esmtp_features["auth"]
        with pytest.raises(smtplib.SMTPAuthenticationError) as err:
            client.login("app", "wrong")
        assert err.value.smtp_code == 535 and err.value.smtp_error.startswith(b"5.7.8")
        client.login("app", PASSWORD)


def test_no_relaying_without_authentication_and_no_routing_tricks(relay: RunningRelay) -> None:
    with smtplib.SMTP("127.0.0.1", relay.port, timeout=10) as client:
        client.ehlo("client.test")
        for rcpt in ("victim@target.example", "@relay.example:victim@target.example"):
            code, text = client.docmd("RCPT", f"TO:<{rcpt}>")
            assert code == 530 and text.startswith(b"5.7.0"), (rcpt, code, text)
        assert client.docmd("DATA")[0] == 530
    with login(relay) as client:
        assert client.docmd("MAIL", "FROM:<news@sender.example>")[0] == 250
        tricks = [
            "<@relay.example:victim@target.example>",
            "<@a.example,@b.example:victim@target.example>",
            "<victim%target.example@sender.example>",
            "<target.example!victim@sender.example>",
            '<"victim@target.example"@sender.example>',
            "<victim@[192.0.2.1]>",
            "<postmaster>",
        ]
        for trick in tricks:
            code, text = client.docmd("RCPT", f"TO:{trick}")
            assert code == 501 and text.startswith(b"5.1.3"), (trick, code, text)


def test_a_message_is_queued_only_once_stored(relay: RunningRelay, store: Any) -> None:
    with login(relay) as client:
        client.mail("news@sender.example", ["RET=HDRS", "ENVID=spring+2B1"])
        client.rcpt("a@example.org", ["NOTIFY=FAILURE,DELAY", "ORCPT=rfc822;a@example.org"])
        client.rcpt("B@Example.ORG")
        client.rcpt('"a..b"@example.org')
        code, text = client.data(message(X_Campaign="spring-2026"))
    assert code == 250 and text.startswith(b"2.0.0 Ok: queued as ")
    queue_id = text.decode().rsplit(" ", 1)[1]
    sent = rows(store)
    assert [r.recipient for r in sent] == ["a@example.org", "b@example.org", '"a..b"@example.org']
    assert {r.state for r in sent} == {MessageState.QUEUED}
    assert sent[0].notify == "FAILURE,DELAY" and sent[0].orcpt == "rfc822;a@example.org"
    assert sent[0].queue_id == f"{queue_id}.1" and sent[0].campaign == "spring-2026"
    assert sent[0].message_id == "spring-1@sender.example"
    with store.session() as s:
        [stored] = s.scalars(select(RelayMessage))
        body = bytes(s.scalar(select(RelayMessage.body)) or b"")
    assert stored.queue_id == queue_id and stored.submitted_by == "app"
    assert stored.dsn_ret == "HDRS" and stored.dsn_envid == "spring+1"
    assert stored.header_from == "news@sender.example"
    assert body.startswith(b"Received: from client") or body.startswith(b"Received: from ")
    assert f"with ESMTPSA id {queue_id}".encode() in body and b"Spring news" in body


def test_sender_and_header_from_must_be_the_accounts(relay: RunningRelay) -> None:
    with login(relay) as client:
        code, text = client.docmd("MAIL", "FROM:<boss@other.example>")
        assert code == 553 and text.startswith(b"5.7.1")
        code, text = client.docmd("MAIL", "FROM:<>")
        assert code == 553 and text.startswith(b"5.7.1")
        assert client.docmd("MAIL", "FROM:<news@mail.sender.example>")[0] == 250  # subdomain
        client.rcpt("a@example.org")
        code, text = client.data(message(frm="CEO <ceo@bank.example>"))
        assert code == 550 and text.startswith(b"5.7.1")


def test_suppressed_recipients_get_550_with_reason_and_date(
    relay: RunningRelay, store: Any
) -> None:
    suppress(store, "gone@example.org")
    suppress(store, "spamtrap.example", ListScope.DOMAIN)
    suppress(store, "vip@example.org")
    with store.session() as s, s.begin():
        s.add(AllowEntry(scope=ListScope.ADDRESS, value="vip@example.org", created_at=NOW))
    time.sleep(1.5)  # the index takes in what another process added
    with login(relay) as client:
        client.mail("news@sender.example")
        code, text = client.rcpt("Gone@Example.org")
        assert code == 550 and text.startswith(b"5.7.1 <gone@example.org>")
        assert b"hard-bounce" in text and f"{NOW:%Y-%m-%d}".encode() in text
        code, text = client.rcpt("anyone@spamtrap.example")
        assert code == 550 and b"domain spamtrap.example" in text
        assert client.rcpt("vip@example.org")[0] == 250  # the allowlist wins
        assert client.rcpt("fresh@example.org")[0] == 250
        # a suppression added now is enforced within about a second
        suppress(store, "fresh2@example.org")
        deadline = time.monotonic() + 5
        while client.rcpt("fresh2@example.org")[0] == 250:
            assert time.monotonic() < deadline
            client.rset()
            client.mail("news@sender.example")
            time.sleep(0.2)


def test_limits_size_recipients_and_rate(store: Any, tmp_path: Path) -> None:
    with RunningRelay(store, tmp_path, max_recipients=3, max_message_bytes=5_000) as relay:
        with login(relay) as client:
            code, text = client.docmd("MAIL", "FROM:<news@sender.example> SIZE=9000")
            assert code == 552 and text.startswith(b"5.3.4")
            client.mail("news@sender.example")
            for n in range(3):
                assert client.rcpt(f"r{n}@example.org")[0] == 250
            code, text = client.rcpt("r4@example.org")
            assert code == 452 and text.startswith(b"4.5.3")
            code, text = client.data(message() + (b"x" * 70 + b"\r\n") * 100)
            assert code == 552
        with login(relay, "slow") as client:
            for _ in range(2):
                client.mail("a@slow.example")
                client.rcpt("r@example.org")
                assert client.data(message(frm="a@slow.example"))[0] == 250
            code, text = client.docmd("MAIL", "FROM:<a@slow.example>")
            assert code == 451 and text.startswith(b"4.7.1")


def test_database_down_means_451_never_250(store: Any, tmp_path: Path) -> None:
    down = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none"
    with RunningRelay(store, tmp_path, intake_url=down) as relay, login(relay) as client:
        client.mail("news@sender.example")
        client.rcpt("a@example.org")
        code, text = client.data(message())
    assert code == 451 and text.startswith(b"4.3.0")
    assert rows(store) == []


def test_every_reply_carries_an_enhanced_status_code(relay: RunningRelay) -> None:
    with login(relay) as client:
        replies = [
            client.docmd("NOOP"),
            client.docmd("MAIL", "FROM:<news@sender.example> FOO=BAR"),
            client.docmd("MAIL", "FROM:<news@sender.example>"),
            client.docmd("MAIL", "FROM:<news@sender.example>"),  # nested
            client.docmd("RCPT", "TO:<a@example.org> NOTIFY=SOMETIMES"),
            client.docmd("RCPT", "TO:<a@example.org>"),
            client.docmd("VRFY", "a@example.org"),
            client.docmd("BOGUS"),
            client.docmd("RSET"),
        ]
        for code, text in replies:
            assert text[:1] == str(code)[:1].encode() and text[1:2] == b".", (code, text)


def test_implicit_tls_listener(relay: RunningRelay, store: Any) -> None:
    context = relay.client_context()
    with smtplib.SMTP_SSL("127.0.0.1", relay.tls_port, context=context, timeout=10) as client:
        client.login("app", PASSWORD)
        client.sendmail("news@sender.example", ["tls@example.org"], message())
    assert [r.recipient for r in rows(store)] == ["tls@example.org"]


def test_swaks_sends_through_the_relay(relay: RunningRelay, store: Any) -> None:
    swaks = shutil.which("swaks")
    if swaks is None:
        skip_or_fail("swaks", "swaks is not installed (.ci/run installs it)")
        return
    proc = subprocess.run(
        [swaks, "--server", "127.0.0.1", "--port", str(relay.port), "--tls",
         "--tls-verify", "--tls-ca-path", str(relay.ca_file),
         "--auth", "LOGIN", "--auth-user", "app", "--auth-password", PASSWORD,
         "--from", "news@sender.example", "--to", "swaks@example.org",
         "--header", "From: news@sender.example", "--pipeline"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "queued as" in proc.stdout
    assert [r.recipient for r in rows(store)] == ["swaks@example.org"]
    relayed = subprocess.run(
        [swaks, "--server", "127.0.0.1", "--port", str(relay.port),
         "--from", "news@sender.example", "--to", "victim@target.example"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert relayed.returncode != 0 and "530 5.7.0" in relayed.stdout


def test_simultaneous_logins_check_passwords_a_few_at_a_time(
    relay: RunningRelay, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each argon2 check holds 64 MiB: 12 clients logging in at once must not run 12."""
    import threading

    from monitor.relay import server

    running, peak, lock = [0], [0], threading.Lock()
    real = server.verify_password

    def counted(stored: str, password: str) -> bool:  # the real check, counted
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            return real(stored, password)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(server, "verify_password", counted)
    users = ["app", "slow"]
    results: list[int] = []

    def one(n: int) -> None:
        client = smtplib.SMTP("127.0.0.1", relay.port, timeout=30)
        client.starttls(context=relay.client_context())
        code, _ = client.login(users[n % 2], PASSWORD)
        results.append(code)
        client.quit()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results == [235] * 12
    assert 1 <= peak[0] <= server.AUTH_CHECKS_AT_ONCE
