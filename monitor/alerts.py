"""Turn check results into change events, and deliver them (log, webhook, email).

A result alone is not an alert: a listing that was already known yesterday must not page
anyone again. :func:`detect_listing_changes` and :func:`detect_auth_changes` compare the
previous *decided* state of each subject (what :mod:`monitor.store.checks_repo` returns; a
timeout or SERVFAIL never replaces it) with the new result and emit an :class:`Alert` only
on a transition: newly listed, delisted, SPF now failing, DKIM key changed or missing, DMARC
weakened, another check now failing.

Every alert is logged once (WARNING) when it is recorded; the webhook (a JSON POST) and the
mail through the configured SMTP server are delivery channels whose failures are recorded
per alert and retried at the next run (:mod:`monitor.checks.watch`). The webhook body
carries each alert's stored ``id`` so a receiver can drop the duplicate a retry may cause
when a POST succeeded but its answer was lost.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import make_msgid
from enum import StrEnum
from typing import Any

from monitor.checks.dnsbl import ListingResult
from monitor.checks.result import AuthResult, CheckKind, Status
from monitor.checks.zones import ListingStatus
from monitor.config.secret import mask_url
from monitor.errors import MonitorError
from parsers.dnsrec.dmarc import policy_rank

__all__ = [
    "Alert",
    "AlertChannels",
    "AlertKind",
    "Channel",
    "DeliveryError",
    "Severity",
    "SmtpTarget",
    "deliver",
    "detect_auth_changes",
    "detect_listing_changes",
    "log_alerts",
]

log = logging.getLogger(__name__)


class AlertKind(StrEnum):
    """Transitions worth telling a human about."""

    NEWLY_LISTED = "newly_listed"
    DELISTED = "delisted"
    SPF_NOW_FAILING = "spf_now_failing"
    DKIM_KEY_CHANGED = "dkim_key_changed"
    DKIM_KEY_MISSING = "dkim_key_missing"
    DMARC_WEAKENED = "dmarc_weakened"
    CHECK_NOW_FAILING = "check_now_failing"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


_SEVERITY = {
    AlertKind.NEWLY_LISTED: Severity.CRITICAL,
    AlertKind.DELISTED: Severity.INFO,
    AlertKind.SPF_NOW_FAILING: Severity.CRITICAL,
    AlertKind.DKIM_KEY_CHANGED: Severity.WARNING,
    AlertKind.DKIM_KEY_MISSING: Severity.CRITICAL,
    AlertKind.DMARC_WEAKENED: Severity.WARNING,
    AlertKind.CHECK_NOW_FAILING: Severity.WARNING,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """One event; ``subject`` is the IP/domain/record it concerns, ``key`` the zone or check."""

    kind: AlertKind
    subject: str
    summary: str
    detail: str = ""
    key: str = ""
    old_status: str | None = None
    new_status: str | None = None
    id: int | None = None  # set once stored
    created_at: datetime | None = None

    @property
    def severity(self) -> Severity:
        return _SEVERITY[self.kind]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind.value,
            "severity": self.severity.value,
            "subject": self.subject,
            "key": self.key,
            "summary": self.summary,
            "detail": self.detail,
            "old_status": self.old_status,
            "new_status": self.new_status,
            "created_at": self.created_at.isoformat() if self.created_at else None,
        }


# --------------------------------------------------------------------------- detection


def detect_listing_changes(
    previous: Mapping[tuple[str, str], ListingStatus], results: Iterable[ListingResult]
) -> list[Alert]:
    """Newly listed / delisted per (target, zone); errors and unknowns change nothing."""
    alerts: list[Alert] = []
    for r in results:
        before = previous.get((r.target, r.zone))
        if r.status is ListingStatus.LISTED and before is not ListingStatus.LISTED:
            kind, summary = AlertKind.NEWLY_LISTED, f"{r.target} is now listed on {r.zone_name}"
            detail = (
                f"{', '.join(r.categories)}; {r.reason or ''}; "
                f"delist: {r.delist_url or 'see the list operator'}"
            )
        elif r.status is ListingStatus.NOT_LISTED and before is ListingStatus.LISTED:
            kind, summary = AlertKind.DELISTED, f"{r.target} is no longer listed on {r.zone_name}"
            detail = ""
        else:
            continue
        alerts.append(
            Alert(
                kind=kind,
                subject=r.target,
                summary=summary,
                detail=detail,
                key=r.zone,
                old_status=before.value if before else None,
                new_status=r.status.value,
            )
        )
    return alerts


def _dkim_change(before: AuthResult, now: AuthResult) -> tuple[AlertKind, str, str] | None:
    if "record_missing" in now.findings and "record_missing" not in before.findings:
        return AlertKind.DKIM_KEY_MISSING, f"DKIM key {now.subject} disappeared", ""
    old, new = before.details.get("fingerprint"), now.details.get("fingerprint")
    if old and new and old != new:
        return AlertKind.DKIM_KEY_CHANGED, f"DKIM key {now.subject} changed", f"{old} -> {new}"
    return None


def _auth_change(before: AuthResult, now: AuthResult) -> tuple[AlertKind, str, str] | None:
    failing = now.status is Status.FAIL and before.status is not Status.FAIL
    if now.kind is CheckKind.DKIM:
        change = _dkim_change(before, now)
        if change is not None:
            return change
    if now.kind is CheckKind.DMARC:
        old_p, new_p = before.details.get("effective_policy"), now.details.get("effective_policy")
        if policy_rank(new_p) < policy_rank(old_p) or failing:
            summary = f"DMARC policy of {now.subject} weakened"
            return AlertKind.DMARC_WEAKENED, summary, f"{before.record} -> {now.record}"
    if failing:
        kind = (
            AlertKind.SPF_NOW_FAILING if now.kind is CheckKind.SPF else AlertKind.CHECK_NOW_FAILING
        )
        summary = f"{now.kind.value} check of {now.subject} now fails"
        return kind, summary, f"{', '.join(now.findings)}; fix: {now.fix or '-'}"
    return None


def detect_auth_changes(
    previous: Mapping[tuple[str, str], AuthResult], results: Iterable[AuthResult]
) -> list[Alert]:
    """Compare with the last decided result of the same (kind, subject); first runs alert on
    failures only (there is nothing to compare a key fingerprint with yet)."""
    alerts: list[Alert] = []
    for now in results:
        if now.status is Status.UNKNOWN:
            continue  # an incomplete check proves nothing either way
        known = previous.get((now.kind.value, now.subject))
        # First run: compare with a PASS baseline with the same policy.
        before = known or AuthResult(
            kind=now.kind,
            subject=now.subject,
            status=Status.PASS,
            details={"effective_policy": now.details.get("effective_policy", "")},
        )
        change = _auth_change(before, now)
        if change is not None:
            kind, summary, detail = change
            alerts.append(
                Alert(
                    kind=kind,
                    subject=now.subject,
                    summary=summary,
                    detail=detail,
                    key=now.kind.value,
                    old_status=known.status.value if known else None,
                    new_status=now.status.value,
                )
            )
    return alerts


def log_alerts(alerts: Iterable[Alert]) -> None:
    """The log line every alert gets, whatever the channels (once, when it is recorded)."""
    for alert in alerts:
        log.warning(
            "alert %s [%s]: %s %s",
            alert.kind.value,
            alert.severity.value,
            alert.summary,
            alert.detail,
        )


# --------------------------------------------------------------------------- delivery


class Channel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"


class DeliveryError(MonitorError):
    """A channel refused or could not be reached; the alert stays pending."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpTarget:
    """Where alert mail goes (the secrets come from config, never from logs)."""

    host: str
    port: int
    sender: str
    recipients: tuple[str, ...]
    starttls: bool = False
    username: str | None = None
    password: str | None = None
    timeout: float = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertChannels:
    """The configured delivery channels (none: alerts are only logged)."""

    webhook_url: str | None = None
    smtp: SmtpTarget | None = None
    timeout: float = 10.0

    @property
    def names(self) -> tuple[Channel, ...]:
        found = []
        if self.webhook_url:
            found.append(Channel.WEBHOOK)
        if self.smtp is not None and self.smtp.recipients:
            found.append(Channel.EMAIL)
        return tuple(found)


