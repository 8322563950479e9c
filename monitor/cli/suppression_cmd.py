"""``deliverwatch suppression ...`` and ``deliverwatch allowlist ...``."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

import click

from monitor.cli.common import LIMIT, OFFSET, import_source, loaded_app, parse_when
from monitor.cli.listout import (
    emit_rows,
    format_option,
    import_format,
    import_outcome,
    refuse_binary_on_terminal,
)
from monitor.cli.progress import activity
from monitor.cli.term import text
from monitor.enums import ListScope, SuppressionReason
from parsers.address import AddressError, normalize_address, normalize_domain
from parsers.listfile import FORMATS as IMPORT_FORMATS

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from monitor.app import App
    from monitor.suppression.files import ImportReport

REASONS = [r.value for r in SuppressionReason]
EXPORT_FORMATS = ["csv", "jsonl", "parquet", "sendgrid", "mailchimp", "ses"]


def target(app: App, text: str, domain: bool) -> tuple[ListScope, str]:
    """``@example.com`` or ``--domain`` means a whole-domain entry; else one address."""
    try:
        if domain or text.strip().startswith("@"):
            return ListScope.DOMAIN, normalize_domain(text)
        lower = app.config.suppression.lowercase_local_part
        return ListScope.ADDRESS, normalize_address(text, lowercase_local=lower)
    except AddressError as exc:
        raise click.BadParameter(str(exc), param_hint="ADDRESS") from None


class Remover(Protocol):
    """``remove_suppression`` or ``remove_allow``: False when the entry was not there."""

    def __call__(self, session: Session, *, scope: ListScope, value: str) -> bool: ...


def remove_targets(
    ctx: click.Context,
    addresses: tuple[str, ...],
    domain: bool,
    *,
    remove: Remover,
    doing: str,
    absent: str,
) -> int:
    """The body of ``suppression remove`` and ``allowlist remove``: ``remove`` each target in
    one transaction (``doing`` names it in a database error), say ``removed: VALUE`` or, on
    stderr, ``ABSENT: VALUE``; exit status 1 if any was not there, so that a script notices a
    mistyped address."""
    from monitor.store.db import session_scope

    app = loaded_app(ctx)
    missing = 0
    with session_scope(app.sessions(), doing) as session:
        for scope, value in (target(app, a, domain) for a in addresses):
            if remove(session, scope=scope, value=value):
                click.echo(f"removed: {text(value)}")
            else:
                missing += 1
                click.echo(f"{absent}: {text(value)}", err=True)
    return 1 if missing else 0


@click.group("suppression")
def suppression_group() -> None:
    """The suppression list: addresses and domains that must not be mailed."""


@suppression_group.command("add")
@click.argument("addresses", nargs=-1, required=True)
@click.option("--reason", type=click.Choice(REASONS), default="manual", show_default=True)
@click.option("--expires", help="Expiry: YYYY-MM-DD, ISO date-time, or a duration like 30d.")
@click.option("--note", help="Free text kept with the entry.")
@click.option("--domain", is_flag=True, help="Treat the arguments as whole domains.")
@click.pass_context
def suppression_add(
    ctx: click.Context,
    addresses: tuple[str, ...],
    reason: str,
    expires: str | None,
    note: str | None,
    domain: bool,
) -> int:
    """Suppress ADDRESSES (or @domains); re-adding refreshes reason, expiry and note."""
    from monitor.store.db import session_scope
    from monitor.store.suppressions import add_suppression

    app = loaded_app(ctx)
    now = app.now()
    expires_at = parse_when(expires, now=now, param_hint="--expires")
    if expires_at is not None and expires_at <= now:
        raise click.BadParameter("expiry is in the past", param_hint="--expires")
    targets = [target(app, a, domain) for a in addresses]
    with session_scope(app.sessions(), "adding suppressions") as session:
        for scope, value in targets:
            _row, new = add_suppression(
                session,
                scope=scope,
                value=value,
                reason=SuppressionReason(reason),
                now=now,
                expires_at=expires_at,
                note=note,
            )
            click.echo(f"{'added' if new else 'updated'}: {text(value)} ({scope.value}, {reason})")
    return 0


@suppression_group.command("remove")
@click.argument("addresses", nargs=-1, required=True)
@click.option("--domain", is_flag=True, help="Treat the arguments as whole domains.")
@click.pass_context
def suppression_remove(ctx: click.Context, addresses: tuple[str, ...], domain: bool) -> int:
    """Remove ADDRESSES (or @domains) from the list; exit 1 if any was not there."""
    from monitor.store.suppressions import remove_suppression

    return remove_targets(
        ctx,
        addresses,
        domain,
        remove=remove_suppression,
        doing="removing suppressions",
        absent="not on the list",
    )


@suppression_group.command("check")
@click.argument("addresses", nargs=-1)
@click.option(
    "--file",
    "files",
    type=click.Path(dir_okay=False, allow_dash=True),
    multiple=True,
    help="Read addresses from FILE, one a line ('-': stdin); may be repeated.",
)
@click.option(
    "--only",
    type=click.Choice(["ok", "suppressed"]),
    help="Print only these addresses, bare, one a line (ok: the list cleaned for sending).",
)
@click.pass_context
def suppression_check(
    ctx: click.Context, addresses: tuple[str, ...], files: tuple[str, ...], only: str | None
) -> int:
    """Say whether each address may be mailed and why, one line each, in input order.

    ADDRESSES are arguments ('-' reads stdin) and/or --file lines; blank lines and lines
    starting with '#' are skipped. Exit status 1 when any is suppressed or invalid, 0
    when every one may be mailed.
    """
    from monitor.suppression.check import check_lines

    app = loaded_app(ctx)
    if not addresses and not files:
        raise click.UsageError("give ADDRESS..., --file FILE, or '-' to read stdin")
    stdin = ["-"] if "-" in addresses else []
    lines = _check_inputs([a for a in addresses if a != "-"], [*stdin, *files])
    counts = check_lines(
        app.sessions(),
        lines,
        now=app.now(),
        lowercase_local=app.config.suppression.lowercase_local_part,
        write=sys.stdout.write,
        only=only,
    )
    return 1 if counts.suppressed or counts.invalid else 0


def _check_inputs(arguments: list[str], paths: list[str]) -> Iterator[str]:
    """The arguments, then each file's lines ('-': stdin), read lazily."""
    yield from arguments
    for path in paths:
        with import_source(path, "addresses") as (lines, _advance):
            yield from lines


