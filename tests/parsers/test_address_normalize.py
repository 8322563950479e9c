"""Address normalisation: one spelling per mailbox (RFC 5321 limits, IDNA, case)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsers.address import AddressError, normalize_address, normalize_domain


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (" Bob@Example.COM ", "bob@example.com"),
        ("<Bob@Example.com>", "bob@example.com"),
        ("mailto:bob@example.com", "bob@example.com"),
        ("user+tag@Sub.Example.org", "user+tag@sub.example.org"),
        ("user@bücher.example", "user@xn--bcher-kva.example"),
        ("user@XN--BCHER-KVA.example", "user@xn--bcher-kva.example"),
        ("Ünï@bücher.example", "ünï@xn--bcher-kva.example"),
        ('"john doe"@example.com', '"john doe"@example.com'),
        ("a@b.example.", "a@b.example"),
        ("postmaster@[192.0.2.1]", "postmaster@[192.0.2.1]"),
    ],
)
def test_normalize(raw: str, expected: str) -> None:
    assert normalize_address(raw) == expected


def test_local_part_case_kept_when_asked() -> None:
    assert normalize_address("Bob@EXAMPLE.com", lowercase_local=False) == "Bob@example.com"


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "bob",
        "@example.com",
        "bob@",
        "bob@localhost",
        "a b@example.com",
        "a..b@example.com",
        ".a@example.com",
        "a@exa_mple.com",
        "a@-x.example",
        "x" * 65 + "@example.com",
        "a@" + "b" * 64 + ".example",
        "a@" + ("abcdefghi." * 26) + "example",
        "nul\x00@example.com",
        '"nul\x00"@example.com',  # not even quoted (RFC 5321 4.1.2 qtextSMTP)
        "bad\udcffbyte@example.com",  # a byte that was not UTF-8, read with surrogateescape
        '"\udcff"@example.com',
    ],
)
def test_invalid(raw: str) -> None:
    with pytest.raises(AddressError):
        normalize_address(raw)


def test_domain_forms() -> None:
    assert normalize_domain("@Example.COM") == "example.com"
    assert normalize_domain("bücher.example") == "xn--bcher-kva.example"
    with pytest.raises(AddressError):
        normalize_domain("")


@given(st.emails())
def test_normalisation_is_idempotent(address: str) -> None:
    try:
        once = normalize_address(address)
    except AddressError:
        return
    assert normalize_address(once) == once


@given(st.text(max_size=80))
def test_never_raises_anything_but_address_error(text: str) -> None:
    with contextlib.suppress(AddressError):
        normalize_address(text)
