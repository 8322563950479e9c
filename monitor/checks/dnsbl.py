"""Blocklist checks: are our sending IPs and domains listed, and can each list be trusted?

Query names follow RFC 5782: IPv4 octets reversed (2.1), IPv6 as 32 reversed nibbles (2.4),
domains as-is (3). Before trusting a zone we ask its test points (RFC 5782 5: 127.0.0.2 /
``TEST`` must be listed, 127.0.0.1 / ``INVALID`` must not): a zone that lists the world is
skipped and reported, a zone that does not list its positive test point is "broken" and its
silence is not read as "clean". Answers are classified by :func:`monitor.checks.zones.classify`.

All queries of a run go out concurrently through one :class:`~monitor.checks.resolver.Lookup`
(whose semaphore bounds concurrency). Spamhaus DQS keys and other per-zone query keys come
from config and are substituted into the zone name; they are never logged.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from monitor.checks.resolver import Lookup
from monitor.checks.zones import (
    Classification,
    ListingStatus,
    Zone,
    ZoneKind,
    ZoneStatus,
    classify,
)

__all__ = [
    "BlocklistReport",
    "DnsblKeys",
    "ListingResult",
    "ProbeResult",
    "ZoneHealth",
    "check_blocklists",
    "query_name",
    "select_zones",
]

log = logging.getLogger(__name__)

IP_POINTS = ("127.0.0.2", "127.0.0.1")  # RFC 5782 5
DOMAIN_POINTS = ("test", "invalid")  # RFC 5782 5


class ZoneHealth(StrEnum):
    """Verdict of the test-point probe."""

    HEALTHY = "healthy"
    LISTS_THE_WORLD = "zone_lists_the_world"
    BROKEN = "zone_broken"  # does not list its positive test point
    ERROR = "zone_error"  # answers test points with an error/refusal code
    UNKNOWN = "unknown"  # probe timed out / SERVFAIL


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsblKeys:
    """Query keys: Spamhaus DQS (``<key>.<list>.dq.spamhaus.net``) and ``{key}`` zones."""

    spamhaus_dqs: str | None = None
    zone_keys: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class ListingResult:
    """One (target, zone) verdict, with what to do about it."""

    target: str
    zone: str
    zone_name: str
    status: ListingStatus
    query: str | None = None
    categories: tuple[str, ...] = ()
    meanings: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    reason: str | None = None  # the list's TXT record
    error: str | None = None
    warnings: tuple[str, ...] = ()
    reputation: str | None = None
    allowlisted: bool = False
    delist_url: str | None = None
    severity: str | None = None

    @property
    def problem(self) -> bool:
        """A listing we must act on."""
        return self.status is ListingStatus.LISTED

    @property
    def incomplete(self) -> bool:
        """The list could not tell us (error code, timeout, broken zone)."""
        return self.status in (ListingStatus.ERROR, ListingStatus.UNKNOWN)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProbeResult:
    """Health of one zone for this run."""

    zone: str
    health: ZoneHealth
    detail: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class BlocklistReport:
    """Everything one run learnt."""

    results: tuple[ListingResult, ...]
    probes: tuple[ProbeResult, ...] = ()
    resolver: str = ""  # the resolver(s) asked, named in every incomplete answer

    @property
    def listed(self) -> tuple[ListingResult, ...]:
        return tuple(r for r in self.results if r.problem)

    @property
    def incomplete(self) -> bool:
        return any(r.incomplete for r in self.results) or any(
            p.health is not ZoneHealth.HEALTHY for p in self.probes
        )


@functools.lru_cache(maxsize=4096)
def _parts(target: str) -> tuple[str, str]:
    """(kind, reversed query label) of a target; memoised because a run asks every target
    in every zone, and parsing the address each time was a tenth of the run's CPU."""
    try:
        addr = ipaddress.ip_address(target)
    except ValueError:
        return "domain", target.lower().rstrip(".")
    if addr.version == 4:
        return "ip4", ".".join(reversed(target.split(".")))
    return "ip6", ".".join(reversed(addr.exploded.replace(":", "")))


