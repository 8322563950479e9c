"""CPU instructions of ``deliverwatch parse`` on the DEV bounce corpus, under callgrind.

The benchmark machine is shared, so wall and even CPU time move with other people's load;
an instruction count does not (callgrind counts the instructions the program executes,
whatever the load, to within a few per million between runs with a fixed hash seed). This is
the figure behind the "without this, bench_parse ... X % slower" lines in the docstrings of
the speed tricks (``parsers.message``, ``parsers.mimeparse``): run it with and without the
trick and compare.

It runs the command ``bench/bench_parse.py`` times, twice, on files laid out as it lays
them out (``bench_parse.replicate``, round robin): once over the corpus and once over the
corpus twice over. It extrapolates to the benchmark's 10,000 messages: fixed cost + 10,000 x
per message, per message = (two-pass run - one-pass run) / corpus size. The second pass is
what each further message costs once the process is warm; the fixed cost is start-up plus
everything paid on first use (regexes and phrase tables compiled lazily, flufl.bounce for the
first prose bounce), paid once in a 10,000-message run as in a 500-message one.

Until issue 18 the per-message figure was (corpus run - one-message run) / (corpus size - 1),
which charged those first-use costs (some 350 million instructions) once per corpus message,
twenty times over in 10,000: it said 36.3 billion for main where a real 2,000-message run
under callgrind counted 7.26 billion, 13 % below that method's 8.31 and 0.1 % from this
one's 7.25 (2026-12-03). With ``--jobs 2`` every process (the parent and its forked workers)
is counted and summed; a forked child's count starts from its parent's at the fork, so the
fixed cost counts the parent's start-up once per worker too (both runs fork alike, so the
per-message figure is exact).

    python bench/instructions.py [--jobs N] [--messages 10000]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_parse import corpus_files, deliverwatch, replicate  # noqa: E402 - bench/, a script

_TOTALS = re.compile(rb"^(?:summary|totals): (\d+)", re.MULTILINE)


def instructions(command: list[str], *, ok: tuple[int, ...] = (0,)) -> int:
    """Instructions executed by ``command`` and every process it forks (callgrind Ir);
    an exit status outside ``ok`` is an error (``suppression check`` exits 1 on a list with
    suppressed addresses)."""
    with tempfile.TemporaryDirectory(prefix="dw-callgrind-") as out:
        proc = subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--trace-children=yes",
                f"--callgrind-out-file={out}/cg.%p",
                *command,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            env={**os.environ, "PYTHONHASHSEED": "0"},
            cwd=out,  # not the checkout: PYTHONPATH may point at a variant of it
        )
        if proc.returncode not in ok:
            raise subprocess.CalledProcessError(proc.returncode, command)
        total = 0
        for path in Path(out).iterdir():
            found = _TOTALS.search(path.read_bytes())
            total += int(found.group(1)) if found else 0
        return total


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args(argv)
    files = corpus_files()
    command = [*deliverwatch(), "parse", "--format", "jsonl"]
    if args.jobs > 1:
        command += ["--jobs", str(args.jobs)]
    with tempfile.TemporaryDirectory(prefix="dw-instr-") as tmp:
        once, twice = Path(tmp, "once"), Path(tmp, "twice")
        once.mkdir()
        twice.mkdir()
        replicate(files, once, len(files))
        replicate(files, twice, 2 * len(files))
        first = instructions([*command, str(once)])
        second = instructions([*command, str(twice)])
    per_message = (second - first) / len(files)
    fixed = first - per_message * len(files)
    total = fixed + per_message * args.messages
    print(
        f"fixed {fixed:,.0f} instructions (start-up and first use); {per_message:,.0f} per "
        f"message ({len(files)} corpus files, read twice); {args.messages:,} messages: {total:,.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
