"""Blocklist checks against the loopback nameserver: every answer class and every vector."""

from __future__ import annotations

import json
from typing import Any

import pytest

from monitor.checks.dnsbl import (
    DnsblKeys,
    ZoneHealth,
    check_blocklists,
    query_name,
    select_zones,
    zone_host,
)
from monitor.checks.zones import ListingStatus, ZoneStatus, load_catalogue
from tests.monitor.checks.helpers import ask
from tests.servers.dns import DNSServer, Zone
from tests.shared_paths import SHARED

SHARED_DATA = SHARED / "data"
VECTORS = json.loads((SHARED_DATA / "dns_auth_vectors.json").read_text(encoding="utf-8"))
CATALOGUE = load_catalogue()
IP = "192.0.2.99"
DOMAIN = "example.test"


def _target(zone: str) -> str:
    return DOMAIN if CATALOGUE[zone].types == {"domain"} else IP


def _healthy(zone: str, data: dict[str, list[Any]]) -> None:
    """Make the zone pass its RFC 5782 probe (listed point answers its first listing code)."""
    z = CATALOGUE[zone]
    points = z.test_points or (
        ("test", "invalid") if z.types == {"domain"} else ("127.0.0.2", "127.0.0.1")
    )
    listed = next((c for c, v in z.codes.items() if v.listing), None) or "127.0.0.2"
    if z.bitmask:
        listed = f"127.0.0.{min(z.bitmask)}"
    data.setdefault(query_name(points[0], zone), [{"A": listed}])


def run(server: DNSServer, targets: list[str], zones: list[str], **kw: Any) -> Any:
    return ask(server, check_blocklists, targets, [CATALOGUE[z] for z in zones], **kw)


@pytest.mark.parametrize("vector", VECTORS["dnsbl_classification"], ids=lambda v: v["id"])
def test_vector(vector: dict[str, Any]) -> None:
    zone, answers, expected = vector["zone"], vector["answers"], vector["expected"]
    target = _target(zone)
    data: dict[str, list[Any]] = {}
    if isinstance(answers, dict):  # answers for test points
        for point, addrs in answers.items():
            name = point.removeprefix("test_point_") + "." + zone
            data[name] = [{"A": a} for a in addrs]
    elif answers == "TIMEOUT":
        data[query_name(target, zone)] = ["TIMEOUT"]
    elif answers != "NXDOMAIN":
        data[query_name(target, zone)] = [{"A": a} for a in answers]
        data[query_name(target, zone)].append({"TXT": "listed for testing"})
    _healthy(zone, data)
    with DNSServer(Zone().update(data)) as server:
        report = run(server, [target], [zone])
    if expected["status"] == "zone_lists_the_world":
        assert report.probes[0].health is ZoneHealth.LISTS_THE_WORLD
        assert report.results[0].status is ListingStatus.SKIPPED
        assert not report.listed
        return
    (result,) = report.results
    assert result.status.value == expected["status"], result
    if "categories" in expected:
        assert list(result.categories) == expected["categories"]
    if "error" in expected:
        assert result.error == expected["error"]
    if "warning" in expected:
        assert expected["warning"] in result.warnings
    if "reputation" in expected:
        assert result.reputation == expected["reputation"]
    if "allowlisted" in expected:
        assert result.allowlisted is expected["allowlisted"]
    if result.status is ListingStatus.LISTED:
        assert result.reason == "listed for testing"
        assert result.delist_url


def test_answer_outside_loopback_is_resolver_hijack() -> None:
    data = {query_name(IP, "bl.spamcop.net"): [{"A": "198.51.100.7"}]}
    _healthy("bl.spamcop.net", data)
    with DNSServer(Zone().update(data)) as server:
        (result,) = run(server, [IP], ["bl.spamcop.net"]).results
    assert result.status is ListingStatus.ERROR
    assert result.error == "resolver_hijack"


@pytest.mark.parametrize(
    ("marker", "status"),
    [
        ("SERVFAIL", ListingStatus.UNKNOWN),
        ("TIMEOUT", ListingStatus.UNKNOWN),
        ("REFUSED", ListingStatus.ERROR),
    ],
)
def test_failures_are_never_clean(marker: str, status: ListingStatus) -> None:
    data: dict[str, list[Any]] = {query_name(IP, "psbl.surriel.com"): [marker]}
    _healthy("psbl.surriel.com", data)
    with DNSServer(Zone().update(data)) as server:
        report = run(server, [IP], ["psbl.surriel.com"])
    (result,) = report.results
    assert result.status is status
    assert result.incomplete and not result.problem
    assert report.incomplete


