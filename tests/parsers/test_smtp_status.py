"""Finding RFC 3463 status codes and RFC 5321 reply codes in free text."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers import status
from parsers.records import Reason
from parsers.status import (
    find_command,
    find_reply,
    find_status,
    is_permanent,
    prefer_status,
    pseudo_status,
    reason_of_status,
    valid_reply,
    valid_status,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("550 5.1.1 <a@b.example>... User unknown", "5.1.1"),
        ("550-5.7.1 [192.0.2.1 13] Our system has detected", "5.7.1"),
        ("sorry, no mailbox here by that name. (#5.1.1)", "5.1.1"),
        ("host 192.0.2.55 said: 550 mailbox unavailable", None),  # an IPv4 address is no code
        ("Postfix 3.4.7 rejected it", None),  # nor is a version number
        ("451 4.4.7 expired, then 550 5.1.1 user unknown", "5.1.1"),  # specific beats 4.4.7
        ("5.0.0 failure", "5.0.0"),
        ("550 5.7.606 Access denied, banned sending IP", "5.7.606"),
        ("5.1.10 RESOLVER.ADR.RecipientNotFound", "5.1.10"),
        ("status 5.9.1 is not a valid subject", None),
        (None, None),
    ],
)
def test_find_status(text: str | None, expected: str | None) -> None:
    assert find_status(text) == expected


@pytest.mark.parametrize(
    ("text", "klass", "expected"),
    [
        ("550 5.1.1 user unknown", None, "550"),
        ("554 5.0.0 Service unavailable after 550 5.1.1 unknown", None, "550"),
        ("421 4.7.0 try later", "4", "421"),
        ("Diagnostic-Code: X-Unix; 550", None, None),
        ("id 15501 and 5501", None, None),
        ("192.0.2.250 said", None, None),
    ],
)
def test_find_reply(text: str, klass: str | None, expected: str | None) -> None:
    assert find_reply(text, klass) == expected


@pytest.mark.parametrize(
    ("field", "in_text", "reply", "expected"),
    [
        ("5.0.0", "5.1.1", "550", "5.1.1"),  # generic field, specific text
        ("5.1.1", "5.0.0", "550", "5.1.1"),
        ("5.5.0", "4.7.0", "421", "4.7.0"),  # the reply code's class decides
        ("4.4.7", "5.1.1", "", "5.1.1"),
        ("5.2.1", "5.2.1", "550", "5.2.1"),
        ("", "5.1.1", "", "5.1.1"),
        ("5.1.1", "", "", "5.1.1"),
    ],
)
def test_prefer_status(field: str, in_text: str, reply: str, expected: str) -> None:
    assert prefer_status(field, in_text, reply) == expected


def test_validity() -> None:
    assert valid_status("5.7.26") and not valid_status("3.1.1") and not valid_status("5.1")
    assert valid_reply("550") and valid_reply("354") and not valid_reply("571")
    assert not valid_reply("220x") and not valid_reply("199")


def test_reason_and_pseudo_status() -> None:
    assert reason_of_status("5.1.1") is Reason.USER_UNKNOWN
    assert reason_of_status("5.7.1") is Reason.SECURITY_ERROR
    assert reason_of_status("5.0.0") is None
    assert pseudo_status(Reason.MAILBOX_FULL) == "5.0.922"
    assert pseudo_status(Reason.MAILBOX_FULL, permanent=False) == "4.0.922"
    assert pseudo_status(Reason.USER_UNKNOWN, permanent=False) == "5.0.911"
    assert pseudo_status(Reason.VACATION) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("550 user unknown", True),
        ("451 try again", False),
        ("temporary failure", False),
        ("permanent error", True),
        ("no idea", None),
        ("250 2.0.0 ok", None),
        (None, None),
    ],
)
def test_is_permanent(text: str | None, expected: bool | None) -> None:
    assert is_permanent(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("550 5.1.1 unknown (in reply to RCPT TO command)", "RCPT"),
        ("(in reply to end of DATA command)", "DATA"),
        ("after MAIL FROM:<a@b>", "MAIL"),
        ("DATABASE@example.org is fine", None),
        ("rcpt to lower case is not a command", None),
    ],
)
def test_find_command(text: str, expected: str | None) -> None:
    assert find_command(text) == expected


@given(st.text(alphabet="0123456789..a _-\xe9\u0663", max_size=30))
def test_ipv4_scrub_pattern_is_the_plain_one(text: str) -> None:
    # status._IPV4 is r"\b(?:\d{1,3}\.){3}\d{1,3}\b" rewritten to start with a digit
    plain = re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b")
    assert status._IPV4.sub("*", text) == plain.sub("*", text)


def _find_status_plain(text: str | None, reply_class: str | None = None) -> str | None:
    # find_status as first written: its patterns in their plain form, no short cuts
    if not text or len(text) < 5 or "." not in text:
        return None
    scrubbed = re.sub(r"\b(?:\d{1,3}\.){3}\d{1,3}\b", "***.***.***.***", text)
    fallback = None
    for match in re.finditer(r"(?<![0-9./vV])([245])\.([0-7])\.([0-9]{1,3})(?![0-9])", scrubbed):
        if reply_class and match.group(1) != reply_class[0]:
            continue
        code = match.group(0)
        if code[1:] == ".0.0" or code == "4.4.7":
            fallback = fallback or code
            continue
        return code
    return fallback


def _find_reply_plain(text: str | None, status_class: str | None = None) -> str | None:
    # find_reply as first written: every candidate code looked for
    if not text or len(text) < 3 or "x-unix;" in text.lower():
        return None
    padded = f" {text} "
    for code in status._REPLY_BY_CLASS.get((status_class or "")[:1], status._REPLY_ALL):
        index = padded.find(code)
        if index < 0:
            continue
        before, after = padded[index - 1], padded[index + 3]
        if before.isdigit() or before in "./" or after.isdigit() or after in "./":
            continue
        return code
    return None


_CODES = st.sampled_from(
    [
        *("5", "50", "550", "554", "451", "250", "354", "1", "0", "9", " ", ".", "/", "-"),
        *("5.1.1", "5.7.26", "4.4.7", "2.0.0", "5.0.0", "v", "V", "x", "X-Unix;", "\u0663"),
        *("192.0.2.1", "5.1.1.10", "4.2.2.2"),
    ]
)


@settings(max_examples=1000)
@given(st.lists(_CODES, max_size=12).map("".join), st.sampled_from([None, "2", "4", "5"]))
def test_code_finders_agree_with_their_plain_forms(text: str, klass: str | None) -> None:
    assert find_status(text, klass) == _find_status_plain(text, klass)
    assert find_reply(text, klass) == _find_reply_plain(text, klass)
