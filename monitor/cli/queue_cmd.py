"""``deliverwatch queue list|show|retry|hold|release|delete``: the relay's queue by hand.

Every command takes the same filters (``--domain``, ``--campaign``, ``--state``, ``--older``,
``--id``); changes are written to the database and the running relay sees them at its next
look at the queue (about a second).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

import click

from monitor.cli.common import loaded_app, parse_when
from monitor.enums import MessageState

__all__ = ["queue_group"]

STATES = ["queued", "sending", "deferred", "held", "scanning", "delivered", "bounced", "expired"]


def _filters(fn: Callable[..., Any]) -> Callable[..., Any]:
    options = [
        click.option("--id", "queue_id", help="A message (ABC...) or one recipient (ABC....2)."),
        click.option("--domain", help="Recipient domain."),
        click.option("--campaign", help="Campaign."),
        click.option("--state", "states", type=click.Choice(STATES), multiple=True,
                     help="Recipient state (default: every pending one)."),
        click.option("--older", help="Accepted more than this long ago (30m, 2h, 1d)."),
    ]  # fmt: skip
    for option in reversed(options):
        fn = option(fn)
    return fn


def _filter(kw: dict[str, Any], now: datetime) -> Any:
    from monitor.store.queue import QueueFilter

    older = None
    if kw.get("older"):
        when = parse_when(kw["older"], now=now)
        older = now - (when - now) if when is not None else None
    return QueueFilter(
        queue_id=kw.get("queue_id"),
        domain=kw.get("domain"),
        campaign=kw.get("campaign"),
        states=tuple(MessageState(s) for s in kw.get("states") or ()),
        older_than=older,
    )


def _when(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S}Z" if value else ""


@click.group("queue", invoke_without_command=True)
@click.pass_context
def queue_group(ctx: click.Context) -> int:
    """The relay's queue: without a subcommand, a summary per state."""
    if ctx.invoked_subcommand is not None:
        return 0
    from monitor.store.content import held_campaigns
    from monitor.store.db import session_scope
    from monitor.store.queue import queue_summary

    app = loaded_app(ctx)
    with session_scope(app.sessions(), "reading the queue") as session:
        summary = queue_summary(session)
        holds = held_campaigns(session)
    states = ", ".join(f"{k} {v}" for k, v in sorted(summary.by_state.items())) or "empty"
    click.echo(f"{summary.pending} recipient(s) pending: {states}")
    if summary.oldest is not None:
        click.echo(f"oldest accepted {_when(summary.oldest)}")
    from monitor.cli.term import text

    for h in holds:
        click.echo(f"campaign {text(h.campaign)} HELD since {_when(h.held_at)} "
                   f"({h.held_recipients} recipient(s)): {text(h.reason)}")  # fmt: skip
    if holds:
        click.echo("release one with: deliverwatch queue release --campaign NAME")
    return 0


@queue_group.command("campaigns")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def queue_campaigns(ctx: click.Context, fmt: str) -> int:
    """Campaigns the content check holds ([relay.content]), with the findings. Exit 1 when
    any is held."""
    from monitor.store.content import held_campaigns
    from monitor.store.db import session_scope

    app = loaded_app(ctx)
    with session_scope(app.sessions(), "reading the queue") as session:
        holds = held_campaigns(session)
    if fmt == "json":
        for h in holds:
            click.echo(json.dumps({
                "campaign": h.campaign, "held_at": _when(h.held_at) or None,
                "held_recipients": h.held_recipients, "messages": h.messages,
                "findings": h.reason,
            }))  # fmt: skip
    else:
        _table(
            ["campaign", "held since", "held rcpts", "findings"],
            [[h.campaign, _when(h.held_at), str(h.held_recipients), h.reason] for h in holds],
        )
    return 1 if holds else 0


@queue_group.command("list")
@_filters
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=100, show_default=True)
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def queue_list(ctx: click.Context, /, limit: int, fmt: str, **kw: Any) -> int:
    """Recipients in the queue, oldest first."""
    from monitor.store.db import session_scope
    from monitor.store.queue import list_queue

    app = loaded_app(ctx)
    with session_scope(app.sessions(), "listing the queue") as session:
        rows = list_queue(session, _filter(kw, app.now()), limit=limit)
    if fmt == "json":
        for r in rows:
            click.echo(json.dumps({
                "id": r.queue_id, "recipient": r.recipient, "state": r.state.value,
                "attempts": r.attempts, "next_attempt_at": _when(r.next_attempt_at) or None,
                "last_reply": r.last_reply, "campaign": r.campaign,
                "sender": r.envelope_sender, "accepted_at": _when(r.received_at) or None,
                "expires_at": _when(r.expires_at) or None, "remote_mx": r.remote_mx,
                "hold_reason": r.hold_reason,
            }))  # fmt: skip
        return 0
    _table(
        ["id", "state", "tries", "next try", "recipient", "campaign", "last reply"],
        [
            [
                r.queue_id,
                r.state.value,
                str(r.attempts),
                _when(r.next_attempt_at),
                r.recipient,
                r.campaign or "",
                (r.hold_reason or r.last_reply or "")[:100],
            ]
            for r in rows
        ],
    )
    click.echo(f"{len(rows)} recipient(s) shown", err=True)
    return 0


