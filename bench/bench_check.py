"""``deliverwatch suppression check`` on a whole list: addresses checked per second.

Builds a suppression list (``--entries``, default 200,000 addresses plus 500 whole
domains, imported through the CLI), then checks a generated list (``--addresses``, default
500,000: a quarter on the list, some on a suppressed domain, a few malformed) in one
process, stdout to /dev/null. Prints the wall time (process start included), addresses/s
the CPU time of the check process (addresses per CPU-second: the figure that holds
on a shared, loaded machine) and peak RSS. Target (issue 14): >= 50,000 addresses/s.

    python bench/bench_check.py [--entries N] [--addresses N] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pgschema import pg_schema  # bench/, first on sys.path when run as a script

BIN = Path(sys.executable).parent


def generate(work: Path, entries: int, addresses: int, seed: int = 11) -> tuple[Path, Path]:
    rnd = random.Random(seed)
    domains = [f"mail{i}.example" for i in range(5000)]
    listed = work / "suppressions.csv"
    with listed.open("w", encoding="utf-8") as fh:
        fh.write("email,reason\n")
        for i in range(entries):
            fh.write(f"user{i}@{domains[i % len(domains)]},hard-bounce\n")
        for d in domains[:500]:
            fh.write(f"@{d},manual\n")
    to_check = work / "list.txt"
    with to_check.open("w", encoding="utf-8") as fh:
        for i in range(addresses):
            if i % 4 == 0:
                j = rnd.randrange(entries)
                fh.write(f"User{j}@{domains[j % len(domains)]}\n")
            elif i % 1000 == 999:
                fh.write(f"broken-{i}\n")
            else:
                fh.write(f"someone.{i}@{rnd.choice(domains)}\n")
    return listed, to_check


def run_backend(name: str, url: str, listed: Path, to_check: Path, n: int, work: Path) -> None:
    config = work / f"{name}.toml"
    config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    env = dict(os.environ)
    dw = [str(BIN / "deliverwatch"), "--config", str(config)]
    subprocess.run([*dw, "db", "upgrade"], check=True, capture_output=True, env=env)
    subprocess.run([*dw, "suppression", "import", str(listed)], check=True, capture_output=True)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu0 = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    t0 = time.perf_counter()
    proc = subprocess.run(
        [*dw, "suppression", "check", "--file", str(to_check)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        check=False,
    )
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"check failed: {proc.stderr.decode()[-500:]}")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    rss = max(before, usage.ru_maxrss) / 1024
    cpu = usage.ru_utime + usage.ru_stime - cpu0
    print(
        f"[{name}] check {n:,} addresses: {wall:.2f} s wall, {n / wall:,.0f} addresses/s "
        f"(process start included); {cpu:.2f} s CPU of the process, {n / cpu:,.0f} "
        f"addresses per CPU-second (the figure on a loaded machine); peak RSS {rss:.0f} MiB"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--entries", type=int, default=200_000)
    ap.add_argument("--addresses", type=int, default=500_000)
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dw-bench-") as tmp:
        work = Path(tmp)
        listed, to_check = generate(work, args.entries, args.addresses)
        print(
            f"suppression check bench: {args.entries:,} listed addresses + 500 domains, "
            f"{args.addresses:,} addresses to check"
        )
        if args.backend in ("sqlite", "both"):
            url = f"sqlite:///{work / 'bench.db'}"
            run_backend("sqlite", url, listed, to_check, args.addresses, work)
        if args.backend in ("postgresql", "both"):
            with pg_schema() as url:
                run_backend("postgresql", url, listed, to_check, args.addresses, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
