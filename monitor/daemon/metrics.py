"""Prometheus ``/metrics`` of the daemon and the relay (prometheus-client).

Two kinds of figures. What happens inside this process (job runs and their durations) is
counted as it happens. What lives in the database (events by kind, reason and provider
group, the queue, listings, mailbox lag, each job's last run) is read by ``StoreCollector``:
several processes write those rows (the relay's delivery processes, the poller, the CLI),
and only the database sees them all. Those queries are grouped in SQL over one window (24
hours); a large sender has millions of rows in it, so the answer is kept ``ttl`` seconds
(60) and a scrape every 15 s reads the database once a minute.

The listener is loopback-only (``[metrics] listen``): the figures tell who we mail.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.enums import CheckCategory
from monitor.errors import MonitorError
from monitor.store import ops
from monitor.store.db import session_scope
from monitor.store.queue import queue_summary
from reports.providers import load_providers

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["JOB_DURATION", "JOB_RUNS", "REGISTRY", "StoreCollector", "serve"]

log = logging.getLogger(__name__)

#: This process's own metrics; ``serve`` adds the store collector beside them.
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)  # process_cpu_seconds_total, process_resident_memory_bytes

JOB_RUNS = Counter(
    "deliverwatch_job_runs",
    "Job runs of this daemon by outcome (ok, failed, skipped).",
    ["job", "outcome"],
    registry=REGISTRY,
)
JOB_DURATION = Histogram(
    "deliverwatch_job_duration_seconds",
    "How long job runs took (the checks are the jobs check-blocklists and check-auth).",
    ["job"],
    buckets=(0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 3600),
    registry=REGISTRY,
)

WINDOW = timedelta(hours=24)


def _gauge(name: str, doc: str, labels: list[str]) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, labels=labels)


class StoreCollector(Collector):
    """The database's figures, read at each scrape."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        now: Callable[[], datetime],
        *,
        queue: bool = True,
        ttl: float = 60.0,
    ) -> None:
        self.factory, self.now, self.queue, self.ttl = factory, now, queue, ttl
        self.providers = load_providers()
        self._cache: tuple[float, list[Metric]] | None = None
        self._lock = threading.Lock()

    def describe(self) -> list[Metric]:
        return []  # collected at scrape time only (no query at registration)

    def collect(self) -> Iterator[Metric]:
        with self._lock:  # concurrent scrapes share one read
            cached = self._cache
            if cached is None or time.monotonic() - cached[0] >= self.ttl:
                cached = (time.monotonic(), self._read())
                self._cache = cached
        yield from cached[1]

    def _read(self) -> list[Metric]:
        up = _gauge("deliverwatch_database_up", "1 when the database last answered.", [])
        try:
            with session_scope(self.factory, "reading metrics") as session:
                families = list(self._families(session))
        except MonitorError as exc:
            log.warning("metrics: database unavailable: %s", exc)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *families]

    def _families(self, session: Session) -> Iterator[Metric]:
        now = self.now()
        yield from self._jobs(session, now)
        since = now - WINDOW
        events = _gauge(
            "deliverwatch_events_last_24h",
            "Events of the last 24 hours by kind, reason and provider group.",
            ["kind", "reason", "provider_group"],
        )
        for kind, reason, group, n in ops.event_counts(session, self.providers, since=since):
            events.add_metric([kind, reason, group], n)
        yield events
        sent = _gauge(
            "deliverwatch_sent_last_24h", "Messages sent in the last 24 hours.", ["provider_group"]
        )
        figures = ops.group_figures(session, self.providers, since=since, until=now)
        for group, fig in sorted(figures.items()):
            sent.add_metric([group], fig.sent)
        yield sent
        deliveries = _gauge(
            "deliverwatch_deliveries_last_24h",
            "Relay delivery attempts of the last 24 hours by result.",
            ["result"],
        )
        for result, n in sorted(ops.relay_results(session, since=since).items()):
            deliveries.add_metric([result], n)
        yield deliveries
        if self.queue:
            yield from self._queue(session, now)
        yield from self._checks(session)

    def _jobs(self, session: Session, now: datetime) -> Iterator[Metric]:
        last = _gauge(
            "deliverwatch_job_last_run_timestamp_seconds", "Start of each job's last run.", ["job"]
        )
        ok = _gauge(
            "deliverwatch_job_last_success_timestamp_seconds",
            "End of each job's last good run.",
            ["job"],
        )
        dur = _gauge(
            "deliverwatch_job_last_duration_seconds",
            "Duration of each job's last finished run.",
            ["job"],
        )
        fails = _gauge(
            "deliverwatch_job_failures_in_row",
            "Failed runs since the last good one.",
            ["job"],
        )
        jobs = ops.job_states(session)
        for name, st in sorted(jobs.items()):
            last.add_metric([name], st.started_at.timestamp())
            if st.last_ok_at is not None:
                ok.add_metric([name], st.last_ok_at.timestamp())
            if st.finished_at is not None:
                dur.add_metric([name], (st.finished_at - st.started_at).total_seconds())
            fails.add_metric([name], st.failures_in_row)
        yield from (last, ok, dur, fails)
        lag = _gauge(
            "deliverwatch_mailbox_lag_seconds",
            "Seconds since each mailbox's last good poll.",
            ["mailbox"],
        )
        mfail = _gauge(
            "deliverwatch_mailbox_failures_in_row",
            "Failed polls in a row per mailbox.",
            ["mailbox"],
        )
        for name, (seconds, failures) in ops.mailbox_lag(
            ops.mailbox_states(session), jobs, now=now
        ).items():
            if seconds is not None:
                lag.add_metric([name], seconds)
            mfail.add_metric([name], failures)
        yield from (lag, mfail)

    def _queue(self, session: Session, now: datetime) -> Iterator[Metric]:
        summary = queue_summary(session)
        depth = _gauge(
            "deliverwatch_queue_recipients",
            "Pending relay recipients by state.",
            ["state"],
        )
        for state in ("queued", "sending", "deferred", "held"):
            depth.add_metric([state], summary.by_state.get(state, 0))
        yield depth
        age = _gauge(
            "deliverwatch_queue_oldest_age_seconds",
            "Age of the oldest pending recipient (0: none).",
            [],
        )
        age.add_metric([], (now - summary.oldest).total_seconds() if summary.oldest else 0.0)
        yield age

    def _checks(self, session: Session) -> Iterator[Metric]:
        listed = _gauge(
            "deliverwatch_blocklist_listed",
            "1 per blocklist currently listing a target.",
            ["target", "zone"],
        )
        n = 0
        for subject, key, status, _detail in ops.check_states(session, CheckCategory.BLOCKLIST):
            if status == "listed":
                listed.add_metric([subject, key], 1)
                n += 1
        yield listed
        total = _gauge("deliverwatch_blocklist_listings", "Current blocklist listings.", [])
        total.add_metric([], n)
        yield total
        auth = _gauge(
            "deliverwatch_auth_checks",
            "DNS authentication checks by status.",
            ["status"],
        )
        counts: dict[str, int] = {}
        for _s, _k, status, _d in ops.check_states(session, CheckCategory.AUTH):
            counts[status] = counts.get(status, 0) + 1
        for status, c in sorted(counts.items()):
            auth.add_metric([status], c)
        yield auth
        alerts = _gauge(
            "deliverwatch_alerts_active",
            "Open alert conditions by rule and severity.",
            ["rule", "severity"],
        )
        active: dict[tuple[str, str], int] = {}
        for row in ops.conditions(session, active_only=True):
            active[(row.rule, row.severity)] = active.get((row.rule, row.severity), 0) + 1
        for (rule, severity), c in sorted(active.items()):
            alerts.add_metric([rule, severity], c)
        yield alerts


def serve(
    host: str, port: int, collectors: list[Collector]
) -> tuple[WSGIServer, CollectorRegistry]:
    """Start ``/metrics`` on ``host:port`` in a daemon thread: this process's counters plus
    ``collectors``. Returns the server (``shutdown()`` stops it) and the registry."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Forward(REGISTRY))
    for collector in collectors:
        registry.register(collector)
    try:
        server, _thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        raise MonitorError(f"metrics: cannot listen on {host}:{port}: {exc}") from exc
    log.info("metrics: serving /metrics on %s:%d", host, server.server_port)
    return server, registry


class _Forward(Collector):
    """This process's registry inside the served one (the served one adds the store)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Metric]:
        yield from self.registry.collect()