@suppression_group.command("list")
@click.option("--reason", type=click.Choice(REASONS))
@click.option("--domains", "domains_only", is_flag=True, help="Only whole-domain entries.")
@click.option("--contains", help="Only entries containing this text.")
@click.option("--limit", type=LIMIT, default=100, show_default=True)
@click.option("--offset", type=OFFSET, default=0)
@format_option
@click.pass_context
def suppression_list(
    ctx: click.Context,
    reason: str | None,
    domains_only: bool,
    contains: str | None,
    limit: int,
    offset: int,
    fmt: str,
) -> int:
    """Show entries, newest first, with a per-reason summary."""
    from monitor.store.db import session_scope
    from monitor.store.suppressions import count_matching, count_suppressions, list_suppressions

    app = loaded_app(ctx)
    by_reason = SuppressionReason(reason) if reason else None
    scope = ListScope.DOMAIN if domains_only else None
    with session_scope(app.sessions(), "listing suppressions") as session:
        rows = list_suppressions(
            session, reason=by_reason, scope=scope, contains=contains, limit=limit, offset=offset
        )
        matching = count_matching(session, reason=by_reason, scope=scope, contains=contains)
        counts = count_suppressions(session)
    filtered = bool(by_reason or scope or contains)
    emit_rows(
        ("value", "scope", "reason", "created_at", "expires_at", "note"),
        [(r.value, r.scope, r.reason, r.created_at, r.expires_at, r.note) for r in rows],
        fmt,
        footer=_footer(len(rows), offset, matching, counts, filtered=filtered),
        fold=("value", "note"),
    )
    return 0


def _footer(shown: int, offset: int, matching: int, counts: dict[str, int], filtered: bool) -> str:
    """What the table shows, counted as shown (issue 11: a filtered table was footed with
    the whole list's count), then the whole list by reason."""
    what = "matching entries" if filtered else "entries"
    if shown == 0:
        line = f"no {what} shown (of {matching:,})"
    elif shown == matching:
        line = f"{shown:,} {what} shown"
    else:
        line = f"{shown:,} of {matching:,} {what} shown (rows {offset + 1:,}-{offset + shown:,})"
    summary = ", ".join(f"{k}: {v:,}" for k, v in sorted(counts.items())) or "empty"
    return f"{line}; whole list: {sum(counts.values()):,} entries ({summary})"


