"""Build the daemon's APScheduler 3 ``BlockingScheduler`` from the config.

Schedules are read once at start-up. Every job is registered with ``max_instances=1`` and
``coalesce=True``: a slow run is never overlapped by the next one, and runs missed while the
machine slept collapse into one. Idempotency lives in database keys, not in a job store, so
the in-memory job store is enough.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor import jobs
from monitor.app import App
from monitor.errors import ConfigError

__all__ = ["JobSpec", "build_scheduler", "job_specs"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[..., Any]
    trigger: BaseTrigger
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: Long-running jobs (IMAP IDLE) get ``stopping=``, true once the scheduler shuts down.
    stoppable: bool = False


def daily_trigger(at: str, tz: ZoneInfo, key: str) -> CronTrigger:
    """``HH:MM`` local time every day."""
    try:
        hour, minute = (int(p) for p in at.split(":"))
        if not (0 <= hour < 24 and 0 <= minute < 60):
            raise ValueError(at)
    except ValueError:
        raise ConfigError(key, f'expected "HH:MM", got "{at}"') from None
    return CronTrigger(hour=hour, minute=minute, timezone=tz)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError("daemon.timezone", f'unknown time zone "{name}"') from None


def _check_specs(app: App, tz: ZoneInfo) -> list[JobSpec]:
    """Blocklist runs every ``checks.blocklist_every_minutes`` and the daily authentication
    run at ``checks.auth_at``; with nothing in ``[sending]`` they run and say so."""
    from monitor.checks import watch

    cfg = app.config
    common = {
        "factory": app.sessions(),
        "now": app.now,
        "dns": watch.dns_from_config(cfg),
        "channels": watch.alert_channels_from_config(cfg),
        "max_attempts": cfg.alerts.max_attempts,
    }
    specs = []
    if cfg.checks.blocklist_every_minutes:
        every = IntervalTrigger(minutes=cfg.checks.blocklist_every_minutes, timezone=tz)
        plan = watch.blocklist_plan_from_config(cfg)
        specs.append(
            JobSpec("check-blocklists", watch.blocklist_job, every, {**common, "plan": plan})
        )
    if cfg.checks.auth_at:
        daily = daily_trigger(cfg.checks.auth_at, tz, "checks.auth_at")
        kwargs = {
            **common,
            "plan": watch.auth_plan_from_config(cfg),
            "sts_ca_file": cfg.checks.mta_sts_ca_file,
        }
        specs.append(JobSpec("check-auth", watch.auth_job, daily, kwargs))
    return specs


def job_specs(app: App) -> list[JobSpec]:
    """Every job the current config asks for."""
    cfg = app.config
    tz = zone(cfg.daemon.timezone)
    factory = app.sessions()
    specs = [
        JobSpec(
            "expire-suppressions",
            jobs.expire_suppressions,
            IntervalTrigger(minutes=cfg.daemon.expire_every_minutes, timezone=tz),
            {"factory": factory, "now": app.now},
        ),
    ]
    if cfg.daemon.export_formats:
        specs.append(
            JobSpec(
                "export-suppressions",
                jobs.export_suppression_files,
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
    if cfg.report.enabled:
        from monitor.reportjob import daily_report_job

        specs.append(
            JobSpec(
                "daily-report",
                daily_report_job,
                daily_trigger(cfg.report.daily_at, tz, "report.daily_at"),
                {
                    "factory": factory,
                    "now": app.now,
                    "cfg": cfg.report,
                    "timezone": cfg.daemon.timezone,
                },
            )
        )
    specs.extend(_check_specs(app, tz))
    from monitor.poller import poll_specs

    specs.extend(poll_specs(app))
    return specs


def build_scheduler(app: App, specs: list[JobSpec]) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone=zone(app.config.daemon.timezone))
    now = datetime.now(zone(app.config.daemon.timezone))
    for spec in specs:
        kwargs = dict(spec.kwargs)
        if spec.stoppable:
            kwargs["stopping"] = lambda: scheduler.state == STATE_STOPPED
        scheduler.add_job(
            jobs.run_guarded,
            trigger=spec.trigger,
            args=[spec.id, spec.func],
            kwargs=kwargs,
            id=spec.id,
            name=spec.id,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
        )
        nxt = spec.trigger.get_next_fire_time(None, now)
        log.info("scheduled job %s; next run %s", spec.id, nxt.isoformat() if nxt else "never")
    return scheduler
