"""Daily report on 10,000,000 events over 90 days: seconds and peak RSS, SQLite and PostgreSQL.

The month generator of ``deliverwatch demo`` (``monitor.report.demodata``) is scaled up to the
target number of events and bulk-loaded (one ``executemany`` transaction per batch on SQLite,
``COPY``
on PostgreSQL) with every index of the schema in place. Then ``deliverwatch report daily`` for
the last day runs as a child process: wall seconds, the child's own peak RSS, and its CPU
seconds (the work done, whatever else the machine runs). Loaded databases are kept under
``bench/out/`` (SQLite) or in the schema ``bench_report`` (PostgreSQL) and reused when their
plan matches; ``--fresh`` reloads.
Targets (issue 7): under 20 s and 1.5 GB on SQLite. Figures are printed, never asserted.

    python bench/bench_report.py [--events 10000000] [--days 90] [--backends sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from sqlalchemy import text

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OUT = HERE / "out"
sys.path.insert(0, str(REPO))

from monitor.report.demo import seed_database  # noqa: E402
from monitor.report.demodata import DemoPlan, generate  # noqa: E402
from monitor.store.db import make_engine, upgrade  # noqa: E402

PG_URL = os.environ.get(
    "DELIVERWATCH_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
LAST_DAY = date(2026, 11, 25)


def sends_per_day_for(events: int, days: int) -> int:
    """Calibrate the daily volume on a one-day pilot of the same generator."""
    pilot = DemoPlan(last_day=LAST_DAY, days=1, sends_per_day=20_000, seed=1, tracking=True)
    n_events = sum(1 for table, _ in generate(pilot) if table == "events")
    return max(100, round(events / days / (n_events / 20_000)))


def database(backend: str) -> tuple[str, str]:
    """(SQLAlchemy URL, description) of the benchmark database of ``backend``."""
    if backend == "sqlite":
        path = OUT / "report-sqlite.db"
        return f"sqlite:///{path}", str(path)
    return f"{PG_URL}?options=-csearch_path%3Dbench_report", f"{PG_URL} schema bench_report"


def reset(backend: str, url: str) -> None:
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
        return
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS bench_report CASCADE"))
        conn.execute(text("CREATE SCHEMA bench_report"))
    admin.dispose()


def load(backend: str, plan: DemoPlan, fresh: bool) -> str:
    url, where = database(backend)
    marker = OUT / f"report-{backend}.plan.json"
    wanted = {"days": plan.days, "sends_per_day": plan.sends_per_day, "last_day": str(LAST_DAY)}
    wanted["generator"] = 2  # 2: complaints only from feedback-loop providers (issue 14.13)
    if not fresh and marker.exists() and json.loads(marker.read_text()) == wanted:
        print(f"{backend}: reusing {where}", flush=True)
        return url
    marker.unlink(missing_ok=True)
    reset(backend, url)
    engine = make_engine(url)
    upgrade(engine)
    t0 = time.perf_counter()
    counts = seed_database(engine, plan)
    with engine.begin() as conn:  # planner statistics, as a long-running database has
        conn.execute(text("ANALYZE"))
    engine.dispose()
    took = time.perf_counter() - t0
    print(
        f"{backend}: loaded {counts['events']:,} events and {counts['sent_messages']:,} sent "
        f"messages over {plan.days} days in {took:.0f} s into {where}",
        flush=True,
    )
    marker.write_text(json.dumps(wanted))
    return url


#: Runs the CLI from a fresh, small interpreter and reports the child's own figures. Measuring
#: from this (big, loading) process would be wrong: a forked child starts with the parent's
#: resident pages, and ``RUSAGE_CHILDREN`` keeps that fork-time peak.
_WRAPPER = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": rc, "wall": wall, "cpu": ru.ru_utime + ru.ru_stime,
                  "rss_mib": ru.ru_maxrss / 1024}))
"""


def measure(backend: str, url: str, runs: int) -> None:
    """Wall seconds, CPU seconds (the work done, whatever else the machine runs), peak RSS."""
    cfg = OUT / f"report-{backend}.toml"
    cfg.write_text(f'[database]\nurl = "{url}"\n\n[report]\noutput_dir = "{OUT / "reports"}"\n')
    cli = [sys.executable, "-m", "monitor", "--config", str(cfg), "report", "daily"]
    cli += ["--date", str(LAST_DAY), "--out", str(OUT / f"report-{backend}.html")]
    for run in range(1, runs + 1):
        proc = subprocess.run(
            [sys.executable, "-c", _WRAPPER, *cli],
            capture_output=True, text=True, check=False, cwd=REPO,
        )  # fmt: skip
        m = json.loads(proc.stdout)
        status = "ok" if m["rc"] == 0 else f"FAILED rc={m['rc']}"
        print(
            f"{backend}: daily report run {run}: {m['wall']:.1f} s wall, {m['cpu']:.1f} s CPU, "
            f"peak RSS {m['rss_mib']:.0f} MiB ({status}; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)",
            flush=True,
        )


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--backends", default="sqlite,postgresql")
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--fresh", action="store_true", help="reload even when a matching DB exists")
    args = ap.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    plan = DemoPlan(
        last_day=LAST_DAY, days=args.days, sends_per_day=sends_per_day_for(args.events, args.days),
        company_domains=3_000, tracking=True,  # the opens/clicks query is part of the cost
    )  # fmt: skip
    print(f"plan: {plan.sends_per_day:,} sends/day for {args.days} days (~{args.events:,} events)")
    for backend in args.backends.split(","):
        try:
            url = load(backend, plan, args.fresh)
        except Exception as exc:  # a backend that is not reachable is reported, not fatal
            print(f"{backend}: skipped ({type(exc).__name__}: {exc})", flush=True)
            continue
        measure(backend, url, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
