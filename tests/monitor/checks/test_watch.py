"""Watch runs on SQLite and PostgreSQL, against real loopback DNS, webhook and SMTP servers:
history is kept, states say since when, each change is alerted exactly once, deliveries
that fail are recorded and retried, and the daemon schedules both runs."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from monitor.alerts import AlertChannels, AlertKind, SmtpTarget, deliver_pending
from monitor.checks.auth import AuthPlan
from monitor.checks.history import save_auth, save_blocklists
from monitor.checks.watch import (
    BlocklistPlan,
    DnsSettings,
    auth_job,
    blocklist_job,
    run_auth,
    run_blocklists,
)
from monitor.enums import CheckCategory, CheckStatus
from monitor.store import checks_repo
from monitor.store.models import AlertRecord, BlocklistResult
from tests.conftest import Store, write_config
from tests.monitor.checks.helpers import Webhook
from tests.servers.dns import DNSServer, Zone
from tests.servers.smtp import SmtpSink

IP = "192.0.2.10"
ZONE = "bl.spamcop.net"
QNAME = "10.2.0.192.bl.spamcop.net"
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
Data = dict[str, list[Any]]
HEALTHY: Data = {"2.0.0.127.bl.spamcop.net": [{"A": "127.0.0.2"}]}
LISTED: Data = {**HEALTHY, QNAME: [{"A": "127.0.0.2"}, {"TXT": "spam trap hits"}]}
UNKNOWN: Data = {**HEALTHY, QNAME: ["SERVFAIL"]}
PLAN = BlocklistPlan(targets=(IP,), zones=(ZONE,))


def _dns(server: DNSServer) -> DnsSettings:
    return DnsSettings(nameservers=(server.address,), timeout=0.5)


def _blocklist_round(store: Store, data: dict[str, list[Any]], at: datetime) -> list[Any]:
    with DNSServer(Zone().update(data)) as server:
        report = asyncio.run(run_blocklists(_dns(server), PLAN))
    return [a.kind for a in save_blocklists(store.factory, report, now=at)]


def test_blocklist_history_states_and_alerts_once(store: Store) -> None:
    rounds: list[tuple[Data, list[AlertKind]]] = [
        (HEALTHY, []),
        (LISTED, [AlertKind.NEWLY_LISTED]),
        (LISTED, []),
        (UNKNOWN, []),  # a SERVFAIL says nothing: still listed, no alert either way
        (LISTED, []),
        (HEALTHY, [AlertKind.DELISTED]),
        (UNKNOWN, []),
        (HEALTHY, []),
    ]
    seen = [
        _blocklist_round(store, data, T0 + timedelta(hours=i)) for i, (data, _) in enumerate(rounds)
    ]
    assert seen == [want for _, want in rounds]
    with store.session() as session:
        history = session.scalars(
            select(BlocklistResult.status).order_by(BlocklistResult.checked_at)
        ).all()
        (state,) = checks_repo.states(session, CheckCategory.BLOCKLIST)
        alerts = session.scalars(select(AlertRecord).order_by(AlertRecord.id)).all()
    assert history == [
        CheckStatus.OK,
        CheckStatus.LISTED,
        CheckStatus.LISTED,
        CheckStatus.UNKNOWN,
        CheckStatus.LISTED,
        CheckStatus.OK,
        CheckStatus.UNKNOWN,
        CheckStatus.OK,
    ]
    assert (state.subject, state.key, state.status) == (IP, ZONE, CheckStatus.OK)
    assert state.since == T0 + timedelta(hours=5)  # not listed since the delisting run
    assert state.last_checked_at == T0 + timedelta(hours=7)
    assert [(a.category, a.old_status, a.new_status) for a in alerts] == [
        ("newly_listed", "not_listed", "listed"),
        ("delisted", "listed", "not_listed"),
    ]
    assert "spam trap hits" in alerts[0].message


def test_incomplete_check_notes_the_state_without_changing_it(store: Store) -> None:
    _blocklist_round(store, LISTED, T0)
    _blocklist_round(store, UNKNOWN, T0 + timedelta(hours=1))
    with store.session() as session:
        (state,) = checks_repo.states(session)
    assert state.status is CheckStatus.LISTED and state.since == T0
    assert state.last_checked_at == T0 + timedelta(hours=1)
    assert state.detail is not None and "incomplete" in state.detail


@pytest.fixture(scope="module")
def dkim_keys() -> list[str]:
    """Two published DKIM key records (``p=`` of fresh RSA-2048 keys)."""
    records = []
    for _ in range(2):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        records.append(f"v=DKIM1; k=rsa; p={base64.b64encode(der).decode()}")
    return records


def _auth_zone(spf: str, dkim: str | None, dmarc: str) -> dict[str, list[Any]]:
    data: dict[str, list[Any]] = {
        "example.com": [{"TXT": spf}, {"MX": [10, "mx1.example.com"]}],
        "mx1.example.com": [{"A": "192.0.2.25"}],
        "_dmarc.example.com": [{"TXT": dmarc}],
        "_smtp._tls.example.com": [{"TXT": "v=TLSRPTv1; rua=mailto:tls@example.com"}],
        "10.2.0.192.in-addr.arpa": [{"PTR": "mail.example.com"}],
        "mail.example.com": [{"A": IP}],
    }
    if dkim:
        data["s1._domainkey.example.com"] = [{"TXT": dkim}]
    return data


AUTH_PLAN = AuthPlan(
    spf_domains=("example.com",),
    from_domains=("example.com",),
    ips=(IP,),
    helo={IP: "mail.example.com"},
    dkim=(("example.com", "s1"),),
)


def _auth_round(store: Store, data: dict[str, list[Any]], at: datetime) -> list[AlertKind]:
    with DNSServer(Zone().update(data)) as server:
        results = asyncio.run(run_auth(_dns(server), AUTH_PLAN))
    return sorted(a.kind for a in save_auth(store.factory, results, now=at))


def test_auth_changes_alert_exactly_once(store: Store, dkim_keys: list[str]) -> None:
    good = _auth_zone("v=spf1 ip4:192.0.2.10 -all", dkim_keys[0], "v=DMARC1; p=reject")
    worse = _auth_zone("v=spf1 -all", dkim_keys[1], "v=DMARC1; p=none")
    gone = _auth_zone("v=spf1 -all", None, "v=DMARC1; p=none")
    down = {"example.com": ["SERVFAIL"], "_dmarc.example.com": ["SERVFAIL"]}
    first = _auth_round(store, good, T0)
    assert AlertKind.SPF_NOW_FAILING not in first and AlertKind.DMARC_WEAKENED not in first
    assert _auth_round(store, good, T0 + timedelta(days=1)) == []
    assert _auth_round(store, worse, T0 + timedelta(days=2)) == sorted(
        [AlertKind.SPF_NOW_FAILING, AlertKind.DKIM_KEY_CHANGED, AlertKind.DMARC_WEAKENED]
    )
    assert _auth_round(store, worse, T0 + timedelta(days=3)) == []
    assert _auth_round(store, gone, T0 + timedelta(days=4)) == [AlertKind.DKIM_KEY_MISSING]
    assert _auth_round(store, {**gone, **down}, T0 + timedelta(days=5)) == []
    assert _auth_round(store, gone, T0 + timedelta(days=6)) == []
    with store.session() as session:
        spf = [s for s in checks_repo.states(session, CheckCategory.AUTH) if s.key == "spf"]
    assert [(s.subject, s.status, s.since) for s in spf] == [
        (f"example.com [{IP}]", CheckStatus.FAIL, T0 + timedelta(days=2))
    ]


def _listed_once(store: Store) -> None:
    assert _blocklist_round(store, LISTED, T0) == [AlertKind.NEWLY_LISTED]


def _channels(hook: Webhook, sink: SmtpSink) -> AlertChannels:
    smtp = SmtpTarget(
        host="127.0.0.1", port=sink.port, sender="dw@example.com", recipients=("ops@example.com",)
    )
    return AlertChannels(webhook_url=hook.url, smtp=smtp, timeout=2)


def test_failed_webhook_is_recorded_and_retried_without_repeating_mail(store: Store) -> None:
    _listed_once(store)
    clock = lambda: T0  # noqa: E731
    with Webhook(status=500) as hook, SmtpSink() as sink:
        first = deliver_pending(store.factory, _channels(hook, sink), now=clock, max_attempts=3)
        with store.session() as session:
            (row,) = session.scalars(select(AlertRecord)).all()
        assert "webhook failed" in first
        assert row.delivered_at is None and row.attempts == 1
        assert row.delivered_via == ["email"] and "500" in (row.last_error or "")
        hook.status = 204
        second = deliver_pending(store.factory, _channels(hook, sink), now=clock, max_attempts=3)
        third = deliver_pending(store.factory, _channels(hook, sink), now=clock, max_attempts=3)
    with store.session() as session:
        (row,) = session.scalars(select(AlertRecord)).all()
    assert "1 by webhook" in second and third == "alerts: none pending"
    assert row.delivered_at == T0 and row.delivered_via == ["email", "webhook"]
    assert len(sink.messages) == 1 and len(hook.posts) == 1
    assert hook.posts[0]["alerts"][0]["id"] == row.id


def test_delivery_gives_up_after_max_attempts(store: Store, caplog: Any) -> None:
    _listed_once(store)
    channels = AlertChannels(webhook_url="http://127.0.0.1:9/", timeout=1)
    for _ in range(3):
        deliver_pending(store.factory, channels, now=lambda: T0, max_attempts=2)
    with store.session() as session:
        (row,) = session.scalars(select(AlertRecord)).all()
    assert row.attempts == 2 and row.delivered_at is None
    assert "given up after 2 attempts" in caplog.text


def test_log_only_alerts_are_closed(store: Store) -> None:
    _listed_once(store)
    assert "1 alert(s) logged" in deliver_pending(
        store.factory, AlertChannels(), now=lambda: T0, max_attempts=3
    )


def test_jobs_with_nothing_configured_say_so(store: Store) -> None:
    kwargs: dict[str, Any] = {
        "factory": store.factory,
        "now": lambda: T0,
        "dns": DnsSettings(nameservers=("127.0.0.1:9",)),
        "channels": AlertChannels(),
        "max_attempts": 3,
    }
    assert blocklist_job(plan=BlocklistPlan(), **kwargs).startswith("nothing to check")
    assert auth_job(plan=AuthPlan(), **kwargs).startswith("nothing to check")
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(BlocklistResult)) == 0


def test_blocklist_job_runs_end_to_end(store: Store) -> None:
    with DNSServer(Zone().update(LISTED)) as server, Webhook() as hook:
        summary = blocklist_job(
            factory=store.factory,
            now=lambda: T0,
            dns=_dns(server),
            plan=PLAN,
            channels=AlertChannels(webhook_url=hook.url, timeout=2),
            max_attempts=3,
        )
    assert summary.startswith("1 blocklist checks, 1 listed, 0 incomplete; 1 new alert(s)")
    assert hook.posts[0]["alerts"][0]["subject"] == IP


def _specs(store: Store, path: Path, extra: str) -> dict[str, Any]:
    from monitor.app import App
    from monitor.config import load_config
    from monitor.daemon.jobs import job_specs

    app = App.from_config(load_config(write_config(path, store.url, extra)))
    try:
        return {s.id: s for s in job_specs(app)}
    finally:
        app.close()


def test_daemon_schedules_blocklist_and_auth_runs(store: Store, tmp_path: Path) -> None:
    extra = """
[sending]
ips = ["192.0.2.10"]
from_domains = ["example.com"]
[checks]
nameservers = ["127.0.0.1:53"]
auth_at = "05:30"
[alerts]
webhook_url = "http://127.0.0.1:8080/hook"
"""
    specs = _specs(store, tmp_path / "config.toml", extra)
    hourly, daily = specs["check-blocklists"], specs["check-auth"]
    assert hourly.func is blocklist_job and daily.func is auth_job
    assert isinstance(hourly.trigger, IntervalTrigger)
    assert hourly.trigger.interval == timedelta(minutes=60)
    assert isinstance(daily.trigger, CronTrigger) and "hour='5', minute='30'" in str(daily.trigger)
    assert hourly.kwargs["plan"].targets == ("192.0.2.10", "example.com")
    assert daily.kwargs["plan"].from_domains == ("example.com",)
    assert hourly.kwargs["dns"].nameservers == ("127.0.0.1:53",)
    assert hourly.kwargs["channels"].webhook_url == "http://127.0.0.1:8080/hook"
    off = _specs(
        store, tmp_path / "off.toml", '[checks]\nblocklist_every_minutes = 0\nauth_at = ""\n'
    )
    assert not {"check-blocklists", "check-auth"} & set(off)
