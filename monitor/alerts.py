"""Turn check results into change events, and events into alerts (log, webhook, email).

A result alone is not an alert: a listing that was already known yesterday must not page
anyone again. :func:`detect_changes` compares the previous state of each subject with the new
result and emits an :class:`Alert` only on a transition: newly listed, delisted, SPF now
failing, DKIM key changed or missing, DMARC weakened. Every alert is logged (WARNING);
:func:`dispatch` also POSTs it as JSON to a webhook and/or mails it through an SMTP server,
each in a worker thread so the daemon's event loop never blocks on them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import smtplib
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from enum import StrEnum

from monitor.checks.dnsbl import ListingResult
from monitor.checks.result import AuthResult, CheckKind, Status
from monitor.checks.zones import ListingStatus
from monitor.errors import MonitorError
from parsers.dnsrec.dmarc import policy_rank

__all__ = [
    "Alert",
    "AlertKind",
    "SmtpTarget",
    "detect_auth_changes",
    "detect_listing_changes",
    "dispatch",
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


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """One event; ``subject`` is the IP/domain/record name it concerns."""

    kind: AlertKind
    subject: str
    summary: str
    detail: str = ""


def detect_listing_changes(
    previous: Mapping[tuple[str, str], ListingStatus], results: Iterable[ListingResult]
) -> list[Alert]:
    """Newly listed / delisted per (target, zone); errors and unknowns change nothing."""
    alerts: list[Alert] = []
    for r in results:
        before = previous.get((r.target, r.zone))
        if r.status is ListingStatus.LISTED and before is not ListingStatus.LISTED:
            alerts.append(
                Alert(
                    kind=AlertKind.NEWLY_LISTED,
                    subject=r.target,
                    summary=f"{r.target} is now listed on {r.zone_name}",
                    detail=f"{', '.join(r.categories)}; {r.reason or ''}; "
                    f"delist: {r.delist_url or 'see the list operator'}",
                )
            )
        elif r.status is ListingStatus.NOT_LISTED and before is ListingStatus.LISTED:
            alerts.append(
                Alert(
                    kind=AlertKind.DELISTED,
                    subject=r.target,
                    summary=f"{r.target} is no longer listed on {r.zone_name}",
                )
            )
    return alerts


def _auth_change(before: AuthResult, now: AuthResult) -> Alert | None:
    failing = now.status is Status.FAIL and before.status is not Status.FAIL
    if now.kind is CheckKind.DKIM:
        if "record_missing" in now.findings and "record_missing" not in before.findings:
            return Alert(
                kind=AlertKind.DKIM_KEY_MISSING,
                subject=now.subject,
                summary=f"DKIM key {now.subject} disappeared",
            )
        old, new = before.details.get("fingerprint"), now.details.get("fingerprint")
        if old and new and old != new:
            return Alert(
                kind=AlertKind.DKIM_KEY_CHANGED,
                subject=now.subject,
                summary=f"DKIM key {now.subject} changed",
                detail=f"{old} -> {new}",
            )
    if now.kind is CheckKind.DMARC:
        old_p, new_p = before.details.get("effective_policy"), now.details.get("effective_policy")
        if policy_rank(new_p) < policy_rank(old_p) or failing:
            return Alert(
                kind=AlertKind.DMARC_WEAKENED,
                subject=now.subject,
                summary=f"DMARC policy of {now.subject} weakened",
                detail=f"{before.record} -> {now.record}",
            )
    if failing:
        kind = (
            AlertKind.SPF_NOW_FAILING if now.kind is CheckKind.SPF else AlertKind.CHECK_NOW_FAILING
        )
        return Alert(
            kind=kind,
            subject=now.subject,
            summary=f"{now.kind.value} check of {now.subject} now fails",
            detail=f"{', '.join(now.findings)}; fix: {now.fix or '-'}",
        )
    return None


def detect_auth_changes(
    previous: Mapping[tuple[str, str], AuthResult], results: Iterable[AuthResult]
) -> list[Alert]:
    """Compare with the last stored result of the same (kind, subject); first runs alert on
    failures only (there is nothing to compare a key fingerprint with yet)."""
    alerts: list[Alert] = []
    for now in results:
        before = previous.get((now.kind.value, now.subject))
        if before is None:  # first run: a PASS baseline with the same policy
            policy = now.details.get("effective_policy", "")
            before = AuthResult(
                kind=now.kind,
                subject=now.subject,
                status=Status.PASS,
                details={"effective_policy": policy},
            )
        if now.status is Status.UNKNOWN:
            continue  # an incomplete check proves nothing either way
        alert = _auth_change(before, now)
        if alert is not None:
            alerts.append(alert)
    return alerts


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


def _post(url: str, alerts: Sequence[Alert], timeout: float) -> None:
    if not url.startswith(("http://", "https://")):
        raise MonitorError(f"webhook URL must be http(s): {url!r}")
    body = json.dumps({"alerts": [asdict(a) for a in alerts]}).encode()
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        if response.status >= 300:
            raise MonitorError(f"webhook answered {response.status}")


def _mail(target: SmtpTarget, alerts: Sequence[Alert]) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"] = target.sender, ", ".join(target.recipients)
    msg["Subject"] = f"[deliverwatch] {len(alerts)} alert(s): {alerts[0].summary}"
    msg.set_content("\n\n".join(f"{a.summary}\n{a.detail}".strip() for a in alerts))
    with smtplib.SMTP(target.host, target.port, timeout=target.timeout) as smtp:
        if target.starttls:
            smtp.starttls()
        if target.username and target.password:
            smtp.login(target.username, target.password)
        smtp.send_message(msg)


async def dispatch(
    alerts: Sequence[Alert],
    *,
    webhook_url: str | None = None,
    smtp: SmtpTarget | None = None,
    timeout: float = 10.0,
) -> list[str]:
    """Log every alert, then deliver; returns the channels that failed (never raises)."""
    for alert in alerts:
        log.warning("alert %s: %s %s", alert.kind.value, alert.summary, alert.detail)
    failed: list[str] = []
    if not alerts:
        return failed
    if webhook_url:
        try:
            await asyncio.to_thread(_post, webhook_url, alerts, timeout)
        except (OSError, MonitorError) as exc:
            log.error("alert webhook failed: %s", exc)
            failed.append("webhook")
    if smtp is not None:
        try:
            await asyncio.to_thread(_mail, smtp, alerts)
        except (OSError, smtplib.SMTPException) as exc:
            log.error("alert mail failed: %s", exc)
            failed.append("email")
    return failed