def _print_import(report: ImportReport, shown: int = 50) -> None:
    click.echo(
        f"added: {report.added}  updated: {report.updated}  unchanged: {report.unchanged}  "
        f"rejected: {report.rejected}"
        + (
            f"  ({report.duplicates} duplicate rows superseded by later ones)"
            if report.duplicates
            else ""
        )
    )
    for err in report.rejects[:shown]:
        click.echo(f"  line {err.line}: {text(err.message)}", err=True)
    if report.rejected > shown:
        click.echo(f"  ... and {report.rejected - shown} more rejected rows", err=True)


@suppression_group.command("import")
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(IMPORT_FORMATS),
    default=None,
    help="Default: from the file name (.jsonl/.ndjson: jsonl), else csv.",
)
@click.option(
    "--reason",
    type=click.Choice(REASONS),
    help="Reason for rows that give none (default: keep existing, or 'import').",
)
@click.option(
    "--encoding",
    default=None,
    help="The file's encoding (e.g. utf-16, cp1252); default UTF-8, a BOM allowed.",
)
@click.pass_context
def suppression_import(
    ctx: click.Context, path: str, fmt: str | None, reason: str | None, encoding: str | None
) -> int:
    """Import a list from PATH ('-' for stdin); bad rows are reported and skipped, and a
    file of which no row could be taken exits with status 1."""
    from monitor.suppression.files import import_suppressions

    app = loaded_app(ctx)
    factory = app.sessions()
    with import_source(path, "rows", encoding=encoding) as (lines, advance):
        report = import_suppressions(
            factory,
            lines,
            fmt=import_format(path, fmt, IMPORT_FORMATS),
            now=app.now(),
            default_reason=SuppressionReason(reason) if reason else None,
            lowercase_local=app.config.suppression.lowercase_local_part,
            on_batch=advance,
        )
    _print_import(report)
    taken = report.added + report.updated + report.unchanged
    first = report.rejects[0].message if report.rejects else None
    return import_outcome(path, taken, report.rejected, first)


@suppression_group.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(EXPORT_FORMATS),
    default="csv",
    show_default=True,
    help="sendgrid/mailchimp/ses carry addresses only (no domains).",
)
@click.option(
    "--out",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    help="Output file (written atomically); '-' for stdout.",
)
@click.option("--reason", "reasons", type=click.Choice(REASONS), multiple=True)
@click.option("--since", help="Only entries created at or after this date/time.")
@click.option("--until", help="Only entries created before this date/time.")
@click.pass_context
def suppression_export(
    ctx: click.Context,
    fmt: str,
    out: str,
    reasons: tuple[str, ...],
    since: str | None,
    until: str | None,
) -> int:
    """Stream the active list as CSV, JSON Lines or an ESP's import shape."""
    from monitor.output import open_output
    from monitor.suppression.files import export_suppressions

    app = loaded_app(ctx)
    now = app.now()
    if fmt == "parquet":
        refuse_binary_on_terminal(out, fmt)
        n = _export_parquet(app, out, reasons, since, until)
        if out != "-":
            click.echo(f"exported {n} entries to {out}", err=True)
        return 0
    with open_output(out) as stream, activity("exporting suppressions", out=out) as shown:
        n = export_suppressions(
            app.sessions(),
            stream,
            progress=shown.counted,
            fmt=fmt,
            now=now,
            reasons=[SuppressionReason(r) for r in reasons] or None,
            since=parse_when(since, now=now, param_hint="--since"),
            until=parse_when(until, now=now, param_hint="--until"),
        )
    if out != "-":
        click.echo(f"exported {n} entries to {out}", err=True)
    return 0


def _export_parquet(
    app: App, out: str, reasons: tuple[str, ...], since: str | None, until: str | None
) -> int:
    """Parquet needs typed columns, so it reads the same rows and hands them to pyarrow."""
    from monitor.output import open_output
    from monitor.store.db import session_scope
    from monitor.store.suppressions import iter_export_rows
    from reports.parquet import write_suppressions_parquet

    now = app.now()
    with (
        session_scope(app.sessions(), "exporting suppressions") as session,
        open_output(out) as stream,
        activity("exporting suppressions", out=out) as shown,
    ):
        rows = iter_export_rows(
            session,
            now=now,
            reasons=[SuppressionReason(r) for r in reasons] or None,
            since=parse_when(since, now=now, param_hint="--since"),
            until=parse_when(until, now=now, param_hint="--until"),
        )
        return write_suppressions_parquet(shown.counted(rows), stream)
