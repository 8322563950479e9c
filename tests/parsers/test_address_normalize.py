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


def _outcome(address: str, *, lowercase_local: bool) -> str | None:
    try:
        return normalize_address(address, lowercase_local=lowercase_local)
    except AddressError:
        return None


#: ASCII local parts and domain labels around the fast path's edges: dots where they may
#: not be, hyphens at a label's ends, labels of 63 and 64 characters, quotes and spaces
#: (which only the general path takes), upper case (lowered before the fast path looks).
_LOCAL = st.text(alphabet="aZ09.-_+!#'`~\" ", max_size=66)
_LABEL = st.one_of(st.text(alphabet="aZ09-_", max_size=8), st.integers(60, 66).map("b".__mul__))


@pytest.mark.parametrize(
    "address",
    [
        "a@" + "b" * 63 + ".example",
        "a@" + "b" * 64 + ".example",
        "a@b-.example",
        "a@b.c-",
        "a@b..c",
        "x" * 64 + "@a.example",
        "x" * 65 + "@a.example",
        "a@" + ("b" * 62 + ".") * 4 + "cd",  # 254 characters
        "a@" + ("b" * 62 + ".") * 4 + "cde",  # 255
    ],
)
def test_the_fast_path_at_its_edges(address: str) -> None:
    assert _outcome(address, lowercase_local=True) == _outcome(address, lowercase_local=False)


@given(_LOCAL, st.lists(_LABEL, max_size=5))
def test_the_fast_path_answers_as_the_general_path(local: str, labels: list[str]) -> None:
    """The one-regex fast path for lower-case ASCII addresses (``lowercase_local``) gives
    the general path's answer: the general path alone reads the lowered address."""
    address = f"{local}@{'.'.join(labels)}"
    lowered = address.lower()
    assert _outcome(address, lowercase_local=True) == _outcome(lowered, lowercase_local=False)
