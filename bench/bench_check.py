"""``deliverwatch suppression check`` on a whole list: addresses checked per second.

Builds a suppression list (``--entries``, default 200,000 addresses plus 500 whole
domains, imported through the CLI), then checks a generated list (``--addresses``, default
500,000: a quarter on the list, some on a suppressed domain, a few malformed) in one
process, stdout to /dev/null. Prints the wall time (process start included), addresses/s
the CPU time of the check process (addresses per CPU-second: the figure that holds
on a shared, loaded machine) and peak RSS. Target (issue 14): >= 50,000 addresses/s.

With ``--instructions N`` it times nothing: it counts the CPU instructions of the check
under callgrind (``bench/instructions.py``'s ``instructions``), on the first N and the
first 2N addresses of the list, and prints the instructions per address (the difference
over N: what each further address costs) and the fixed cost (start-up and first use),
figures that do not move with the machine's load. The PostgreSQL server's own work is not
counted, only the client's.

    python bench/bench_check.py [--entries N] [--addresses N] [--backend sqlite|postgresql|both]
                                [--instructions N]
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from itertools import islice
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


def prepare(name: str, url: str, listed: Path, work: Path) -> list[str]:
    """A database at ``url`` with ``listed`` imported; the command that reaches it."""
    config = work / f"{name}.toml"
    config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    dw = [str(BIN / "deliverwatch"), "--config", str(config)]
    subprocess.run([*dw, "db", "upgrade"], check=True, capture_output=True)
    subprocess.run([*dw, "suppression", "import", str(listed)], check=True, capture_output=True)
    return dw


def run_backend(name: str, dw: list[str], to_check: Path, n: int) -> None:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu0 = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    t0 = time.perf_counter()
    proc = subprocess.run(
        [*dw, "suppression", "check", "--file", str(to_check)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
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


def count_backend(name: str, dw: list[str], to_check: Path, n: int, work: Path) -> None:
    """Callgrind instructions of the check of the first ``n`` and ``2n`` addresses."""
    from instructions import instructions  # bench/; loads bench_parse, so only when asked

    with to_check.open(encoding="utf-8") as fh:
        lines = list(islice(fh, 2 * n))
    if len(lines) < 2 * n:
        raise SystemExit(f"--instructions {n:,} needs --addresses >= {2 * n:,}")
    counts = []
    for size in (n, 2 * n):
        part = work / f"list-{size}.txt"
        part.write_text("".join(lines[:size]), encoding="utf-8")
        counts.append(instructions([*dw, "suppression", "check", "--file", str(part)], ok=(0, 1)))
    per_address = (counts[1] - counts[0]) / n
    fixed = counts[0] - per_address * n
    print(
        f"[{name}] callgrind: {counts[0]:,} instructions for {n:,} addresses, {counts[1]:,} for "
        f"{2 * n:,}: {per_address:,.0f} per address, fixed {fixed:,.0f} (start-up and first "
        f"use)"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=200_000)
    ap.add_argument("--addresses", type=int, default=500_000)
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    ap.add_argument(
        "--instructions",
        type=int,
        metavar="N",
        help="count callgrind instructions of checking N and 2N addresses instead of timing",
    )
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dw-bench-") as tmp:
        work = Path(tmp)
        listed, to_check = generate(work, args.entries, args.addresses)
        print(
            f"suppression check bench: {args.entries:,} listed addresses + 500 domains, "
            f"{args.addresses:,} addresses to check"
        )

        def run(name: str, url: str) -> None:
            dw = prepare(name, url, listed, work)
            if args.instructions:
                count_backend(name, dw, to_check, args.instructions, work)
            else:
                run_backend(name, dw, to_check, args.addresses)

        if args.backend in ("sqlite", "both"):
            run("sqlite", f"sqlite:///{work / 'bench.db'}")
        if args.backend in ("postgresql", "both"):
            with pg_schema() as url:
                run("postgresql", url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
