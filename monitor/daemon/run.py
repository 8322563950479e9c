"""Run the scheduler as a daemon, clean stop on SIGTERM/SIGINT, config reload on SIGHUP.

On SQLite one daemon per database: an ``flock`` beside the database, released by the
operating system when the process dies, so a crash never leaves a stale lock behind. On
PostgreSQL several daemons share the database and its jobs (``monitor.daemon.cluster``).
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
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger

from monitor.app import App
from monitor.config import load_config, unavailable_secrets
from monitor.daemon.cluster import Cluster
from monitor.daemon.instance import instance_lock, pid_file
from monitor.daemon.jobs import job_specs
from monitor.daemon.scheduler import JobRecorder, JobSpec, add_jobs, build_scheduler, zone
from monitor.errors import ConfigError, MonitorError, StoreError
from monitor.store.db import session_scope
from monitor.store.lease import record_lease

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

__all__ = ["run_daemon"]

log = logging.getLogger(__name__)


def _record_lease(app: App) -> None:
    """Note who runs the daemon (informational). Two PostgreSQL nodes starting at the same
    moment may both insert the row: the loser logs it and runs on."""
    holder = f"{socket.gethostname()}:{os.getpid()}"
    factory = app.sessions()  # an unreachable database is one line from here, not a warning
    try:
        with session_scope(factory, "recording the daemon lease") as session:
            record_lease(session, "daemon", holder=holder, now=app.now())
    except StoreError as exc:
        if app.engine.dialect.name != "postgresql":
            raise
        log.warning("could not record the daemon lease (another node starting?): %s", exc)


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
    postgresql = app.engine.dialect.name == "postgresql"
    with (
        instance_lock(app.engine, "daemon", postgresql=False),
        pid_file(app.config.daemon.pid_file, "daemon"),
    ):
        _record_lease(app)
        from_config = specs is None
        specs = job_specs(app) if specs is None else specs
        cluster, specs = _cluster(app, specs) if postgresql else (None, specs)
        recorder = JobRecorder(app.sessions(), app.now)
        scheduler = build_scheduler(app, specs, recorder)
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

        reloads = _Reloader(app, scheduler, triggers, cluster, recorder)
        reloads.enabled = from_config

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
        previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, reloads.on_hangup)
        reloads.start(stopping)
        stopper_thread = threading.Thread(target=stopper, name="stopper", daemon=True)
        stopper_thread.start()
        if cluster is not None:
            cluster.watch(stopping)
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
            if cluster is not None:
                cluster.close()
        log.info("deliverwatch daemon stopped")
    return 0


def _cluster(app: App, specs: list[JobSpec]) -> tuple[Cluster, list[JobSpec]]:
    """On PostgreSQL, this daemon is one node of possibly several: singleton jobs run on one."""
    cluster = Cluster(app.config.database.url.reveal(), app.sessions())
    log.info("daemon node %s: sharing the jobs with any other node on this database",
             cluster.node)  # fmt: skip
    return cluster, cluster.wrap(specs)


class _Reloader:
    """SIGHUP: read the config again and reschedule every job (``reload_config``)."""

    def __init__(
        self,
        app: App,
        scheduler: BlockingScheduler,
        triggers: dict[str, BaseTrigger],
        cluster: Cluster | None,
        recorder: JobRecorder | None = None,
    ) -> None:
        self.app, self.scheduler, self.triggers, self.cluster = app, scheduler, triggers, cluster
        self.recorder = recorder
        self.enabled = True
        self.hangup = threading.Event()

    def on_hangup(self, _signum: int, _frame: FrameType | None) -> None:
        # the handler only sets a flag: reading the file and swapping jobs take locks the
        # interrupted thread may hold, so they happen in the reloader thread
        self.hangup.set()

    def start(self, stopping: threading.Event) -> None:
        threading.Thread(target=self._run, args=(stopping,), name="reloader", daemon=True).start()

    def _run(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            if not self.hangup.wait(0.5):
                continue
            self.hangup.clear()
            if stopping.is_set():
                return
            if not self.enabled:
                log.warning("SIGHUP ignored: this daemon runs jobs it was given, not the config's")
                continue
            new = reload_config(self.app, self.cluster)
            if new is None:
                continue
            for job in self.scheduler.get_jobs():
                self.scheduler.remove_job(job.id)
            self.triggers.clear()
            self.triggers.update({spec.id: spec.trigger for spec in new})
            add_jobs(self.scheduler, new, zone(self.app.config.daemon.timezone), self.recorder,
                     starting=False)  # fmt: skip
            log.info("config reloaded from %s: %d jobs rescheduled",
                     self.app.config.source, len(new))  # fmt: skip


def reload_config(app: App, cluster: Cluster | None) -> list[JobSpec] | None:
    """Read the config file again and build its jobs; None (and an ERROR line) when the new
    file is bad, so the daemon goes on with the old one. The database cannot change under a
    running daemon: a new ``[database] url`` is refused the same way."""
    old = app.config
    try:
        new = load_config(old.source)
        missing = unavailable_secrets(new)
        if missing:
            raise missing[0]
        if new.database.url.reveal() != old.database.url.reveal():
            raise ConfigError("database.url", "changed: restart the daemon to use another database")
        app._config = new
        try:
            specs = job_specs(app)
        except MonitorError:
            app._config = old
            raise
    except MonitorError as exc:
        log.error("config reload failed, keeping the running config: %s", exc)
        return None
    return cluster.wrap(specs) if cluster is not None else specs
