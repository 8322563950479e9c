"""The DNSBL zone catalogue and the classification of a list's answer (RFC 5782).

The catalogue (``data/dnsbl_zones.json``) is maintained with the package: for each zone its
query types, status (active, deprecated, dead, subscription, key-required, unverified), kind
(blocklist, reputation score, allowlist), documented return codes with a short category and
the operator's meaning, error codes, bitmask and range encodings, delisting URL and test
points. Classification is pure: given the A records (or the DNS outcome) of one query it says
listed / not listed / error / unknown, and never mistakes an error code for a listing:

* anything outside 127.0.0.0/8 is a resolver rewriting NXDOMAIN (RFC 5782 2.1) -> error;
* documented error codes (Spamhaus 127.255.255.252/254/255 typo / public resolver / rate
  limit, DBL 127.0.1.255, URIBL 127.0.0.1 refusal) -> error, never listed;
* 127.0.0.1, unless a list documents it, is never a listing (RFC 5782 5) -> error;
* a timeout or SERVFAIL -> unknown, never clean.
"""

from __future__ import annotations

import functools
import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from importlib import resources
from typing import Any

from monitor.checks.resolver import DnsAnswer, DnsStatus
from monitor.errors import CheckError

__all__ = [
    "Classification",
    "ListingStatus",
    "Zone",
    "ZoneKind",
    "ZoneStatus",
    "classify",
    "load_catalogue",
]

LOOPBACK_NET = ipaddress.ip_network("127.0.0.0/8")
LOCALHOST = "127.0.0.1"

# Answers repeat a handful of codes thousands of times a run; parse each once.
_address = functools.lru_cache(maxsize=1024)(ipaddress.ip_address)


class ListingStatus(StrEnum):
    """Outcome of one (target, zone) query."""

    LISTED = "listed"
    NOT_LISTED = "not_listed"
    ERROR = "error"  # the list answered, but with an error/refusal code
    UNKNOWN = "unknown"  # no usable answer (timeout, SERVFAIL)
    SKIPPED = "skipped"  # not queried: dead zone, key missing, zone failed its probe


class ZoneStatus(StrEnum):
    """Catalogue status; only ACTIVE zones (and KEY_REQUIRED ones with a key) run by default."""

    ACTIVE = "active"
    DEPRECATED = "deprecated"
    DEAD = "dead"
    SUBSCRIPTION = "subscription"
    KEY_REQUIRED = "key-required"
    UNVERIFIED = "unverified"


class ZoneKind(StrEnum):
    """What an answer means: bad news, a score, or good news."""

    BLOCKLIST = "blocklist"
    REPUTATION = "reputation"
    ALLOWLIST = "allowlist"


@dataclass(frozen=True, slots=True)
class Code:
    """One documented answer: short category for tables, the operator's meaning verbatim."""

    category: str
    meaning: str
    listing: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Zone:
    """One catalogue entry (see module docstring)."""

    name: str
    zone: str
    types: frozenset[str]
    status: ZoneStatus
    kind: ZoneKind
    severity: str | None = None
    delist_url: str | None = None
    codes: Mapping[str, Code] = field(default_factory=dict)
    errors: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # code -> (error, meaning)
    bitmask: Mapping[int, Code] = field(default_factory=dict)
    ranges: tuple[tuple[int, int, Code], ...] = ()
    last_octet: Mapping[str, Code] = field(default_factory=dict)
    dqs: str | None = None
    key_required: bool = False
    test_points: tuple[str, str] | None = None  # (listed, not listed) override
    notes: str = ""


def _code(raw: Mapping[str, Any], listing: bool | None = None) -> Code:
    return Code(
        category=str(raw["category"]),
        meaning=str(raw.get("meaning", raw["category"])),
        listing=bool(raw.get("listing", True) if listing is None else listing),
    )


def _zone(raw: Mapping[str, Any]) -> Zone:
    kind = ZoneKind(raw.get("kind", "blocklist"))
    points = raw.get("test_points")
    return Zone(
        name=raw["name"],
        zone=raw["zone"],
        types=frozenset(raw["types"]),
        status=ZoneStatus(raw["status"]),
        kind=kind,
        severity=raw.get("severity"),
        delist_url=raw.get("delist_url"),
        codes={k: _code(v) for k, v in raw.get("codes", {}).items()},
        errors={k: (v["error"], v["meaning"]) for k, v in raw.get("errors", {}).items()},
        bitmask={int(k): _code(v, True) for k, v in raw.get("bitmask", {}).items()},
        ranges=tuple(
            (int(ipaddress.ip_address(r["first"])), int(ipaddress.ip_address(r["last"])), _code(r))
            for r in raw.get("ranges", [])
        ),
        last_octet={
            k: _code(v, kind is ZoneKind.BLOCKLIST) for k, v in raw.get("last_octet", {}).items()
        },
        dqs=raw.get("dqs"),
        key_required=bool(raw.get("key_required", False)),
        test_points=(points["listed"], points["not_listed"]) if points else None,
        notes=raw.get("notes", ""),
    )


