"""Operations figures (issue 17): bytes per stored event, and the idle daemon's CPU and RSS.

* **bytes per event**: N realistic events (relay deliveries, bounces with diagnostics,
  deferrals, complaints) written through the models into a fresh database of each backend,
  at schema revision 0005 (before) and at head (after revision 0007 dropped the redundant
  ``ix_events_occurred_kind``). SQLite: the file's pages after a checkpoint and VACUUM, less
  the empty schema's; PostgreSQL: ``pg_total_relation_size('events')`` (heap, TOAST and
  every index) after VACUUM. The largest indexes are listed, so waste is visible.
* **idle daemon**: ``deliverwatch daemon`` with the default jobs and ``/metrics`` on, from
  "daemon started" plus a settling pause, over ``--seconds`` (default 300, the issue's five
  minutes): CPU from ``/proc/PID/stat`` (user + system), peak RSS sampled every second.
  Targets: < 1 % CPU, < 150 MB.

Prints figures; asserts nothing.

    python bench/bench_ops.py [--events 20000] [--seconds 300] [--backends sqlite,postgresql]
                              [--only storage|idle]
"""

from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pgschema import pg_schema  # noqa: E402 - bench/, first on sys.path as a script
from sqlalchemy import Engine, insert, text  # noqa: E402

from monitor.enums import EventKind, Trust  # noqa: E402
from monitor.store.db import make_engine, upgrade  # noqa: E402
from monitor.store.models import Event  # noqa: E402

DOMAINS = ["gmail.com", "outlook.com", "yahoo.com", "web.de", "example.org", "company.example"]
MX = {
    "gmail.com": "gmail-smtp-in.l.google.com",
    "outlook.com": "outlook-com.olc.protection.outlook.com",
}


def _events(n: int, seed: int = 7) -> list[dict[str, object]]:
    rnd = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    out: list[dict[str, object]] = []
    for i in range(n):
        domain = rnd.choice(DOMAINS)
        roll = rnd.random()
        row: dict[str, object] = {
            **dict.fromkeys(
                (
                    "reason",
                    "hard",
                    "status",
                    "reply_code",
                    "diagnostic",
                    "feedback_type",
                    "source_ref",
                )
            ),
            "address": f"user{rnd.randrange(10**7)}@{domain}",
            "recipient_domain": domain,
            "campaign": f"newsletter-{rnd.randrange(40)}",
            "source_ip": "192.0.2.10",
            "message_id": f"<{rnd.getrandbits(64):016x}.{i}@mail.example.com>",
            "occurred_at": start + timedelta(seconds=i * 13),
            "ingested_at": start + timedelta(seconds=i * 13 + 5),
            "dedupe_key": f"relay:{i}:{rnd.getrandbits(80):020x}",
            "remote_mta": MX.get(domain, f"mx.{domain}"),
        }
        if roll < 0.80:
            row |= {
                "kind": EventKind.DELIVERED,
                "trust": Trust.LOCAL,
                "source": "relay",
                "reply_code": "250",
                "status": "2.0.0",
                "diagnostic": f"250 2.0.0 OK {rnd.getrandbits(48):x} - gsmtp",
            }
        elif roll < 0.90:
            row |= {
                "kind": EventKind.DEFERRED,
                "trust": Trust.LOCAL,
                "source": "relay",
                "reason": "speeding",
                "reply_code": "421",
                "status": "4.7.0",
                "diagnostic": "421 4.7.0 Try again later, closing connection. (EHLO)",
            }
        elif roll < 0.99:
            row |= {
                "kind": EventKind.BOUNCED,
                "trust": Trust.VERIFIED,
                "source": "imap:bounces",
                "reason": "userunknown",
                "hard": True,
                "reply_code": "550",
                "status": "5.1.1",
                "source_ref": f"bounces:1:{i}",
                "diagnostic": "550 5.1.1 The email account that you tried to reach does "
                "not exist. Please try double-checking the recipient's email address.",
            }
        else:
            row |= {
                "kind": EventKind.COMPLAINED,
                "trust": Trust.VERIFIED,
                "source": "imap:fbl",
                "feedback_type": "abuse",
                "source_ref": f"fbl:1:{i}",
            }
        out.append(row)
    return out  # fmt: skip


def _insert(engine: Engine, rows: list[dict[str, object]]) -> None:
    with engine.begin() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(insert(Event), rows[i : i + 5000])


