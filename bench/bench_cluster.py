"""Relays sharing one PostgreSQL queue: delivered/s with 1 and with 2 relay processes.

Issue 17, point 6: on PostgreSQL several relays claim from one queue (``FOR UPDATE SKIP
LOCKED``). The same load (``--messages`` of ``--size`` bytes over ``--connections`` client
connections, spread evenly over the relays' listeners) goes through one ``deliverwatch
relay``, then through two sharing a fresh schema, each with its delivery process, to the
three counting sink MX hosts of ``bench_relay``. Delivered/s is end to end (first
connection -> the sinks' last message). On a machine with two cores the relays, the client
and the sinks share them: the second relay adds claimers, not cores, so the figure shows
that sharing the queue costs nothing (no lock waits, no double sends) rather than a
speed-up. Prints figures; asserts nothing except that nothing was lost.

    python bench/bench_cluster.py [--messages 4000] [--size 10240] [--connections 20]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bench_relay import (
    PASSWORD,
    REPO,
    Sinks,
    _children,
    _client,
    _cpu_seconds,
    _rss_mib,
    sink_hosts,
)
from pgschema import PG_URL, pg_schema

from monitor.relay.passwords import hash_password
from monitor.store.db import make_engine, upgrade
from tests.servers.dns import DNSServer
from tests.servers.smtp import free_port


def _start(
    work: Path, url: str, dns: DNSServer, sinks: Sinks, n: int
) -> tuple[int, subprocess.Popen[bytes]]:
    port = free_port()
    config = work / f"relay{n}.toml"
    config.write_text(
        f'[database]\nurl = "{url}"\n\n[logging]\nlevel = "INFO"\n\n'
        f'[checks]\nnameservers = ["{dns.address}"]\n\n'
        f'[relay]\nlisten = ["127.0.0.1:{port}"]\nplain_auth_on_loopback = true\n'
        f'hostname = "relay{n}.bench"\ndata_dir = "{work / f"relay{n}"}"\n'
        f"outbound_port = {sinks.port}\nmax_connections_per_domain = 20\n\n"
        f'[relay.users.bench]\npassword_hash = "{hash_password(PASSWORD)}"\n'
        'domains = ["sender.example"]\nallow_unsigned = true\n',  # as bench_relay's unsigned run
        encoding="utf-8",
    )
    log = work / f"relay{n}.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "relay"],
            cwd=REPO, stdout=fh, stderr=subprocess.STDOUT,
        )  # fmt: skip
    deadline = time.monotonic() + 90
    ready = (b"relay started", b"delivery process started")
    while not all(m in log.read_bytes() for m in ready):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(log.read_text(errors="replace")[-2000:])
        time.sleep(0.05)
    return port, proc


def run(args: argparse.Namespace, relays: int, work: Path, sinks: Sinks, dns: DNSServer) -> None:
    with pg_schema() as url:
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        started = [_start(work, url, dns, sinks, n) for n in range(relays)]
        pids = [p.pid for _, p in started]
        try:
            ports = [port for port, _ in started]
            shares = [list(range(i, args.messages, args.connections))
                      for i in range(args.connections)]  # fmt: skip
            latencies: list[float] = []
            base = sinks.count()
            cpu0 = sum(_cpu_seconds(_children(pid)) for pid in pids)
            t0 = time.perf_counter()

            async def load() -> int:
                done = await asyncio.gather(
                    *(
                        _client(ports[i % relays], share, args.size, True, latencies)
                        for i, share in enumerate(shares)
                    )
                )
                return sum(done)

            accepted = asyncio.run(load())
            accept_s = time.perf_counter() - t0
            deliver_s, delivered = sinks.delivered(base, accepted, t0)
            cpu = sum(_cpu_seconds(_children(pid)) for pid in pids) - cpu0
            rss = sum(_rss_mib(_children(pid)) for pid in pids)
        finally:
            for _, proc in started:
                proc.send_signal(signal.SIGTERM)
            for _, proc in started:
                proc.wait(120)
    print(
        f"{relays} relay process{'es' if relays > 1 else '  '} on PostgreSQL: accepted "
        f"{accepted} at {accepted / accept_s:7.1f}/s, delivered {delivered} at "
        f"{delivered / deliver_s:7.1f}/s (duplicates {max(0, delivered - accepted)}); "
        f"relays' CPU {cpu:.1f} s, peak RSS {rss:.0f} MiB",
        flush=True,
    )
    if delivered < accepted:
        raise SystemExit(f"{accepted - delivered} accepted messages were not delivered")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--messages", type=int, default=4000)
    p.add_argument("--size", type=int, default=10_240)
    p.add_argument("--connections", type=int, default=20)
    args = p.parse_args(argv)
    print(
        f"{args.messages} messages of {args.size} bytes over {args.connections} connections "
        f"to 3 sink MX hosts; load average {os.getloadavg()[0]:.1f} ({PG_URL})",
        flush=True,
    )
    with sink_hosts("dw-bench-cluster-") as (work, sinks, dns):
        for relays in (1, 2):
            run(args, relays, work, sinks, dns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
