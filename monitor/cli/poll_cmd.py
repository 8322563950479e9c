"""``deliverwatch poll`` and ``deliverwatch reprocess --failed``: ingestion by hand.

Exit status: 0 when every selected mailbox was processed, also when some messages went to
the failed folder (that is the design working, and the summary says so); 2 when a mailbox
could not be read or the database refused (the error is printed, the other mailboxes are
still polled).
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import click

from monitor.cli.common import loaded_app
from monitor.cli.term import text

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from monitor.app import App
    from monitor.config import MailboxConfig
    from monitor.ingest.drain import PollSummary

__all__ = ["poll_cmd", "reprocess_cmd"]


def _selected(app: App, names: tuple[str, ...]) -> dict[str, MailboxConfig]:
    boxes = app.config.mailboxes
    if not boxes:
        raise click.UsageError("no [mailboxes.<name>] in the config: nothing to poll")
    unknown = [n for n in names if n not in boxes]
    if unknown:
        raise click.UsageError(
            f"unknown mailbox {unknown[0]!r} (configured: {', '.join(sorted(boxes))})"
        )
    return {n: boxes[n] for n in (names or tuple(sorted(boxes)))}


class _Bar:
    """A rich progress bar on stderr, shown once a drain spans several batches."""

    def __init__(self, name: str, batch: int) -> None:
        self.name, self.batch = name, batch
        self.progress: Progress | None = None
        self.task: TaskID | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.progress is None:
            if total <= self.batch:
                return
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

            self.progress = Progress(
                f"[bold]{self.name}",
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                disable=not sys.stderr.isatty(),
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task(self.name, total=total)
        if self.task is not None:
            self.progress.update(self.task, completed=done, total=total)

    def close(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def _print(summary: PollSummary) -> None:
    click.echo(summary.line())
    extra = []
    if summary.recovered:
        extra.append(f"{summary.recovered} handled earlier and moved now")
    if summary.reconnects:
        extra.append(f"{summary.reconnects} reconnects")
    if summary.unexpected:
        extra.append(f"{summary.unexpected} not what role expects")
    if summary.effects.unverified:
        extra.append(f"{summary.effects.unverified} unverified events")
    if extra:
        click.echo("  " + ", ".join(extra))
    for uid, why in summary.failures:
        click.echo(f"  failed UID {uid}: {text(why)}")


def unverified_hint(app: App, unverified: int) -> list[str]:
    """Why ``unverified`` events were not matched to our mail and what to do (issue 14: a
    new user saw every bounce ``unverified`` and nothing suppressed, with no word why)."""
    from monitor.store.db import session_scope
    from monitor.store.sent import has_sends

    sup = app.config.suppression
    with session_scope(app.sessions(), "reading the send log") as session:
        logged = has_sends(session)
    acts = "they are stored and reported, and" + (
        " act anyway (trust = any)" if sup.trust == "any" else " suppress nothing"
    )
    lines = [f"  {unverified} events are unverified: not matched to mail you sent; {acts}."]
    if not logged:
        lines.append(
            "  - no send log: import one (`deliverwatch sends import sends.csv`: message_id,"
            " recipient) or send through `deliverwatch relay`, which logs every message"
        )
    if sup.verp_key is None:
        lines.append(
            "  - no [suppression] verp_key: with signed VERP return paths every bounce is"
            " matched to its message"
        )
    if not logged and sup.verp_key is None and sup.trust == "verified":
        lines.append(
            '  - with neither, [suppression] trust = "any" lets every bounce and complaint act'
        )
    elif logged and sup.verp_key is not None:
        lines.append("  (mail sent by another system, or forged: see `deliverwatch events list"
                     " --trust unverified`)")  # fmt: skip
    return lines


def _run(app: App, names: tuple[str, ...], *, dry_run: bool, reprocess: bool) -> int:
    from monitor.daemon.wiring import event_context
    from monitor.errors import MonitorError
    from monitor.ingest.drain import IngestOptions, drain_mailbox
    from monitor.ingest.poller import default_workers

    status = 0
    factory = app.sessions()
    for name, cfg in _selected(app, names).items():
        bar = _Bar(name, cfg.batch_size)
        options = IngestOptions(
            dry_run=dry_run, reprocess=reprocess, workers=default_workers(cfg), progress=bar
        )
        try:
            summary = drain_mailbox(
                name,
                cfg,
                factory=factory,
                ctx=event_context(app.config),
                now=app.now,
                options=options,
            )
        except MonitorError as exc:
            click.echo(f"error: {exc}", err=True)
            status = 2
            continue
        finally:
            bar.close()
        _print(summary)
        if summary.effects.unverified:
            click.echo("\n".join(unverified_hint(app, summary.effects.unverified)))
    return status


@click.command("poll")
@click.option("--mailbox", "names", multiple=True, help="Only this mailbox (repeatable).")
@click.option("--once", is_flag=True, help="Drain once and exit (default: keep polling).")
@click.option("--dry-run", is_flag=True, help="Parse and decide, store nothing, move nothing.")
@click.pass_context
def poll_cmd(ctx: click.Context, names: tuple[str, ...], once: bool, dry_run: bool) -> int:
    """Read the configured IMAP mailboxes into events, reports and suppressions.

    Without --once it polls again every poll_every_seconds until Ctrl-C (the daemon does
    the same, with IMAP IDLE where configured).
    """
    app = loaded_app(ctx)
    boxes = _selected(app, names)
    while True:
        status = _run(app, names, dry_run=dry_run, reprocess=False)
        if once or dry_run:
            return status
        pause = min(cfg.poll_every_seconds for cfg in boxes.values())
        try:
            time.sleep(pause)
        except KeyboardInterrupt:
            return status


@click.command("reprocess")
@click.option("--failed", is_flag=True, help="Read the failed folder again (required).")
@click.option("--mailbox", "names", multiple=True, help="Only this mailbox (repeatable).")
@click.option("--dry-run", is_flag=True, help="Parse and decide, store nothing, move nothing.")
@click.option(
    "--list",
    "list_only",
    is_flag=True,
    help="Only list failed messages with their stored reason (no IMAP).",
)
@click.pass_context
def reprocess_cmd(
    ctx: click.Context, failed: bool, names: tuple[str, ...], dry_run: bool, list_only: bool
) -> int:
    """Run the failed folder again (after a parser fix): what now parses is stored and
    moved to the processed folder; what still fails stays, with its new reason."""
    if not failed:
        raise click.UsageError("say what to reprocess: --failed")
    app = loaded_app(ctx)
    if list_only:
        return _list_failed(app, names)
    return _run(app, names, dry_run=dry_run, reprocess=True)


def _list_failed(app: App, names: tuple[str, ...]) -> int:
    from monitor.store.db import session_scope
    from monitor.store.ingest_repo import failed_items

    with session_scope(app.sessions(), "listing failed messages") as session:
        items = failed_items(session, list(names) or None)
    for item in items:
        name, _, folder = item.mailbox.partition(":")
        click.echo(
            f"{item.processed_at:%Y-%m-%d %H:%M}Z  {name}  {folder} uid {item.uid}  "
            f"{item.size or 0} bytes  {text(item.error or '(no reason stored)')}"
        )
    click.echo(f"{len(items)} failed messages", err=True)
    return 0
