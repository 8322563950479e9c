"""Several daemons sharing one PostgreSQL (issue 17, point 6).

Every node schedules every job; what keeps the work single is in the database:

* a **singleton** job (reports, checks, exports, expiry, webhooks, and any job that is not a
  mailbox poll) runs only on the node that holds its advisory lock and claimed the job's
  row for the current period (``monitor.store.cluster``). A node whose trigger fires later
  in the same period finds the row finished and skips; the periods are the trigger's own
  (the last fire time of a daily trigger, epoch-aligned buckets of an interval trigger), so
  every node computes the same ones;
* a **mailbox poll** runs on one node at a time (the poll's advisory lock); the ingestion's
  row lock on the mailbox cursor would keep two pollers from counting a message twice
  anyway, the lock spares the IMAP server the second session;
* a **watcher** thread looks every ``WATCH_SECONDS`` for periods a node started and never
  finished; once that node's lock is gone (PostgreSQL ends a killed node's session, and its
  locks with it) the period runs here: a killed holder is replaced within a minute.

On SQLite none of this is used: the daemon's ``flock`` allows one node per database.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from monitor.daemon.scheduler import JobSpec, run_guarded
from monitor.errors import MonitorError
from monitor.store import cluster as store
from monitor.store.db import session_scope
from monitor.store.lease import advisory_lock

__all__ = ["PER_NODE_PREFIXES", "WATCH_SECONDS", "Cluster", "node_name", "period_of"]

log = logging.getLogger(__name__)

#: How often a node looks for runs a dead node left unfinished.
WATCH_SECONDS = 15.0
#: Jobs that every node runs for itself, each under a lock of its own (not once per period).
PER_NODE_PREFIXES = ("poll-",)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def node_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def period_of(trigger: BaseTrigger, now: datetime) -> datetime:
    """The start of the period ``now`` is in, the same on every node.

    An interval trigger's own fire times depend on when each node started, so its periods
    are epoch-aligned buckets of its interval; any other trigger's period starts at its last
    fire time at or before ``now`` (searched over the last eight days).
    """
    if isinstance(trigger, IntervalTrigger):
        step = trigger.interval.total_seconds()
        elapsed = (now - _EPOCH).total_seconds()
        return _EPOCH + timedelta(seconds=(elapsed // step) * step)
    last: datetime | None = None
    probe = trigger.get_next_fire_time(None, now - timedelta(days=8))
    while probe is not None and probe <= now:
        last = probe
        probe = trigger.get_next_fire_time(probe, probe + timedelta(microseconds=1))
    return (last or now).astimezone(UTC)


class Cluster:
    """This node's part in a PostgreSQL cluster of daemons."""

    def __init__(
        self, url: str, factory: sessionmaker[Session], *, node: str | None = None
    ) -> None:
        # locks live on connections of their own, opened per lock and closed with it: a
        # pooled connection would keep a lock alive past its block if a release failed
        self.locks: Engine = create_engine(url, poolclass=NullPool)
        self.factory = factory
        self.node = node or node_name()
        self.specs: dict[str, JobSpec] = {}
        self._taking_over: set[str] = set()
        self._guard = threading.Lock()

    def close(self) -> None:
        self.locks.dispose()

    # -- wrapping ------------------------------------------------------------------------

    def wrap(self, specs: list[JobSpec]) -> list[JobSpec]:
        """The same jobs, each run under the cluster's rules (again after a reload)."""
        self.specs = {}
        out = []
        for spec in specs:
            if spec.id.startswith(PER_NODE_PREFIXES):
                func = self._exclusive(spec)
            else:
                func = self._singleton(spec)
                self.specs[spec.id] = spec
            out.append(replace(spec, func=func, kwargs=dict(spec.kwargs)))  # run_at_start too
        return out

    def _exclusive(self, spec: JobSpec) -> Callable[..., Any]:
        def run(**kwargs: Any) -> Any:
            with advisory_lock(self.locks, f"deliverwatch-job-{spec.id}") as elsewhere:
                if elsewhere is not None:
                    return "another node runs it now"
                return spec.func(**kwargs)

        return run

    def _singleton(self, spec: JobSpec) -> Callable[..., Any]:
        def run(**kwargs: Any) -> Any:
            return self.run_once(spec, datetime.now(UTC), **kwargs)

        return run

    def run_once(self, spec: JobSpec, at: datetime, /, **kwargs: Any) -> Any:
        """Run ``spec`` unless another node runs it now or ran it this period (the one
        ``at`` is in). ``kwargs`` are the job's own (many take a ``now`` clock)."""
        period = period_of(spec.trigger, at)
        with advisory_lock(self.locks, f"deliverwatch-job-{spec.id}") as elsewhere:
            if elsewhere is not None:
                return "another node runs it now"
            with session_scope(self.factory, f"claiming job {spec.id}") as session:
                mine = store.claim_period(session, spec.id, period, node=self.node, now=at)
            if not mine:
                return f"already ran for period {period.isoformat()}"
            log.info("job %s: running for period %s on %s", spec.id, period.isoformat(), self.node)
            try:
                return spec.func(**kwargs)
            finally:
                with session_scope(self.factory, f"finishing job {spec.id}") as session:
                    done = datetime.now(UTC)
                    store.finish_period(session, spec.id, period, node=self.node, now=done)
                log.info("job %s: finished period %s on %s", spec.id, period.isoformat(), self.node)

    # -- taking over ---------------------------------------------------------------------

    def watch(self, stopping: threading.Event) -> threading.Thread:
        """Start the watcher thread (stops when ``stopping`` is set)."""
        thread = threading.Thread(target=self._watch, args=(stopping,), name="cluster-watch")
        thread.daemon = True
        thread.start()
        return thread

    def _watch(self, stopping: threading.Event) -> None:
        last_prune = datetime.min.replace(tzinfo=UTC)
        while not stopping.wait(WATCH_SECONDS):
            now = datetime.now(UTC)
            try:
                self.take_over(now)
                if now - last_prune > timedelta(hours=1):
                    with session_scope(self.factory, "pruning job periods") as session:
                        store.prune_periods(session, before=now - store.KEEP)
                    last_prune = now
            except MonitorError as exc:
                log.warning("cluster: could not look for unfinished jobs: %s", exc)

    def take_over(self, now: datetime) -> list[str]:
        """Start, in threads of their own, the jobs whose current period a dead node left
        unfinished; the ids started."""
        with session_scope(self.factory, "looking for unfinished jobs") as session:
            rows = store.unfinished(session, since=now - timedelta(days=2))
        started = []
        for job, period, node in rows:
            spec = self.specs.get(job)
            if spec is None or node == self.node or period != period_of(spec.trigger, now):
                continue
            with self._guard:
                if job in self._taking_over:
                    continue
                self._taking_over.add(job)
            started.append(job)
            threading.Thread(
                target=self._rerun, args=(spec, node), name=f"takeover-{job}", daemon=True
            ).start()
        return started

    def _rerun(self, spec: JobSpec, node: str) -> None:
        log.info("cluster: %s left job %s unfinished; running it here if its lock is free",
                 node, spec.id)  # fmt: skip
        try:
            run_guarded(spec.id, lambda: self.run_once(spec, datetime.now(UTC), **spec.kwargs))
        finally:
            with self._guard:
                self._taking_over.discard(spec.id)
