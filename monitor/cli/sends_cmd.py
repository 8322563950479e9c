"""``deliverwatch sends import``: load a send log so bounces can be verified against it."""

from __future__ import annotations

import click

from monitor.cli.common import import_source, loaded_app
from monitor.cli.listout import import_format, import_outcome
from monitor.cli.term import text

__all__ = ["sends_group"]


@click.group("sends")
def sends_group() -> None:
    """The sent-message log that bounces and complaints are matched against."""


@sends_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "jsonl"]),
    default=None,
    help="Default: from the file name (.jsonl/.ndjson: jsonl), else csv.",
)
@click.option(
    "--encoding",
    default=None,
    help="The file's encoding (e.g. utf-16, cp1252); default UTF-8, a BOM allowed.",
)
@click.pass_context
def sends_import(ctx: click.Context, path: str, fmt: str | None, encoding: str | None) -> int:
    """Import PATH ('-' for stdin): message_id, recipient, campaign, sent_at, token, and
    the delivery result when the MTA logged it: result (delivered, deferred, bounced,
    expired) with the remote server's reply.

    Bad rows are reported with their line and skipped; importing a file twice adds nothing.
    """
    from monitor.daemon.wiring import event_context
    from monitor.ingest.sendlog import import_sends

    app = loaded_app(ctx)
    factory = app.sessions()
    fmt = import_format(path, fmt, ("csv", "jsonl"))
    with import_source(path, "sends", encoding=encoding) as (lines, advance):
        report = import_sends(
            factory,
            lines,
            fmt=fmt,
            now=app.now(),
            ctx=event_context(app.config),
            on_batch=advance,
        )
    click.echo(f"added {report.added}, already known {report.known}, rejected {report.rejected}")
    if report.results:
        click.echo(
            f"delivery results recorded {report.results}, addresses suppressed {report.suppressed}"
        )
    for line, why in report.rejects[:50]:
        click.echo(f"  line {line}: {text(why)}")
    if report.rejected > 50:
        click.echo(f"  ... and {report.rejected - 50} more rejected rows")
    first = report.rejects[0][1] if report.rejects else None
    return import_outcome(path, report.added + report.known, report.rejected, first)
