"""Helpers shared by the subcommand modules."""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click

from monitor.app import App
from monitor.cli.logsetup import configure

__all__ = ["import_source", "loaded_app", "parse_when"]

_DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def loaded_app(ctx: click.Context) -> App:
    """The App with its config loaded and logging configured from it."""
    app = ctx.find_object(App)
    if app is None:  # pragma: no cover - the root group always sets it
        raise click.UsageError("internal: no application context")
    cfg = app.config
    configure(cfg.logging.level, cfg.logging.format)
    return app


def parse_when(text: str | None, *, now: datetime) -> datetime | None:
    """``2026-12-31``, ``2026-12-31T08:00:00Z`` or a duration from now (``30d``, ``12h``)."""
    if text is None or not text.strip():
        return None
    t = text.strip()
    m = _DURATION.match(t)
    if m:
        return now + timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        dt = datetime.fromisoformat(t.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{t!r}: expected YYYY-MM-DD, an ISO 8601 date-time or a duration like 30d"
        ) from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


@contextlib.contextmanager
def import_source(path: str, what: str) -> Iterator[tuple[Iterator[str], Callable[[int], None]]]:
    """Open PATH ('-' = stdin) as text lines, with a row counter on a terminal's stderr.

    Yields the lines and an ``advance(n)`` callback for the importer's batches; the file is
    read lazily so a million-row import stays in bounded memory.
    """
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    try:
        source = (
            sys.stdin if path == "-" else Path(path).open(encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed below
        )
    except OSError as exc:
        raise click.FileError(path, hint=exc.strerror) from exc
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
        yield iter(source), lambda n: progress.advance(task, n)
