"""Root command group and ``main``."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click


def build_cli() -> click.Group:
    """Build the command tree; kept apart from ``main`` so tests can introspect it."""

    @click.group(context_settings={"help_option_names": ["-h", "--help"]})
    @click.version_option(package_name="deliverwatch")
    def cli() -> None:
        """deliverwatch: keep a bulk sender out of the spam folder."""

    return cli


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI and return the process exit status instead of calling ``sys.exit``."""
    cli = build_cli()
    try:
        rv = cli.main(args=list(argv) if argv is not None else None, standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("Aborted!", err=True)
        return 1
    return int(rv) if isinstance(rv, int) else 0


if __name__ == "__main__":
    sys.exit(main())
