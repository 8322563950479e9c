"""``make bench``: run every benchmark in turn and print its figures.

Each script prints its own figures (throughput, peak RSS, comparisons with peers); none
asserts a target. Pass names to run a subset: ``python bench/run_all.py suppression parse``.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORDER = [
    "suppression",
    "check",
    "parse",
    "bounces",
    "reports",
    "dnsbl",
    "imap",
    "report",
    "hostile",
    "web",
    "relay",
    "ops",
]


def main(argv: list[str]) -> int:
    wanted = argv or ORDER
    failed = []
    for name in wanted:
        script = HERE / f"bench_{name}.py"
        if not script.exists():
            print(f"== bench_{name}: not present, skipped")
            continue
        print(f"\n== bench_{name}", flush=True)
        t0 = time.perf_counter()
        rc = subprocess.run([sys.executable, str(script)], check=False).returncode
        print(
            f"== bench_{name}: {'ok' if rc == 0 else f'exit {rc}'} "
            f"({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
        if rc:
            failed.append(name)
    if failed:
        print(f"\nbenchmarks that failed to run: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
