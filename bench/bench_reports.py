"""Benchmark the report parsers against parsedmarc: records/s, peak RSS, files/s.

Prints figures, asserts nothing (CONTRIBUTING.md: speed lives in benchmarks, not tests).

* Aggregate: a generated 1,000,000-record gzip'd report (``tests/builders``), parsed by
  ``parsers.dmarc.parse_dmarc_aggregate`` in a child process so peak RSS is the parse alone.
  parsedmarc (``parse_aggregate_report_file``, offline: no DNS, no IP database download) runs
  in its own venv, ``bench/out/parsedmarc-venv``, created here with ``python3 -m venv`` +
  ``pip install parsedmarc`` on first use. parsedmarc holds the whole report as dicts (about
  1 GB per 100,000 records), so by default it gets a 100,000-record report and both parsers
  are shown on that one too; ``--full`` gives it the million as well.
* Corpus: files/s over ``../shared/corpus/reports`` for both, each file parsed in process
  (ours through ``parsers.parse_message``, the entry point the CLI and the ingester use).

Usage: ``python bench/bench_reports.py [--records N] [--compare N] [--full] [--no-parsedmarc]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
VENV = OUT / "parsedmarc-venv"
sys.path.insert(0, str(REPO))
from tests.shared_paths import SHARED  # noqa: E402 - ../shared or $DELIVERWATCH_SHARED

CORPUS = SHARED / "corpus" / "reports"

OURS_AGGREGATE = """
import json, resource, sys, time
from parsers.dmarc import parse_dmarc_aggregate
raw = open(sys.argv[1], "rb").read()
t = time.perf_counter()
agg = parse_dmarc_aggregate(raw, limit=1 << 34)
dt = time.perf_counter() - t
print(json.dumps({"records": agg.n_records, "seconds": dt,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PARSEDMARC_AGGREGATE = """
import gzip, json, resource, sys, time
import parsedmarc
raw = open(sys.argv[1], "rb").read()
t = time.perf_counter()
# parse_aggregate_report_file refuses reports inflating past 100 MB (a 1M-record report is
# ~500 MB), so inflate here, inside the timed region as ours does, and call the XML parser.
xml = gzip.decompress(raw).decode("utf-8")
report = parsedmarc.parse_aggregate_report_xml(
    xml, offline=True, ip_db_path=None, always_use_local_files=True, nameservers=None,
    timeout=0.1)
dt = time.perf_counter() - t
print(json.dumps({"records": len(report["records"]), "seconds": dt,
                  "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

OURS_CORPUS = """
import json, sys, time
from pathlib import Path
from parsers import parse_message
files = [p for p in Path(sys.argv[1]).rglob("*") if p.is_file() and p.name not in
         ("labels.jsonl", "README.md")]
datas = [p.read_bytes() for p in files]
ok = 0
t = time.perf_counter()
for _ in range(int(sys.argv[2])):
    for raw in datas:
        ok += parse_message(raw).kind.value != "unknown"
dt = time.perf_counter() - t
print(json.dumps({"files": len(datas) * int(sys.argv[2]), "seconds": dt, "parsed": ok}))
"""

PARSEDMARC_CORPUS = """
import json, sys, time
from pathlib import Path
import parsedmarc
files = [p for p in Path(sys.argv[1]).rglob("*") if p.is_file() and p.name not in
         ("labels.jsonl", "README.md")]
ok = 0
t = time.perf_counter()
for _ in range(int(sys.argv[2])):
    for p in files:
        try:
            parsedmarc.parse_report_file(str(p), offline=True, ip_db_path=None,
                                         nameservers=None, dns_timeout=0.1)
            ok += 1
        except Exception:
            pass
dt = time.perf_counter() - t
print(json.dumps({"files": len(files) * int(sys.argv[2]), "seconds": dt, "parsed": ok}))
"""


def make_report(n: int) -> Path:
    """The generated ``n``-record gzip'd aggregate report, built once into bench/out/."""
    from tests.builders.reports import write_big_aggregate

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"aggregate-{n}.xml.gz"
    if not path.exists():
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            write_big_aggregate(fh, n)
        tmp.replace(path)
    return path


def ensure_parsedmarc() -> Path | None:
    python = VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {VENV} (python3 -m venv + pip install parsedmarc) ...", flush=True)
        try:
            subprocess.run(["python3", "-m", "venv", str(VENV)], check=True)
            # pip's chatter (index warnings) goes to a log, not between the figures
            with (OUT / "parsedmarc-pip.log").open("w") as log:
                subprocess.run(
                    [str(VENV / "bin" / "pip"), "install", "-q", "parsedmarc"],
                    check=True,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
        except (OSError, subprocess.CalledProcessError) as exc:
            print(f"parsedmarc unavailable: {exc} (see {OUT / 'parsedmarc-pip.log'})")
            return None
    return python


def run(python: Path | str, code: str, *args: str, timeout: float = 3600) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [str(python), "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
        cwd=str(OUT),
    )
    if proc.returncode != 0:
        return {"error": 1.0, "stderr": proc.stderr[-500:]}  # type: ignore[dict-item]
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def show_aggregate(name: str, res: dict[str, float]) -> float:
    if "error" in res:
        print(f"  {name:34s} failed: {res.get('stderr')}")
        return 0.0
    rate = res["records"] / res["seconds"]
    print(
        f"  {name:34s} {int(res['records']):>9,} records {res['seconds']:8.2f} s "
        f"{rate:>10,.0f} records/s  peak RSS {res['rss_mib']:7.1f} MiB"
    )
    return rate


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument(
        "--compare", type=int, default=100_000, help="report size given to parsedmarc unless --full"
    )
    ap.add_argument("--full", action="store_true", help="parsedmarc on the big report too")
    ap.add_argument("--no-parsedmarc", action="store_true")
    ap.add_argument("--corpus-rounds", type=int, default=5)
    a = ap.parse_args(argv)
    me = sys.executable
    pdm = None if a.no_parsedmarc else ensure_parsedmarc()

    print("== DMARC aggregate report (gzip'd XML, generated by tests/builders)")
    big = make_report(a.records)
    ours_big = show_aggregate(f"deliverwatch, {a.records:,}", run(me, OURS_AGGREGATE, str(big)))
    sizes = [a.records] if a.full else [a.compare]
    for n in sizes:
        path = make_report(n)
        ours = (
            ours_big
            if n == a.records
            else show_aggregate(f"deliverwatch, {n:,}", run(me, OURS_AGGREGATE, str(path)))
        )
        if pdm is not None:
            theirs = show_aggregate(
                f"parsedmarc (offline), {n:,}", run(pdm, PARSEDMARC_AGGREGATE, str(path))
            )
            if theirs:
                print(f"  speed-up on {n:,} records: {ours / theirs:.1f}x")

    if CORPUS.is_dir():
        print(f"== report corpus {CORPUS} x {a.corpus_rounds}")
        for name, python, code in (
            ("deliverwatch", me, OURS_CORPUS),
            ("parsedmarc (offline)", pdm, PARSEDMARC_CORPUS),
        ):
            if python is None:
                continue
            res = run(python, code, str(CORPUS), str(a.corpus_rounds))
            if "error" in res:
                print(f"  {name:22s} failed: {res.get('stderr')}")
                continue
            print(
                f"  {name:22s} {res['files'] / res['seconds']:8.1f} files/s, "
                f"parsed without error {int(res['parsed'])}/{int(res['files'])}"
            )
    return 0


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"(bench took {time.perf_counter() - started:.0f} s)")
    sys.exit(code)
