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
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from monitor.alerts import AlertChannels, deliver_pending
from monitor.checks.auth import AuthPlan, run_auth_checks
from monitor.checks.dnsbl import (
    BlocklistReport,
    DnsblKeys,
    ZoneHealth,
    check_blocklists,
    select_zones,
)
from monitor.checks.history import save_auth, save_blocklists
from monitor.checks.probe import ResolverError, confirm_resolver
from monitor.checks.resolver import DnsClient
from monitor.checks.result import AuthResult
from monitor.checks.zones import load_catalogue
from monitor.jobresult import JobResult
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
    """Every target against the selected zones (raises CheckError for unknown zones, and
    ResolverError when the resolver answers nothing usable). Each answer that could not be
    read names the resolver it came from: a list that refuses public resolvers, a SERVFAIL
    or a timeout is about that resolver as much as about the list."""
    zones = [
        z
        for z in select_zones(load_catalogue(), list(plan.zones) or None)
        if z.zone not in plan.exclude_zones
    ]
    async with dns.client() as client:
        await confirm_resolver(client, [z.zone for z in zones], client.label)
        report = await check_blocklists(client, plan.targets, zones, keys=plan.keys)
        via = f"(resolver {client.label})"
    results = tuple(
        replace(r, error=f"{r.error or 'no answer'} {via}") if r.incomplete else r
        for r in report.results
    )
    probes = tuple(
        p if p.health is ZoneHealth.HEALTHY else replace(p, detail=f"{p.detail} {via}")
        for p in report.probes
    )
    return BlocklistReport(results=results, probes=probes, resolver=client.label)


async def run_auth(
    dns: DnsSettings, plan: AuthPlan, *, sts_ca_file: Path | None = None
) -> list[AuthResult]:
    """Every check of ``plan``; MTA-STS trusts the system store plus ``sts_ca_file``."""
    context = None
    if sts_ca_file is not None:
        context = ssl.create_default_context()
        context.load_verify_locations(cafile=str(sts_ca_file))
    async with dns.client() as client:
        await confirm_resolver(client, _auth_names(plan), client.label)
        return await run_auth_checks(client, plan, sts_context=context)


def _auth_names(plan: AuthPlan) -> list[str]:
    """Names whose top-level domains the resolver probe asks about."""
    names = [*plan.mail_domains, *(d for d, _ in plan.dkim)]
    return names + ["in-addr.arpa"] * bool(plan.ips)


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
) -> JobResult:
    """The daemon's blocklist run (hourly by default); newly-listed and delisted alerts also
    go to the ``webhooks`` outbox."""
    if not plan.targets:
        return JobResult(
            "nothing to check: no [sending] ips, domains or link_domains configured", {"checks": 0}
        )
    try:
        report = asyncio.run(run_blocklists(dns, plan))
    except ResolverError as exc:  # nothing learnt: store nothing, alert nothing
        log.warning("%s", exc)
        return JobResult(str(exc), {"checks": 0, "resolver_failed": 1})
    alerts = save_blocklists(factory, report, now=now(), webhooks=webhooks)
    delivery = deliver_pending(factory, channels, now=now, max_attempts=max_attempts)
    counts = {
        "checks": len(report.results),
        "listed": len(report.listed),
        "incomplete": sum(r.incomplete for r in report.results),
        "alerts": len(alerts),
    }
    return JobResult(
        f"{counts['checks']} blocklist checks, {counts['listed']} listed, "
        f"{counts['incomplete']} incomplete; {counts['alerts']} new alert(s); {delivery}",
        counts,
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
) -> JobResult:
    """The daemon's DNS-authentication run (daily by default)."""
    if plan.empty:
        return JobResult(
            "nothing to check: no [sending] ips, envelope_domain, from_domains or dkim configured",
            {"checks": 0},
        )
    try:
        results = asyncio.run(run_auth(dns, plan, sts_ca_file=sts_ca_file))
    except ResolverError as exc:  # nothing learnt: store nothing, alert nothing
        log.warning("%s", exc)
        return JobResult(str(exc), {"checks": 0, "resolver_failed": 1})
    alerts = save_auth(factory, results, now=now())
    delivery = deliver_pending(factory, channels, now=now, max_attempts=max_attempts)
    counts = {s: sum(r.status.value == s for r in results) for s in ("fail", "warn", "unknown")}
    return JobResult(
        f"{len(results)} authentication checks ({counts['fail']} fail, {counts['warn']} warn, "
        f"{counts['unknown']} unknown); {len(alerts)} new alert(s); {delivery}",
        {"checks": len(results), **counts, "alerts": len(alerts)},
    )
