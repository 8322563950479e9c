"""Run one command and print its wall time and peak RSS as JSON (used by the benchmarks).

Peak RSS comes from ``getrusage(RUSAGE_CHILDREN)`` in this wrapper process, so it is the
child's own high-water mark, not mixed with other benchmark steps.

    python bench/measure.py -- deliverwatch suppression import big.csv
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    wall = time.perf_counter() - t0
    rss_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        json.dumps(
            {
                "rc": proc.returncode,
                "seconds": wall,
                "peak_rss_mib": rss_kib / 1024,
                "stderr_tail": proc.stderr.decode("utf-8", "replace")[-500:],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
