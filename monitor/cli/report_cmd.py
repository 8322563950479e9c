"""``deliverwatch report daily|json`` and ``deliverwatch demo``."""

from __future__ import annotations

import shutil
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from monitor.app import App
from monitor.cli.common import loaded_app, parse_day
from monitor.cli.progress import activity
from monitor.cli.progress import shown as progress_shown


def _day(app: App, text: str | None) -> date:
    from monitor.report.daily import previous_local_day

    if not text:
        return previous_local_day(app.now(), app.config.daemon.timezone)
    return parse_day(text, param_hint="--date")


_DATE = click.option("--date", "day", help="Local day to report (default: yesterday).")


@click.group("report")
def report_group() -> None:
    """The daily reputation report: HTML with charts, or the same figures as JSON."""


@report_group.command("daily")
@_DATE
@click.option(
    "--out",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write the HTML here ('-': stdout) instead of into [report] output_dir.",
)
@click.option("--email", is_flag=True, help="Also mail it to [report.email] to.")
@click.pass_context
def report_daily(ctx: click.Context, day: str | None, out: str | None, email: bool) -> int:
    """Build the report for one day; by default into the reports folder with its index."""
    from monitor.daemon.wiring import smtp_target
    from monitor.output import open_output
    from monitor.report.daily import build_report, email_report, write_report
    from reports.render import render_daily

    app = loaded_app(ctx)
    cfg = app.config.report
    if email and not cfg.email.to:
        click.echo(
            "nothing was sent: --email needs recipients in [report.email] to; no report written",
            err=True,
        )
        return 2
    with activity("reading the day's figures", out=out) as shown:
        report = build_report(
            app.sessions(), day=_day(app, day), cfg=cfg, timezone=app.config.daemon.timezone,
            now=app.now(), **_sections(app.config),
        )  # fmt: skip
        shown.step("rendering the report")
        html = render_daily(report)
    if out:
        with open_output(out) as stream:
            stream.write(html.encode("utf-8"))
        target = out
    else:
        target = str(write_report(report, html, cfg.output_dir, keep=cfg.keep))
    if target != "-":
        click.echo(f"wrote {target}", err=True)
    if email:
        email_report(report, html, smtp_target(cfg.email, cfg.email.to))
        click.echo(f"mailed to {', '.join(cfg.email.to)}", err=True)
    return 0


def _sections(cfg: Any) -> dict[str, Any]:
    """The bulk-sender and content-check sections, as the daemon's report has them."""
    from monitor.checks.compliance import ComplianceSetup
    from monitor.daemon.wiring import auth_plan

    return {
        "compliance": ComplianceSetup(auth_plan(cfg), cfg.web.public_url),
        "content": cfg.relay.content.enabled,
    }


@report_group.command("json")
@_DATE
@click.option("--out", type=click.Path(dir_okay=False, allow_dash=True), default="-")
@click.pass_context
def report_json_cmd(ctx: click.Context, day: str | None, out: str) -> int:
    """The same figures and verdicts as JSON (rates in percent, null when not available)."""
    from monitor.output import open_output
    from monitor.report.daily import build_report
    from reports.render import report_json

    app = loaded_app(ctx)
    report = build_report(
        app.sessions(), day=_day(app, day), cfg=app.config.report,
        timezone=app.config.daemon.timezone, now=app.now(), **_sections(app.config),
    )  # fmt: skip
    with open_output(out) as stream:
        stream.write(report_json(report).encode("utf-8"))
    return 0


@click.command("demo")
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="var/demo",
    show_default=True,
    help="Folder for the demo report (and its index.html).",
)
@click.option("--days", type=click.IntRange(7, 120), default=30, show_default=True)
@click.option(
    "--sends-per-day", type=click.IntRange(100, 1_000_000), default=2_000, show_default=True
)
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--timezone", default="UTC", show_default=True, help="IANA zone of the report day.")
@click.option("--keep-db", is_flag=True, help="Keep the generated SQLite database (path printed).")
@click.option(
    "--tracking", is_flag=True, help="Generate opens and clicks, as with open/click tracking on."
)
@click.pass_context
def demo_cmd(
    ctx: click.Context, out: str, days: int, sends_per_day: int, seed: int, timezone: str,
    keep_db: bool, tracking: bool,
) -> int:  # fmt: skip
    """Generate a month of sending into a throw-away database and write its report."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from monitor.config import ReportConfig
    from monitor.report.daily import build_report, write_report
    from monitor.report.demo import seed_database
    from monitor.report.demodata import DemoPlan
    from monitor.store.db import make_engine, make_session_factory, upgrade
    from reports.render import render_daily

    app = ctx.find_object(App) or App()
    end = app.now().date() - timedelta(days=1)
    plan = DemoPlan(
        last_day=end, days=days, sends_per_day=sends_per_day, seed=seed, tracking=tracking
    )
    tmp = Path(tempfile.mkdtemp(prefix="deliverwatch-demo-"))
    engine = make_engine(f"sqlite:///{tmp / 'demo.db'}")
    progress = Progress(
        SpinnerColumn(), TextColumn("{task.description} {task.completed:,}"), TimeElapsedColumn(),
        console=Console(stderr=True), disable=not progress_shown(), transient=True,
    )  # fmt: skip
    try:
        upgrade(engine)
        with progress:
            task = progress.add_task("generating events", total=None)
            counts = seed_database(engine, plan, lambda _t, n: progress.update(task, completed=n))
        cfg = ReportConfig(output_dir=Path(out))
        with activity("building the report") as shown:
            report = build_report(
                make_session_factory(engine), day=end, cfg=cfg, timezone=timezone, now=app.now()
            )
            shown.step("rendering the report")
            path = write_report(report, render_daily(report), Path(out))
    finally:
        engine.dispose()
        if not keep_db:
            shutil.rmtree(tmp, ignore_errors=True)
    click.echo(
        f"generated {counts['sent_messages']:,} sent messages and {counts['events']:,} events "
        f"over {days} days"
    )
    if keep_db:
        click.echo(f"database kept at {tmp / 'demo.db'}")
    click.echo(f"report: {path.resolve()}")
    return 0
