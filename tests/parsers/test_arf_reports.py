"""ARF (RFC 5965/6650), RFC 6591 failure reports and non-ARF feedback, from our own builders."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parsers.feedback import detect_feedback
from parsers.mime import message_from_bytes
from parsers.records import FeedbackType, Kind, Reason, Report
from parsers.verp import encode
from tests.builders.reports import Arf, jmrp, mail

TOKEN_ADDRESS = encode(
    key=b"k", message_id=7, recipient="complainer@isp.example", bounce_domain="mail.sender.example"
)
TOKEN = TOKEN_ADDRESS.split("+", 1)[1].split("@", 1)[0]


def parse(raw: bytes) -> Report:
    report = detect_feedback(message_from_bytes(raw))
    assert report is not None
    return report


@pytest.mark.parametrize(
    ("wire", "expected", "kind"),
    [
        ("abuse", FeedbackType.ABUSE, Kind.COMPLAINT),
        ("fraud", FeedbackType.FRAUD, Kind.COMPLAINT),
        ("virus", FeedbackType.VIRUS, Kind.COMPLAINT),
        ("other", FeedbackType.OTHER, Kind.COMPLAINT),
        ("not-spam", FeedbackType.NOT_SPAM, Kind.COMPLAINT),
        ("opt-out", FeedbackType.OPT_OUT, Kind.COMPLAINT),
        ("auth-failure", FeedbackType.AUTH_FAILURE, Kind.AUTH_FAILURE),
        ("Abuse", FeedbackType.ABUSE, Kind.COMPLAINT),
        ("dmarc-whatever", FeedbackType.OTHER, Kind.COMPLAINT),  # RFC 5965 3.1: unknown = other
    ],
)
def test_every_feedback_type(wire: str, expected: FeedbackType, kind: Kind) -> None:
    report = parse(Arf(feedback_type=wire).build())
    assert report.kind is kind
    assert report.feedback is not None
    assert report.feedback.feedback_type is expected
    assert report.feedback.is_arf
    assert report.recipients[0].reason is Reason.FEEDBACK


@pytest.mark.parametrize("version", ["1", "0.1", "1.0"])
def test_versions_kept_verbatim(version: str) -> None:
    report = parse(Arf(version=version).build())
    assert report.feedback is not None and report.feedback.version == version


def test_foreign_plus_address_is_not_our_token() -> None:
    report = parse(Arf(mail_from="bounces+1137616-c1ad-u=isp.example@esp.example").build())
    assert report.original is not None and report.original.verp_token is None


def test_fields_and_original() -> None:
    report = parse(Arf(mail_from=TOKEN_ADDRESS).build())
    fb = report.feedback
    assert fb is not None
    assert fb.user_agent == "DW-Test-FBL/1.0"
    assert fb.original_mail_from == TOKEN_ADDRESS
    assert fb.arrival_date == datetime(2024, 1, 2, 9, 0, tzinfo=UTC)
    assert fb.reported_domain == ("sender.example",)
    assert fb.original_message_id == "<msg-1@sender.example>"
    original = report.original
    assert original is not None
    assert original.campaign == "camp-2024-01"
    assert original.verp_token == TOKEN
    assert original.list_id == "Weekly <weekly.sender.example>"
    assert original.to == "complainer@isp.example"
    assert not original.headers_only


def test_legacy_received_date() -> None:
    report = parse(
        Arf(arrival_field="Received-Date", arrival="Thu, 8 Mar 2005 14:00:00 EDT").build()
    )
    assert report.feedback is not None
    assert report.feedback.arrival_date == datetime(2005, 3, 8, 18, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("148.163.85.135 (mx.sender.example)", "148.163.85.135"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("x.x.x.x", "x.x.x.x"),
    ],
)
def test_source_ip_forms(raw: str, expected: str) -> None:
    report = parse(Arf(source_ip=raw).build())
    assert report.feedback is not None and report.feedback.source_ip == expected


def test_several_original_rcpt_to_give_one_recipient_each() -> None:
    report = parse(Arf(rcpt_to=("a@isp.example", "B@ISP.example", "a@isp.example")).build())
    assert [r.address for r in report.recipients] == ["a@isp.example", "B@isp.example"]
    assert all(r.reason is Reason.FEEDBACK and r.hard is None for r in report.recipients)


def test_redacted_report_gives_no_address() -> None:
    arf = Arf(
        rcpt_to=(),
        source_ip="x.x.x.x",
        enclosed_to="<Undisclosed Recipients>",
        extra_fields=(("Redacted-Address", "redacted"),),
    )
    report = parse(arf.build())
    assert [r.address for r in report.recipients] == [None]
    assert report.feedback is not None
    assert report.feedback.extensions == (("Redacted-Address", "redacted"),)


def test_enclosed_to_used_when_no_rcpt_field() -> None:
    report = parse(Arf(rcpt_to=(), enclosed_to='"Cat" <cat@isp.example>').build())
    assert [r.address for r in report.recipients] == ["cat@isp.example"]


def test_several_enclosed_to_addresses_are_not_guessed() -> None:
    report = parse(Arf(rcpt_to=(), enclosed_to="a@isp.example, b@isp.example").build())
    assert [r.address for r in report.recipients] == [None]


def test_provider_header_beats_enclosed_to() -> None:
    arf = Arf(rcpt_to=(), enclosed_headers=(("X-HmXmrOriginalRecipient", "real@isp.example"),))
    assert [r.address for r in parse(arf.build()).recipients] == ["real@isp.example"]


def test_headers_only_enclosure() -> None:
    report = parse(Arf(enclosure_type="text/rfc822-headers").build())
    assert report.original is not None and report.original.headers_only
    assert report.original.message_id == "<msg-1@sender.example>"


def test_truncated_message_rfc822_enclosure() -> None:
    report = parse(Arf(enclosed_body="").build())
    assert report.original is not None and report.original.headers_only


def test_unknown_fields_are_extensions_in_order() -> None:
    extra = (("Abuse-Type", "complaint"), ("Source", "ISP"), ("Subscription-Link", "https://x"))
    report = parse(Arf(extra_fields=extra).build())
    assert report.feedback is not None and report.feedback.extensions == extra


def test_base64_feedback_part_in_multipart_mixed() -> None:
    arf = Arf(
        feedback_type="auth-failure",
        feedback_cte="base64",
        top_type="multipart/mixed",
        extra_fields=(("Auth-Failure", "DMARC"), ("Delivery-Result", "Reject")),
    )
    report = parse(arf.build())
    fb = report.feedback
    assert report.kind is Kind.AUTH_FAILURE
    assert fb is not None and not fb.is_arf
    assert fb.auth_failure == "dmarc"
    assert fb.delivery_result == "reject"
    assert fb.original_rcpt_to == ("complainer@isp.example",)


def test_rfc6591_fields() -> None:
    fields = (
        ("Auth-Failure", "signature"),
        ("DKIM-Domain", "sender.example"),
        ("DKIM-Identity", "@sender.example"),
        ("DKIM-Selector", "s1"),
        ("SPF-DNS", "txt : sender.example : v=spf1 -all"),
        ("Identity-Alignment", "DKIM"),
        ("Reporting-MTA", "dns; mx.isp.example"),
    )
    fb = parse(Arf(feedback_type="auth-failure", extra_fields=fields).build()).feedback
    assert fb is not None
    assert (fb.auth_failure, fb.dkim_domain, fb.dkim_identity, fb.dkim_selector) == (
        "signature",
        "sender.example",
        "@sender.example",
        "s1",
    )
    assert fb.spf_dns == "txt : sender.example : v=spf1 -all"
    assert fb.identity_alignment == "dkim"
    assert fb.reporting_mta == "mx.isp.example"


def test_jmrp() -> None:
    report = parse(jmrp("Victim@Outlook.example"))
    assert report.kind is Kind.COMPLAINT
    assert report.family == "jmrp"
    assert [r.address for r in report.recipients] == ["Victim@outlook.example"]
    assert report.feedback is not None
    assert report.feedback.feedback_type is FeedbackType.ABUSE
    assert not report.feedback.is_arf


def test_unsubscribe_mail() -> None:
    raw = (
        b"From: Reader <reader@isp.example>\nTo: unsubscribe+"
        + TOKEN.encode()
        + b"@sender.example\n"
        b"Subject: Unsubscribe\nMessage-ID: <u1@isp.example>\n\n"
        b"This message was automatically generated.\n"
    )
    report = parse(raw)
    assert report.kind is Kind.COMPLAINT
    assert report.feedback is not None and report.feedback.feedback_type is FeedbackType.OPT_OUT
    assert [r.address for r in report.recipients] == ["reader@isp.example"]
    assert report.original is not None and report.original.verp_token == TOKEN


def test_exim_text_failure_report() -> None:
    body = (
        "A message claiming to be from you has failed the published DMARC\n"
        "policy for your domain.\n\n"
        "  Sender Domain: sender.example\n  Sender IP Address: 192.0.2.55\n"
        "  Received Date: Tue, 02 Jan 2024 10:00:00 +0000\n  SPF Alignment: no\n"
        "  DKIM Alignment: yes\n  DMARC Results: Reject\n\n"
        "Return-Path: <bounce@sender.example>\nFrom: boss@sender.example\n"
        "To: clerk@isp.example\nMessage-ID: <x1@sender.example>\nSubject: hi\n"
    )
    raw = (
        "From: mailer-daemon@isp.example\nTo: ruf@sender.example\n"
        "Subject: DMARC Forensic Report for sender.example from IP 192.0.2.55\n\n" + body
    )
    report = parse(raw.encode())
    fb = report.feedback
    assert report.kind is Kind.AUTH_FAILURE and fb is not None
    assert (fb.source_ip, fb.reported_domain, fb.delivery_result) == (
        "192.0.2.55",
        ("sender.example",),
        "reject",
    )
    assert fb.identity_alignment == "dkim"
    assert [r.address for r in report.recipients] == ["clerk@isp.example"]


def test_ordinary_mail_and_dsn_are_not_feedback() -> None:
    plain = b"From: a@b.example\nTo: c@d.example\nSubject: lunch?\n\nFeedback-Type: abuse\n"
    assert detect_feedback(message_from_bytes(plain)) is None
    dsn = mail(
        'multipart/report; report-type="delivery-status"',
        [
            ("text/plain", "7bit", "failed"),
            (
                "message/delivery-status",
                "7bit",
                "Reporting-MTA: dns; mx\n\n"
                "Final-Recipient: rfc822; x@y.example\nAction: failed\nStatus: 5.1.1\n",
            ),
        ],
    )
    assert detect_feedback(message_from_bytes(dsn)) is None


@pytest.mark.parametrize("ctype", ["text/plain", "text/feedback-report"])
def test_feedback_fields_in_a_mislabelled_part(ctype: str) -> None:
    report = parse(Arf(feedback_part_type=ctype).build())
    assert report.kind is Kind.COMPLAINT
    assert report.feedback is not None and report.feedback.feedback_type is FeedbackType.ABUSE
    assert [r.address for r in report.recipients] == ["complainer@isp.example"]
