"""The copy of a message the relay sends: headers, tracking, DKIM (``monitor.relay.compose``).

Every signature is checked by dkimpy and by Mail::DKIM against keys on the loopback DNS
server; a changed or added header field must break it (so these checks can fail).
"""

from __future__ import annotations

import datetime as dt
import email
import re
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from monitor.config import CampaignTracking, TrackingConfig
from monitor.relay.compose import Composer, ComposeSettings, DkimSigner, generate_key, load_key
from monitor.relay.compose.dkim import DkimKey
from monitor.relay.compose.headers import field_value, missing_fields
from monitor.store.queue import Due
from parsers.webtoken import LinkMaker, TokenKind, decode_token
from tests.servers.dkimcheck import OpenDkim, mail_dkim, publish, verify_dkimpy
from tests.servers.dns import DNSServer

KEY = b"web-token-key-for-compose-tests-0123"
LINKS = LinkMaker(
    key=KEY, base_url="https://dw.sender.example", unsubscribe_domain="b.sender.example"
)
T0 = dt.datetime(2026, 3, 2, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[DkimKey, DkimKey]:
    folder: Path = tmp_path_factory.mktemp("keys")
    (folder / "rsa.pem").write_bytes(generate_key("rsa"))
    (folder / "ed.pem").write_bytes(generate_key("ed25519"))
    return (
        load_key(folder / "rsa.pem", domain="sender.example", selector="dw1"),
        load_key(folder / "ed.pem", domain="sender.example", selector="dw1ed"),
    )


@pytest.fixture(scope="module")
def dns(keys: tuple[DkimKey, DkimKey]) -> Iterator[DNSServer]:
    with DNSServer() as server:
        for key in keys:
            publish(server, key)
        yield server


@pytest.fixture(scope="module")
def opendkim(dns: DNSServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenDkim]:
    checker = OpenDkim(dns, tmp_path_factory.mktemp("opendkim"))
    try:
        yield checker
    finally:
        checker.close()


def due(n: int = 7, *, stream: str = "bulk", campaign: str | None = "spring", user: str = "app",
        recipient: str = "jane@example.com") -> Due:  # fmt: skip
    return Due(
        id=n, relay_message_id=1, queue_id=f"Q{n}.1", recipient=recipient,
        domain=recipient.rsplit("@", 1)[1], attempts=0, notify=None, orcpt=None,
        expires_at=None, envelope_sender="news@sender.example", campaign=campaign,
        message_id="m@sender.example", stream=stream, submitted_by=user,
        header_from="news@sender.example", smtputf8=False, body_8bit=False, dsn_ret=None,
        dsn_envid=None, received_at=T0,
    )  # fmt: skip


def stored(*, html: str | None = None, cte: str = "quoted-printable", **extra: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"] = "News <news@sender.example>", "jane@example.com"
    msg["Subject"], msg["Date"] = "Spring sale", "Mon, 02 Mar 2026 12:00:00 +0000"
    msg["Message-ID"] = "<spring-1@sender.example>"
    for name, value in extra.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Hello Jane.\nSee https://shop.example/sale\n")
    if html is not None:
        msg.add_alternative(html, subtype="html", cte=cte)
    raw = msg.as_bytes(policy=default.clone(linesep="\r\n"))
    return b"Received: from app ([127.0.0.1])\r\n\tby relay.test; Mon, 2 Mar 2026\r\n" + raw


def composer(keys: tuple[DkimKey, ...], **kw: object) -> Composer:
    settings = ComposeSettings(links=LINKS, signer=DkimSigner({"sender.example": keys}), **kw)  # type: ignore[arg-type]
    return Composer(settings)


def one(c: Composer, raw: bytes, d: Due) -> bytes:
    plan = c.plan(raw, d)
    return c.compose(plan, d if plan.personal else None)


def head(message: bytes) -> bytes:
    return message.split(b"\r\n\r\n", 1)[0] + b"\r\n"


def test_rsa_and_ed25519_signatures_verify_with_dkimpy_opendkim_and_mail_dkim(
    keys: tuple[DkimKey, DkimKey], dns: DNSServer, opendkim: OpenDkim
) -> None:
    out = one(composer(keys), stored(X_Campaign="spring"), due())
    assert verify_dkimpy(out, dns) == [True, True]
    assert opendkim.verify_each(out) == [(0, ""), (0, "")]
    # Debian's Mail::DKIM (1.20230212) has no ed25519: it checks the RSA signature
    assert ("rsa-sha256", "sender.example", "dw1", "pass") in mail_dkim(out, dns)
    sig = field_value(head(out), "DKIM-Signature") or ""
    h = [n.strip() for n in re.search(r"h=([^;]*);", sig).group(1).split(":")]  # type: ignore[union-attr]
    for name, times in (("from", 2), ("subject", 2), ("list-unsubscribe", 2),
                        ("list-unsubscribe-post", 2), ("to", 1), ("date", 1), ("message-id", 1),
                        ("mime-version", 1), ("content-type", 1), ("feedback-id", 1)):  # fmt: skip
        assert h.count(name) == times, (name, h)
    assert "c=relaxed/relaxed" in sig and "a=rsa-sha256" in sig


@pytest.mark.parametrize(
    "tamper",
    [
        lambda m: m.replace(b"Subject: Spring sale", b"Subject: Spring SALE"),
        lambda m: b"Subject: added on the way\r\n" + m,  # oversigned: an extra one breaks it
        lambda m: b"List-Unsubscribe: <https://evil.example/u>\r\n" + m,
        lambda m: m.replace(b"Hello Jane.", b"Hello Jim."),
    ],
)
def test_a_changed_or_added_field_or_body_breaks_both_signatures(
    keys: tuple[DkimKey, DkimKey], dns: DNSServer, opendkim: OpenDkim, tamper: object
) -> None:
    out = tamper(one(composer(keys), stored(), due()))  # type: ignore[operator]
    assert verify_dkimpy(out, dns) == [False, False]
    assert [code for code, _ in opendkim.verify_each(out)] == [70, 70]
    assert ("rsa-sha256", "sender.example", "dw1", "fail") in mail_dkim(out, dns)


def test_subdomain_mail_is_signed_by_the_parent_domain(keys: tuple[DkimKey, DkimKey]) -> None:
    signer = DkimSigner({"sender.example": keys})
    assert signer.domain_for("news.sender.example") == "sender.example"
    assert signer.domain_for("sender.example") == "sender.example"
    assert signer.domain_for("other.example") is None
    assert signer.domain_for("example") is None


def test_bulk_mail_gets_one_click_headers_with_tokens_naming_message_and_recipient(
    keys: tuple[DkimKey, DkimKey],
) -> None:
    raw = stored(X_Campaign="spring", X_Deliverwatch_Unsubscribe="no",
                 List_Unsubscribe="<mailto:old@sender.example>")  # fmt: skip
    out = one(composer(keys), raw, due(42))
    msg = email.message_from_bytes(out)
    for name in ("X-Campaign", "X-Deliverwatch-Unsubscribe"):
        assert name not in msg
    assert msg.get_all("List-Unsubscribe") and len(msg.get_all("List-Unsubscribe")) == 1
    https, mailto = (x.strip(" <>") for x in msg["List-Unsubscribe"].split(","))
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = https.removeprefix("https://dw.sender.example/u/")
    assert mailto == f"mailto:unsub+{token}@b.sender.example"
    decoded = decode_token(TokenKind.UNSUBSCRIBE, token, keys=[KEY])
    assert decoded.sent_id == 42 and decoded.matches("jane@example.com")
    assert not decoded.matches("jim@example.com")
    assert msg["Feedback-ID"] == "spring:app:bulk:sender.example"
    # another recipient of the same message gets its own token
    other = email.message_from_bytes(one(composer(keys), raw, due(43, recipient="jim@example.com")))
    assert other["List-Unsubscribe"] != msg["List-Unsubscribe"]


def test_transactional_mail_gets_no_unsubscribe_headers_unless_asked(
    keys: tuple[DkimKey, DkimKey],
) -> None:
    c = composer(keys)
    by_user = c.plan(stored(), due(stream="transactional", campaign=None))
    by_header = c.plan(stored(X_Deliverwatch_Type="transactional"), due())
    assert not by_user.personal and not by_header.personal
    msg = email.message_from_bytes(c.compose(by_header, None))
    assert "List-Unsubscribe" not in msg and "X-Deliverwatch-Type" not in msg
    assert msg["Feedback-ID"] == "spring:app:transactional:sender.example"
    assert email.message_from_bytes(c.compose(by_user, None))["Feedback-ID"] == (
        "app:app:transactional:sender.example"  # no X-Campaign: the submission user
    )
    asked = c.plan(stored(X_Deliverwatch_Type="transactional", X_Deliverwatch_Unsubscribe="yes"),
                   due())  # fmt: skip
    assert asked.unsubscribe
    user = composer(keys, unsubscribe_transactional=frozenset({"app"}))
    assert user.plan(stored(), due(stream="transactional")).unsubscribe


HTML = (
    '<html><body><p>Hi <a href="https://shop.example/sale?a=1&amp;b=2">sale</a>, '
    "<a href='http://blog.example/p'>blog</a>, <a href=\"mailto:help@sender.example\">help</a>, "
    '<a href="https://dw.sender.example/u/x">ours</a>, <a href="#top">top</a></p>'
    "<p>\u00e9t\u00e9 " + "long line " * 20 + "</p></body></html>"
)


@pytest.mark.parametrize("cte", ["quoted-printable", "base64", "8bit"])
def test_tracking_rewrites_html_links_and_adds_the_pixel(
    keys: tuple[DkimKey, DkimKey], dns: DNSServer, opendkim: OpenDkim, cte: str
) -> None:
    tracking = TrackingConfig(campaigns={"spring": CampaignTracking(opens=True, clicks=True)})
    out = one(composer(keys, tracking=tracking), stored(html=HTML, cte=cte), due(9))
    msg = email.message_from_bytes(out, policy=default)
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "https://shop.example/sale" in text  # text parts are left alone
    clicks = re.findall(r'href="https://dw\.sender\.example/c/([A-Za-z0-9_-]+)"', html)
    targets = [decode_token(TokenKind.CLICK, t, keys=[KEY]) for t in clicks]
    assert [t.url for t in targets] == [
        "https://shop.example/sale?a=1&b=2",
        "http://blog.example/p",
    ]
    assert all(t.sent_id == 9 and t.matches("jane@example.com") for t in targets)
    for kept in ('href="mailto:help@sender.example"', 'href="https://dw.sender.example/u/x"',
                 'href="#top"', "\u00e9t\u00e9"):  # fmt: skip
        assert kept in html
    pixel = re.search(r'<img src="https://dw\.sender\.example/o/([a-z2-7]{40})\.gif"', html)
    assert pixel is not None and html.index(pixel.group(0)) < html.index("</body>")
    assert decode_token(TokenKind.OPEN, pixel.group(1), keys=[KEY]).sent_id == 9
    assert verify_dkimpy(out, dns) == [True, True]
    assert opendkim.verify_each(out) == [(0, ""), (0, "")]


def test_untracked_campaign_html_is_sent_as_written(keys: tuple[DkimKey, DkimKey]) -> None:
    tracking = TrackingConfig(campaigns={"other": CampaignTracking(opens=True, clicks=True)})
    raw = stored(html=HTML)
    out = one(composer(keys, tracking=tracking), raw, due())
    assert out.split(b"\r\n\r\n", 1)[1] == raw.split(b"\r\n\r\n", 1)[1]
    assert b"/c/" not in out and b"/o/" not in out


def test_a_domain_without_a_key_goes_unsigned_and_no_links_means_no_headers(
    keys: tuple[DkimKey, DkimKey],
) -> None:
    c = Composer(ComposeSettings(signer=DkimSigner({"elsewhere.example": keys})))
    plan = c.plan(stored(), due())
    assert not plan.personal and plan.domain is None
    out = c.compose(plan, None)
    assert b"DKIM-Signature" not in out and b"List-Unsubscribe" not in out
    assert b"Feedback-ID: spring:app:bulk:sender.example" in out


def test_submission_adds_message_id_and_date_when_missing() -> None:
    bare = b"From: a@sender.example\r\nSubject: x\r\n\r\nbody\r\n"
    out, added = missing_fields(bare, queue_id="ABC", domain="sender.example", now=T0)
    assert added == f"ABC.{int(T0.timestamp())}@sender.example"
    assert out.startswith(
        f"Message-ID: <{added}>\r\nDate: Mon, 02 Mar 2026 12:00:00 +0000\r\n".encode()
    )
    full = stored()
    assert missing_fields(full, queue_id="ABC", domain="sender.example", now=T0) == (full, None)
