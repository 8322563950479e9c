"""Blocklist check throughput and correctness: 500 IPs x 40 zones against a loopback server.

The nameserver (tests/servers/dns.py) runs in a child process so client and server do not
share one interpreter lock. Each (IP, zone) answer is drawn from a seeded mix of answer
classes — NXDOMAIN, documented listing codes, documented non-listing codes, error codes
(public resolver, typo, rate limit, refusal), 127.0.0.1, answers outside 127/8 and SERVFAIL —
and the class the generator chose is compared with the checker's verdict. Prints checks/s
and the number of misclassified answers (must be 0). Prints figures; asserts nothing.

The server pre-encodes its answers before the clock starts (tests/servers/dns.py), so what
is measured is the checker: :class:`~monitor.checks.resolver.DnsClient` over reused sockets,
classification and result building. Wall-clock rates depend on what else the machine runs,
so the client's CPU time is printed too (checks per CPU-second does not).
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
from monitor.checks.resolver import DnsClient
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
    """Child process: pre-encode every answer, run the nameserver, report its port."""
    server = DNSServer(ServedZone().update(data))
    started = time.perf_counter()
    encoded = asyncio.run(server.preencode(("A", "TXT")))
    conn.send(encoded)
    conn.send(time.perf_counter() - started)
    server.serve_forever(conn.send)


async def run_checks(
    port: int, ips: list[str], zones: list[Zone], concurrency: int
) -> tuple[Any, float, float, int]:
    """One full run: (report, wall seconds, client CPU seconds, DNS queries)."""
    async with DnsClient([f"127.0.0.1:{port}"], timeout=5.0, concurrency=concurrency) as client:
        start, cpu = time.perf_counter(), time.process_time()
        report = await check_blocklists(client, ips, zones)
        return report, time.perf_counter() - start, time.process_time() - cpu, client.queries


def main() -> int:
    zones = bench_zones()
    data, expected, ips = plan(zones)
    parent, child = multiprocessing.Pipe()
    proc = multiprocessing.Process(target=serve, args=(data, child), daemon=True)
    proc.start()
    try:
        encoded, took = parent.recv(), parent.recv()
        print(f"dnsbl: server pre-encoded {encoded:,} answers in {took:.1f} s")
        port = parent.recv()
        for concurrency in (100, 300):
            report, elapsed, cpu, queries = asyncio.run(run_checks(port, ips, zones, concurrency))
            checks = len(report.results)
            wrong = sum(1 for r in report.results if expected[(r.target, r.zone)] != r.status.value)
            print(
                f"dnsbl: {len(ips)} IPs x {len(zones)} zones = {checks} checks "
                f"({queries} DNS queries incl. probes and TXT reasons), concurrency "
                f"{concurrency}: {elapsed:.2f} s, {checks / elapsed:,.0f} checks/s "
                f"(client CPU {cpu:.2f} s = {checks / cpu:,.0f} checks per CPU-second), "
                f"misclassified {wrong}"
            )
    finally:
        proc.terminate()
        proc.join(5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
