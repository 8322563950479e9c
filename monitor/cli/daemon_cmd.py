"""``deliverwatch daemon``: run the scheduled jobs until SIGTERM/SIGINT."""

from __future__ import annotations

import click

from monitor.cli.common import loaded_app


@click.command("daemon")
@click.pass_context
def daemon_cmd(ctx: click.Context) -> int:
    """Run the background daemon (scheduled jobs); stops cleanly on SIGTERM/SIGINT."""
    from monitor.config import unavailable_inputs
    from monitor.daemon.run import run_daemon

    app = loaded_app(ctx)
    missing = unavailable_inputs(app.config)
    if missing:  # every configured secret is used by some job: fail now, not in an hour
        raise missing[0]
    return run_daemon(app)