def _sqlite_bytes(engine: Engine) -> int:
    with engine.connect() as conn:
        auto = conn.execution_options(isolation_level="AUTOCOMMIT")
        auto.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        auto.execute(text("VACUUM"))
        pages = int(auto.execute(text("PRAGMA page_count")).scalar() or 0)
        size = int(auto.execute(text("PRAGMA page_size")).scalar() or 0)
    return pages * size


def _sqlite_indexes(engine: Engine) -> list[tuple[str, int]]:
    try:
        with engine.connect() as conn:
            q = text("SELECT name, SUM(pgsize) FROM dbstat WHERE name LIKE '%events%' "
                     "GROUP BY name ORDER BY 2 DESC")  # fmt: skip
            return [(str(n), int(b)) for n, b in conn.execute(q)]
    except Exception:  # dbstat is a compile-time option of SQLite
        return []


def _pg_bytes(engine: Engine) -> tuple[int, list[tuple[str, int]]]:
    with engine.connect() as conn:
        auto = conn.execution_options(isolation_level="AUTOCOMMIT")
        auto.execute(text("VACUUM ANALYZE events"))
        total = int(auto.execute(text("SELECT pg_total_relation_size('events')")).scalar() or 0)
        parts = [
            (
                "events (heap+toast)",
                int(auto.execute(text("SELECT pg_table_size('events')")).scalar() or 0),
            )
        ]
        parts += [
            (str(n), int(b))
            for n, b in auto.execute(
                text(
                    "SELECT indexrelname, pg_relation_size(indexrelid) FROM pg_stat_user_indexes "
                    "WHERE relname = 'events' ORDER BY 2 DESC"
                )
            )
        ]
    return total, parts  # fmt: skip


def storage(n: int, backends: list[str]) -> None:
    rows = _events(n)
    for backend in backends:
        for revision in ("0005", "head"):
            if backend == "sqlite":
                with tempfile.TemporaryDirectory() as tmp:
                    engine = make_engine(f"sqlite:///{tmp}/ops.db")
                    upgrade(engine, revision)
                    empty = _sqlite_bytes(engine)
                    _insert(engine, rows)
                    used = _sqlite_bytes(engine) - empty
                    parts = _sqlite_indexes(engine)
                    engine.dispose()
            else:
                with pg_schema() as url:
                    engine = make_engine(url)
                    upgrade(engine, revision)
                    _insert(engine, rows)
                    used, parts = _pg_bytes(engine)
                    engine.dispose()
            print(f"{backend:10} schema {revision:4}: {used / n:7.0f} bytes per event "
                  f"({n} events, {used / 2**20:.1f} MiB)")  # fmt: skip
            for name, size in parts[:8]:
                print(f"    {name:40} {size / n:6.0f} B/event")
    print("(SQLite and PostgreSQL: heap, TOAST and every index of the events table)")


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15 of stat)


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def idle(seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.toml"
        config.write_text(
            f'[database]\nurl = "sqlite:///{tmp}/ops.db"\n\n[daemon]\nexport_dir = "exports"\n\n'
            f'[metrics]\nlisten = "127.0.0.1:{_free_port()}"\n',
            encoding="utf-8",
        )
        cli = [sys.executable, "-m", "monitor", "--config", str(config)]
        subprocess.run([*cli, "db", "upgrade"], check=True, capture_output=True)
        log = Path(tmp) / "daemon.log"
        with log.open("wb") as fh:
            proc = subprocess.Popen([*cli, "daemon"], stdout=subprocess.DEVNULL, stderr=fh)
        try:
            deadline = time.monotonic() + 180
            while "daemon started" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(5)  # the start-up runs (checks, alert rules) are not idling
            hz = os.sysconf("SC_CLK_TCK")
            t0, c0 = time.monotonic(), _cpu_ticks(proc.pid)
            peak = _rss_mib(proc.pid)
            while time.monotonic() - t0 < seconds:
                time.sleep(1)
                peak = max(peak, _rss_mib(proc.pid))
            wall, cpu = time.monotonic() - t0, (_cpu_ticks(proc.pid) - c0) / hz
            print(f"idle daemon over {wall:.0f} s: CPU {100 * cpu / wall:.2f} % "
                  f"({cpu:.2f} s), peak RSS {peak:.0f} MiB (targets: < 1 %, < 150 MB)")  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--seconds", type=float, default=300.0)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--only", choices=["storage", "idle"])
    args = ap.parse_args()
    if args.only in (None, "storage"):
        storage(args.events, args.backends.split(","))
    if args.only in (None, "idle"):
        idle(args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
