"""``deliverwatch events list|export``: what happened to our mail, for people and tools."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from monitor.cli.common import LIMIT, OFFSET, loaded_app, parse_when
from monitor.cli.listout import emit_rows, format_option, refuse_binary_on_terminal
from monitor.cli.progress import activity
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
@format_option
@click.pass_context
def events_list(ctx: click.Context, /, limit: int, offset: int, fmt: str, **kw: Any) -> int:
    """Show matching events, newest first."""
    from monitor.store.db import session_scope
    from monitor.store.events_query import list_events
    from reports.events_export import EVENT_EXPORT_COLUMNS as COLS

    app = loaded_app(ctx)
    flt = _filter(ctx, kw)
    with session_scope(app.sessions(), "listing events") as session:
        rows = list_events(session, flt, limit=limit, offset=offset)
    shown = COLS if fmt != "table" else _TABLE_COLUMNS
    idx = [COLS.index(c) for c in shown]
    emit_rows(
        shown,
        ([row[i] for i in idx] for row in rows),
        fmt,
        footer=f"{len(rows)} events shown",
        fold=("address", "diagnostic"),
        footer_on_stderr=True,
    )
    return 0


#: The columns of the table for people; csv and jsonl carry every export column.
_TABLE_COLUMNS = (
    "occurred_at",
    "kind",
    "address",
    "reason",
    "status",
    "campaign",
    "trust",
    "diagnostic",
)


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
    from monitor.output import open_output
    from monitor.store.db import session_scope
    from monitor.store.events_query import iter_events
    from reports.events_export import write_events

    app = loaded_app(ctx)
    if fmt == "parquet":
        refuse_binary_on_terminal(out, fmt)
    flt = _filter(ctx, kw)
    with (
        session_scope(app.sessions(), "exporting events") as session,
        open_output(out) as stream,
        activity("exporting events", out=out) as shown,
    ):
        n = write_events(shown.counted(iter_events(session, flt)), stream, fmt)
    if out != "-":
        click.echo(f"exported {n} events to {out}", err=True)
    return 0


RECORDABLE = ["bounced", "deferred", "delivered", "complained", "unsubscribed"]


@events_group.command("record")
@click.argument("addresses", nargs=-1, required=True)
@click.option("--kind", type=click.Choice(RECORDABLE), required=True, help="What happened.")
@click.option(
    "--reply",
    default="",
    help="The remote server's reply, for bounced/deferred (e.g. '550 5.1.1 user unknown'): "
    "classified like a mailbox bounce.",
)
@click.option("--campaign", default=None, help="The campaign the message belonged to.")
@click.option("--at", "at", default=None, help="When it happened (default: now).")
@click.pass_context
def events_record(
    ctx: click.Context,
    addresses: tuple[str, ...],
    kind: str,
    reply: str,
    campaign: str | None,
    at: str | None,
) -> int:
    """Record what happened to mail for ADDRESSES, learnt outside deliverwatch (a bounce
    your MTA logged, an unsubscribe request by phone): the suppression rules act on it as
    on any other source. Exit 1 when the database refused an address's event."""
    from monitor.daemon.wiring import event_context
    from monitor.events import Observation, event_key, normalize_recipient, record_events
    from parsers.reply import classify_reply

    app = loaded_app(ctx)
    lowercase = app.config.suppression.lowercase_local_part
    bad = [a for a in addresses if normalize_recipient(a, lowercase)[0] is None]
    if bad:
        raise click.BadParameter(f"{bad[0]!r} is not an email address", param_hint="ADDRESSES")
    now = app.now()
    when = parse_when(at, now=now) or now
    event = EventKind(kind)
    code = 250 if event is EventKind.DELIVERED else None
    observations = []
    for address in addresses:
        rcpt = classify_reply(code, reply, address=address) if reply or code else None
        observations.append(
            Observation(
                kind=event,
                key=event_key("cli", kind, address, when.isoformat(), reply),
                source="cli",
                occurred_at=when,
                recipient=address,
                trust=Trust.LOCAL,
                reason=rcpt.reason.value if rcpt else "undefined",
                hard=rcpt.hard if rcpt else None,
                status=rcpt.status if rcpt else None,
                reply_code=rcpt.reply_code if rcpt else None,
                diagnostic=rcpt.diagnostic if rcpt else None,
                feedback_type={"complained": "abuse", "unsubscribed": "opt-out"}.get(kind),
                campaign=campaign,
            )
        )
    results = record_events(
        app.sessions(), [[o] for o in observations], event_context(app.config), now=now
    )
    status = 0
    for address, result in zip(addresses, results, strict=True):
        decided = result.decided[0] if result.decided else None
        if result.error or decided is None:
            click.echo(f"{address}: not recorded ({result.error})", err=True)
            status = 1
            continue
        done = "recorded" if decided.stored else "already recorded"
        verdict = "suppressed" if decided.suppressed else "not suppressed"
        click.echo(f"{decided.address}: {kind} {done}; {verdict}: {decided.why}")
    return status
