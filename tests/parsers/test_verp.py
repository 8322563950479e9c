"""Signed VERP return paths: round trip, forgery, case folding, RFC 5321 length limit."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers.errors import ParseError
from parsers.verp import (
    BadVerpSignature,
    MalformedVerp,
    decode,
    encode,
    find_verp_token,
    recipient_hash,
)

KEY = b"k" * 32


def test_round_trip() -> None:
    address = encode(
        key=KEY,
        message_id=123456789,
        recipient="Alice@Example.org",
        bounce_domain="Bounces.Example.com",
    )
    local, domain = address.split("@")
    assert domain == "bounces.example.com"
    assert local.startswith("bounce+")
    token = decode(address, key=KEY)
    assert token.message_id == 123456789
    assert token.matches("alice@example.org")
    assert not token.matches("mallory@example.org")


def test_local_part_fits_rfc5321() -> None:
    address = encode(
        key=KEY, message_id=2**64 - 1, recipient="x@y.example", bounce_domain="b.example"
    )
    assert len(address.split("@")[0]) <= 64


def test_too_long_local_part_is_refused() -> None:
    with pytest.raises(ValueError, match="64"):
        encode(
            key=KEY,
            message_id=1,
            recipient="x@y.example",
            bounce_domain="b.example",
            local_part="a" * 40,
        )


@pytest.mark.parametrize(
    "bad",
    [
        {"key": b""},
        {"message_id": -1},
        {"message_id": 2**64},
        {"local_part": "a+b"},
        {"local_part": ""},
    ],
)
def test_encode_rejects_bad_arguments(bad: dict[str, object]) -> None:
    arguments: dict[str, object] = {
        "key": KEY,
        "message_id": 1,
        "recipient": "x@y.example",
        "bounce_domain": "b.example",
    }
    arguments.update(bad)
    with pytest.raises(ValueError):
        encode(**arguments)  # type: ignore[arg-type]


def test_mtas_that_change_case_do_not_break_the_token() -> None:
    address = encode(key=KEY, message_id=42, recipient="x@y.example", bounce_domain="b.example")
    assert decode(address.upper(), key=KEY).message_id == 42
    assert decode(address.lower(), key=KEY).message_id == 42


def test_wrong_key_is_a_bad_signature() -> None:
    address = encode(key=KEY, message_id=42, recipient="x@y.example", bounce_domain="b.example")
    with pytest.raises(BadVerpSignature):
        decode(address, key=b"other key")


def test_tampered_token_is_rejected() -> None:
    address = encode(key=KEY, message_id=42, recipient="x@y.example", bounce_domain="b.example")
    token = find_verp_token(address)
    assert token is not None
    flipped = token[:5] + ("a" if token[5] != "a" else "b") + token[6:]
    with pytest.raises(ParseError):
        decode(flipped, key=KEY)


@pytest.mark.parametrize("text", ["bounce@b.example", "bounce+short@b.example", "", "no token"])
def test_addresses_without_our_token(text: str) -> None:
    assert find_verp_token(text) is None
    with pytest.raises(MalformedVerp):
        decode(text, key=KEY)


def test_find_token_in_a_header_value() -> None:
    address = encode(key=KEY, message_id=9, recipient="x@y.example", bounce_domain="b.example")
    header = f"Return-Path: <{address}>"
    assert find_verp_token(header) == address.split("+")[1].split("@")[0]


def test_recipient_hash_ignores_case_and_spaces() -> None:
    assert recipient_hash(" Alice@Example.ORG ") == recipient_hash("alice@example.org")
    assert len(recipient_hash("a@b.c")) == 4


@settings(deadline=None, max_examples=100)
@given(st.integers(min_value=0, max_value=2**64 - 1), st.emails())
def test_round_trip_property(message_id: int, recipient: str) -> None:
    address = encode(
        key=KEY, message_id=message_id, recipient=recipient, bounce_domain="bounces.example.com"
    )
    token = decode(address, key=KEY)
    assert token.message_id == message_id
    assert token.matches(recipient)
