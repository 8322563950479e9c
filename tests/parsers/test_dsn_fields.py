"""The RFC 3464 field reader: grouping, folding, odd spellings, RFC 6533 addresses."""

from __future__ import annotations

import pytest

from parsers.dsn import clean_address, normalize_action, parse_fields


def test_groups_folding_and_per_message_fields() -> None:
    per_message, failures = parse_fields(
        "Reporting-MTA: dns; mx.example.net\n"
        "Arrival-Date: Tue, 14 May 2024 09:12:01 +0000\n\n"
        "Final-Recipient: rfc822; <A@Example.ORG>\n"
        "Action: failure\n"
        "Status: 5.1.1 (permanent failure)\n"
        "Diagnostic-Code: smtp; 550 5.1.1 this answer\n"
        "  is folded\n\n"
        "Final-Recipient: rfc822; b@example.org\n"
        "Action: expired\n"
        "Status: 4.4.7\n"
    )
    assert per_message.reporting_mta == "mx.example.net"
    assert [f.address for f in failures] == ["A@example.org", "b@example.org"]
    first, second = failures
    assert (first.action, first.status, first.diagnostic_type) == ("failed", "5.1.1", "SMTP")
    assert first.diagnostic == "550 5.1.1 this answer is folded"
    assert (second.action, second.status, second.reason) == ("failed", "4.4.7", "expired")


def test_postfix_order_original_after_final() -> None:
    _, failures = parse_fields(
        "Final-Recipient: rfc822; a@example.org\nOriginal-Recipient: rfc822;alias@example.org\n"
        "Action: failed\nStatus: 5.1.1\n"
        "Final-Recipient: rfc822; b@example.org\nOriginal-Recipient: rfc822;b@example.org\n"
        "Action: failed\nStatus: 5.2.2\n"
    )
    assert [(f.address, f.original_recipient, f.status) for f in failures] == [
        ("a@example.org", "alias@example.org", "5.1.1"),
        ("b@example.org", "b@example.org", "5.2.2"),
    ]


def test_status_field_holding_a_reply_text() -> None:
    _, failures = parse_fields("Final-Recipient: rfc822; a@b.example\nStatus: 553 Exceeded size\n")
    assert failures[0].status == ""
    assert failures[0].alt_diagnostic == "553 Exceeded size"


def test_clean_address() -> None:
    assert clean_address("rfc822; <Jo@Example.COM>") == "Jo@example.com"
    assert clean_address("utf-8; jos\\x{E9}@example.fr") == "josé@example.fr"
    assert clean_address("rfc822; user@localhost") == "user@localhost"
    assert clean_address("rfc822; |/usr/bin/procmail") == ""
    assert clean_address("rfc822; nodomain@") == ""


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ('rfc822; "a..b"@Example.ORG', '"a..b"@example.org'),  # RFC 5321 quoted string
        ('<"john smith"@example.org>: host said', '"john smith"@example.org'),
        ('rfc822; "a\\"b"@example.org', '"a\\"b"@example.org'),  # a quoted pair kept
        ('rfc822; "jo.smith"@example.org', "jo.smith@example.org"),  # a dot-atom: unquoted
        ('"Jo Smith" <jo@example.org>', "jo@example.org"),  # a display name is no local part
        ('"jo@example.org"', "jo@example.org"),  # an address in quotes
        ('"jo@example.org".', "jo@example.org"),
    ],
)
def test_clean_address_quoted_local_part(value: str, address: str) -> None:
    assert clean_address(value) == address


def test_normalize_action() -> None:
    assert [
        normalize_action(v)
        for v in ("Failed", "delayed", "deliverable", "relayed", "expanded", "expired", "unknown")
    ] == ["failed", "delayed", "delivered", "relayed", "expanded", "failed", ""]
