"""The watch runs: check, store the results, detect changes, record and deliver alerts.

One blocklist run and one authentication run are what the daemon schedules (hourly and
daily by default) and what ``deliverwatch check`` does when it stores. Each run:

1. asks DNS (one :class:`~monitor.checks.resolver.DnsClient` per run, closed after);
2. in one transaction stores every result, updates the current states and records the alerts
   for the transitions (:mod:`monitor.store.checks_repo`, :mod:`monitor.alerts`), so a
   change is alerted once whatever crashes when;
3. logs each new alert, then delivers every pending alert — this run's and those a channel
   refused before — through the configured channels (:func:`deliver_pending`).

Everything here takes plain arguments (STYLE.md 5); the ``*_from_config`` helpers are the
one place that reads :class:`~monitor.config.Config`, for the CLI and the scheduler.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.alerts import (
    Alert,
    AlertChannels,
    DeliveryError,
    SmtpTarget,
    deliver,
    detect_auth_changes,
    detect_listing_changes,
    log_alerts,
)
from monitor.checks.auth import AuthPlan, run_auth_checks
from monitor.checks.dnsbl import BlocklistReport, DnsblKeys, check_blocklists, select_zones
from monitor.checks.resolver import DnsClient
from monitor.checks.result import AuthResult
from monitor.checks.zones import load_catalogue
from monitor.store import checks_repo
from monitor.store.db import session_scope
from parsers.dnsrec.dmarc import DmarcSpec

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from monitor.config import Config

__all__ = [
    "BlocklistPlan",
    "DnsSettings",
    "alert_channels_from_config",
    "auth_job",
    "auth_plan_from_config",
    "blocklist_job",
    "blocklist_plan_from_config",
    "deliver_pending",
    "dns_from_config",
    "run_auth",
    "run_blocklists",
    "save_auth",
    "save_blocklists",
]

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsSettings:
    """Which resolvers to ask and how hard (``[checks]``)."""

    nameservers: tuple[str, ...] = ()  # empty: /etc/resolv.conf
    timeout: float = 5.0
    concurrency: int = 100

    def client(self) -> DnsClient:
        return DnsClient(
            list(self.nameservers) or None, timeout=self.timeout, concurrency=self.concurrency
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BlocklistPlan:
    """Targets (IPs and domains), zones and query keys of one blocklist run."""

    targets: tuple[str, ...] = ()
    zones: tuple[str, ...] = ()  # empty: every active catalogue zone
    exclude_zones: tuple[str, ...] = ()
    keys: DnsblKeys = field(default_factory=DnsblKeys)


# --------------------------------------------------------------------------- from config


def dns_from_config(cfg: Config) -> DnsSettings:
    c = cfg.checks
    return DnsSettings(
        nameservers=c.nameservers, timeout=c.timeout_seconds, concurrency=c.concurrency
    )


def blocklist_plan_from_config(cfg: Config) -> BlocklistPlan:
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


def auth_plan_from_config(cfg: Config) -> AuthPlan:
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


def alert_channels_from_config(cfg: Config) -> AlertChannels:
    a = cfg.alerts
    smtp = None
    if a.email_to:
        smtp = SmtpTarget(
            host=a.smtp_host,
            port=a.smtp_port,
            sender=a.sender,
            recipients=a.email_to,
            starttls=a.starttls,
            username=a.username or None,
            password=a.password.reveal() if a.password else None,
            timeout=a.timeout_seconds,
        )
    return AlertChannels(webhook_url=a.webhook_url or None, smtp=smtp, timeout=a.timeout_seconds)


# --------------------------------------------------------------------------- checking


async def run_blocklists(dns: DnsSettings, plan: BlocklistPlan) -> BlocklistReport:
    """Every target against the selected zones (raises CheckError for unknown zones)."""
    zones = [
        z
        for z in select_zones(load_catalogue(), list(plan.zones) or None)
        if z.zone not in plan.exclude_zones
    ]
    async with dns.client() as client:
        return await check_blocklists(client, plan.targets, zones, keys=plan.keys)


async def run_auth(
    dns: DnsSettings, plan: AuthPlan, *, sts_ca_file: Path | None = None
) -> list[AuthResult]:
    """Every check of ``plan``; MTA-STS trusts the system store plus ``sts_ca_file``."""
    context = None
    if sts_ca_file is not None:
        context = ssl.create_default_context()
        context.load_verify_locations(cafile=str(sts_ca_file))
    async with dns.client() as client:
        return await run_auth_checks(client, plan, sts_context=context)


# --------------------------------------------------------------------------- storing


def save_blocklists(
    factory: sessionmaker[Session], report: BlocklistReport, *, now: datetime
) -> list[Alert]:
    """Store the run and its alerts in one transaction; log each new alert."""
    with session_scope(factory, "storing blocklist results") as session:
        previous = checks_repo.record_blocklist(session, report.results, now=now)
        alerts = checks_repo.add_alerts(
            session, detect_listing_changes(previous, report.results), now=now
        )
    log_alerts(alerts)
    return alerts


def save_auth(
    factory: sessionmaker[Session], results: Sequence[AuthResult], *, now: datetime
) -> list[Alert]:
    """Store the run and its alerts in one transaction; log each new alert."""
    with session_scope(factory, "storing authentication results") as session:
        previous = checks_repo.record_auth(session, results, now=now)
        alerts = checks_repo.add_alerts(session, detect_auth_changes(previous, results), now=now)
    log_alerts(alerts)
    return alerts


def deliver_pending(
    factory: sessionmaker[Session], channels: AlertChannels, *, now: Clock, max_attempts: int
) -> str:
    """Send every undelivered alert through each channel that has not taken it yet.

    A channel failure is recorded on the alerts (``last_error``) and they stay pending for
    the next run, up to ``max_attempts`` runs; the other channel still goes ahead.
    """
    needed = channels.names
    with session_scope(factory, "delivering alerts") as session:
        if not needed:
            closed = checks_repo.mark_logged(session, now=now())
            return f"{closed} alert(s) logged (no webhook or mail configured)"
        attempted = []
        outcome = []
        for channel in needed:
            pending = checks_repo.pending_alerts(session, channel, max_attempts=max_attempts)
            if not pending:
                continue
            alerts, rows = [a for a, _ in pending], [r for _, r in pending]
            attempted += rows
            try:
                deliver(channel, channels, alerts)
            except DeliveryError as exc:
                log.error(
                    "%d alert(s) not delivered by %s, will retry: %s", len(rows), channel, exc
                )
                checks_repo.mark_failed(rows, channel, str(exc))
                outcome.append(f"{channel} failed for {len(rows)}")
            else:
                checks_repo.mark_delivered(rows, channel, needed=needed, now=now())
                outcome.append(f"{len(rows)} by {channel}")
        checks_repo.count_attempt(attempted)
        for row in {id(r): r for r in attempted}.values():
            if row.delivered_at is None and row.attempts >= max_attempts:
                log.error(
                    "alert %d given up after %d attempts: %s", row.id, row.attempts, row.message
                )
    return "alerts: " + (", ".join(outcome) or "none pending")


# --------------------------------------------------------------------------- jobs


def blocklist_job(
    *,
    factory: sessionmaker[Session],
    now: Clock,
    dns: DnsSettings,
    plan: BlocklistPlan,
    channels: AlertChannels,
    max_attempts: int,
) -> str:
    """The daemon's blocklist run (hourly by default)."""
    if not plan.targets:
        return "nothing to check: no [sending] ips, domains or link_domains configured"
    report = asyncio.run(run_blocklists(dns, plan))
    alerts = save_blocklists(factory, report, now=now())
    delivery = deliver_pending(factory, channels, now=now, max_attempts=max_attempts)
    return (
        f"{len(report.results)} blocklist checks, {len(report.listed)} listed, "
        f"{sum(r.incomplete for r in report.results)} incomplete; "
        f"{len(alerts)} new alert(s); {delivery}"
    )


def auth_job(
    *,
    factory: sessionmaker[Session],
    now: Clock,
    dns: DnsSettings,
    plan: AuthPlan,
    channels: AlertChannels,
    max_attempts: int,
    sts_ca_file: Path | None = None,
) -> str:
    """The daemon's DNS-authentication run (daily by default)."""
    if plan.empty:
        return (
            "nothing to check: no [sending] ips, envelope_domain, from_domains or dkim configured"
        )
    results = asyncio.run(run_auth(dns, plan, sts_ca_file=sts_ca_file))
    alerts = save_auth(factory, results, now=now())
    delivery = deliver_pending(factory, channels, now=now, max_attempts=max_attempts)
    counts = {s: sum(r.status.value == s for r in results) for s in ("fail", "warn", "unknown")}
    return (
        f"{len(results)} authentication checks ({counts['fail']} fail, {counts['warn']} warn, "
        f"{counts['unknown']} unknown); {len(alerts)} new alert(s); {delivery}"
    )
