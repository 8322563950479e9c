"""Every job the daemon runs, in one list: what runs, when, with which arguments.

The job bodies live in their rooms (``monitor.suppression.jobs``, ``monitor.report.daily``,
``monitor.checks.watch``, ``monitor.ingest.poller``) and take plain arguments; this module
reads the config once at start-up (through ``monitor.daemon.wiring``) and schedules them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.interval import IntervalTrigger

from monitor.app import App
from monitor.daemon import wiring
from monitor.daemon.scheduler import JobSpec, daily_trigger, zone

__all__ = ["job_specs"]


def _suppression_specs(app: App, tz: ZoneInfo) -> list[JobSpec]:
    from monitor.suppression.jobs import expire_suppressions, export_suppression_files

    cfg = app.config
    factory = app.sessions()
    specs = [
        JobSpec(
            "expire-suppressions",
            expire_suppressions,
            IntervalTrigger(minutes=cfg.daemon.expire_every_minutes, timezone=tz),
            {"factory": factory, "now": app.now},
        ),
    ]
    if cfg.daemon.export_formats:
        specs.append(
            JobSpec(
                "export-suppressions",
                export_suppression_files,
                daily_trigger(cfg.daemon.export_at, tz, "daemon.export_at"),
                {
                    "factory": factory,
                    "now": app.now,
                    "export_dir": cfg.daemon.export_dir,
                    "formats": cfg.daemon.export_formats,
                    "keep": cfg.daemon.export_keep,
                },
            )
        )
    return specs


def _report_specs(app: App, tz: ZoneInfo) -> list[JobSpec]:
    cfg = app.config
    if not cfg.report.enabled:
        return []
    from monitor.checks.compliance import ComplianceSetup

    mail = cfg.report.email
    kwargs = {
        "factory": app.sessions(),
        "now": app.now,
        "cfg": cfg.report,
        "timezone": cfg.daemon.timezone,
        "mail": wiring.smtp_target(mail, mail.to) if mail.to else None,
        "compliance": ComplianceSetup(wiring.auth_plan(cfg), cfg.web.public_url),
        "content": cfg.relay.content.enabled,
    }
    trigger = daily_trigger(cfg.report.daily_at, tz, "report.daily_at")
    return [JobSpec("daily-report", _daily_report, trigger, kwargs)]


def _daily_report(**kwargs: Any) -> Any:
    """The report job, imported when it first runs: its pandas, matplotlib and pyarrow
    (about 100 MB) stay out of the daemon until then (idle RSS, issue 17)."""
    from monitor.report.daily import daily_report_job

    return daily_report_job(**kwargs)


def _check_specs(app: App, tz: ZoneInfo) -> list[JobSpec]:
    """Blocklist runs every ``checks.blocklist_every_minutes`` and the daily authentication
    run at ``checks.auth_at``; with nothing in ``[sending]`` they run and say so."""
    from monitor.checks import watch

    cfg = app.config
    common = {
        "factory": app.sessions(),
        "now": app.now,
        "dns": wiring.dns_settings(cfg),
        "channels": wiring.alert_channels(cfg),
        "max_attempts": cfg.alerts.max_attempts,
    }
    specs = []
    if cfg.checks.blocklist_every_minutes:
        every = IntervalTrigger(minutes=cfg.checks.blocklist_every_minutes, timezone=tz)
        plan = wiring.blocklist_plan(cfg)
        kwargs = {**common, "plan": plan, "webhooks": wiring.webhook_routes(cfg)}
        specs.append(
            JobSpec("check-blocklists", watch.blocklist_job, every, kwargs, run_at_start=True)
        )
    if cfg.checks.auth_at:
        daily = daily_trigger(cfg.checks.auth_at, tz, "checks.auth_at")
        kwargs = {
            **common,
            "plan": wiring.auth_plan(cfg),
            "sts_ca_file": cfg.checks.mta_sts_ca_file,
        }
        specs.append(JobSpec("check-auth", watch.auth_job, daily, kwargs, run_at_start=True))
    return specs


def _poll_specs(app: App) -> list[JobSpec]:
    """One job per ``[mailboxes.<name>]``; the first run two seconds after start."""
    from monitor.ingest.poller import MailboxPoller

    factory = app.sessions()
    ctx = wiring.event_context(app.config)
    specs = []
    for index, (name, cfg) in enumerate(sorted(app.config.mailboxes.items())):
        poller = MailboxPoller(name, cfg, factory=factory, ctx=ctx, now=app.now)
        first = app.now() + timedelta(seconds=2 + index)
        trigger: Any = IntervalTrigger(seconds=cfg.poll_every_seconds, start_date=first)
        specs.append(JobSpec(f"poll-{name}", poller, trigger, {}, stoppable=cfg.idle))
    return specs


def _webhook_specs(app: App) -> list[JobSpec]:
    """The webhook outbox, delivered every ``[web] webhook_every_seconds`` when any
    ``[web.webhooks.NAME]`` is configured (``monitor.web.webhooks``: why the daemon)."""
    cfg = app.config
    if not cfg.web.webhooks:
        return []
    from monitor.web.webhooks import deliver_webhooks

    kwargs = {
        "factory": app.sessions(),
        "now": app.now,
        "endpoints": wiring.webhook_endpoints(cfg),
        "retry": wiring.webhook_retry(cfg),
    }
    every = IntervalTrigger(seconds=cfg.web.webhook_every_seconds)
    return [JobSpec("deliver-webhooks", deliver_webhooks, every, kwargs)]


def _ops_specs(app: App, tz: ZoneInfo) -> list[JobSpec]:
    """The alert rules (hourly, and once at start) and the nightly retention prune."""
    from monitor.alerts.rules import rules_job
    from monitor.store.retention import retention_job

    cfg = app.config
    specs = []
    if cfg.alerts.rules.every_minutes:
        every = IntervalTrigger(minutes=cfg.alerts.rules.every_minutes, timezone=tz)
        kwargs = {
            "factory": app.sessions(),
            "now": app.now,
            "limits": wiring.rule_limits(cfg),
            "channels": wiring.alert_channels(cfg),
            "max_attempts": cfg.alerts.max_attempts,
        }
        specs.append(JobSpec("alert-rules", rules_job, every, kwargs, run_at_start=True))
    if cfg.retention.prune_at:
        kwargs = {
            "factory": app.sessions(),
            "now": app.now,
            "policy": wiring.retention_policy(cfg),
            "vacuum_weekday": cfg.retention.vacuum_weekday,
            "timezone": cfg.daemon.timezone,
        }
        trigger = daily_trigger(cfg.retention.prune_at, tz, "retention.prune_at")
        specs.append(JobSpec("retention", retention_job, trigger, kwargs))
    return specs


def job_specs(app: App) -> list[JobSpec]:
    """Every job the current config asks for."""
    tz = zone(app.config.daemon.timezone)
    return [
        *_suppression_specs(app, tz),
        *_report_specs(app, tz),
        *_check_specs(app, tz),
        *_poll_specs(app),
        *_webhook_specs(app),
        *_ops_specs(app, tz),
    ]
