"""CPU instructions of ``deliverwatch parse`` on the DEV bounce corpus, under callgrind.

The benchmark machine is shared, so wall and even CPU time move with other people's load;
an instruction count does not (callgrind counts the instructions the program executes,
whatever the load, to within a few per million between runs with a fixed hash seed). This is
the figure behind the "without this, bench_parse ... X % slower" lines in the docstrings of
the speed tricks (``parsers.message``, ``parsers.mimeparse``): run it with and without the
trick and compare.

It runs the command ``bench/bench_parse.py`` times, once over a directory holding the first
corpus message and once over the whole corpus, and extrapolates to the benchmark's 10,000
messages: fixed cost + 10,000 x per message, per message = (corpus run - one-message run) /
(corpus size - 1). With ``--jobs 2`` every process (the parent and its forked workers) is
counted and summed; a forked child's count starts from its parent's at the fork, so the
fixed cost of a ``--jobs`` run counts the parent's start-up once per worker too (the
one-message run forks as the corpus run does, so the per-message figure is exact).

    python bench/instructions.py [--jobs N] [--messages 10000]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_parse import corpus_files, deliverwatch  # noqa: E402 - bench/, a script

_TOTALS = re.compile(rb"^(?:summary|totals): (\d+)", re.MULTILINE)


def instructions(command: list[str]) -> int:
    """Instructions executed by ``command`` and every process it forks (callgrind Ir)."""
    with tempfile.TemporaryDirectory(prefix="dw-callgrind-") as out:
        subprocess.run(
            [
                "valgrind",
                "--tool=callgrind",
                "--trace-children=yes",
                f"--callgrind-out-file={out}/cg.%p",
                *command,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},
            cwd=out,  # not the checkout: PYTHONPATH may point at a variant of it
        )
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
        one, full = Path(tmp, "one"), Path(tmp, "corpus")
        one.mkdir()
        full.mkdir()
        shutil.copyfile(files[0], one / files[0].name)
        for path in files:
            shutil.copyfile(path, full / path.name)
        first = instructions([*command, str(one)])
        corpus = instructions([*command, str(full)])
    per_message = (corpus - first) / (len(files) - 1)
    fixed = first - per_message
    total = fixed + per_message * args.messages
    print(
        f"fixed {fixed:,.0f} instructions; {per_message:,.0f} per message "
        f"({len(files)} corpus files); {args.messages:,} messages: {total:,.0f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
