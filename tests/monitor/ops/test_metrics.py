"""``/metrics`` on loopback: the database's figures and the process's own counters; the
Grafana dashboard queries only metrics that exist."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.alerts.rules import RuleLimits, evaluate_rules
from monitor.daemon.metrics import StoreCollector, serve
from monitor.daemon.scheduler import JobRecorder, run_guarded
from monitor.enums import CheckCategory, CheckStatus
from monitor.errors import JobFailed
from monitor.store.models import CheckState, MailboxCursor
from tests.monitor.ops import rows
from tests.monitor.ops.rows import Clock

DASHBOARD = Path(__file__).resolve().parents[3] / "contrib" / "grafana" / "deliverwatch.json"


def _seed(store, clock: Clock) -> None:
    at = clock() - timedelta(hours=1)
    recorder = JobRecorder(store.factory, clock)

    def failing() -> str:
        raise JobFailed("mailbox bounces: connection refused")

    run_guarded("check-blocklists", lambda: "checked 3", recorder)
    clock.advance(minutes=1)
    run_guarded("poll-bounces", lambda: "fetched 0", recorder)
    clock.advance(minutes=10)
    run_guarded("poll-bounces", failing, recorder)
    with store.session() as s, s.begin():
        rows.sent(s, 1000, domain="gmail.com", at=at)
        rows.events(s, 7, kind="complained", domain="gmail.com", at=at)
        rows.events(s, 3, kind="bounced", domain="outlook.com", at=at, reason="blocked", hard=True)
        rows.events(s, 5, kind="delivered", domain="gmail.com", at=at, source="relay")
        mid = rows.relay_message(s, at=clock() - timedelta(minutes=30))
        rows.sent(s, 2, domain="example.net", at=clock() - timedelta(minutes=30),
                  state="deferred", relay_message_id=mid)  # fmt: skip
        s.add(CheckState(category=CheckCategory.BLOCKLIST, subject="192.0.2.7", key="bl.example",
                         status=CheckStatus.LISTED, since=at, last_checked_at=at))  # fmt: skip
        s.add(MailboxCursor(mailbox="bounces", last_uid=5, last_poll_at=at, updated_at=at))
    with store.session() as s, s.begin():
        evaluate_rules(s, RuleLimits(), now=clock())


def _scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = httpx.get(url, timeout=10).text
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((sample.labels, sample.value))
        out.setdefault(family.name, [])  # a family without samples still exists
    return out


@pytest.fixture
def scraped(store):
    clock = Clock()
    _seed(store, clock)
    server, _registry = serve("127.0.0.1", 0, [StoreCollector(store.factory, clock)])
    try:
        yield _scrape(f"http://127.0.0.1:{server.server_port}/metrics"), clock
    finally:
        server.shutdown()
        server.server_close()


def _value(metrics, name: str, **labels: str) -> float:
    found = [v for lab, v in metrics[name] if all(lab.get(k) == x for k, x in labels.items())]
    assert len(found) == 1, (name, labels, metrics.get(name))
    return found[0]


def test_metrics_show_the_database_and_the_jobs(scraped) -> None:
    m, _clock = scraped
    assert _value(m, "deliverwatch_database_up") == 1
    assert _value(m, "deliverwatch_events_last_24h", kind="complained", provider_group="gmail") == 7
    assert _value(m, "deliverwatch_events_last_24h", kind="bounced", reason="blocked",
                  provider_group="microsoft") == 3  # fmt: skip
    assert _value(m, "deliverwatch_sent_last_24h", provider_group="gmail") == 1000
    assert _value(m, "deliverwatch_deliveries_last_24h", result="delivered") == 5
    assert _value(m, "deliverwatch_queue_recipients", state="deferred") == 2
    assert _value(m, "deliverwatch_queue_oldest_age_seconds") == 30 * 60
    assert _value(m, "deliverwatch_blocklist_listings") == 1
    assert _value(m, "deliverwatch_blocklist_listed", target="192.0.2.7", zone="bl.example") == 1
    assert _value(m, "deliverwatch_mailbox_failures_in_row", mailbox="bounces") == 1
    # the last good poll ended (on the fake clock) 10 minutes before the failed one
    assert _value(m, "deliverwatch_mailbox_lag_seconds", mailbox="bounces") == 10 * 60
    assert _value(m, "deliverwatch_job_failures_in_row", job="poll-bounces") == 1
    assert _value(m, "deliverwatch_job_failures_in_row", job="check-blocklists") == 0
    assert _value(m, "deliverwatch_job_runs_total", job="poll-bounces", outcome="failed") >= 1
    assert _value(m, "deliverwatch_job_duration_seconds_count", job="check-blocklists") >= 1
    assert _value(m, "deliverwatch_alerts_active", rule="complaint_rate",
                  severity="critical") == 1  # fmt: skip
    assert m["process_resident_memory_bytes"][0][1] > 0


def _queried_metrics() -> set[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert exprs
    names = set()
    for expr in exprs:
        names |= set(re.findall(r"\b((?:deliverwatch|process)_[a-z0-9_]+)\b", expr))
    return names


def test_every_metric_the_dashboard_queries_exists(scraped) -> None:
    m, _clock = scraped
    queried = _queried_metrics()
    assert len(queried) >= 15
    missing = sorted(name for name in queried if name not in m)
    assert missing == []


def _complaints(collector: StoreCollector) -> float:
    for family in collector.collect():
        for sample in family.samples:
            if (
                sample.name == "deliverwatch_events_last_24h"
                and sample.labels["kind"] == "complained"
            ):
                return sample.value
    return 0.0


def test_the_database_is_read_once_per_ttl(store) -> None:
    clock = Clock()
    cached = StoreCollector(store.factory, clock, ttl=3600)
    fresh = StoreCollector(store.factory, clock, ttl=0)
    assert _complaints(cached) == _complaints(fresh) == 0
    with store.session() as s, s.begin():
        rows.events(s, 2, kind="complained", domain="gmail.com", at=clock() - timedelta(hours=1))
    assert _complaints(cached) == 0  # within its ttl: the figures of the last read
    assert _complaints(fresh) == 2
