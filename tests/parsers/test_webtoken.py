"""Web tokens (unsubscribe, open, click) and webhook signatures: round trips and refusals."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers.verp import decode as verp_decode
from parsers.verp import encode as verp_encode
from parsers.webhooksig import BadSignature, signature_header, verify
from parsers.webtoken import (
    MAX_URL_BYTES,
    BadToken,
    LinkMaker,
    TokenKind,
    click_token,
    decode_token,
    find_unsubscribe_token,
    open_token,
    unsubscribe_token,
    unsubscribe_token_in_headers,
)

KEY = b"k" * 32
OLD = b"an older key, still accepted"


@given(sent_id=st.integers(0, 2**63 - 1), local=st.from_regex(r"[a-z0-9._]{1,30}", fullmatch=True))
def test_unsubscribe_and_open_tokens_round_trip(sent_id: int, local: str) -> None:
    rcpt = f"{local}@example.com"
    for kind, make in ((TokenKind.UNSUBSCRIBE, unsubscribe_token), (TokenKind.OPEN, open_token)):
        token = make(key=KEY, sent_id=sent_id, recipient=rcpt)
        assert len(token) == 40 and token == token.lower()
        proof = decode_token(kind, token.upper(), keys=[KEY])  # an MTA upper-cased it
        assert proof.sent_id == sent_id and proof.matches(rcpt.upper()) and proof.url is None
        assert len(f"unsub+{token}") <= 64  # RFC 5321 4.5.3.1.1


@given(path=st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x2FFF), max_size=200))
def test_click_tokens_carry_their_url(path: str) -> None:
    url = "https://shop.example.com/" + path.replace("\x7f", "")
    if len(url.encode()) > MAX_URL_BYTES:
        return
    token = click_token(key=KEY, sent_id=7, recipient="a@b.example", url=url)
    assert all(c.isalnum() or c in "-_" for c in token)
    proof = decode_token(TokenKind.CLICK, token, keys=[KEY])
    assert proof.url == url and proof.sent_id == 7


def test_every_change_of_a_token_is_refused() -> None:
    token = unsubscribe_token(key=KEY, sent_id=99, recipient="a@b.example")
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    for i in range(len(token)):
        for c in alphabet[:4]:
            if c == token[i]:
                continue
            changed = token[:i] + c + token[i + 1 :]
            with pytest.raises(BadToken):
                decode_token(TokenKind.UNSUBSCRIBE, changed, keys=[KEY])
    for cut in (token[:-1], token[:-8], token[1:], token + "a", ""):
        with pytest.raises(BadToken):
            decode_token(TokenKind.UNSUBSCRIBE, cut, keys=[KEY])


def test_wrong_key_wrong_kind_and_verp_tokens_are_refused() -> None:
    unsub = unsubscribe_token(key=KEY, sent_id=5, recipient="a@b.example")
    with pytest.raises(BadToken, match="signature"):
        decode_token(TokenKind.UNSUBSCRIBE, unsub, keys=[b"other key"])
    with pytest.raises(BadToken, match="signature"):
        decode_token(TokenKind.OPEN, unsub, keys=[KEY])  # kinds have keys of their own
    with pytest.raises(BadToken):
        decode_token(TokenKind.UNSUBSCRIBE, unsub, keys=[])
    verp = verp_encode(key=KEY, message_id=5, recipient="a@b.example", bounce_domain="x.example")
    with pytest.raises(BadToken):
        decode_token(TokenKind.UNSUBSCRIBE, verp.split("+")[1].split("@")[0], keys=[KEY])
    with pytest.raises(Exception, match=r"signature|VERP|token"):
        verp_decode(f"bounce+{unsub[:34]}@x.example", key=KEY)


def test_rotation_old_keys_still_verify() -> None:
    token = open_token(key=OLD, sent_id=1, recipient="a@b.example")
    assert decode_token(TokenKind.OPEN, token, keys=[KEY, OLD]).sent_id == 1
    with pytest.raises(BadToken):
        decode_token(TokenKind.OPEN, token, keys=[KEY])


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:text/html,x",
        "//evil.example/",
        "/relative",
        "ftp://x.example/",
        "https://x.example/a b",
        "https://x.example/\r\nSet-Cookie: a",
        "https://x/" + "a" * MAX_URL_BYTES,
    ],
)
def test_click_targets_must_be_plain_http_urls(url: str) -> None:
    with pytest.raises(ValueError):
        click_token(key=KEY, sent_id=1, recipient="a@b.example", url=url)


def test_a_signed_non_http_target_is_still_refused_on_decode() -> None:
    # only a key holder could make it; refused anyway (defence in depth)
    from parsers import webtoken

    body = webtoken._head(1, "a@b.example") + b"javascript:alert(1)"
    raw = body + webtoken._mac(KEY, TokenKind.CLICK, body)
    token = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    with pytest.raises(BadToken, match="target"):
        decode_token(TokenKind.CLICK, token, keys=[KEY])


def test_link_maker_builds_the_header_pair() -> None:
    links = LinkMaker(
        key=KEY, base_url="https://mail.example.com/dw/", unsubscribe_domain="Bounce.Example."
    )
    header = links.list_unsubscribe(12, "a@b.example")
    token = unsubscribe_token(key=KEY, sent_id=12, recipient="a@b.example")
    assert header == {
        "List-Unsubscribe": f"<https://mail.example.com/dw/u/{token}>, "
        f"<mailto:unsub+{token}@bounce.example>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert links.open_url(12, "a@b.example").endswith(".gif")
    assert (
        "mailto"
        not in LinkMaker(key=KEY, base_url="https://m.example").list_unsubscribe(1, "a@b.example")[
            "List-Unsubscribe"
        ]
    )


def test_finding_the_token_of_an_unsubscribe_mail() -> None:
    token = unsubscribe_token(key=KEY, sent_id=3, recipient="a@b.example")
    assert find_unsubscribe_token(f"UNSUB+{token.upper()}@b.example") == token
    assert find_unsubscribe_token(f"xunsub+{token}@b.example") is None
    folded = f'From: a@b.example\r\nTo: "List"\r\n\t<unsub+{token}@b.example>\r\n\r\nbody'
    assert unsubscribe_token_in_headers(folded.encode()) == token
    enclosed = (
        f"From: m@x\r\nTo: bounce@x\r\n\r\n"
        f"List-Unsubscribe: <mailto:unsub+{token}@b>\r\nTo: unsub+{token}@b\r\n"
    )
    assert unsubscribe_token_in_headers(enclosed.encode()) is None
    delivered = f"Delivered-To: unsub+{token}@b.example\nFrom: a@b\n\nhi".encode()
    assert unsubscribe_token_in_headers(delivered) == token


def test_webhook_signatures() -> None:
    secret, body = b"whsec_0123456789abcdef", b'{"id":"1","type":"event.bounced"}'
    header = signature_header(secret, 1_767_225_600, body)
    assert header.startswith("t=1767225600,v1=") and len(header.split("v1=")[1]) == 64
    assert verify(header, body, secret=secret, now=1_767_225_700) == 1_767_225_600
    assert verify(f"{header},v1={'0' * 64}", body, secret=secret, now=1_767_225_600)
    for bad_header, bad_body, now in [
        (header, body + b" ", 1_767_225_600),  # altered body
        (header, body, 1_767_226_000),  # stale
        (header.replace("t=1767225600", "t=1767225601"), body, 1_767_225_600),  # altered time
        ("v1=" + header.split("v1=")[1], body, 1_767_225_600),  # no timestamp
        (None, body, 1_767_225_600),
    ]:
        with pytest.raises(BadSignature):
            verify(bad_header, bad_body, secret=secret, now=now)
    with pytest.raises(BadSignature):
        verify(header, body, secret=b"another secret", now=1_767_225_600)