def test_broken_zone_is_not_trusted() -> None:
    with DNSServer(Zone()) as server:  # nothing listed, not even 127.0.0.2
        report = run(server, [IP], ["bl.spamcop.net"])
    assert report.probes[0].health is ZoneHealth.BROKEN
    assert report.results[0].status is ListingStatus.UNKNOWN
    assert report.results[0].error == "zone_broken"


def test_public_resolver_answer_on_probe_marks_zone_error() -> None:
    data = {
        query_name(p, "zen.spamhaus.org"): [{"A": "127.255.255.254"}]
        for p in ("127.0.0.2", "127.0.0.1", IP)
    }
    with DNSServer(Zone().update(data)) as server:
        report = run(server, [IP], ["zen.spamhaus.org"])
    assert report.probes[0].health is ZoneHealth.ERROR
    assert report.results[0].status is ListingStatus.ERROR
    assert report.results[0].error == "public_resolver"
    assert not report.listed


def test_ipv6_nibbles_and_domain_queries() -> None:
    ip6 = "2001:db8::1"
    assert query_name(ip6, "zen.spamhaus.org") == (
        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.zen.spamhaus.org"
    )
    data = {
        query_name(ip6, "zen.spamhaus.org"): [{"A": "127.0.0.4"}],
        "bad.example.dbl.spamhaus.org": [{"A": "127.0.1.4"}],
    }
    _healthy("zen.spamhaus.org", data)
    _healthy("dbl.spamhaus.org", data)
    with DNSServer(Zone().update(data)) as server:
        report = run(
            server,
            [ip6, "bad.example", "good.example", IP],
            ["zen.spamhaus.org", "dbl.spamhaus.org"],
        )
    got = {(r.target, r.zone): (r.status, r.categories) for r in report.results}
    assert got == {
        (ip6, "zen.spamhaus.org"): (ListingStatus.LISTED, ("XBL",)),
        (IP, "zen.spamhaus.org"): (ListingStatus.NOT_LISTED, ()),
        ("bad.example", "dbl.spamhaus.org"): (ListingStatus.LISTED, ("phish domain",)),
        ("good.example", "dbl.spamhaus.org"): (ListingStatus.NOT_LISTED, ()),
    }


def test_dqs_and_zone_keys() -> None:
    zen, abusix = CATALOGUE["zen.spamhaus.org"], CATALOGUE["{key}.combined.mail.abusix.zone"]
    keys = DnsblKeys(spamhaus_dqs="k3y", zone_keys={abusix.zone: "abc"})
    assert zone_host(zen, keys) == "k3y.zen.dq.spamhaus.net"
    assert zone_host(abusix, keys) == "abc.combined.mail.abusix.zone"
    assert zone_host(abusix, DnsblKeys()) is None
    data = {
        query_name(IP, "k3y.zen.dq.spamhaus.net"): [{"A": "127.0.0.3"}],
        query_name("127.0.0.2", "k3y.zen.dq.spamhaus.net"): [{"A": "127.0.0.2"}],
    }
    with DNSServer(Zone().update(data)) as server:
        report = run(server, [IP], [zen.zone, abusix.zone], keys=DnsblKeys(spamhaus_dqs="k3y"))
    got = {r.zone: (r.status, r.error) for r in report.results}
    assert got[zen.zone] == (ListingStatus.LISTED, None)
    assert got[abusix.zone] == (ListingStatus.SKIPPED, "key_required")
    shown = {r.zone: r.query for r in report.results}
    assert shown[zen.zone] == query_name(IP, "KEY.zen.dq.spamhaus.net")  # the key is a secret


def test_default_selection_excludes_dead_deprecated_and_unverified() -> None:
    chosen = select_zones(CATALOGUE)
    assert chosen
    assert all(z.status in (ZoneStatus.ACTIVE, ZoneStatus.KEY_REQUIRED) for z in chosen)
    assert "dnsbl.sorbs.net" not in {z.zone for z in chosen}
    assert "cbl.abuseat.org" not in {z.zone for z in chosen}


def test_dead_zone_is_never_queried() -> None:
    with DNSServer(Zone()) as server:
        report = run(server, [IP], ["list.dsbl.org"])
        assert server.queries == 0
    assert report.results[0].status is ListingStatus.SKIPPED
    assert report.results[0].error == "zone_dead"
