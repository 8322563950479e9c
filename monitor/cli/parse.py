"""``deliverwatch parse``: parse bounce/feedback messages from files and print the results.

Start-up stays light: only click is imported at module level; the parsers load when the
command runs, and nothing on this path imports pandas or SQLAlchemy.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable

import click

__all__ = ["parse_cmd"]

_TABLE_DIAGNOSTIC = 60


def _print_jsonl(results: Iterable[tuple[str, int]]) -> int:
    failures = 0
    out = sys.stdout
    for lines, unreadable in results:
        out.write(lines)
        failures += unreadable
    out.flush()
    return 1 if failures else 0


def _print_table(results: Iterable[tuple[str, int]]) -> int:
    from rich.console import Console
    from rich.table import Table

    from monitor.cli.term import cell
    from monitor.ingest.files import is_unreadable

    table = Table(show_lines=False)
    for column in ("file", "kind", "address", "reason", "status", "hard", "diagnostic"):
        table.add_column(column, overflow="fold")
    failures = 0
    # json.dumps escapes newlines, so "\n" ends records (splitlines would also cut at the
    # U+2028 a diagnostic may hold)
    records = (json.loads(line) for lines, _ in results for line in lines.split("\n") if line)
    for record in records:
        rows = record["recipients"] or [{}]
        for index, rcpt in enumerate(rows):
            diagnostic = rcpt.get("diagnostic") or record.get("error")
            hard = rcpt.get("hard")
            table.add_row(  # every value may come from a hostile mail or file name
                cell(record["file"] if index == 0 else ""),
                cell(record["kind"] if index == 0 else ""),
                cell(rcpt.get("address")),
                cell(rcpt.get("reason")),
                cell(rcpt.get("status")),
                "" if hard is None else ("hard" if hard else "soft"),
                cell(diagnostic, _TABLE_DIAGNOSTIC),
            )
        failures += is_unreadable(record)
    console = Console()
    if not console.is_terminal:  # a pipe or file: do not squeeze the columns into 80
        console = Console(width=200)
    console.print(table)
    return 1 if failures else 0


@click.command("parse")
@click.argument("paths", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["jsonl", "table"]),
    default="jsonl",
    show_default=True,
    help="One JSON object per message, or a readable table.",
)
@click.option(
    "--jobs",
    type=click.IntRange(1, 256),
    default=1,
    show_default=True,
    help="Worker processes.",
)
@click.option(
    "--records", "with_records", is_flag=True, help="Keep every DMARC aggregate row in the output."
)
def parse_cmd(paths: tuple[str, ...], fmt: str, jobs: int, with_records: bool) -> int:
    """Parse bounces, complaints and reports in PATHS (files, directories, mbox, Maildir).

    Exit status 1 if some input could not be read; unparseable messages are reported with
    kind "unknown" and an error, and do not change the exit status.
    """
    from monitor.ingest.files import parse_paths

    # flufl.bounce logs the exceptions of its detectors (with tracebacks) at ERROR and
    # carries on; so do we (parsers.bounce.fluflbounce), so they are noise on a terminal.
    logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)

    results = parse_paths(paths, jobs=jobs, with_records=with_records)
    return _print_jsonl(results) if fmt == "jsonl" else _print_table(results)