def load_catalogue(extra: Iterable[Mapping[str, Any]] = ()) -> dict[str, Zone]:
    """The packaged catalogue keyed by zone, plus ``extra`` entries (same JSON shape)."""
    text = (
        resources.files("monitor.checks")
        .joinpath("data/dnsbl_zones.json")
        .read_text(encoding="utf-8")
    )
    zones: dict[str, Zone] = {}
    for raw in [*json.loads(text)["zones"], *extra]:
        try:
            zone = _zone(raw)
        except (KeyError, ValueError, TypeError) as exc:
            raise CheckError(f"bad DNSBL catalogue entry {raw.get('zone')!r}: {exc}") from exc
        zones[zone.zone] = zone
    return zones


@dataclass(frozen=True, slots=True, kw_only=True)
class Classification:
    """What one answer means."""

    status: ListingStatus
    categories: tuple[str, ...] = ()
    meanings: tuple[str, ...] = ()
    codes: tuple[str, ...] = ()
    error: str | None = None
    warnings: tuple[str, ...] = ()
    reputation: str | None = None
    allowlisted: bool = False


def _read_code(zone: Zone, code: str) -> tuple[str | None, list[Code]]:
    """(error, codes) for one 127/8 answer; an empty list means "undocumented"."""
    if code in zone.errors:
        return zone.errors[code][0], []
    if code in zone.codes:
        return None, [zone.codes[code]]
    value = int(_address(code))
    found = [c for first, last, c in zone.ranges if first <= value <= last]
    if found:
        return None, found[:1]
    if zone.bitmask and code.startswith("127.0.0."):
        octet = value & 0xFF
        bits = [zone.bitmask[b] for b in sorted(zone.bitmask) if octet & b]
        if bits and sum(b for b in zone.bitmask if octet & b) == octet:
            return None, bits
    if code == LOCALHOST:  # after explicit codes: Hostkarma documents 127.0.0.1 as WHITE
        return "answer_127_0_0_1", []
    if zone.last_octet and code.rsplit(".", 1)[1] in zone.last_octet:
        return None, [zone.last_octet[code.rsplit(".", 1)[1]]]
    return None, []


def classify(zone: Zone, answer: DnsAnswer) -> Classification:
    """Classify the A records of one DNSBL query (rules in the module docstring)."""
    if answer.status in (DnsStatus.NXDOMAIN, DnsStatus.NODATA):
        return Classification(status=ListingStatus.NOT_LISTED)
    if answer.status is DnsStatus.REFUSED:
        return Classification(status=ListingStatus.ERROR, error="query_refused")
    if answer.status is not DnsStatus.OK:
        return Classification(status=ListingStatus.UNKNOWN, error=str(answer.status))
    return _classify_codes(zone, sorted(set(answer.records), key=_address))


def _classify_codes(zone: Zone, records: Sequence[str]) -> Classification:
    found: list[Code] = []
    warnings: list[str] = []
    for code in records:
        if _address(code) not in LOOPBACK_NET:
            return Classification(
                status=ListingStatus.ERROR, codes=tuple(records), error="resolver_hijack"
            )
        error, codes = _read_code(zone, code)
        if error is not None:
            return Classification(status=ListingStatus.ERROR, codes=tuple(records), error=error)
        if not codes:
            warnings.append("undocumented_return_code")
            codes = [
                Code("unknown-code", f"undocumented code {code}", zone.kind is ZoneKind.BLOCKLIST)
            ]
        found.extend(codes)
    listing = [c for c in found if c.listing]
    status = ListingStatus.LISTED if listing else ListingStatus.NOT_LISTED
    shown = listing or found
    return Classification(
        status=status,
        categories=tuple(dict.fromkeys(c.category for c in shown)),
        meanings=tuple(dict.fromkeys(c.meaning for c in shown)),
        codes=tuple(records),
        warnings=tuple(dict.fromkeys(warnings)),
        reputation=found[0].category if zone.kind is ZoneKind.REPUTATION and found else None,
        allowlisted=zone.kind is ZoneKind.ALLOWLIST and bool(found),
    )
