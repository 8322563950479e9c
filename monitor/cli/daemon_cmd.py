"""``deliverwatch daemon``: run the scheduled jobs until SIGTERM/SIGINT."""

from __future__ import annotations

import click

from monitor.cli.common import loaded_app


@click.command("daemon")
@click.pass_context
def daemon_cmd(ctx: click.Context) -> int:
    """Run the background daemon (scheduled jobs); stops cleanly on SIGTERM/SIGINT."""
    from monitor.daemon.run import run_daemon

    return run_daemon(loaded_app(ctx))
