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
    python bench/instructions.py --against REV [--apply COMMIT ...] [--bytecode]

``--against REV`` answers "is this tree at least as fast as REV?": it copies this working
tree's packages and REV's (``git archive``; ``--apply`` adds a commit's change to
``parsers/`` on top, e.g. a later removal that both sides should share) to two directories
whose paths have the same length, and runs both under callgrind with ``PYTHONPATH`` set to
each. Same-length paths matter: the path is in every code object and moves what the
allocator hands out, which moved the per-message figure by up to 0.5 % in comparisons
made from different directories (2026-12-03). ``--bytecode`` compiles both trees first,
as an installed package is (this machine sets PYTHONDONTWRITEBYTECODE, so a checkout
compiles every module at each start).
"""

from __future__ import annotations

import argparse
import compileall
import io
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_parse import REPO, corpus_files, deliverwatch, replicate  # noqa: E402 - bench/, a script

_TOTALS = re.compile(rb"^(?:summary|totals): (\d+)", re.MULTILINE)


def instructions(
    command: list[str], *, ok: tuple[int, ...] = (0,), pythonpath: Path | None = None
) -> int:
    """Instructions executed by ``command`` and every process it forks (callgrind Ir);
    an exit status outside ``ok`` is an error (``suppression check`` exits 1 on a list with
    suppressed addresses). ``pythonpath``: the tree whose packages the command imports."""
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
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
            env=env,
            cwd=out,  # not the checkout: PYTHONPATH may point at a variant of it
        )
        if proc.returncode not in ok:
            raise subprocess.CalledProcessError(proc.returncode, command)
        total = 0
        for path in Path(out).iterdir():
            found = _TOTALS.search(path.read_bytes())
            total += int(found.group(1)) if found else 0
        return total


PACKAGES = ("parsers", "monitor", "reports")


def _copy_worktree(target: Path) -> None:
    """This checkout's packages as they are on disk (uncommitted changes included)."""
    for package in PACKAGES:
        shutil.copytree(
            REPO / package, target / package, ignore=shutil.ignore_patterns("__pycache__")
        )


def _export(rev: str, applied: list[str], target: Path) -> None:
    """The packages at ``rev``, with the changes of ``applied`` commits to parsers/ on top."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", rev, *PACKAGES],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(target, filter="data")
    for commit in applied:
        diff = subprocess.run(
            ["git", "-C", str(REPO), "diff", f"{commit}^", commit, "--", "parsers"],
            capture_output=True,
            check=True,
        ).stdout
        subprocess.run(["git", "apply"], input=diff, cwd=target, check=True)


def measure(
    files: list[Path], jobs: int, messages: int, pythonpath: Path | None = None
) -> tuple[float, float, float]:
    """(fixed, per message, total for ``messages``) instructions of ``deliverwatch parse``."""
    command = [*deliverwatch(), "parse", "--format", "jsonl"]
    if jobs > 1:
        command += ["--jobs", str(jobs)]
    with tempfile.TemporaryDirectory(prefix="dw-instr-") as tmp:
        once, twice = Path(tmp, "once"), Path(tmp, "twice")
        once.mkdir()
        twice.mkdir()
        replicate(files, once, len(files))
        replicate(files, twice, 2 * len(files))
        first = instructions([*command, str(once)], pythonpath=pythonpath)
        second = instructions([*command, str(twice)], pythonpath=pythonpath)
    per_message = (second - first) / len(files)
    fixed = first - per_message * len(files)
    return fixed, per_message, fixed + per_message * messages


def _line(label: str, figures: tuple[float, float, float], files: int, messages: int) -> str:
    fixed, per_message, total = figures
    return (
        f"{label}fixed {fixed:,.0f} instructions (start-up and first use); {per_message:,.0f} "
        f"per message ({files} corpus files, read twice); {messages:,} messages: {total:,.0f}"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--against", metavar="REV", help="compare with this git revision")
    parser.add_argument(
        "--apply", metavar="COMMIT", action="append", default=[], help="(with --against)"
    )
    parser.add_argument("--bytecode", action="store_true", help="(with --against)")
    args = parser.parse_args(argv)
    files = corpus_files()
    if args.against is None:
        figures = measure(files, args.jobs, args.messages)
        print(_line("", figures, len(files), args.messages))
        return 0
    results = {}
    with tempfile.TemporaryDirectory(prefix="dw-against-") as tmp:
        trees = {"this": Path(tmp, "tree-a"), args.against: Path(tmp, "tree-b")}
        _copy_worktree(trees["this"])
        _export(args.against, args.apply, trees[args.against])
        for label, tree in trees.items():
            if args.bytecode:
                compileall.compile_dir(tree, quiet=1)
            results[label] = measure(files, args.jobs, args.messages, pythonpath=tree)
    against = " + ".join([args.against, *args.apply])
    print(_line("this tree: ", results["this"], len(files), args.messages))
    print(_line(f"{against}: ", results[args.against], len(files), args.messages))
    ours, theirs = results["this"][2], results[args.against][2]
    print(f"this tree / {against}: {ours / theirs - 1:+.2%} instructions")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
