"""Run the scheduler as a daemon: one per database, clean stop on SIGTERM/SIGINT.

The single-daemon rule is enforced with a lock the operating system or the database
releases by itself when the process dies, so a crash never leaves a stale lock behind:
an ``flock`` on a file beside a SQLite database, a session-level advisory lock on
PostgreSQL (keyed by database and schema).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_SCHEDULER_STARTED,
    JobExecutionEvent,
)

from monitor.app import App
from monitor.daemon.instance import instance_lock, pid_file
from monitor.daemon.jobs import job_specs
from monitor.daemon.scheduler import JobRecorder, JobSpec, build_scheduler
from monitor.store.db import session_scope
from monitor.store.lease import record_lease

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

__all__ = ["run_daemon"]

log = logging.getLogger(__name__)


def _record_lease(app: App) -> None:
    holder = f"{socket.gethostname()}:{os.getpid()}"
    with session_scope(app.sessions(), "recording the daemon lease") as session:
        record_lease(session, "daemon", holder=holder, now=app.now())


def _start_metrics(app: App) -> WSGIServer | None:
    """``[metrics] listen``: the daemon's ``/metrics`` (None when not configured)."""
    listen = app.config.metrics.listen
    if not listen:
        return None
    from monitor.config import parse_listen
    from monitor.daemon.metrics import StoreCollector, serve

    host, port = parse_listen(listen)
    server, _registry = serve(
        host, port, [StoreCollector(app.sessions(), app.now, ttl=app.config.metrics.cache_seconds)]
    )
    return server


def run_daemon(app: App, specs: list[JobSpec] | None = None) -> int:
    """Start the scheduler and block until SIGTERM/SIGINT; return the exit status.

    ``specs`` defaults to every job the config asks for (tests pass their own).
    """
    with instance_lock(app.engine, "daemon"), pid_file(app.config.daemon.pid_file):
        _record_lease(app)
        specs = job_specs(app) if specs is None else specs
        scheduler = build_scheduler(app, specs, JobRecorder(app.sessions(), app.now))
        metrics_server = _start_metrics(app)
        triggers = {spec.id: spec.trigger for spec in specs}

        def log_next(event: JobExecutionEvent) -> None:
            # Not scheduler.get_job(): listeners run in executor threads and shutdown() holds
            # the job-store lock while it waits for them, so that call would deadlock.
            trigger = triggers.get(event.job_id)
            if trigger is not None:
                nxt = trigger.get_next_fire_time(event.scheduled_run_time, datetime.now(UTC))
                log.info("job %s next run %s", event.job_id, nxt.isoformat() if nxt else "never")

        scheduler.add_listener(log_next, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        stopping = threading.Event()

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            if not stopping.is_set():
                log.info(
                    "received %s: waiting for running jobs, then stopping",
                    signal.Signals(signum).name,
                )
            stopping.set()

        def stopper() -> None:
            # Never call shutdown() inside the signal handler (it waits for running jobs and
            # takes scheduler locks the interrupted main thread may hold); and a signal that
            # lands before start() must still stop the scheduler once it runs.
            stopping.wait()
            while not scheduler.running:
                time.sleep(0.05)
            scheduler.shutdown(wait=True)

        scheduler.add_listener(
            lambda _e: log.info("deliverwatch daemon started (pid %d)", os.getpid()),
            EVENT_SCHEDULER_STARTED,
        )
        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        stopper_thread = threading.Thread(target=stopper, name="stopper", daemon=True)
        stopper_thread.start()
        try:
            scheduler.start()
            # shutdown() marks the scheduler stopped *before* it waits for running jobs, so
            # start() can return while a job still runs: wait for shutdown() to finish.
            stopper_thread.join()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if metrics_server is not None:
                metrics_server.shutdown()
                metrics_server.server_close()
        log.info("deliverwatch daemon stopped")
    return 0