def target_kind(target: str) -> str:
    """``ip4``, ``ip6`` or ``domain``."""
    return _parts(target)[0]


def query_name(target: str, zone_host: str) -> str:
    """RFC 5782 2.1/2.4/3 query name of ``target`` in ``zone_host``: IPv4 octets reversed,
    IPv6 as 32 reversed nibbles, domains as they are."""
    return _parts(target)[1] + "." + zone_host


def zone_host(zone: Zone, keys: DnsblKeys) -> str | None:
    """The name to query under: DQS or ``{key}`` substituted; None when a key is missing."""
    if zone.dqs and keys.spamhaus_dqs:
        return zone.dqs.format(key=keys.spamhaus_dqs, list=zone.zone.split(".")[0])
    if "{key}" in zone.zone:
        key = keys.zone_keys.get(zone.zone)
        return zone.zone.replace("{key}", key) if key else None
    return zone.zone


def select_zones(catalogue: Mapping[str, Zone], names: Sequence[str] | None = None) -> list[Zone]:
    """Configured zones, or every ACTIVE (and KEY_REQUIRED) zone of the catalogue.

    Dead zones stay in the selection when named so they are reported as skipped; they are
    never queried (a dead zone's domain may be re-registered and list the world).
    """
    if names:
        missing = [n for n in names if n not in catalogue]
        if missing:
            from monitor.errors import CheckError

            raise CheckError(f"unknown DNSBL zone(s): {', '.join(missing)}")
        return [catalogue[n] for n in names]
    return [
        z for z in catalogue.values() if z.status in (ZoneStatus.ACTIVE, ZoneStatus.KEY_REQUIRED)
    ]


def _probe_points(zone: Zone) -> tuple[str, str]:
    if zone.test_points is not None:
        return zone.test_points
    return DOMAIN_POINTS if zone.types == {"domain"} else IP_POINTS


def _health(listed: Classification, unlisted: Classification) -> tuple[ZoneHealth, str]:
    if unlisted.status in (ListingStatus.LISTED, ListingStatus.NOT_LISTED) and unlisted.codes:
        return ZoneHealth.LISTS_THE_WORLD, f"negative test point answered {unlisted.codes}"
    for probe in (unlisted, listed):
        if probe.status is ListingStatus.ERROR:
            return ZoneHealth.ERROR, probe.error or "error"
    if ListingStatus.UNKNOWN in (listed.status, unlisted.status):
        return ZoneHealth.UNKNOWN, listed.error or unlisted.error or "no answer"
    if not listed.codes:
        return ZoneHealth.BROKEN, "positive test point is not listed"
    return ZoneHealth.HEALTHY, ""


async def probe_zone(lookup: Lookup, zone: Zone, host: str) -> ProbeResult:
    """Ask both RFC 5782 test points of ``zone`` (queried under ``host``)."""
    positive, negative = _probe_points(zone)
    pos, neg = await asyncio.gather(
        lookup.query(query_name(positive, host), "A"),
        lookup.query(query_name(negative, host), "A"),
    )
    health, detail = _health(classify(zone, pos), classify(zone, neg))
    if health is not ZoneHealth.HEALTHY:
        log.warning("DNSBL zone %s failed its probe: %s (%s)", zone.zone, health, detail)
    return ProbeResult(zone=zone.zone, health=health, detail=detail)


def _result(target: str, zone: Zone, **fields: Any) -> ListingResult:
    return ListingResult(
        target=target,
        zone=zone.zone,
        zone_name=zone.name,
        delist_url=zone.delist_url,
        severity=zone.severity,
        **fields,
    )


