"""``deliverwatch status``: the service on one screen; exit 0 healthy, 1 warning, 2 critical
(Nagios plugin convention, so a monitoring system can run it as a check)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from monitor.cli.common import loaded_app

__all__ = ["status_cmd"]


@click.command("status")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True)  # fmt: skip
@click.pass_context
def status_cmd(ctx: click.Context, fmt: str) -> int:
    """Jobs, mailboxes, queue, listings, authentication and today's rates; the exit status
    says healthy (0), warning (1) or critical (2)."""
    from monitor.daemon import wiring
    from monitor.daemon.status import gather

    app = loaded_app(ctx)
    status = gather(
        app.sessions(),
        now=app.now(),
        limits=wiring.rule_limits(app.config),
        timezone=app.config.daemon.timezone,
        triggers=_triggers(app),
    )
    if fmt == "json":
        click.echo(json.dumps(status.as_json(), indent=2))
    else:
        _print(status.as_json())
    return status.exit_code


def _triggers(app: Any) -> dict[str, Any]:
    """The configured jobs' triggers (next runs); none when the config cannot build them
    (a missing secret must not hide the status)."""
    from monitor.daemon.jobs import job_specs
    from monitor.errors import MonitorError

    try:
        return {spec.id: spec.trigger for spec in job_specs(app)}
    except MonitorError:
        return {}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}%"


def _print(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from monitor.cli.term import cell

    console = Console(width=None if sys.stdout.isatty() else 200)
    console.print(f"deliverwatch status: {data['state'].upper()} at {data['generated_at']}")
    jobs = Table("job", "last start", "end", "outcome", "summary / error", "fails", "next run",
                 title="jobs")  # fmt: skip
    for j in data["jobs"]:
        jobs.add_row(*(cell(v, 80) for v in (
            j["job"], j["started_at"] or "", j["finished_at"] or "", j["outcome"],
            j["error"] or j["summary"] or "", str(j["failures_in_row"]), j["next_run"] or "",
        )))  # fmt: skip
    console.print(jobs)
    if data["mailboxes"]:
        boxes = Table("mailbox", "lag", "fails in a row", "last error", title="mailboxes")
        for m in data["mailboxes"]:
            lag = "never" if m["lag_seconds"] is None else f"{m['lag_seconds']:.0f}s"
            boxes.add_row(*(cell(v, 80) for v in (m["mailbox"], lag, str(m["failures_in_row"]),
                                                   m["last_error"] or "")))  # fmt: skip
        console.print(boxes)
    if data["queue"] is not None:
        q = data["queue"]
        age = "" if q["oldest_age_seconds"] is None else f", oldest {q['oldest_age_seconds']:.0f}s"
        console.print(f"relay queue: {q['pending']} pending {q['by_state']}{age}")
    listed = ", ".join(f"{x['target']} on {x['zone']}" for x in data["listings"]) or "none"
    console.print(cell(f"blocklist listings: {listed}"))
    bad_auth = [a for a in data["auth"] if a["status"] != "ok"]
    auth = f"{len(data['auth'])} checks, {len(bad_auth)} not ok" if data["auth"] else "not run"
    console.print(f"authentication: {auth}")
    rates = Table("provider group", "sent", "complaints", "hard bounces", "sender rejections",
                  "deferrals", title="today")  # fmt: skip
    for r in data["rates_today"]:
        rates.add_row(r["provider_group"], str(r["sent"]), _pct(r["complaint_rate"]),
                      _pct(r["hard_bounce_rate"]), _pct(r["sender_rejection_rate"]),
                      _pct(r["deferral_rate"]))  # fmt: skip
    console.print(rates)
    for f in data["findings"]:
        console.print(cell(f"[{f['severity']}] {f['summary']}"))
