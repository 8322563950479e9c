"""Traffic shaping's cost and its point: delivered/s with shaping on (caps set high) and off,
and how long one transactional message takes behind a 20,000-message campaign.

Setup (not timed) as in ``bench_delivery``: a loopback DNS server, three counting sink MX
hosts in processes of their own (``tests/servers/smtp.py``), ``--messages`` messages of
``--size`` bytes queued over three domains. Each run is a child process running
``DeliveryEngine`` until the queue is empty:

* ``off``: ``shaping=None`` (the plain per-domain limits of issue 13);
* ``on``: the shipped groups plus a group matching the three sink MXs with caps far above
  what the machine can do (so the figure is the bookkeeping's cost, not a cap): every
  message then goes through group matching, connection accounting, a pace reservation and
  the fair claim (transactional first, campaigns in turn).

Then the latency: ``--campaign`` (default 20,000) bulk messages are queued, the engine (shaping
on) starts on them, and once 200 have been delivered one transactional message is queued;
the time from its commit to its ``delivered`` state is printed. SQLite, and PostgreSQL when
reachable. Prints figures; asserts nothing.

    python bench/bench_shaping.py [--messages 5000] [--size 10240] [--campaign 20000]
                                  [--backend sqlite|postgresql|both]
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

from bench_delivery import _SINK, DOMAINS, HOSTS, _body, _enqueue, _pg_reachable  # noqa: E402
from pgschema import PG_URL, pg_schema  # noqa: E402 - bench/, first on sys.path as a script
from sqlalchemy import Table, func, select, text  # noqa: E402

from monitor.events import EventContext  # noqa: E402
from monitor.relay.delivery import DeliveryEngine, DeliverySettings  # noqa: E402
from monitor.relay.delivery.shaping import (  # noqa: E402
    GroupRule,
    Limits,
    ShapingSettings,
    shipped_groups,
)
from monitor.store import queue  # noqa: E402
from monitor.store.db import make_engine, make_session_factory, upgrade  # noqa: E402
from monitor.store.models import RelayMessage, SentMessage  # noqa: E402
from tests.servers.dns import DNSServer  # noqa: E402
from tests.servers.smtp import free_port  # noqa: E402

HIGH = Limits(max_connections=20, messages_per_connection=1000, messages_per_minute=6_000_000,
              messages_per_hour=100_000_000, recipients_per_message=100)  # fmt: skip


def _shaping() -> ShapingSettings:
    sinks = GroupRule(id="bench", mx_patterns=tuple(f"mx.{d}" for d in DOMAINS), limits=HIGH)
    return ShapingSettings(groups=(sinks, *shipped_groups()))


def _settings(nameserver: str, port: int, shaping: bool) -> DeliverySettings:
    return DeliverySettings(hostname="relay.bench.example", port=port, nameservers=(nameserver,),
                            connect_timeout=10, command_timeout=30, poll_seconds=0.2,
                            shaping=_shaping() if shaping else None)  # fmt: skip


def _engine(factory: object, settings: DeliverySettings) -> DeliveryEngine:
    return DeliveryEngine(factory=factory, settings=settings, ctx=EventContext(),  # type: ignore[arg-type]
                          clock=lambda: dt.datetime.now(dt.UTC), owner="bench:1")  # fmt: skip


def _throughput(url: str, n: int, nameserver: str, port: int, shaping: bool) -> dict[str, float]:
    """The child: deliver everything; seconds and CPU."""
    factory = make_session_factory(make_engine(url))
    settings = _settings(nameserver, port, shaping)

    async def main() -> dict[str, float]:
        delivery = _engine(factory, settings)
        stopping = asyncio.Event()
        cpu0, t0 = time.process_time(), time.perf_counter()
        task = asyncio.create_task(delivery.run(stopping))
        while delivery.counts["delivered"] + delivery.counts["deferred"] < n and not task.done():
            await asyncio.sleep(0.05)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        stopping.set()
        await task
        return {"seconds": seconds, "cpu": cpu, **{k: float(v) for k, v in delivery.counts.items()}}

    result = asyncio.run(main())
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def _seed_campaign(url: str, n: int, size: int) -> None:
    """``n`` one-recipient bulk messages of one campaign, written in bulk."""
    engine = make_engine(url)
    upgrade(engine)
    factory = make_session_factory(engine)
    now = dt.datetime.now(dt.UTC)
    messages, rcpts = RelayMessage.__table__, SentMessage.__table__
    assert isinstance(messages, Table) and isinstance(rcpts, Table)
    body = _body(0, size)
    with factory() as s, s.begin():
        first = (s.scalar(select(func.max(RelayMessage.id))) or 0) + 1
        for start in range(0, n, 5000):
            part = range(start, min(n, start + 5000))
            s.execute(messages.insert(), [
                {"id": first + i, "queue_id": f"C{i:08d}", "submitted_by": "bench",
                 "envelope_sender": "news@sender.example", "header_from": "news@sender.example",
                 "message_id": f"c{i}@sender.example", "campaign": "big", "stream": "bulk",
                 "size": len(body), "body": body, "smtputf8": False, "body_8bit": False,
                 "received_at": now}
                for i in part
            ])  # fmt: skip
            s.execute(rcpts.insert(), [
                {"queue_id": f"C{i:08d}.1", "message_id": f"c{i}@sender.example",
                 "campaign": "big", "envelope_sender": "news@sender.example",
                 "recipient": f"c{i}@{DOMAINS[i % 3]}", "recipient_domain": DOMAINS[i % 3],
                 "state": "queued", "attempts": 0, "next_attempt_at": now, "size": len(body),
                 "created_at": now, "sent_at": now, "updated_at": now,
                 "relay_message_id": first + i, "expires_at": now + dt.timedelta(days=5),
                 "stream": "bulk"}
                for i in part
            ])  # fmt: skip
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("SELECT setval(pg_get_serial_sequence('relay_messages', 'id'), "
                           "(SELECT max(id) FROM relay_messages))"))  # fmt: skip
    engine.dispose()


def _latency(url: str, nameserver: str, port: int) -> dict[str, float]:
    """The child: deliver the campaign; once 200 are out, queue one transactional message
    and time it to ``delivered``."""
    factory = make_session_factory(make_engine(url))
    settings = _settings(nameserver, port, True)

    def submit() -> int:
        now = dt.datetime.now(dt.UTC)
        message = queue.QueuedMessage(
            queue_id="URGENT", submitted_by="shop", envelope_sender="shop@sender.example",
            body=_body(1, 2000), received_at=now, expires_at=now + dt.timedelta(days=5),
            recipients=(queue.QueuedRecipient(address=f"me@{DOMAINS[0]}"),),
            header_from="shop@sender.example", stream="transactional",
        )  # fmt: skip
        with factory() as s, s.begin():
            return queue.enqueue(s, [message])[0][0]

    def delivered(sent_id: int) -> bool:
        with factory() as s:
            state = s.scalar(select(SentMessage.state).where(SentMessage.id == sent_id))
            return state is not None and state.value == "delivered"

    async def main() -> dict[str, float]:
        delivery = _engine(factory, settings)
        stopping = asyncio.Event()
        task = asyncio.create_task(delivery.run(stopping))
        while delivery.counts["delivered"] < 200 and not task.done():
            await asyncio.sleep(0.02)
        loop = asyncio.get_running_loop()
        sent_id = await loop.run_in_executor(None, submit)
        t0 = time.perf_counter()
        delivery.wake()
        while not await loop.run_in_executor(None, delivered, sent_id):
            await asyncio.sleep(0.01)
        took = time.perf_counter() - t0
        ahead = delivery.counts["delivered"]
        stopping.set()
        await task
        return {"seconds": took, "delivered_by_then": float(ahead)}

    return asyncio.run(main())


def _child(args: argparse.Namespace) -> dict[str, float]:
    if args.child == "latency":
        return _latency(args.url, args.nameserver, args.port)
    return _throughput(args.url, args.messages, args.nameserver, args.port, args.child == "on")


def _run(kind: str, url: str, args: argparse.Namespace, dns: DNSServer, port: int) -> dict:  # type: ignore[type-arg]
    command = [sys.executable, __file__, "--child", kind, "--url", url, "--messages",
               str(args.messages), "--nameserver", dns.address, "--port", str(port)]  # fmt: skip
    out = subprocess.run(command, check=True, capture_output=True, text=True)
    return dict(json.loads(next(x for x in out.stdout.splitlines() if x.startswith("{"))))


def _bench(label: str, make_url: object, args: argparse.Namespace, dns: DNSServer,
           port: int) -> None:  # fmt: skip
    for kind in ("off", "on"):
        with make_url() as url:  # type: ignore[operator]
            _enqueue(url, args.messages, args.size)
            load = os.getloadavg()[0]
            r = _run(kind, url, args, dns, port)
            rate = r.get("delivered", 0) / r["seconds"]
            print(f"{label}: shaping {kind:>3}: delivered {r.get('delivered', 0):.0f} in "
                  f"{r['seconds']:.1f} s = {rate:.0f} msg/s (engine CPU {r['cpu']:.1f} s, "
                  f"peak RSS {r['peak_rss_mib']:.0f} MiB, load before {load:.2f})",
                  flush=True)  # fmt: skip
    with make_url() as url:  # type: ignore[operator]
        _seed_campaign(url, args.campaign, args.size)
        r = _run("latency", url, args, dns, port)
        print(f"{label}: one transactional message behind a {args.campaign}-message campaign: "
              f"delivered {r['seconds']:.2f} s after it was queued ({r['delivered_by_then']:.0f} "
              "campaign messages out by then)", flush=True)  # fmt: skip


class _SqliteUrl:
    def __enter__(self) -> str:
        self._dir = tempfile.TemporaryDirectory()
        return f"sqlite:///{self._dir.name}/bench.db"

    def __exit__(self, *exc: object) -> None:
        self._dir.cleanup()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--size", type=int, default=10_240)
    parser.add_argument("--campaign", type=int, default=20_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--nameserver", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args)))
        return 0
    port = free_port()
    with DNSServer() as dns:
        for domain, host in zip(DOMAINS, HOSTS, strict=True):
            dns.zone.add(domain, "MX", [10, f"mx.{domain}"])
            dns.zone.add(f"mx.{domain}", "A", host)
        scripts = [_SINK.format(repo=str(REPO), kind="CountingSink", host=h, port=port)
                   for h in HOSTS]  # fmt: skip
        sinks = [subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
                 for script in scripts]  # fmt: skip
        try:
            for sink in sinks:
                assert sink.stdout is not None and sink.stdout.readline().strip() == "ready"
            if args.backend in ("sqlite", "both"):
                _bench("sqlite", _SqliteUrl, args, dns, port)
            if args.backend in ("postgresql", "both"):
                if _pg_reachable():
                    _bench("postgresql", pg_schema, args, dns, port)
                else:
                    print(f"postgresql: not reachable at {PG_URL}, skipped")
        finally:
            for sink in sinks:
                sink.communicate("", timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
