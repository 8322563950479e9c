"""Serialisation, recovery of the returned message, and auto-reply detection."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parsers import parse_message
from parsers.mime import message_from_bytes
from parsers.original import parse_date, recover_original
from parsers.records import Action, Kind, Original, Reason, Recipient, Report
from parsers.serialize import report_to_dict, to_jsonable
from parsers.verp import encode

KEY = b"test-key"


def test_serialisation_uses_values_z_dates_and_from() -> None:
    report = Report(
        kind=Kind.BOUNCE,
        recipients=(
            Recipient(
                address="a@example.org",
                reason=Reason.USER_UNKNOWN,
                action=Action.FAILED,
                status="5.1.1",
                hard=True,
                last_attempt_date=datetime(
                    2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))
                ),
            ),
        ),
        original=Original(from_="news@example.com", date=datetime(2024, 1, 2, 3, 4, 5)),
    )
    out = report_to_dict(report)
    json.dumps(out)  # must be JSON-serialisable as is
    assert out["kind"] == "bounce"
    (rcpt,) = out["recipients"]
    assert rcpt["reason"] == "userunknown" and rcpt["action"] == "failed"
    assert rcpt["last_attempt_date"] == "2024-01-02T03:04:05Z"
    assert out["original"]["from"] == "news@example.com" and "from_" not in out["original"]
    assert out["original"]["date"] == "2024-01-02T03:04:05Z"  # naive dates are taken as UTC
    for key in ("feedback", "dmarc", "tls", "error"):
        assert out[key] is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [(b"\x01\xff", "01ff"), ((1, "a"), [1, "a"]), ({1: Reason.EXPIRED}, {"1": "expired"})],
)
def test_to_jsonable_scalars(value: object, expected: object) -> None:
    assert to_jsonable(value) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Tue, 14 May 2024 11:12:00 +0200", "2024-05-14T09:12:00+00:00"),
        ("14 May 2024 09:12:00", "2024-05-14T09:12:00+00:00"),
        ("not a date", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_date(text: str | None, expected: str | None) -> None:
    parsed = parse_date(text)
    assert (parsed.isoformat() if parsed else None) == expected


def test_recover_original_reads_indented_headers_and_the_verp_token() -> None:
    verp = encode(key=KEY, message_id=42, recipient="bob@example.org", bounce_domain="b.example")
    text = (
        "\n\n    Return-Path: <" + verp + ">\n"
        "    Message-ID: <abc@example.com>\n"
        "    From: News <news@example.com>\n"
        "    To: bob@example.org\n"
        "    Subject: =?utf-8?q?Caf=C3=A9?=\n"
        "    List-Id: Weekly <weekly.example.com>\n"
        "    X-Campaign-ID: spring-24\n"
    )
    original = recover_original(text)
    assert original is not None
    assert original.message_id == "abc@example.com"
    assert original.subject == "Café"
    assert original.list_id == "weekly.example.com"
    assert original.campaign == "spring-24"
    assert original.verp_token is not None and original.verp_token in verp
    assert original.headers_only


def test_recover_original_without_headers_is_none() -> None:
    assert recover_original("just some text\nwithout any header\n") is None
    assert recover_original("") is None


def test_verp_token_is_taken_from_the_bounce_envelope_recipient() -> None:
    verp = encode(key=KEY, message_id=7, recipient="c@example.org", bounce_domain="b.example")
    raw = (
        f"Return-Path: <>\nX-Original-To: {verp}\nFrom: MAILER-DAEMON@mx.example.net\n"
        "Subject: Undelivered Mail Returned to Sender\nContent-Type: text/plain\n\n"
        "<c@example.org>: host mx.example.org said: 550 5.1.1 <c@example.org>: "
        "Recipient address rejected: User unknown in local recipient table\n"
    ).encode()
    report = parse_message(raw)
    assert report.original is not None and report.original.verp_token is not None
    assert report.original.verp_token in verp


def _reply(headers: str, body: str) -> Report:
    raw = f"From: Ann <ann@example.org>\nTo: news@example.com\n{headers}\n\n{body}\n"
    return parse_message(raw.encode())


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        ("Subject: Re: hello\nAuto-Submitted: auto-replied", "Thanks for your message."),
        ("Subject: Automatic reply: Spring sale", "I will reply when I am back."),
        ("Subject: Out of Office: news", "Back on Monday."),
        ("Subject: Re: news\nX-Autoreply: yes", "Noted."),
        ("Subject: news\nPrecedence: bulk", "I am currently out of the office until June."),
        ("Subject: =?utf-8?b?6Ieq5YuV5b+c562U?=", "不在にしております。"),
    ],
)
def test_auto_replies_name_the_replying_address(headers: str, body: str) -> None:
    report = _reply(headers, body)
    assert report.kind is Kind.AUTO_REPLY
    (rcpt,) = report.recipients
    assert rcpt.address == "ann@example.org" and rcpt.reason is Reason.VACATION
    assert rcpt.hard is None


@pytest.mark.parametrize(
    "headers",
    [
        "Subject: Re: your newsletter",  # a person writing back
        "Subject: news\nPrecedence: bulk",  # bulk mail without away wording
    ],
)
def test_ordinary_replies_are_not_auto_replies(headers: str) -> None:
    report = _reply(headers, "Please send me the price list.")
    assert report.kind is Kind.UNKNOWN and not report.recipients


def test_system_senders_are_never_auto_replies() -> None:
    raw = (
        b"From: MAILER-DAEMON@example.org\nAuto-Submitted: auto-replied\n"
        b"Subject: Automatic reply\n\nSomething happened.\n"
    )
    assert parse_message(raw).kind is not Kind.AUTO_REPLY


def test_auto_reply_message_is_parsed_from_mime() -> None:
    msg = message_from_bytes(b"From: a@example.org\nAuto-Submitted: auto-replied\n\nAway\n")
    assert msg["Auto-Submitted"] == "auto-replied"


_DAYS = st.sampled_from(["Tue, ", "Mon, ", "", "Foo, ", "Tue,", "tue, "])
_DATE_PARTS = st.tuples(
    _DAYS,
    st.sampled_from(["1", "14", "31", "00", "32", "014", "9"]),
    st.sampled_from(["May", "Feb", "may", "Mai", "Dec"]),
    st.sampled_from(["2024", "1999", "0999", "99", "24"]),
    st.sampled_from(["09:12:00", "23:59:60", "24:00:00", "9:12:00", "09:12"]),
    st.sampled_from(["+0200", "-0000", "+0000", "-0130", "+2400", "+0260", "GMT", "EDT", ""]),
    st.sampled_from(["", " (CEST)", "\n(x)", "(x)", "  ", " extra tokens"]),
)


@settings(max_examples=2000)
@given(_DATE_PARTS, st.sampled_from([" ", "  ", "\t"]))
def test_parse_date_agrees_with_the_stdlib(parts: tuple[str, ...], sep: str) -> None:
    day, dd, mm, yy, tm, tz, tail = parts
    value = day + sep.join(p for p in (dd, mm, yy, tm, tz) if p) + tail
    try:
        expected = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        expected = None
    if expected is not None and expected.tzinfo is None:
        expected = expected.replace(tzinfo=UTC)
    assert parse_date(value) == (expected.astimezone(UTC) if expected is not None else None)
    if expected is not None:
        assert parse_date(value).utcoffset() == expected.astimezone(UTC).utcoffset()
