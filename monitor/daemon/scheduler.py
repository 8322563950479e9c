"""Build the daemon's APScheduler 3 ``BlockingScheduler`` from the config.

Schedules are read once at start-up. Every job is registered with ``max_instances=1`` and
``coalesce=True``: a slow run is never overlapped by the next one, and runs missed while the
machine slept collapse into one. Idempotency lives in database keys, not in a job store, so
the in-memory job store is enough. Jobs marked ``run_at_start`` (the checks, the alert
rules) also run once as the daemon starts, not an interval after it.

Every run is recorded in ``job_runs`` (start, end, outcome, summary, counts, the cause of a
failure) and counted in the metrics; a failure is logged at ERROR with its cause.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.orm import Session, sessionmaker

from monitor.app import App
from monitor.daemon import metrics
from monitor.errors import ConfigError, JobFailed, JobSkipped, MonitorError
from monitor.jobresult import JobResult
from monitor.store import ops
from monitor.store.db import session_scope

__all__ = [
    "JobRecorder",
    "JobSpec",
    "add_jobs",
    "build_scheduler",
    "daily_trigger",
    "run_guarded",
    "zone",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[..., Any]
    trigger: BaseTrigger
    kwargs: dict[str, Any] = field(default_factory=dict)
    #: Long-running jobs (IMAP IDLE) get ``stopping=``, true once the scheduler shuts down.
    stoppable: bool = False
    #: Run once as the daemon starts, then on the trigger (checks: not an hour blind).
    run_at_start: bool = False


@dataclass(frozen=True)
class JobRecorder:
    """Writes each run to ``job_runs``; a database that is down costs the record, never the
    run (the log line still says it)."""

    factory: sessionmaker[Session]
    now: Callable[[], datetime]
    node: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}")

    def start(self, job: str) -> int | None:
        try:
            with session_scope(self.factory, "recording a job run") as session:
                return ops.start_job_run(session, job, node=self.node, now=self.now())
        except MonitorError as exc:
            log.warning("job %s: run not recorded: %s", job, exc)
            return None

    def finish(self, run_id: int | None, outcome: str, **fields: Any) -> None:
        if run_id is None:
            return
        try:
            with session_scope(self.factory, "recording a job run") as session:
                ops.finish_job_run(session, run_id, outcome=outcome, now=self.now(), **fields)
        except MonitorError as exc:
            log.warning("job run %d: outcome not recorded: %s", run_id, exc)


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


def _summary(result: Any) -> tuple[str, dict[str, Any] | None]:
    """A job's return value as (summary line, counts): a mapping is counts; a
    :class:`~monitor.jobresult.JobResult` is both."""
    if isinstance(result, JobResult):
        return str(result), dict(result.counts)
    if isinstance(result, Mapping):
        counts = {str(k): v for k, v in result.items()}
        return ", ".join(f"{k} {v}" for k, v in counts.items()) or "nothing to do", counts
    return ("" if result is None else str(result)), None


def run_guarded(
    name: str, func: Callable[..., Any], recorder: JobRecorder | None = None, /, **kwargs: Any
) -> Any:
    """Run one job, record and log its outcome; exceptions are logged and swallowed.

    Jobs run inside APScheduler worker threads and a failing job must never take the daemon
    down: this is the one broad ``except Exception`` boundary at job level (STYLE.md 4); the
    scheduler tries again at the next run. ``JobFailed`` (a failure the job understood) is
    logged at ERROR with its cause; anything else with its traceback.
    """
    started = time.monotonic()
    run_id = recorder.start(name) if recorder is not None else None
    outcome, error, summary, counts, result = ops.FAILED, None, None, None, None
    try:
        result = func(**kwargs)
    except JobSkipped as exc:
        outcome, summary = ops.SKIPPED, str(exc)
        log.info("job %s skipped: %s", name, exc)
    except JobFailed as exc:
        error = str(exc)
        log.error(  # the cause is the message; a traceback adds nothing
            "job %s failed after %.1fs: %s; will retry at its next run",
            name, time.monotonic() - started, exc,
        )  # fmt: skip
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        log.exception(
            "job %s failed after %.1fs: %s; will retry at its next run",
            name, time.monotonic() - started, error,
        )  # fmt: skip
    else:
        outcome = ops.OK
        summary, counts = _summary(result)
        log.info("job %s done in %.1fs: %s", name, time.monotonic() - started, summary)
    elapsed = time.monotonic() - started
    metrics.JOB_RUNS.labels(job=name, outcome=outcome).inc()
    metrics.JOB_DURATION.labels(job=name).observe(elapsed)
    if recorder is not None:
        recorder.finish(run_id, outcome, summary=summary, error=error, counts=counts)
    return result


def build_scheduler(
    app: App, specs: list[JobSpec], recorder: JobRecorder | None = None
) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone=zone(app.config.daemon.timezone))
    add_jobs(scheduler, specs, zone(app.config.daemon.timezone), recorder)
    return scheduler


def add_jobs(
    scheduler: BlockingScheduler,
    specs: list[JobSpec],
    tz: ZoneInfo,
    recorder: JobRecorder | None = None,
    *,
    starting: bool = True,
) -> None:
    """Register ``specs`` (at start, and again after a config reload: ``starting=False``,
    so the jobs that run once at daemon start are not run again by a reload)."""
    now = datetime.now(tz)
    for spec in specs:
        kwargs = dict(spec.kwargs)
        if spec.stoppable:
            kwargs["stopping"] = lambda: scheduler.state == STATE_STOPPED
        at_start = starting and spec.run_at_start
        extra: dict[str, Any] = {"next_run_time": now} if at_start else {}
        scheduler.add_job(
            run_guarded,
            trigger=spec.trigger,
            args=[spec.id, spec.func, recorder],
            kwargs=kwargs,
            id=spec.id,
            name=spec.id,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=3600,
            **extra,
        )
        nxt = now if at_start else spec.trigger.get_next_fire_time(None, now)
        log.info("scheduled job %s; next run %s", spec.id, nxt.isoformat() if nxt else "never")
