"""Helpers shared by the subcommand modules."""

from __future__ import annotations

import codecs
import contextlib
import io
import math
import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import click

from monitor.app import App
from monitor.cli.logsetup import configure
from parsers.listfile import LINE_TOO_LONG, MAX_LINE, undecodable_encoding

__all__ = [
    "EARLIEST",
    "LATEST",
    "LIMIT",
    "OFFSET",
    "ROWS_MAX",
    "Refused",
    "Seconds",
    "import_source",
    "loaded_app",
    "parse_day",
    "parse_when",
]

_DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
#: Dates and times given on the command line fall in [EARLIEST, LATEST): wide enough for any
#: real use, and a thousand years from ``datetime``'s own limits so that the arithmetic done
#: with them (report windows, "7d ago") cannot overflow (issue 11: ``--since 99999999d``
#: and ``--date 9999-12-31`` were tracebacks, now usage errors with exit status 2).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
#: Largest ``--limit``/``--offset``: a signed 32-bit integer, which every SQL backend takes
#: (a 20-digit value overflowed the driver).
ROWS_MAX = 2**31 - 1
LIMIT = click.IntRange(1, ROWS_MAX)
OFFSET = click.IntRange(0, ROWS_MAX)


class Seconds(click.FloatRange):
    """A positive number of seconds up to ``maximum`` (``nan`` passes a range check)."""

    def __init__(self, maximum: float) -> None:
        super().__init__(0, maximum, min_open=True)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        seconds = super().convert(value, param, ctx)
        if math.isnan(seconds):
            self.fail(f"{value!r} is not a number of seconds", param, ctx)
        return seconds


def loaded_app(ctx: click.Context) -> App:
    """The App with its config loaded and logging configured from it."""
    app = ctx.find_object(App)
    if app is None:  # pragma: no cover - the root group always sets it
        raise click.UsageError("internal: no application context")
    cfg = app.config
    # ``--log-format`` / DELIVERWATCH_LOG_FORMAT (the root group's option) wins over the file
    configure(cfg.logging.level, ctx.meta.get("deliverwatch.log_format") or cfg.logging.format)
    return app


def parse_when(
    text: str | None, *, now: datetime, ago: bool = False, param_hint: str | None = None
) -> datetime | None:
    """``2026-12-31``, ``2026-12-31T08:00:00Z`` or a duration (``30d``, ``12h``) from now:
    ahead, or back with ``ago`` (``--since 7d`` is the last seven days). A value outside
    [``EARLIEST``, ``LATEST``) is a usage error."""
    if text is None or not text.strip():
        return None
    t = text.strip()
    m = _DURATION.match(t)
    if m:
        try:
            delta = timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
            when = now - delta if ago else now + delta
        except OverflowError:
            raise _out_of_range(t, param_hint) from None
    else:
        try:
            dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
            when = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
        except ValueError:
            raise click.BadParameter(
                f"{t!r}: expected YYYY-MM-DD, an ISO 8601 date-time or a duration like 30d",
                param_hint=param_hint,
            ) from None
        except OverflowError:  # an offset that moves 9999-12-31 past the calendar
            raise _out_of_range(t, param_hint) from None
    if not EARLIEST <= when < LATEST:
        raise _out_of_range(t, param_hint)
    return when


def parse_day(text: str, *, param_hint: str | None = None) -> date:
    """A ``YYYY-MM-DD`` day in [``EARLIEST``, ``LATEST``), else a usage error."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected YYYY-MM-DD", param_hint=param_hint) from None
    if not EARLIEST.date() <= day < LATEST.date():
        raise _out_of_range(text, param_hint)
    return day


def _out_of_range(text: str, param_hint: str | None) -> click.BadParameter:
    last = (LATEST - timedelta(days=1)).date()
    return click.BadParameter(
        f"{text!r} is out of range: dates must fall between {EARLIEST.date()} and {last}",
        param_hint=param_hint,
    )


class Refused(click.ClickException):
    """An input refused as a whole before any of it was used: one line, exit status 2."""

    exit_code = 2


@contextlib.contextmanager
def import_source(
    path: str, what: str, *, encoding: str | None = None
) -> Iterator[tuple[Iterator[str], Callable[[int], None]]]:
    """Open PATH ('-' = stdin) as text lines, with a row counter on a terminal's stderr.

    Yields the lines and an ``advance(n)`` callback for the importer's batches; the file is
    read lazily so a million-row import stays in bounded memory. Lines are decoded as
    ``encoding`` (default UTF-8, a BOM skipped) with ``surrogateescape``, so a byte that is
    not UTF-8 rejects its row, not the import (``parsers.listfile.text_problem``), and are
    at most ``MAX_LINE`` characters (``LINE_TOO_LONG`` stands in for a longer one). Without
    a declared encoding, a UTF-16/UTF-32 file is refused before anything is imported.
    """
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    if encoding is not None:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise click.BadParameter(
                f"unknown encoding {encoding!r}", param_hint="--encoding"
            ) from None
    try:
        opened = sys.stdin.buffer if path == "-" else Path(path).open("rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise click.FileError(path, hint=exc.strerror) from exc
    # peek() needs a buffered reader (stdin may be any binary stream)
    raw = opened if isinstance(opened, io.BufferedReader) else io.BufferedReader(opened)  # type: ignore[type-var]
    if encoding is None:
        found = undecodable_encoding(raw.peek(4096))
        if found is not None:
            raw.close()
            raise Refused(
                f"{path}: the file looks like {found}; convert it to UTF-8 or declare it "
                "with --encoding"
            )
    source = io.TextIOWrapper(
        raw, encoding=encoding or "utf-8-sig", errors="surrogateescape", newline=""
    )
    progress = Progress(
        SpinnerColumn(),
        TextColumn(f"importing {{task.completed:,}} {what}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not sys.stderr.isatty(),
        transient=True,
    )
    with source, progress:
        task = progress.add_task("import", total=None)
        yield _bounded_lines(source), lambda n: progress.advance(task, n)


def _bounded_lines(source: IO[str]) -> Iterator[str]:
    """The lines of ``source``, each at most ``MAX_LINE`` characters: the rest of a longer
    line is skipped and ``LINE_TOO_LONG`` handed on in its place (a 1 GB line without a
    newline must not become a 1 GB string)."""
    readline = source.readline
    while line := readline(MAX_LINE):
        if len(line) == MAX_LINE and not line.endswith(("\n", "\r")):
            while (rest := readline(MAX_LINE)) and not rest.endswith(("\n", "\r")):
                pass
            yield LINE_TOO_LONG
        else:
            yield line
