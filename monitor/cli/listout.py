"""Rows for people or for scripts: the ``--format table|csv|jsonl`` of the list commands,
the import checks shared by every importer, and the refusal to write binary to a terminal.

Issue 14: a piped table was cut to 80 columns (``a.very.long…``) and there was no CSV or
JSON to script against. A table on a terminal fits the window and folds long values onto a
second line rather than cutting them; a piped table is as wide as its widest row. CSV and
JSON Lines carry the exact values (no terminal escaping: they are data), and the counts go
to stderr so stdout stays data.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

import click

from monitor.cli.common import Refused
from monitor.cli.term import cell

__all__ = [
    "FORMATS",
    "emit_rows",
    "format_option",
    "import_format",
    "import_outcome",
    "refuse_binary_on_terminal",
]

FORMATS = ("table", "csv", "jsonl")
F = TypeVar("F", bound=Callable[..., Any])


def format_option(fn: F) -> F:
    option = click.option(
        "--format",
        "fmt",
        type=click.Choice(FORMATS),
        default="table",
        show_default=True,
        help="table for people; csv or jsonl (one JSON object a line) for scripts.",
    )
    return option(fn)


def _plain(value: object) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def emit_rows(
    columns: Sequence[str],
    rows: Iterable[Sequence[object]],
    fmt: str,
    *,
    footer: str,
    fold: Sequence[str] = (),
    footer_on_stderr: bool = False,
) -> None:
    """Print ``rows`` under ``columns`` in ``fmt``, then ``footer`` (the count of what was
    shown): below a table (or on stderr with ``footer_on_stderr``), on stderr for csv and
    jsonl. ``fold`` names the columns never cut on a terminal (addresses)."""
    out = sys.stdout
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if v is None else _plain(v) for v in row])
        click.echo(footer, err=True)
        return
    if fmt == "jsonl":
        for row in rows:
            item = {c: _plain(v) for c, v in zip(columns, row, strict=True)}
            out.write(json.dumps(item, ensure_ascii=False, default=str) + "\n")
        click.echo(footer, err=True)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table()
    for name in columns:
        table.add_column(name, overflow="fold" if name in fold else "ellipsis")
    for row in rows:
        table.add_row(*(cell(_table_value(v)) for v in row))
    terminal = sys.stdout.isatty()
    # piped: as wide as the widest row (rich then never needs to cut or wrap a cell)
    Console(width=None if terminal else 100_000, soft_wrap=not terminal).print(table)
    click.echo(footer, err=footer_on_stderr)


def _table_value(value: object) -> object:
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return _plain(value)


def import_format(path: str, fmt: str | None, choices: Sequence[str]) -> str:
    """``--format`` when given, else from the file name: ``.jsonl``/``.ndjson`` -> jsonl,
    anything else (``.csv``, stdin) -> csv."""
    if fmt is not None:
        return fmt
    inferred = "jsonl" if path.lower().endswith((".jsonl", ".ndjson")) else "csv"
    return inferred if inferred in choices else choices[0]


def import_outcome(path: str, taken: int, rejected: int, first_problem: str | None) -> int:
    """The exit status of an import: 0 when a row was taken or the file was empty; a
    file whose every row was rejected (a header without an address column is one such)
    took nothing and says so on stderr, exit status 1."""
    if taken or not rejected:
        return 0
    why = f" (first: {first_problem})" if first_problem else ""
    click.echo(f"error: nothing imported from {path}: every row was rejected{why}", err=True)
    return 1


def refuse_binary_on_terminal(out: str, fmt: str) -> None:
    """Parquet is binary: written to a terminal it is noise that can upset the terminal."""
    if out == "-" and sys.stdout.isatty():
        raise Refused(
            f"--format {fmt} writes binary data; give --out FILE or pipe it somewhere "
            "(stdout is a terminal)"
        )
