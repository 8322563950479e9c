"""Build the daemon's APScheduler 3 ``BlockingScheduler`` from the config.

Schedules are read once at start-up. Every job is registered with ``max_instances=1`` and
``coalesce=True``: a slow run is never overlapped by the next one, and runs missed while the
machine slept collapse into one. Idempotency lives in database keys, not in a job store, so
the in-memory job store is enough.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

from monitor.app import App
from monitor.errors import ConfigError

__all__ = ["JobSpec", "add_jobs", "build_scheduler", "daily_trigger", "run_guarded", "zone"]

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


def run_guarded(name: str, func: Callable[..., Any], /, **kwargs: Any) -> Any:
    """Run one job, logging its outcome; exceptions are logged and swallowed.

    Jobs run inside APScheduler worker threads and a failing job must never take the daemon
    down: this is the one broad ``except Exception`` boundary at job level (STYLE.md 4); the
    scheduler tries again at the next run.
    """
    started = time.monotonic()
    try:
        result = func(**kwargs)
    except Exception:
        log.exception(
            "job %s failed after %.1fs; will retry at its next run",
            name,
            time.monotonic() - started,
        )
        return None
    log.info("job %s done in %.1fs: %s", name, time.monotonic() - started, result)
    return result


def build_scheduler(app: App, specs: list[JobSpec]) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone=zone(app.config.daemon.timezone))
    add_jobs(scheduler, specs, zone(app.config.daemon.timezone))
    return scheduler


def add_jobs(scheduler: BlockingScheduler, specs: list[JobSpec], tz: ZoneInfo) -> None:
    """Register ``specs`` (at start, and again after a config reload)."""
    now = datetime.now(tz)
    for spec in specs:
        kwargs = dict(spec.kwargs)
        if spec.stoppable:
            kwargs["stopping"] = lambda: scheduler.state == STATE_STOPPED
        scheduler.add_job(
            run_guarded,
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
