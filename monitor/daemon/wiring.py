"""The one place that turns the config into the plain arguments every room takes.

Below the CLI and the daemon nothing reads a ``Config`` (STYLE.md 5): the events core gets an
``EventContext``, the checks a ``DnsSettings`` and their plans, the alert outbox its
``AlertChannels``, the report mail an ``SmtpTarget``. Secrets are revealed here, when the
thing that uses them is built, and never logged.
"""

from __future__ import annotations

import socket
from datetime import timedelta
from pathlib import Path

from monitor.alerts import AlertChannels, SmtpTarget
from monitor.checks.auth import AuthPlan
from monitor.checks.dnsbl import DnsblKeys
from monitor.checks.watch import BlocklistPlan, DnsSettings
from monitor.config import Config, SmtpSettings, parse_listen
from monitor.events import EventContext
from monitor.relay.delivery import DeliverySettings
from monitor.relay.server import SubmissionSettings
from monitor.relay.service import Listener
from monitor.suppression.policy import Rules
from parsers.dnsrec.dmarc import DmarcSpec

__all__ = [
    "alert_channels",
    "auth_plan",
    "blocklist_plan",
    "delivery_settings",
    "dns_settings",
    "event_context",
    "relay_listeners",
    "relay_tls",
    "smtp_target",
    "submission_settings",
]


def event_context(config: Config) -> EventContext:
    """The rules and keys of ``[suppression]``, the same for every source of events."""
    sup = config.suppression
    return EventContext(
        rules=Rules(
            soft_bounce_threshold=sup.soft_bounce_threshold,
            soft_bounce_window_days=sup.soft_bounce_window_days,
            trust_any=sup.trust == "any",
            complaint_types=frozenset(sup.complaint_feedback_types),
        ),
        verp_key=sup.verp_key.reveal().encode("utf-8") if sup.verp_key else None,
        lowercase_local=sup.lowercase_local_part,
    )


def dns_settings(cfg: Config) -> DnsSettings:
    c = cfg.checks
    return DnsSettings(
        nameservers=c.nameservers, timeout=c.timeout_seconds, concurrency=c.concurrency
    )


def blocklist_plan(cfg: Config) -> BlocklistPlan:
    """Sending IPs, then every domain we send as, bounce to or link to (issue 6, point 1)."""
    s, c = cfg.sending, cfg.checks
    targets = [*s.ips, *s.domains, *(d.lower().rstrip(".") for d in s.link_domains)]
    return BlocklistPlan(
        targets=tuple(dict.fromkeys(targets)),
        zones=c.zones,
        exclude_zones=c.exclude_zones,
        keys=DnsblKeys(
            spamhaus_dqs=c.dqs_key.reveal() if c.dqs_key else None,
            zone_keys={zone: key.reveal() for zone, key in c.zone_keys.items()},
        ),
    )


def auth_plan(cfg: Config) -> AuthPlan:
    """SPF for the envelope domain (else the From domains, which then are the envelope)."""
    s = cfg.sending
    envelope = s.envelope_domain.lower().rstrip(".")
    from_domains = tuple(d.lower().rstrip(".") for d in s.from_domains)
    return AuthPlan(
        spf_domains=(envelope,) if envelope else from_domains,
        from_domains=from_domains,
        ips=s.ips,
        helo=dict(s.helo),
        dkim=tuple((d.lower(), sel) for d, dk in s.dkim.items() for sel in dk.selectors),
        signing_key_files={
            (d.lower(), dk.selectors[0]): dk.key_file
            for d, dk in s.dkim.items()
            if dk.key_file is not None
        },
        dmarc_spec=DmarcSpec(cfg.checks.dmarc_spec),
    )


def smtp_target(settings: SmtpSettings, recipients: tuple[str, ...]) -> SmtpTarget:
    """``[alerts]`` or ``[report.email]``: the one SMTP settings type the code uses."""
    return SmtpTarget(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.sender,
        recipients=recipients,
        starttls=settings.starttls,
        username=settings.username or None,
        password=settings.password.reveal() if settings.password else None,
        timeout=settings.timeout_seconds,
    )


def alert_channels(cfg: Config) -> AlertChannels:
    a = cfg.alerts
    smtp = smtp_target(a, a.email_to) if a.email_to else None
    return AlertChannels(webhook_url=a.webhook_url or None, smtp=smtp, timeout=a.timeout_seconds)


def submission_settings(cfg: Config) -> SubmissionSettings:
    r = cfg.relay
    return SubmissionSettings(
        hostname=r.hostname or socket.getfqdn(),
        users=dict(r.users),
        max_message_bytes=r.max_message_bytes,
        max_recipients=r.max_recipients,
        queue_lifetime=timedelta(hours=r.queue_lifetime_hours),
        lowercase_local=cfg.suppression.lowercase_local_part,
    )


def relay_listeners(cfg: Config) -> list[Listener]:
    """``listen`` (STARTTLS) and ``tls_listen`` (implicit TLS) of ``[relay]``."""
    plain = [Listener(*parse_listen(x)) for x in cfg.relay.listen]
    return plain + [Listener(*parse_listen(x), implicit_tls=True) for x in cfg.relay.tls_listen]


def relay_tls(cfg: Config) -> tuple[Path, Path]:
    """The configured certificate and key, or the generated pair's place under data_dir."""
    r = cfg.relay
    if r.tls_cert is not None and r.tls_key is not None:
        return r.tls_cert, r.tls_key
    return r.data_dir / "relay-cert.pem", r.data_dir / "relay-key.pem"


def delivery_settings(cfg: Config) -> DeliverySettings:
    """``[relay]`` outbound part, ``[sending]`` (source IPs, HELO names, envelope domain),
    ``[suppression] verp_key`` and ``[checks]`` DNS: what the relay's delivery engine needs.

    The EHLO name falls back to ``[relay] hostname`` and then to this host's FQDN (RFC 5321
    4.1.1.1 wants a name the world can resolve; ``[sending.helo]`` is the place for it).
    """
    r, s = cfg.relay, cfg.sending
    key = cfg.suppression.verp_key
    return DeliverySettings(
        hostname=r.hostname or socket.getfqdn(),
        port=r.outbound_port,
        nameservers=cfg.checks.nameservers,
        dns_timeout=cfg.checks.timeout_seconds,
        source_ips=s.ips,
        helo=dict(s.helo),
        connect_timeout=r.connect_timeout_seconds,
        command_timeout=r.command_timeout_seconds,
        retry_initial=r.retry_initial_seconds,
        retry_max=r.retry_max_seconds,
        queue_lifetime=timedelta(hours=r.queue_lifetime_hours),
        max_connections=r.max_connections,
        max_connections_per_domain=r.max_connections_per_domain,
        messages_per_connection=r.messages_per_connection,
        verp_key=key.reveal().encode("utf-8") if key else None,
        envelope_domain=s.envelope_domain.lower().rstrip("."),
        verp_local_part=r.verp_local_part,
    )
