"""Benchmark ``deliverwatch parse`` against Sisimai: messages/s and peak RSS.

Prints figures, asserts nothing (CONTRIBUTING.md: speed lives in benchmarks, not tests).

The DEV bounce corpus (``../shared/corpus/bounces``) is replicated to 10,000 messages in a
temporary directory, and each tool parses the whole directory once, end to end, from a cold
process: start-up, reading, parsing and writing JSON are all inside the timing, because that
is what an operator running the command pays. Runs:

* ``deliverwatch parse --format jsonl DIR`` in one process, then with ``--jobs 2``;
* Debian's Sisimai (``libsisimai-perl``, 4.25 on bookworm) through ``Sisimai->dump`` on the
  same directory, with ``delivered`` and ``vacation`` on so it looks at what we look at.

Each command runs under a small wrapper process whose ``getrusage(RUSAGE_CHILDREN)`` gives
the run's CPU time and the peak RSS of its biggest process (with ``--jobs 2``: the parent or
one worker). Messages per CPU second is printed beside the wall-clock rate because the
benchmark machine is shared: wall time moves with other people's load, CPU time much less.

Usage: ``python bench/bench_parse.py [--messages N] [--repeat R]`` (the best of R runs).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.shared_paths import SHARED  # noqa: E402 - ../shared or $DELIVERWATCH_SHARED

CORPUS = SHARED / "corpus" / "bounces"
PERL = "/usr/bin/perl"
TARGET_SPEEDUP = 3.0
TARGET_RSS_MIB = 150.0

# Sisimai->dump parses every file of a directory (Sisimai::Mail::Maildir) and returns the
# results as one JSON text, the nearest equivalent of our JSON-lines output.
SISIMAI = 'use Sisimai; print Sisimai->dump($ARGV[0], delivered => 1, vacation => 1), "\\n";'


def corpus_files() -> list[Path]:
    """The messages of the DEV corpus (the labels and README are not messages)."""
    return sorted(p for p in CORPUS.glob("*.eml") if p.is_file())


def replicate(files: list[Path], target: Path, count: int) -> None:
    """Copy ``files`` round-robin into ``target`` until it holds ``count`` messages."""
    for index in range(count):
        source = files[index % len(files)]
        shutil.copyfile(source, target / f"{index:05d}-{source.name}")


def deliverwatch() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m monitor``."""
    script = Path(sys.executable).with_name("deliverwatch")
    return [str(script)] if script.exists() else [sys.executable, "-m", "monitor"]


def sisimai_version() -> str | None:
    """Sisimai's version, or None when ``perl -MSisimai`` does not load."""
    try:
        proc = subprocess.run(
            [PERL, "-MSisimai", "-e", "print $Sisimai::VERSION"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
    except OSError:
        return None
    return proc.stdout.strip() or "unknown" if proc.returncode == 0 else None


# Runs one command and prints its wall time, CPU time and peak RSS, from getrusage in this
# wrapper process, so that the figures are the command's own (and its workers').
_MEASURE = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - t0
use = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"rc": proc.returncode, "seconds": wall, "cpu": use.ru_utime + use.ru_stime,
                  "peak_rss_mib": use.ru_maxrss / 1024,
                  "stderr_tail": proc.stderr.decode("utf-8", "replace")[-500:]}))
"""


def measure(command: list[str]) -> dict[str, Any]:
    """Wall time, CPU time and peak RSS of one run of ``command``."""
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command],
        capture_output=True,
        text=True,
        check=False,
    )
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def best_of(command: list[str], repeat: int) -> dict[str, Any]:
    """The fastest of ``repeat`` runs (peak RSS: the highest seen), or the first failure."""
    runs = [measure(command) for _ in range(repeat)]
    failed = [r for r in runs if r["rc"] != 0]
    if failed:
        return failed[0]
    best = min(runs, key=lambda r: float(r["seconds"]))
    return {**best, "peak_rss_mib": max(float(r["peak_rss_mib"]) for r in runs)}


def show(name: str, result: dict[str, Any], messages: int) -> tuple[float, float]:
    """Print one row; return messages/s by wall clock and per CPU second (0 on failure)."""
    if result["rc"] != 0:
        print(f"  {name:30s} failed (exit {result['rc']}): {result['stderr_tail']}")
        return 0.0, 0.0
    rate = messages / float(result["seconds"])
    per_cpu = messages / max(float(result["cpu"]), 1e-9)
    print(
        f"  {name:30s} {messages:>7,} msgs {result['seconds']:7.2f} s "
        f"{rate:>8,.0f} msgs/s  {per_cpu:>8,.0f} msgs/CPU-s  "
        f"peak RSS {result['peak_rss_mib']:6.1f} MiB"
    )
    return rate, per_cpu


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    files = corpus_files()
    if not files:
        print(f"no corpus at {CORPUS}: nothing to measure")
        return 0
    with tempfile.TemporaryDirectory(prefix="dw-bench-parse-") as tmp:
        target = Path(tmp)
        replicate(files, target, args.messages)
        print(f"{args.messages:,} messages ({len(files)} DEV corpus files replicated) in {tmp}")
        ours = [*deliverwatch(), "parse", "--format", "jsonl"]
        single = best_of([*ours, tmp], args.repeat)
        rate, cpu_rate = show("deliverwatch parse", single, args.messages)
        jobs = best_of([*ours, "--jobs", "2", tmp], args.repeat)
        jobs_rate = show("deliverwatch parse --jobs 2", jobs, args.messages)[0]
        version = sisimai_version()
        if version is None:
            print(
                f"  Sisimai unavailable ({PERL} -MSisimai -e1 fails: apt install libsisimai-perl)"
            )
            return 0
        sisimai = best_of([PERL, "-e", SISIMAI, tmp], args.repeat)
        theirs, theirs_cpu = show(f"Sisimai {version} (perl)", sisimai, args.messages)
    if rate and theirs:
        print(
            f"  speed-up over Sisimai: {rate / theirs:.1f}x single process, "
            f"{jobs_rate / theirs:.1f}x with --jobs 2, {cpu_rate / theirs_cpu:.1f}x per CPU "
            f"second (target >= {TARGET_SPEEDUP:.0f}x)"
        )
        peak = max(float(single["peak_rss_mib"]), float(jobs["peak_rss_mib"]))
        verdict = "met" if peak < TARGET_RSS_MIB else "NOT met"
        print(f"  peak RSS {peak:.1f} MiB (target < {TARGET_RSS_MIB:.0f} MiB: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
