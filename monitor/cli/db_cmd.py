"""``deliverwatch db upgrade|current``: Alembic migrations without an alembic.ini."""

from __future__ import annotations

import click

from monitor.cli.common import loaded_app


@click.group("db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.pass_context
def db_upgrade(ctx: click.Context, revision: str) -> int:
    """Create or migrate the schema (safe to run on every deploy)."""
    from monitor.store.db import current_revision, upgrade

    app = loaded_app(ctx)
    before = current_revision(app.engine)
    upgrade(app.engine, revision)
    after = current_revision(app.engine)
    if before == after:
        click.echo(f"database already at {after}")
    else:
        click.echo(f"database upgraded: {before or '(empty)'} -> {after}")
    return 0


@db_group.command("current")
@click.pass_context
def db_current(ctx: click.Context) -> int:
    """Print the schema revision of the database and of this version of deliverwatch."""
    from monitor.store.db import current_revision, head_revision

    app = loaded_app(ctx)
    current, head = current_revision(app.engine), head_revision()
    state = "up to date" if current == head else "needs `deliverwatch db upgrade`"
    click.echo(f"current: {current or '(empty)'}\nhead:    {head}\n{state}")
    return 0 if current == head else 1