def _post(url: str, alerts: Sequence[Alert], timeout: float) -> None:
    if not url.startswith(("http://", "https://")):
        raise DeliveryError(f"webhook URL must be http(s): {mask_url(url)!r}")
    body = json.dumps({"alerts": [a.as_json() for a in alerts]}).encode()
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            status = response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"webhook answered {exc.code}") from exc
    except OSError as exc:  # URLError, timeouts, refused connections
        raise DeliveryError(f"webhook unreachable: {exc}") from exc
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook answered {status}")


def _mail(target: SmtpTarget, alerts: Sequence[Alert]) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"] = target.sender, ", ".join(target.recipients)
    msg["Message-ID"] = make_msgid(domain=target.sender.rpartition("@")[2] or None)
    worst = max(alerts, key=lambda a: list(Severity).index(a.severity))
    msg["Subject"] = f"[deliverwatch] {len(alerts)} alert(s): {worst.summary}"
    msg.set_content(
        "\n\n".join(f"[{a.severity}] {a.summary}\n{a.detail}".strip() for a in alerts) + "\n"
    )
    try:
        with smtplib.SMTP(target.host, target.port, timeout=target.timeout) as smtp:
            if target.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if target.username and target.password:
                smtp.login(target.username, target.password)
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"alert mail via {target.host}:{target.port} failed: {exc}") from exc


def deliver(channel: Channel, channels: AlertChannels, alerts: Sequence[Alert]) -> None:
    """Send ``alerts`` through one channel; raises :class:`DeliveryError` on failure."""
    if channel is Channel.WEBHOOK and channels.webhook_url:
        _post(channels.webhook_url, alerts, channels.timeout)
    elif channel is Channel.EMAIL and channels.smtp is not None:
        _mail(channels.smtp, alerts)
    else:
        raise DeliveryError(f"channel {channel} is not configured")