def _table(header: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    from monitor.cli.term import cell

    table = Table(*header)
    for row in rows:
        table.add_row(*(cell(value) for value in row))
    Console(width=None if sys.stdout.isatty() else 240).print(table)


@queue_group.command("show")
@click.argument("queue_id")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table")
@click.pass_context
def queue_show(ctx: click.Context, queue_id: str, fmt: str) -> int:
    """One message: its envelope and every recipient's state. Exit 1 if unknown."""
    from monitor.store.content import scans_of
    from monitor.store.db import session_scope
    from monitor.store.queue import show_message

    app = loaded_app(ctx)
    with session_scope(app.sessions(), "reading the queue") as session:
        found = show_message(session, queue_id)
        if found is None:
            click.echo(f"no message {queue_id} in the queue", err=True)
            return 1
        message, rcpts = found
        scans = [
            {"verdict": sc.verdict or "pending", "spam_score": sc.spam_score,
             "spam_rules": sc.spam_rules, "virus": sc.virus, "errors": sc.errors,
             "scanned_at": _when(sc.scanned_at) or None}
            for sc in scans_of(session, message.id)
        ]  # fmt: skip
        head: dict[str, Any] = {
            "id": message.queue_id, "submitted_by": message.submitted_by,
            "sender": message.envelope_sender, "header_from": message.header_from,
            "message_id": message.message_id, "campaign": message.campaign,
            "stream": message.stream, "size": message.size,
            "accepted_at": _when(message.received_at), "hold_reason": message.hold_reason,
            "dsn_ret": message.dsn_ret, "dsn_envid": message.dsn_envid,
        }  # fmt: skip
        recipients: list[dict[str, Any]] = [
            {"id": r.queue_id, "recipient": r.recipient, "state": r.state.value,
             "attempts": r.attempts, "next_attempt_at": _when(r.next_attempt_at) or None,
             "last_reply": r.last_reply, "remote_mx": r.remote_mx, "notify": r.notify,
             "expires_at": _when(r.expires_at) or None}
            for r in rcpts
        ]  # fmt: skip
    if fmt == "json":
        click.echo(json.dumps({**head, "content_scans": scans, "recipients": recipients},
                              indent=2))  # fmt: skip
        return 0
    from monitor.cli.term import text

    for key, value in head.items():
        if value not in (None, ""):
            click.echo(f"{key:>13}: {text(value)}")
    for sc in scans:
        said = [f"{k} {sc[k]}" for k in ("spam_score", "spam_rules", "virus", "errors") if sc[k]]
        click.echo(f"{'content scan':>13}: {sc['verdict']} {text('; '.join(said))}")
    header = ["id", "state", "tries", "next try", "recipient", "last reply"]
    cells = [
        [str(r[k] or "") for k in ("id", "state", "attempts", "next_attempt_at", "recipient")]
        + [str(r["last_reply"] or "")[:100]]
        for r in recipients
    ]
    _table(header, cells)
    return 0


def _change(ctx: click.Context, kw: dict[str, Any], what: str, action: Any) -> int:
    from monitor.store.db import session_scope

    if not any(kw.get(k) for k in ("queue_id", "domain", "campaign", "states", "older")):
        raise click.UsageError(
            f"say what to {what}: --id, --domain, --campaign, --state or --older"
        )
    app = loaded_app(ctx)
    with session_scope(app.sessions(), f"{what} in the queue") as session:
        n = action(session, _filter(kw, app.now()), app.now())
    click.echo(f"{what}: {n} recipient(s)")
    return 0


@queue_group.command("retry")
@_filters
@click.pass_context
def queue_retry(ctx: click.Context, /, **kw: Any) -> int:
    """Try queued and deferred recipients now (skip their back-off)."""
    from monitor.store.queue import retry

    return _change(ctx, kw, "retry", lambda s, f, now: retry(s, f, now=now))


@queue_group.command("hold")
@_filters
@click.option("--reason", default="held by the operator", show_default=True)
@click.pass_context
def queue_hold(ctx: click.Context, /, reason: str, **kw: Any) -> int:
    """Keep queued and deferred recipients from delivery until released."""
    from monitor.store.queue import hold

    return _change(ctx, kw, "hold", lambda s, f, now: hold(s, f, reason=reason, now=now))


@queue_group.command("release")
@_filters
@click.pass_context
def queue_release(ctx: click.Context, /, **kw: Any) -> int:
    """Held recipients are delivered again, at once. With --campaign, a campaign the content
    check holds is released too: its new mail flows again."""
    from monitor.store.content import release_campaign
    from monitor.store.queue import release

    def act(s: Any, f: Any, now: datetime) -> int:
        whole = f.campaign and not (f.queue_id or f.domain or f.states or f.older_than)
        lifted = release_campaign(s, f.campaign, now=now) if whole else None
        if lifted is not None:
            click.echo(f"campaign {f.campaign}: content hold lifted")
        return (lifted or 0) + release(s, f, now=now)

    return _change(ctx, kw, "release", act)


@queue_group.command("delete")
@_filters
@click.pass_context
def queue_delete(ctx: click.Context, /, **kw: Any) -> int:
    """Remove queued, deferred or held recipients: they will never be sent."""
    from monitor.store.queue import delete_queued

    return _change(ctx, kw, "delete", lambda s, f, now: delete_queued(s, f))
