"""Alert delivery channels: the log, a webhook (JSON POST), a Slack or Mattermost incoming
webhook, and mail through an SMTP server.

Every alert is logged once (WARNING) when it is recorded; the webhook and the mail are
delivery channels whose failures are recorded per alert and retried at the next run
(``monitor.alerts.outbox``). The webhook body carries each alert's stored ``id`` so a
receiver can drop the duplicate a retry may cause when a POST succeeded but its answer was
lost. ``send_mail`` is the one SMTP client of the application: alert mail and the daily
report mail both go through it, with the one settings type ``SmtpTarget``.

Slack (and Mattermost, which accepts the same body) refuses our generic JSON: an incoming
webhook wants ``{"text": ...}``, here with ``blocks`` for a readable message and ``text`` as
the notification's fallback. Text from outside (a DNS record, a server's reply) is escaped
for Slack's mrkdwn (``&``, ``<``, ``>``) so it cannot ping a channel or forge a link.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from enum import StrEnum
from typing import Any

from monitor.alerts.model import Alert, Severity
from monitor.config.secret import mask_url
from monitor.errors import MonitorError
from parsers.webhooksig import HEADER, signature_header

__all__ = [
    "AlertChannels",
    "Channel",
    "DeliveryError",
    "SmtpTarget",
    "deliver",
    "log_alerts",
    "send_mail",
    "slack_payload",
]

log = logging.getLogger(__name__)


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


class Channel(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"
    SLACK = "slack"


class DeliveryError(MonitorError):
    """A channel refused or could not be reached; the alert stays pending."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpTarget:
    """An SMTP server and the recipients of what is sent through it (alert mail, the
    report mail); the password comes from config, never from logs."""

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
    slack_url: str | None = None
    #: HMAC key of the generic webhook's ``Deliverwatch-Signature`` header (None: unsigned).
    webhook_secret: bytes | None = None

    @property
    def names(self) -> tuple[Channel, ...]:
        found = []
        if self.webhook_url:
            found.append(Channel.WEBHOOK)
        if self.slack_url:
            found.append(Channel.SLACK)
        if self.smtp is not None and self.smtp.recipients:
            found.append(Channel.EMAIL)
        return tuple(found)


def _post(
    url: str,
    alerts: Sequence[Alert],
    timeout: float,
    *,
    slack: bool = False,
    secret: bytes | None = None,
) -> None:
    if not url.startswith(("http://", "https://")):
        raise DeliveryError(f"webhook URL must be http(s): {mask_url(url)!r}")
    payload = slack_payload(alerts) if slack else {"alerts": [a.as_json() for a in alerts]}
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if secret:
        headers[HEADER] = signature_header(secret, int(time.time()), body)
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, data=body, method="POST", headers=headers
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


def _mrkdwn(text: str) -> str:
    """Slack's three control characters escaped (its documented rule for message text)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_ICON = {Severity.INFO: ":white_check_mark:", Severity.WARNING: ":warning:",
         Severity.CRITICAL: ":rotating_light:"}  # fmt: skip
#: Slack takes at most 50 blocks per message; one is the header.
_MAX_BLOCKS = 49


def slack_payload(alerts: Sequence[Alert]) -> dict[str, Any]:
    """An incoming-webhook body for Slack and Mattermost: ``text`` and ``blocks``."""
    worst = max(alerts, key=lambda a: list(Severity).index(a.severity))
    text = f"deliverwatch: {len(alerts)} alert(s), worst {worst.severity}: {worst.summary}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}
    ]
    for a in alerts[:_MAX_BLOCKS]:
        line = f"{_ICON[a.severity]} *[{a.severity}] {_mrkdwn(a.summary)}*"
        if a.detail:
            line += "\n" + _mrkdwn(a.detail)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": line[:3000]}})
    return {"text": _mrkdwn(text), "blocks": blocks}


def send_mail(target: SmtpTarget, msg: EmailMessage) -> None:
    """Send ``msg`` to ``target.recipients`` through the configured SMTP server; raises
    ``DeliveryError`` with the server's or the network's complaint."""
    if "To" not in msg:
        msg["To"] = ", ".join(target.recipients)
    if "From" not in msg:
        msg["From"] = target.sender
    if "Message-ID" not in msg:
        msg["Message-ID"] = make_msgid(domain=target.sender.rpartition("@")[2] or None)
    try:
        with smtplib.SMTP(target.host, target.port, timeout=target.timeout) as smtp:
            if target.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if target.username:
                smtp.login(target.username, target.password or "")
            smtp.send_message(msg, to_addrs=list(target.recipients))
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(str(exc)) from exc


def _mail(target: SmtpTarget, alerts: Sequence[Alert]) -> None:
    msg = EmailMessage()
    worst = max(alerts, key=lambda a: list(Severity).index(a.severity))
    msg["Subject"] = f"[deliverwatch] {len(alerts)} alert(s): {worst.summary}"
    msg.set_content(
        "\n\n".join(f"[{a.severity}] {a.summary}\n{a.detail}".strip() for a in alerts) + "\n"
    )
    try:
        send_mail(target, msg)
    except DeliveryError as exc:
        raise DeliveryError(f"alert mail via {target.host}:{target.port} failed: {exc}") from exc


def deliver(channel: Channel, channels: AlertChannels, alerts: Sequence[Alert]) -> None:
    """Send ``alerts`` through one channel; raises :class:`DeliveryError` on failure."""
    if channel is Channel.WEBHOOK and channels.webhook_url:
        _post(channels.webhook_url, alerts, channels.timeout, secret=channels.webhook_secret)
    elif channel is Channel.SLACK and channels.slack_url:
        _post(channels.slack_url, alerts, channels.timeout, slack=True)
    elif channel is Channel.EMAIL and channels.smtp is not None:
        _mail(channels.smtp, alerts)
    else:
        raise DeliveryError(f"channel {channel} is not configured")
