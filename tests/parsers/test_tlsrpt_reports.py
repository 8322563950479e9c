"""SMTP TLS reports (RFC 8460): bare, gzip and mailed JSON, with optional fields missing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from parsers.errors import NotAReport, ParseError
from parsers.feedback import detect_feedback, parse_report_document
from parsers.mime import message_from_bytes
from parsers.records import Kind
from parsers.tlsrpt import parse_tls_report
from tests.builders.reports import attachment_mail, gz, tls_json, tls_report


def test_fields_and_totals() -> None:
    tls = parse_tls_report(tls_json())
    assert (tls.organization_name, tls.report_id, tls.contact_info) == (
        "ISP Example",
        "2024-01-01T00:00:00Z_sender.example",
        "tlsrpt@isp.example",
    )
    assert tls.start_datetime == datetime(2024, 1, 1, tzinfo=UTC)
    assert tls.end_datetime == datetime(2024, 1, 1, 23, 59, 59, tzinfo=UTC)
    assert (len(tls.policies), tls.total_successful_sessions, tls.total_failure_sessions) == (
        1,
        10,
        2,
    )
    policy = tls.policies[0]
    assert (policy.policy_type, policy.policy_domain, policy.mx_hosts) == (
        "sts",
        "sender.example",
        ("mx.sender.example",),
    )
    detail = policy.failure_details[0]
    assert (detail.result_type, detail.receiving_ip, detail.failed_session_count) == (
        "certificate-expired",
        "203.0.113.5",
        2,
    )


def test_missing_optional_fields() -> None:
    policies = [
        {
            "policy": {"policy-type": "no-policy-found", "policy-domain": "sender.example"},
            "summary": {"total-successful-session-count": 3},
        }
    ]
    tls = parse_tls_report(tls_json(policies=policies, **{"contact-info": None}))
    assert tls.contact_info is None
    assert (tls.total_successful_sessions, tls.total_failure_sessions) == (3, 0)
    assert tls.policies[0].failure_details == ()


def test_mx_host_as_a_bare_string() -> None:
    doc = tls_report()
    doc["policies"][0]["policy"]["mx-host"] = "mx.sender.example"
    assert parse_tls_report(json.dumps(doc).encode()).policies[0].mx_hosts == ("mx.sender.example",)


@pytest.mark.parametrize("wrap", [lambda x: x, gz], ids=["json", "gzip"])
def test_bare_documents(wrap) -> None:  # type: ignore[no-untyped-def]
    report = parse_report_document(wrap(tls_json()))
    assert report is not None and report.kind is Kind.TLS_REPORT
    assert report.tls is not None and report.tls.total_failure_sessions == 2


@pytest.mark.parametrize(
    ("ctype", "wrap"),
    [
        ("application/tlsrpt+gzip", gz),
        ("application/tlsrpt+json", lambda x: x),
        ("application/tlsrpt", lambda x: x),
    ],
)
def test_mailed(ctype: str, wrap) -> None:  # type: ignore[no-untyped-def]
    raw = attachment_mail(ctype, wrap(tls_json()), "report.json")
    report = detect_feedback(message_from_bytes(raw))
    assert report is not None and report.kind is Kind.TLS_REPORT


def test_other_json_is_not_a_tls_report() -> None:
    with pytest.raises(NotAReport):
        parse_tls_report(b'{"notificationType": "Bounce"}')
    assert parse_report_document(b'{"notificationType": "Bounce"}') is None


def test_broken_json_is_unknown_with_error() -> None:
    with pytest.raises(ParseError):
        parse_tls_report(b'{"organization-name": ')
    report = parse_report_document(b'{"organization-name": ')
    assert report is not None and report.kind is Kind.UNKNOWN and report.error
