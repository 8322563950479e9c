"""``deliverwatch events list|export``: what happened to our mail, for people and tools."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from monitor.cli.common import LIMIT, OFFSET, loaded_app, parse_when
from monitor.enums import EventKind, Trust

if TYPE_CHECKING:
    from monitor.store.events_query import EventFilter

KINDS = [k.value for k in EventKind]
TRUSTS = [t.value for t in Trust]


def _filters(fn: Any) -> Any:
    options = [
        click.option("--since", help="From this date/time (inclusive): YYYY-MM-DD, ISO, or 30d."),
        click.option("--until", help="Before this date/time (exclusive)."),
        click.option("--kind", "kinds", type=click.Choice(KINDS), multiple=True),
        click.option("--campaign", help="Only this campaign."),
        click.option("--domain", help="Only this recipient domain."),
        click.option("--trust", "trusts", type=click.Choice(TRUSTS), multiple=True,
                     help="verified, unverified (possibly forged) or local."),
    ]  # fmt: skip
    for option in reversed(options):
        fn = option(fn)
    return fn


def _filter(ctx: click.Context, kw: dict[str, Any]) -> EventFilter:
    from monitor.store.events_query import EventFilter

    now = loaded_app(ctx).now()
    # a duration means *ago* in a filter (``--since 7d`` is the last seven days)
    return EventFilter(
        since=parse_when(kw["since"], now=now, ago=True, param_hint="--since"),
        until=parse_when(kw["until"], now=now, ago=True, param_hint="--until"),
        kinds=[EventKind(k) for k in kw["kinds"]],
        campaign=kw["campaign"],
        domain=kw["domain"],
        trust=[Trust(t) for t in kw["trusts"]],
    )


@click.group("events")
def events_group() -> None:
    """Bounces, complaints, deliveries and the rest, as recorded."""


@events_group.command("list")
@_filters
@click.option("--limit", type=LIMIT, default=50, show_default=True)
@click.option("--offset", type=OFFSET, default=0)
@click.pass_context
def events_list(ctx: click.Context, /, limit: int, offset: int, **kw: Any) -> int:
    """Show matching events, newest first."""
    from rich.console import Console
    from rich.table import Table

    from monitor.cli.term import cell
    from monitor.store.db import session_scope
    from monitor.store.events_query import list_events
    from reports.events_export import EVENT_EXPORT_COLUMNS as COLS

    app = loaded_app(ctx)
    flt = _filter(ctx, kw)
    with session_scope(app.sessions(), "listing events") as session:
        rows = list_events(session, flt, limit=limit, offset=offset)
    shown = (
        "occurred_at",
        "kind",
        "address",
        "reason",
        "status",
        "campaign",
        "trust",
        "diagnostic",
    )
    idx = [COLS.index(c) for c in shown]
    table = Table(*shown)
    for row in rows:
        cells = [row[i] for i in idx]
        cells[0] = f"{cells[0]:%Y-%m-%d %H:%M:%S}"
        table.add_row(*(cell(c, 120) for c in cells))
    # piped output (grep, less) gets full rows instead of 80 wrapped columns
    Console(width=None if sys.stdout.isatty() else 240).print(table)
    click.echo(f"{len(rows)} events shown", err=True)
    return 0


@events_group.command("export")
@_filters
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl", "parquet"]), default="csv",
    show_default=True,
)  # fmt: skip
@click.option(
    "--out", type=click.Path(dir_okay=False, allow_dash=True), default="-",
    help="Output file (written atomically); '-' for stdout.",
)  # fmt: skip
@click.pass_context
def events_export(ctx: click.Context, /, fmt: str, out: str, **kw: Any) -> int:
    """Stream matching events, oldest first, as CSV, JSON Lines or Parquet."""
    from monitor.store.db import session_scope
    from monitor.store.events_query import iter_events
    from monitor.suppression import open_output
    from reports.events_export import write_events

    app = loaded_app(ctx)
    flt = _filter(ctx, kw)
    with session_scope(app.sessions(), "exporting events") as session, open_output(out) as stream:
        n = write_events(iter_events(session, flt), stream, fmt)
    if out != "-":
        click.echo(f"exported {n} events to {out}", err=True)
    return 0
