"""Outbound delivery throughput: the relay's engine empties a queue of 10 KB messages into
three sink MX hosts.

Setup (not timed): a loopback DNS server (tests/servers/dns.py) publishes three domains, each
with its own MX on 127.0.0.2-4; three aiosmtpd sinks (tests/servers/smtp.py) play those MX
hosts, each in a process of its own (``--sink counting``: minimal counting sinks that cost
the machine far less, so that the engine's own capacity shows); ``--messages`` messages
(default 10,000) of ``--size`` bytes (default 10 KB), one recipient each, spread over the
three domains, are queued with ``monitor.store.queue.enqueue``. Then a child process runs
``DeliveryEngine`` until every recipient is delivered, and prints delivered/s (first claim
to last result stored: queue state, events and all), its CPU time and its peak RSS, and the
sinks' CPU time. SQLite, and PostgreSQL when it is reachable (``DELIVERWATCH_TEST_PG_URL``).
Prints figures; asserts nothing. The machine is shared: the load average before each run is
printed, and messages per CPU-second of the engine do not depend on it.

    python bench/bench_delivery.py [--messages 10000] [--size 10240]
                                   [--backend sqlite|postgresql|both]
                                   [--sink aiosmtpd|counting]
                                   [--profile FILE] [--spy FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from pgschema import PG_URL, pg_schema  # noqa: E402 - bench/, first on sys.path as a script

from monitor.events import EventContext  # noqa: E402
from monitor.relay.delivery import DeliveryEngine, DeliverySettings  # noqa: E402
from monitor.store import queue  # noqa: E402
from monitor.store.db import make_engine, make_session_factory, upgrade  # noqa: E402
from tests.servers.dns import DNSServer  # noqa: E402
from tests.servers.smtp import free_port  # noqa: E402

HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4")
DOMAINS = ("one.example", "two.example", "three.example")

_SINK = """
import sys, time
sys.path.insert(0, {repo!r})
from tests.servers.smtp import CountingSink, SmtpSink
sink = {kind}({host!r}, {port})
sink.__enter__()
print("ready", flush=True)
sys.stdin.read()
print(sink.messages if isinstance(sink.messages, int) else len(sink.messages), flush=True)
"""
SINKS = {"aiosmtpd": "SmtpSink", "counting": "CountingSink"}


def _body(i: int, size: int) -> bytes:
    head = (
        f"From: News <news@sender.example>\r\nTo: r{i}@x\r\nSubject: bench {i}\r\n"
        f"Message-ID: <bench{i}@sender.example>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
    ).encode()
    line = b"The quick brown fox jumps over the lazy dog, again and again and again.\r\n"
    return head + line * max(1, (size - len(head)) // len(line))


def _enqueue(url: str, n: int, size: int) -> float:
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    now = dt.datetime.now(dt.UTC)
    t0 = time.perf_counter()
    for start in range(0, n, 500):
        batch = [
            queue.QueuedMessage(
                queue_id=f"B{i:08d}",
                submitted_by="bench",
                envelope_sender="news@sender.example",
                body=_body(i, size),
                received_at=now,
                expires_at=now + dt.timedelta(days=5),
                recipients=(queue.QueuedRecipient(address=f"r{i}@{DOMAINS[i % 3]}"),),
                header_from="news@sender.example",
                message_id=f"bench{i}@sender.example",
                campaign="bench",
            )
            for i in range(start, min(n, start + 500))
        ]
        with factory() as session, session.begin():
            queue.enqueue(session, batch)
    engine.dispose()
    return time.perf_counter() - t0


def _run_engine(url: str, n: int, nameserver: str, port: int) -> dict[str, float]:
    """The child: deliver everything, report time, CPU and peak RSS."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    settings = DeliverySettings(
        hostname="relay.bench.example",
        port=port,
        nameservers=(nameserver,),
        connect_timeout=10,
        command_timeout=30,
        poll_seconds=0.2,
    )

    async def main() -> dict[str, float]:
        delivery = DeliveryEngine(
            factory=factory,
            settings=settings,
            ctx=EventContext(),
            clock=lambda: dt.datetime.now(dt.UTC),
            owner="bench:1",
        )
        stopping = asyncio.Event()
        cpu0, loop0, t0 = time.process_time(), time.thread_time(), time.perf_counter()
        task = asyncio.create_task(delivery.run(stopping))
        while delivery.counts["delivered"] + delivery.counts["deferred"] < n and not task.done():
            await asyncio.sleep(0.05)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        loop = time.thread_time() - loop0  # the event loop's thread; the rest is the DB's
        stopping.set()
        await task
        counts = {k: float(v) for k, v in delivery.counts.items()}
        return {"seconds": seconds, "cpu": cpu, "cpu_loop": loop, "cpu_db": cpu - loop, **counts}

    result = asyncio.run(main())
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _cpu(pids: list[int]) -> float:
    """CPU seconds used so far by the processes ``pids`` (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _bench(
    label: str, url: str, args: argparse.Namespace, dns: DNSServer, port: int, sinks: list[int]
) -> None:
    took = _enqueue(url, args.messages, args.size)
    print(f"{label}: queued {args.messages} messages of {args.size} B in {took:.1f} s", flush=True)
    command = [sys.executable, __file__, "--child", url, "--messages", str(args.messages),
               "--nameserver", dns.address, "--port", str(port)]  # fmt: skip
    if args.profile:
        command[1:1] = ["-m", "cProfile", "-o", f"{args.profile}.{label}"]
    if args.spy:  # sample every thread (cProfile sees the event loop's only)
        spy = Path(sys.executable).with_name("py-spy")
        command[:0] = [str(spy), "record", "-r", "250", "-f", "raw", "-o",
                       f"{args.spy}.{label}", "--"]  # fmt: skip
    sink_cpu, load = _cpu(sinks), os.getloadavg()[0]
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    sink_cpu = _cpu(sinks) - sink_cpu
    result = json.loads(next(x for x in out.stdout.splitlines() if x.startswith("{")))
    rate = result.get("delivered", 0) / result["seconds"]
    print(
        f"{label}: delivered {result.get('delivered', 0):.0f} (deferred "
        f"{result.get('deferred', 0):.0f}) in {result['seconds']:.1f} s = {rate:.0f} msg/s; "
        f"engine CPU {result['cpu']:.1f} s ({result.get('delivered', 0) / result['cpu']:.0f} "
        f"msg per CPU-second: event loop {result.get('cpu_loop', 0):.1f} s, database thread "
        f"{result.get('cpu_db', 0):.1f} s); peak RSS {result['peak_rss_mib']:.0f} MiB; "
        f"the three sinks used {sink_cpu:.1f} CPU-s; load average before {load:.2f}; "
        f"{result.get('claims', 0):.0f} claims, {result.get('batches', 0):.0f} result batches",
        flush=True,
    )


def _pg_reachable() -> bool:
    try:
        engine = make_engine(PG_URL)
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:  # any driver or network error: not reachable
        return False


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--size", type=int, default=10_240)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--sink",
        choices=sorted(SINKS),
        default="aiosmtpd",
        help="the MX hosts: aiosmtpd sinks (as in the tests) or minimal counting sinks, "
        "which leave more of the machine to the engine",
    )
    parser.add_argument("--profile", help="write cProfile stats of the engine to FILE.<backend>")
    parser.add_argument("--spy", help="write py-spy samples (raw) of the engine to FILE.<backend>")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--nameserver", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_run_engine(args.child, args.messages, args.nameserver, args.port)))
        return 0
    port = free_port()
    with DNSServer() as dns:
        for domain, host in zip(DOMAINS, HOSTS, strict=True):
            dns.zone.add(domain, "MX", [10, f"mx.{domain}"])
            dns.zone.add(f"mx.{domain}", "A", host)
        kind = SINKS[args.sink]
        scripts = [_SINK.format(repo=str(REPO), kind=kind, host=h, port=port) for h in HOSTS]
        sinks = [
            subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
            for script in scripts
        ]  # fmt: skip
        pids = [sink.pid for sink in sinks]
        try:
            for sink in sinks:
                assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
            if args.backend in ("sqlite", "both"):
                with tempfile.TemporaryDirectory() as folder:
                    _bench("sqlite", f"sqlite:///{folder}/bench.db", args, dns, port, pids)
            if args.backend in ("postgresql", "both"):
                if _pg_reachable():
                    with pg_schema() as url:
                        _bench("postgresql", url, args, dns, port, pids)
                else:
                    print(f"postgresql: not reachable at {PG_URL}, skipped")
        finally:
            received = []
            for sink in sinks:
                out, _ = sink.communicate("", timeout=60)
                received.append(out.strip().splitlines()[-1] if out.strip() else "?")
            print(f"sinks received: {', '.join(received)} messages", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
