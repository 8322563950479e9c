"""SMTP paths and parameters the relay accepts or refuses (RFC 5321 4.1.2, RFC 3461)."""

from __future__ import annotations

import pytest

from parsers.smtppath import PathError, parse_params, parse_path, xtext_decode


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("<a@b.example>", "a@b.example"),
        ("<First.Last+tag@Example.COM.>", "First.Last+tag@example.com"),
        ('<"a..b"@example.org>', '"a..b"@example.org'),
        ('<"with space"@example.org>', '"with space"@example.org'),
        ("a@b.example", "a@b.example"),  # no brackets: taken, as Postfix does
        ("<a@xn--bcher-kva.example>", "a@xn--bcher-kva.example"),
    ],
)
def test_accepted(text: str, address: str) -> None:
    path = parse_path(text)
    assert path is not None and path.address == address


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("<@relay.example:victim@target.example>", "source route"),
        ("<@a.example,@b.example:victim@target.example>", "source route"),
        ("<victim%target.example@us.example>", "'%'"),
        ("<target.example!victim@us.example>", "'!'"),
        ('<"victim@target.example"@us.example>', "quoted"),
        ('<"victim%target"@us.example>', "quoted"),
        ("<victim@[192.0.2.1]>", "literal"),
        ("<victim@[IPv6:2001:db8::1]>", "literal"),
        ("<postmaster@localhost>", "fully qualified"),
        ("<a..b@example.org>", "empty label"),
        ("<a@-bad-.example>", "not a valid domain"),
        ("<ünï@example.org>", "SMTPUTF8"),
        ("<a@bücher.example>", "SMTPUTF8"),
        ("<nobody>", "local part and a domain"),
        ("<" + "x" * 65 + "@example.org>", "64 octets"),
        ("a b@example.org", "angle brackets"),
    ],
)
def test_refused(text: str, why: str) -> None:
    with pytest.raises(PathError, match=why):
        parse_path(text)


def test_null_path_and_smtputf8() -> None:
    assert parse_path("<>") is None
    path = parse_path("<ünï@bücher.example>", smtputf8=True)
    assert path is not None and path.domain == "xn--bcher-kva.example" and path.local == "ünï"


def test_parameters_and_xtext() -> None:
    params = parse_params("SIZE=1000 body=8BITMIME NOTIFY=FAILURE,DELAY ORCPT=rfc822;a+2Bb@x.org")
    assert params == {
        "SIZE": "1000",
        "BODY": "8BITMIME",
        "NOTIFY": "FAILURE,DELAY",
        "ORCPT": "rfc822;a+2Bb@x.org",
    }
    assert parse_params("SMTPUTF8") == {"SMTPUTF8": None}
    assert xtext_decode("rfc822;a+2Bb@x.org") == "rfc822;a+b@x.org"
    with pytest.raises(PathError):
        xtext_decode("a+zz")
    with pytest.raises(PathError):
        parse_params("SIZE=1 SIZE=2")
