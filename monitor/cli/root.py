"""Root command group and ``main``.

Each subcommand group lives in its own module of this package and is registered in
``build_cli``; the modules import heavy libraries (SQLAlchemy, pandas) inside their command
functions so ``deliverwatch --help`` and ``deliverwatch parse`` start fast.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from monitor.app import App
from monitor.config import ENV_VAR
from monitor.errors import MonitorError


def build_cli() -> click.Group:
    """Build the command tree; kept apart from ``main`` so tests can introspect it."""

    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(package_name="deliverwatch")
    @click.option(
        "--config",
        "config_path",
        envvar=ENV_VAR,
        type=click.Path(dir_okay=False),
        default=None,
        help=f"Config file (default: ${ENV_VAR}, else ./config.toml).",
    )
    @click.pass_context
    def cli(ctx: click.Context, config_path: str | None) -> None:
        """deliverwatch: keep a bulk sender out of the spam folder."""
        ctx.obj = App(config_path=config_path)
        ctx.call_on_close(ctx.obj.close)

    from monitor.cli.check import check_group
    from monitor.cli.config_cmd import config_group
    from monitor.cli.daemon_cmd import daemon_cmd
    from monitor.cli.db_cmd import db_group
    from monitor.cli.events_cmd import events_group
    from monitor.cli.parse import parse_cmd
    from monitor.cli.poll_cmd import poll_cmd, reprocess_cmd
    from monitor.cli.report_cmd import demo_cmd, report_group
    from monitor.cli.sends_cmd import sends_group
    from monitor.cli.suppression_cmd import allowlist_group, suppression_group

    cli.add_command(config_group)
    cli.add_command(db_group)
    cli.add_command(suppression_group)
    cli.add_command(allowlist_group)
    cli.add_command(daemon_cmd)
    cli.add_command(parse_cmd)
    cli.add_command(check_group)
    cli.add_command(report_group)
    cli.add_command(demo_cmd)
    cli.add_command(events_group)
    cli.add_command(poll_cmd)
    cli.add_command(reprocess_cmd)
    cli.add_command(sends_group)
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the process exit status instead of calling ``sys.exit``."""
    cli = build_cli()
    try:
        rv = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name="deliverwatch",
            standalone_mode=False,
        )
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        return 1
    except MonitorError as exc:
        click.echo(f"error: {exc}", err=True)
        return 2
    except BrokenPipeError:  # `deliverwatch suppression export | head`
        return 0
    return int(rv) if isinstance(rv, int) else 0


if __name__ == "__main__":
    sys.exit(main())
