"""Blocklist check throughput and correctness: 500 IPs x 40 zones against a loopback server.

The nameserver (tests/servers/dns.py) runs in a child process so client and server do not
share one interpreter lock. Each (IP, zone) answer is drawn from a seeded mix of answer
classes — NXDOMAIN, documented listing codes, documented non-listing codes, error codes
(public resolver, typo, rate limit, refusal), 127.0.0.1, answers outside 127/8 and SERVFAIL —
and the class the generator chose is compared with the checker's verdict. Prints checks/s
and the number of misclassified answers (must be 0). Prints figures; asserts nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import multiprocessing
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.checks.dnsbl import check_blocklists, query_name
from monitor.checks.resolver import DnsClient, make_resolver
from monitor.checks.zones import Zone, ZoneKind, ZoneStatus, load_catalogue
from tests.servers.dns import DNSServer
from tests.servers.dns import Zone as ServedZone

N_IPS = 500
N_ZONES = 40
SEED = 7208


def bench_zones() -> list[Zone]:
    """The catalogue's usable IPv4 zones, topped up with Spamhaus-shaped synthetic zones."""
    synthetic: list[dict[str, Any]] = []
    real = load_catalogue()
    usable = [
        z
        for z in real.values()
        if "ip4" in z.types and z.status is ZoneStatus.ACTIVE and "{key}" not in z.zone
    ]
    zen = next(z for z in usable if z.zone == "zen.spamhaus.org")
    for i in range(N_ZONES - len(usable)):
        synthetic.append(
            {
                "name": f"bench list {i}",
                "zone": f"bl{i}.bench.test",
                "types": ["ip4"],
                "status": "active",
                "kind": "blocklist",
                "codes": {
                    c: {"category": v.category, "meaning": v.meaning, "listing": v.listing}
                    for c, v in zen.codes.items()
                },
                "errors": {c: {"error": e, "meaning": m} for c, (e, m) in zen.errors.items()},
            }
        )
    extra = load_catalogue(synthetic)
    return usable + [extra[s["zone"]] for s in synthetic]


def plan(zones: list[Zone]) -> tuple[dict[str, list[Any]], dict[tuple[str, str], str], list[str]]:
    """Zone data for the server and the expected status of every (ip, zone)."""
    rng = random.Random(SEED)
    ips = [str(ipaddress.IPv4Address(0xC6120000 + i * 7 + 1)) for i in range(N_IPS)]  # 198.18/15
    data: dict[str, list[Any]] = {}
    expected: dict[tuple[str, str], str] = {}
    for zone in zones:
        good = zone.kind is ZoneKind.ALLOWLIST
        listing = [c for c, v in zone.codes.items() if v.listing] + [
            f"127.0.0.{b}" for b in zone.bitmask
        ]
        other = [c for c, v in zone.codes.items() if not v.listing]
        data[query_name("127.0.0.2", zone.zone)] = [{"A": (listing or other or ["127.0.0.2"])[0]}]
        for ip in ips:
            name, roll = query_name(ip, zone.zone), rng.random()
            if roll < 0.70:
                expected[(ip, zone.zone)] = "not_listed"
                continue
            if roll < 0.82 and listing:
                data[name] = [{"A": rng.choice(listing)}, {"TXT": "bench listing"}]
                expected[(ip, zone.zone)] = "not_listed" if good else "listed"
            elif roll < 0.86 and other:
                data[name] = [{"A": rng.choice(other)}]
                expected[(ip, zone.zone)] = "not_listed"
            elif roll < 0.92 and zone.errors:
                data[name] = [{"A": rng.choice(list(zone.errors))}]
                expected[(ip, zone.zone)] = "error"
            elif roll < 0.95:
                data[name] = [{"A": f"10.{rng.randrange(256)}.0.1"}]  # NXDOMAIN rewritten
                expected[(ip, zone.zone)] = "error"
            elif roll < 0.97 and "127.0.0.1" not in zone.codes:
                data[name] = [{"A": "127.0.0.1"}]
                expected[(ip, zone.zone)] = "error"
            else:
                data[name] = ["SERVFAIL"]
                expected[(ip, zone.zone)] = "unknown"
    return data, expected, ips


def serve(data: dict[str, list[Any]], conn: Any) -> None:
    """Child process: run the nameserver and report its port."""
    server = DNSServer(ServedZone().update(data))
    loop = asyncio.new_event_loop()
    task = loop.create_task(server._serve())
    while not server._ready.is_set():
        loop.run_until_complete(asyncio.sleep(0.01))
    conn.send(server.port)
    loop.run_until_complete(task)


async def run_checks(port: int, ips: list[str], zones: list[Zone], concurrency: int) -> Any:
    client = DnsClient(make_resolver([f"127.0.0.1:{port}"], timeout=5.0), concurrency=concurrency)
    start = time.perf_counter()
    report = await check_blocklists(client, ips, zones)
    return report, time.perf_counter() - start, client.queries


def main() -> int:
    zones = bench_zones()
    data, expected, ips = plan(zones)
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=serve, args=(data, child), daemon=True)
    proc.start()
    try:
        port = parent.recv()
        for concurrency in (100, 300):
            report, elapsed, queries = asyncio.run(run_checks(port, ips, zones, concurrency))
            checks = len(report.results)
            wrong = sum(1 for r in report.results if expected[(r.target, r.zone)] != r.status.value)
            print(
                f"dnsbl: {len(ips)} IPs x {len(zones)} zones = {checks} checks "
                f"({queries} DNS queries incl. probes and TXT reasons), concurrency "
                f"{concurrency}: {elapsed:.2f} s, {checks / elapsed:,.0f} checks/s, "
                f"misclassified {wrong}"
            )
    finally:
        proc.terminate()
        proc.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
