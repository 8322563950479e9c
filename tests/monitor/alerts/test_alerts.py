"""Change detection and alert delivery to a loopback webhook and an aiosmtpd sink."""

from __future__ import annotations

import pytest

from monitor.alerts import (
    Alert,
    AlertChannels,
    AlertKind,
    Channel,
    DeliveryError,
    Severity,
    SmtpTarget,
    deliver,
    log_alerts,
)
from monitor.checks.changes import detect_auth_changes, detect_listing_changes
from monitor.checks.dnsbl import ListingResult
from monitor.checks.result import AuthResult, CheckKind, Status
from monitor.checks.zones import ListingStatus
from tests.monitor.checks.helpers import Webhook
from tests.servers.smtp import SmtpSink


def _listing(status: ListingStatus) -> ListingResult:
    return ListingResult(
        target="192.0.2.1",
        zone="bl.spamcop.net",
        zone_name="SpamCop",
        status=status,
        categories=("listed",),
        delist_url="https://x.test/",
    )


def test_listing_transitions() -> None:
    listed = detect_listing_changes({}, [_listing(ListingStatus.LISTED)])
    assert [a.kind for a in listed] == [AlertKind.NEWLY_LISTED]
    again = {("192.0.2.1", "bl.spamcop.net"): ListingStatus.LISTED}
    assert detect_listing_changes(again, [_listing(ListingStatus.LISTED)]) == []
    assert detect_listing_changes(again, [_listing(ListingStatus.UNKNOWN)]) == []
    gone = detect_listing_changes(again, [_listing(ListingStatus.NOT_LISTED)])
    assert [a.kind for a in gone] == [AlertKind.DELISTED]


def _auth(kind: CheckKind, status: Status, **details: str) -> AuthResult:
    findings = ("record_missing",) if details.pop("missing", "") else ()
    return AuthResult(
        kind=kind, subject="example.com", status=status, findings=findings, details=details
    )


def test_auth_transitions() -> None:
    prev = {
        ("spf", "example.com"): _auth(CheckKind.SPF, Status.PASS),
        ("dkim", "example.com"): _auth(CheckKind.DKIM, Status.PASS, fingerprint="aa"),
        ("dmarc", "example.com"): _auth(CheckKind.DMARC, Status.PASS, effective_policy="reject"),
    }
    now = [
        _auth(CheckKind.SPF, Status.FAIL),
        _auth(CheckKind.DKIM, Status.PASS, fingerprint="bb"),
        _auth(CheckKind.DMARC, Status.WARN, effective_policy="none"),
    ]
    kinds = [a.kind for a in detect_auth_changes(prev, now)]
    assert kinds == [
        AlertKind.SPF_NOW_FAILING,
        AlertKind.DKIM_KEY_CHANGED,
        AlertKind.DMARC_WEAKENED,
    ]
    missing = [_auth(CheckKind.DKIM, Status.FAIL, missing="y")]
    assert [a.kind for a in detect_auth_changes(prev, missing)] == [AlertKind.DKIM_KEY_MISSING]
    assert detect_auth_changes(prev, [_auth(CheckKind.SPF, Status.UNKNOWN)]) == []


def _alert() -> Alert:
    return detect_listing_changes({}, [_listing(ListingStatus.LISTED)])[0]


def test_alert_fields_for_storage() -> None:
    alert = _alert()
    assert alert.severity is Severity.CRITICAL
    assert (alert.key, alert.old_status, alert.new_status) == ("bl.spamcop.net", None, "listed")
    assert alert.as_json()["kind"] == "newly_listed"


def test_webhook_and_email_delivery() -> None:
    alert = _alert()
    with Webhook() as hook, SmtpSink() as sink:
        channels = AlertChannels(
            webhook_url=hook.url,
            smtp=SmtpTarget(
                host="127.0.0.1",
                port=sink.port,
                sender="dw@example.com",
                recipients=("ops@example.com",),
            ),
        )
        assert channels.names == (Channel.WEBHOOK, Channel.EMAIL)
        deliver(Channel.WEBHOOK, channels, [alert])
        deliver(Channel.EMAIL, channels, [alert])
    assert hook.posts[0]["alerts"][0]["kind"] == "newly_listed"
    assert hook.posts[0]["alerts"][0]["severity"] == "critical"
    assert sink.messages[0].rcpt_tos == ["ops@example.com"]
    assert b"is now listed on SpamCop" in sink.messages[0].content
    assert b"Message-ID:" in sink.messages[0].content


def test_refused_deliveries_raise_delivery_error() -> None:
    with Webhook(status=503) as hook:
        channels = AlertChannels(webhook_url=hook.url, timeout=2)
        with pytest.raises(DeliveryError, match="503"):
            deliver(Channel.WEBHOOK, channels, [_alert()])
    closed = AlertChannels(
        webhook_url="http://127.0.0.1:9/",
        smtp=SmtpTarget(host="127.0.0.1", port=9, sender="a@b.c", recipients=("x@y.z",)),
        timeout=1,
    )
    for channel in (Channel.WEBHOOK, Channel.EMAIL):
        with pytest.raises(DeliveryError):
            deliver(channel, closed, [_alert()])


def test_alerts_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    log_alerts([_alert()])
    assert "newly_listed [critical]" in caplog.text