async def check_one(
    lookup: Lookup,
    zone: Zone,
    host: str,
    target: str,
    *,
    with_reason: bool = True,
    shown_host: str | None = None,
) -> ListingResult:
    """Query one target in one zone and classify the answer (TXT reason when listed).

    ``shown_host`` is ``host`` with its query key masked: the result's ``query`` is printed
    and the key is a secret.
    """
    name = query_name(target, host)
    found = classify(zone, await lookup.query(name, "A"))
    reason = None
    if with_reason and found.status is ListingStatus.LISTED:
        txt = await lookup.query(name, "TXT")
        reason = " ".join(txt.records) or None
    return _result(
        target,
        zone,
        status=found.status,
        query=query_name(target, shown_host or host),
        categories=found.categories,
        meanings=found.meanings,
        codes=found.codes,
        reason=reason,
        error=found.error,
        warnings=found.warnings,
        reputation=found.reputation,
        allowlisted=found.allowlisted,
    )


def _masked(host: str, keys: DnsblKeys) -> str:
    """``host`` with every configured query key replaced by ``KEY``."""
    for key in (keys.spamhaus_dqs, *keys.zone_keys.values()):
        if key:
            host = host.replace(key, "KEY")
    return host


def _skip(zone: Zone, target: str, status: ListingStatus, error: str) -> ListingResult:
    return _result(target, zone, status=status, error=error)


def _applies(zone: Zone, target: str) -> bool:
    return target_kind(target) in zone.types


async def _zone_results(
    lookup: Lookup,
    zone: Zone,
    targets: Sequence[str],
    keys: DnsblKeys,
    *,
    probe: bool,
    with_reason: bool,
) -> tuple[list[ListingResult], ProbeResult | None]:
    targets = [t for t in targets if _applies(zone, t)]
    if zone.status is ZoneStatus.DEAD:
        return [_skip(zone, t, ListingStatus.SKIPPED, "zone_dead") for t in targets], None
    host = zone_host(zone, keys)
    if host is None or zone.status is ZoneStatus.SUBSCRIPTION:
        return [_skip(zone, t, ListingStatus.SKIPPED, "key_required") for t in targets], None
    checked: ProbeResult | None = None
    if probe:
        checked = await probe_zone(lookup, zone, host)
        if checked.health is ZoneHealth.LISTS_THE_WORLD:
            return [
                _skip(zone, t, ListingStatus.SKIPPED, checked.health.value) for t in targets
            ], checked
        if checked.health in (ZoneHealth.BROKEN, ZoneHealth.ERROR):
            status = (
                ListingStatus.UNKNOWN
                if checked.health is ZoneHealth.BROKEN
                else ListingStatus.ERROR
            )
            error = checked.health.value if checked.health is ZoneHealth.BROKEN else checked.detail
            return [_skip(zone, t, status, error) for t in targets], checked
    shown = _masked(host, keys)
    results = await asyncio.gather(
        *(
            check_one(lookup, zone, host, t, with_reason=with_reason, shown_host=shown)
            for t in targets
        )
    )
    return list(results), checked


async def check_blocklists(
    lookup: Lookup,
    targets: Iterable[str],
    zones: Sequence[Zone],
    *,
    keys: DnsblKeys | None = None,
    probe: bool = True,
    with_reason: bool = True,
) -> BlocklistReport:
    """Check every target (IPv4, IPv6 or domain) against every applicable zone."""
    keys = keys or DnsblKeys()
    wanted = list(dict.fromkeys(targets))
    per_zone = await asyncio.gather(
        *(
            _zone_results(lookup, z, wanted, keys, probe=probe, with_reason=with_reason)
            for z in zones
        )
    )
    results = [r for rs, _ in per_zone for r in rs]
    probes = [p for _, p in per_zone if p is not None]
    for r in results:
        if r.problem:
            log.debug("%s is listed on %s (%s)", r.target, r.zone, ", ".join(r.categories))
    return BlocklistReport(results=tuple(results), probes=tuple(probes))


def is_blocklist(zone: Zone) -> bool:
    """Allowlists and reputation scores inform; only blocklist hits are problems."""
    return zone.kind is ZoneKind.BLOCKLIST
