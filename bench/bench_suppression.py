"""Suppression import/export throughput on a generated 1,000,000-row CSV.

Prints, per backend: import seconds and rows/s, re-import (idempotent: nothing changes),
export seconds and rows/s for CSV and JSON Lines, and the peak RSS of each step. Targets
(issue 2): import >= 50,000 rows/s on SQLite, export >= 200,000 rows/s, peak RSS < 300 MB.

    python bench/bench_suppression.py [--rows 1000000] [--backend sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from pgschema import pg_schema  # bench/, first on sys.path when run as a script

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
REASONS = ["hard-bounce", "complaint", "unsubscribe", "manual", "", ""]


def generate_csv(path: Path, rows: int, seed: int = 7) -> None:
    """Realistic mix: mostly plain addresses, some reasons, notes, expiries, bad rows."""
    rnd = random.Random(seed)
    domains = [f"mail{i}.example" for i in range(2000)] + ["gmail.com", "yahoo.com", "outlook.com"]
    with path.open("w", encoding="utf-8") as fh:
        fh.write("email,reason,expires_at,note\n")
        for i in range(rows):
            if i % 10_000 == 9_999:
                fh.write(f"broken-row-{i},,,\n")  # one malformed row in 10,000
                continue
            reason = rnd.choice(REASONS)
            expires = "2099-01-01" if i % 50 == 0 else ""
            note = "imported from ESP" if i % 20 == 0 else ""
            fh.write(f"User.{i}@{rnd.choice(domains)},{reason},{expires},{note}\n")


def measure(cmd: list[str], env: dict[str, str]) -> dict[str, float | str | int]:
    out = subprocess.run(
        [sys.executable, str(HERE / "measure.py"), "--", *cmd],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    result: dict[str, float | str | int] = json.loads(out)
    if result["rc"] != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {result['stderr_tail']}")
    return result


def run_backend(name: str, url: str, csv_path: Path, rows: int, work: Path) -> None:
    config = work / f"{name}.toml"
    config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    env = dict(os.environ)
    dw = [str(BIN / "deliverwatch"), "--config", str(config)]
    subprocess.run([*dw, "db", "upgrade"], check=True, capture_output=True, env=env)
    imp = measure([*dw, "suppression", "import", str(csv_path)], env)
    again = measure([*dw, "suppression", "import", str(csv_path)], env)
    print(
        f"[{name}] import   {rows:,} rows: {imp['seconds']:.1f} s, "
        f"{rows / float(imp['seconds']):,.0f} rows/s, peak RSS {imp['peak_rss_mib']:.0f} MiB"
    )
    print(
        f"[{name}] re-import (idempotent): {again['seconds']:.1f} s, "
        f"{rows / float(again['seconds']):,.0f} rows/s, peak RSS {again['peak_rss_mib']:.0f} MiB"
    )
    for fmt in ("csv", "jsonl"):
        out = work / f"export.{fmt}"
        exp = measure([*dw, "suppression", "export", "--format", fmt, "--out", str(out)], env)
        n = sum(1 for _ in out.open(encoding="utf-8")) - (1 if fmt == "csv" else 0)
        print(
            f"[{name}] export {fmt:5} {n:,} rows: {exp['seconds']:.1f} s, "
            f"{n / float(exp['seconds']):,.0f} rows/s, peak RSS {exp['peak_rss_mib']:.0f} MiB"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dw-bench-") as tmp:
        work = Path(tmp)
        csv_path = work / "suppressions.csv"
        generate_csv(csv_path, args.rows)
        size = csv_path.stat().st_size / 1e6
        print(
            f"suppression bench: {args.rows:,} generated rows ({size:.0f} MB CSV, "
            f"1 in 10,000 malformed)"
        )
        if args.backend in ("sqlite", "both"):
            run_backend("sqlite", f"sqlite:///{work / 'bench.db'}", csv_path, args.rows, work)
        if args.backend in ("postgresql", "both"):
            with pg_schema() as url:
                run_backend("postgresql", url, csv_path, args.rows, work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
