"""Root command group and ``main``.

Each subcommand group lives in its own module of this package, named in ``COMMANDS`` and
imported only when that command is looked up; the modules import heavy libraries
(SQLAlchemy, pandas) inside their command functions. So ``deliverwatch --help`` and
``deliverwatch parse`` start fast: parse imports neither the config loader nor the other
commands' modules (without bytecode caches each of them is compiled at every start).
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence

import click

from monitor.errors import MonitorError, StoreError

#: ``monitor.config.ENV_VAR``, spelt out here so that the root group does not import the
#: config package (tests/monitor/test_cli_root.py checks that the two agree).
ENV_VAR = "DELIVERWATCH_CONFIG"
#: ``ctx.meta`` key of ``--log-format`` (read by ``common.loaded_app``).
LOG_FORMAT = "deliverwatch.log_format"

#: Subcommand name -> (module, attribute), imported when the command is looked up.
COMMANDS: dict[str, tuple[str, str]] = {
    "config": ("monitor.cli.config_cmd", "config_group"),
    "db": ("monitor.cli.db_cmd", "db_group"),
    "suppression": ("monitor.cli.suppression_cmd", "suppression_group"),
    "allowlist": ("monitor.cli.allowlist_cmd", "allowlist_group"),
    "daemon": ("monitor.cli.daemon_cmd", "daemon_cmd"),
    "parse": ("monitor.cli.parse", "parse_cmd"),
    "check": ("monitor.cli.check", "check_group"),
    "report": ("monitor.cli.report_cmd", "report_group"),
    "demo": ("monitor.cli.report_cmd", "demo_cmd"),
    "events": ("monitor.cli.events_cmd", "events_group"),
    "poll": ("monitor.cli.poll_cmd", "poll_cmd"),
    "reprocess": ("monitor.cli.poll_cmd", "reprocess_cmd"),
    "sends": ("monitor.cli.sends_cmd", "sends_group"),
    "relay": ("monitor.cli.relay_cmd", "relay_group"),
    "queue": ("monitor.cli.queue_cmd", "queue_group"),
    "send": ("monitor.cli.send_cmd", "send_cmd"),
    "serve": ("monitor.cli.serve_cmd", "serve_cmd"),
    "web": ("monitor.cli.web_cmd", "web_cmd"),
    "dkim": ("monitor.cli.dkim_cmd", "dkim_group"),
    "status": ("monitor.cli.status_cmd", "status_cmd"),
}


class _LazyGroup(click.Group):
    """A group whose subcommands are imported on lookup (click's documented lazy-loading
    pattern: ``list_commands`` and ``get_command`` overridden)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attribute = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command):
                raise TypeError(f"{module}.{attribute} is not a click command")
            self.add_command(command, cmd_name)
        return super().get_command(ctx, cmd_name)


def build_cli() -> click.Group:
    """Build the command tree; kept apart from ``main`` so tests can introspect it."""

    @click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(package_name="deliverwatch")
    @click.option(
        "--config",
        "config_path",
        envvar=ENV_VAR,
        type=click.Path(dir_okay=False),
        default=None,
        help=f"Config file (default: ${ENV_VAR}, else ./config.toml).",
    )
    @click.option(
        "--log-format",
        type=click.Choice(["text", "json"]),
        envvar="DELIVERWATCH_LOG_FORMAT",
        default=None,
        help="Log lines as text or JSON objects (default: [logging] format).",
    )
    @click.pass_context
    def cli(ctx: click.Context, config_path: str | None, log_format: str | None) -> None:
        """deliverwatch: keep a bulk sender out of the spam folder."""
        from monitor.app import App

        if log_format is not None:
            ctx.meta[LOG_FORMAT] = log_format

        ctx.obj = App(config_path=config_path)
        ctx.call_on_close(ctx.obj.close)

    return cli


#: ``_DELIVERWATCH_COMPLETE=bash_source deliverwatch`` prints the bash completion script.
COMPLETE_VAR = "_DELIVERWATCH_COMPLETE"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the process exit status instead of calling ``sys.exit``.

    This is the CLI's one error boundary (issue 14): whatever a command raises ends as one
    line on stderr saying what failed and where, never a traceback. Errors of the shell
    (``MonitorError``) carry their own words; a database error gets the database's location
    added, a file-system error (read-only, full, no permission) its path; anything else is
    a defect, reported as one line too (``DELIVERWATCH_TRACEBACK=1`` shows the traceback).
    """
    cli = build_cli()
    instruction = os.environ.get(COMPLETE_VAR)
    if instruction:  # shell completion (click does this in ``main``, which we do not call)
        from click.shell_completion import shell_complete

        return shell_complete(cli, {}, "deliverwatch", COMPLETE_VAR, instruction)
    ctx: click.Context | None = None
    try:
        with cli.make_context(
            "deliverwatch", list(argv) if argv is not None else sys.argv[1:]
        ) as ctx:
            rv = cli.invoke(ctx)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except (click.exceptions.Abort, KeyboardInterrupt, EOFError):
        click.echo("Aborted!", err=True)
        return 1
    except BrokenPipeError:  # `deliverwatch suppression export | head`
        return 0
    except Exception as exc:  # the CLI's error boundary (STYLE.md 4)
        if os.environ.get("DELIVERWATCH_TRACEBACK"):
            raise
        click.echo(f"error: {_error_line(exc, ctx)}", err=True)
        return 2
    return int(rv) if isinstance(rv, int) else 0


def _error_line(exc: Exception, ctx: click.Context | None) -> str:
    from monitor.cli.term import text  # a server's reply or a path may be in it

    if isinstance(exc, StoreError):
        where = _database(ctx)
        line = str(exc)
        if where and where not in line:
            line = f"{line} (database {where})"
        return text(line)
    if isinstance(exc, MonitorError):
        return text(exc)
    if isinstance(exc, OSError):
        names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
        what = exc.strerror or type(exc).__name__
        return text(f"{what}: {' -> '.join(names)}" if names else f"{what} ({exc})")
    return text(
        f"unexpected {type(exc).__name__}: {exc} (a bug: please report it; "
        "DELIVERWATCH_TRACEBACK=1 shows where)"
    )


def _database(ctx: click.Context | None) -> str | None:
    from monitor.app import App

    app = ctx.obj if ctx is not None else None
    return app.database_label() if isinstance(app, App) else None


if __name__ == "__main__":
    sys.exit(main())
