"""``deliverwatch relay`` (run the sending relay) and ``deliverwatch relay passwd USER``."""

from __future__ import annotations

import sys

import click

from monitor.cli.common import loaded_app

__all__ = ["relay_group"]


@click.group("relay", invoke_without_command=True)
@click.option("--deliver", is_flag=True, hidden=True, help="Run one delivery process (internal).")
@click.pass_context
def relay_group(ctx: click.Context, deliver: bool) -> int:
    """Run the built-in SMTP relay ([relay] in the config) until SIGTERM/SIGINT."""
    if ctx.invoked_subcommand is not None:
        return 0
    from monitor.daemon.relay import run_delivery, run_relay

    app = loaded_app(ctx)
    return run_delivery(app) if deliver else run_relay(app)


@relay_group.command("passwd")
@click.argument("user")
def relay_passwd(user: str) -> int:
    """Print the password_hash line for USER: the password is read from stdin (asked
    twice, without echo, on a terminal)."""
    from monitor.relay.passwords import hash_password

    if sys.stdin.isatty():
        password = click.prompt(f"password for {user}", hide_input=True,
                                confirmation_prompt=True)  # fmt: skip
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        raise click.UsageError("a submission password needs at least 8 characters")
    click.echo(f'# [relay.users.{user}]\npassword_hash = "{hash_password(password)}"')
    return 0
