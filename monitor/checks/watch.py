"""The watch runs: check, store the results, detect changes, record and deliver alerts.

One blocklist run and one authentication run are what the daemon schedules (hourly and
daily by default) and what ``deliverwatch check`` does when it stores. Each run:

1. asks DNS (one :class:`~monitor.checks.resolver.DnsClient` per run, closed after);
2. in one transaction stores every result, updates the current states and records the alerts
   for the transitions (:mod:`monitor.checks.history`), so a change is alerted once
   whatever crashes when;
3. logs each new alert, then delivers every pending alert — this run's and those a channel
   refused before — through the configured channels (``monitor.alerts.deliver_pending``).

Everything here takes plain arguments (STYLE.md 5); ``monitor.daemon.wiring`` builds them
from the config, for the CLI and the scheduler.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts import AlertChannels, deliver_pending
from monitor.checks.auth import AuthPlan, run_auth_checks
from monitor.checks.dnsbl import BlocklistReport, DnsblKeys, check_blocklists, select_zones
from monitor.checks.history import save_auth, save_blocklists
from monitor.checks.resolver import DnsClient
from monitor.checks.result import AuthResult
from monitor.checks.zones import load_catalogue
from monitor.store.webhooks import WebhookRoute

__all__ = [
    "BlocklistPlan",
    "DnsSettings",
    "auth_job",
    "blocklist_job",
    "run_auth",
    "run_blocklists",
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


# --------------------------------------------------------------------------- jobs


def blocklist_job(
    *,
    factory: sessionmaker[Session],
    now: Clock,
    dns: DnsSettings,
    plan: BlocklistPlan,
    channels: AlertChannels,
    max_attempts: int,
    webhooks: Sequence[WebhookRoute] = (),
) -> str:
    """The daemon's blocklist run (hourly by default); newly-listed and delisted alerts also
    go to the ``webhooks`` outbox."""
    if not plan.targets:
        return "nothing to check: no [sending] ips, domains or link_domains configured"
    report = asyncio.run(run_blocklists(dns, plan))
    alerts = save_blocklists(factory, report, now=now(), webhooks=webhooks)
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
