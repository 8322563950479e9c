"""``deliverwatch allowlist ...``: addresses and domains that are never suppressed."""

from __future__ import annotations

import click

from monitor.cli.common import loaded_app
from monitor.cli.listout import emit_rows, format_option
from monitor.cli.suppression_cmd import remove_targets, target
from monitor.cli.term import text

__all__ = ["allowlist_group"]


@click.group("allowlist")
def allowlist_group() -> None:
    """Addresses and domains that are never suppressed (the allowlist always wins)."""


@allowlist_group.command("add")
@click.argument("addresses", nargs=-1, required=True)
@click.option("--domain", is_flag=True, help="Treat the arguments as whole domains.")
@click.option("--note", help="Free text kept with the entry.")
@click.pass_context
def allowlist_add(
    ctx: click.Context, addresses: tuple[str, ...], domain: bool, note: str | None
) -> int:
    """Allow ADDRESSES (or @domains) whatever bounces or complaints say."""
    from monitor.store.db import session_scope
    from monitor.store.suppressions import add_allow

    app = loaded_app(ctx)
    with session_scope(app.sessions(), "adding to the allowlist") as session:
        for scope, value in (target(app, a, domain) for a in addresses):
            new = add_allow(session, scope=scope, value=value, now=app.now(), note=note)
            click.echo(f"{'allowed' if new else 'already allowed'}: {text(value)}")
    return 0


@allowlist_group.command("remove")
@click.argument("addresses", nargs=-1, required=True)
@click.option("--domain", is_flag=True, help="Treat the arguments as whole domains.")
@click.pass_context
def allowlist_remove(ctx: click.Context, addresses: tuple[str, ...], domain: bool) -> int:
    """Remove ADDRESSES (or @domains) from the allowlist; exit 1 if any was not there."""
    from monitor.store.suppressions import remove_allow

    return remove_targets(
        ctx,
        addresses,
        domain,
        remove=remove_allow,
        doing="removing from the allowlist",
        absent="not on the allowlist",
    )


@allowlist_group.command("list")
@format_option
@click.pass_context
def allowlist_list(ctx: click.Context, fmt: str) -> int:
    """Show the allowlist."""
    from monitor.store.db import session_scope
    from monitor.store.suppressions import list_allows

    app = loaded_app(ctx)
    with session_scope(app.sessions(), "listing the allowlist") as session:
        rows = [(e.value, e.scope, e.created_at, e.note) for e in list_allows(session)]
    emit_rows(
        ("value", "scope", "created_at", "note"),
        rows,
        fmt,
        footer=f"{len(rows):,} entries",
        fold=("value", "note"),
    )
    return 0
