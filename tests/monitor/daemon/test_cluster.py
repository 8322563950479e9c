"""Several daemons on one PostgreSQL: singleton jobs once per period, a dead holder replaced."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.daemon.cluster import Cluster, period_of
from monitor.daemon.scheduler import JobSpec
from monitor.store.cluster import claim_period, period_runs
from monitor.store.db import session_scope
from monitor.store.lease import advisory_lock
from tests.conftest import Store

pg = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def test_interval_periods_are_epoch_buckets_the_same_on_every_node() -> None:
    a = IntervalTrigger(minutes=5, start_date=datetime(2026, 1, 1, 0, 1, 17, tzinfo=UTC))
    b = IntervalTrigger(minutes=5, start_date=datetime(2026, 1, 1, 0, 3, 2, tzinfo=UTC))
    now = datetime(2026, 3, 1, 10, 7, 59, tzinfo=UTC)
    assert period_of(a, now) == period_of(b, now) == datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
    assert period_of(a, now + timedelta(minutes=3)) == datetime(2026, 3, 1, 10, 10, tzinfo=UTC)


def test_daily_period_is_the_last_fire_time() -> None:
    paris = ZoneInfo("Europe/Paris")
    daily = CronTrigger(hour=6, minute=30, timezone=paris)
    before = datetime(2026, 3, 2, 5, 0, tzinfo=UTC)  # 06:00 in Paris: yesterday's period
    after = datetime(2026, 3, 2, 5, 31, tzinfo=UTC)
    assert period_of(daily, before) == datetime(2026, 3, 1, 5, 30, tzinfo=UTC)
    assert period_of(daily, after) == datetime(2026, 3, 2, 5, 30, tzinfo=UTC)


def _spec(calls: list[str], name: str = "daily-report", pause: float = 0.0) -> JobSpec:
    def job(now: Any) -> str:  # jobs take their clock as ``now``, like the real ones
        calls.append(name)
        time.sleep(pause)
        return f"made at {now():%Y}"

    return JobSpec(name, job, IntervalTrigger(hours=1), {"now": lambda: datetime.now(UTC)})


@pg
def test_a_singleton_runs_once_per_period_across_nodes(store: Store) -> None:
    a = Cluster(store.url, store.factory, node="host-a:1")
    b = Cluster(store.url, store.factory, node="host-b:2")
    calls: list[str] = []
    try:
        [job_a], [job_b] = a.wrap([_spec(calls)]), b.wrap([_spec(calls)])
        assert job_a.func(**job_a.kwargs).startswith("made")
        assert job_b.func(**job_b.kwargs).startswith("already ran for period")
        assert job_a.func(**job_a.kwargs).startswith("already ran")
        assert calls == ["daily-report"]
        with store.session() as s:
            [row] = period_runs(s, "daily-report")
        assert row.node == "host-a:1" and row.finished_at is not None and row.attempts == 1
        # the next period is a new claim
        later = datetime.now(UTC) + timedelta(hours=1)
        assert b.run_once(_spec(calls), later, **_spec(calls).kwargs).startswith("made")
        assert calls == ["daily-report"] * 2
    finally:
        a.close()
        b.close()


@pg
def test_a_running_singleton_is_not_started_elsewhere(store: Store) -> None:
    a = Cluster(store.url, store.factory, node="host-a:1")
    b = Cluster(store.url, store.factory, node="host-b:2")
    calls: list[str] = []
    try:
        [slow] = a.wrap([_spec(calls, pause=1.0)])
        [quick] = b.wrap([_spec(calls)])
        runner = threading.Thread(target=slow.func, kwargs=slow.kwargs)
        runner.start()
        while not calls:
            time.sleep(0.01)
        assert quick.func(**quick.kwargs) == "another node runs it now"
        runner.join()
        assert calls == ["daily-report"]
    finally:
        a.close()
        b.close()


@pg
def test_a_period_left_unfinished_by_a_dead_node_is_taken_over(store: Store) -> None:
    """The dead node's row has no ``finished_at`` and its lock went with its session."""
    now = datetime.now(UTC)
    spec = _spec(calls := [])
    with session_scope(store.factory) as s:
        assert claim_period(s, spec.id, period_of(spec.trigger, now), node="dead:9", now=now)
    b = Cluster(store.url, store.factory, node="host-b:2")
    try:
        b.wrap([spec])
        assert b.take_over(now) == ["daily-report"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with store.session() as s:
                [row] = period_runs(s, "daily-report")
            if row.finished_at is not None:
                break
            time.sleep(0.05)
        assert calls == ["daily-report"]
        assert row.node == "host-b:2" and row.attempts == 2 and row.finished_at is not None
        assert b.take_over(now) == []  # finished: nothing left to take over
    finally:
        b.close()


@pg
def test_a_live_holder_is_not_taken_over(store: Store) -> None:
    now = datetime.now(UTC)
    spec = _spec(calls := [])
    b = Cluster(store.url, store.factory, node="host-b:2")
    try:
        b.wrap([spec])
        with advisory_lock(b.locks, "deliverwatch-job-daily-report") as elsewhere:
            assert elsewhere is None  # "host-a" holds the lock and works on the period
            with session_scope(store.factory) as s:
                claim_period(s, spec.id, period_of(spec.trigger, now), node="host-a:1", now=now)
            other = Cluster(store.url, store.factory, node="host-c:3")
            try:
                other.wrap([spec])
                assert other.run_once(spec, now, **spec.kwargs) == "another node runs it now"
            finally:
                other.close()
        assert calls == []
    finally:
        b.close()


@pg
def test_a_mailbox_is_polled_by_one_node_at_a_time(store: Store) -> None:
    calls: list[Any] = []
    a = Cluster(store.url, store.factory, node="host-a:1")
    try:
        [poll] = a.wrap([_spec(calls, name="poll-bounces")])
        with advisory_lock(a.locks, "deliverwatch-job-poll-bounces") as elsewhere:
            assert elsewhere is None
            assert poll.func(**poll.kwargs) == "another node runs it now"
        assert poll.func(**poll.kwargs).startswith("made")
        assert poll.func(**poll.kwargs).startswith("made")  # no periods for polls
        assert calls == ["poll-bounces"] * 2
    finally:
        a.close()
