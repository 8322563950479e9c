"""Outgoing webhooks: the outbox is written with the events, deliveries are signed, retried
with back-off, and resume once a stopped receiver comes back."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select

from monitor.alerts import Alert, AlertKind, add_alerts
from monitor.app import App
from monitor.config import config_from_dict
from monitor.daemon.jobs import job_specs
from monitor.enums import EventKind, Trust
from monitor.events import EventContext, Observation, event_key, record
from monitor.jobresult import JobResult
from monitor.store.models import Event, WebhookOutbox
from monitor.store.webhooks import WebhookRoute
from monitor.web.webhooks import Endpoint, RetryPolicy, deliver_webhooks
from parsers.webhooksig import BadSignature, verify
from tests.conftest import Store
from tests.monitor.web.conftest import NOW, Clock
from tests.servers.net import closed_port

SECRET = b"whsec-test-0123456789abcdef"
ROUTES = (WebhookRoute("hooks", frozenset({"bounced", "delivered", "blocklist"})),)
CTX = EventContext(webhooks=ROUTES)


@dataclass
class Receiver:
    """A loopback webhook receiver that checks every signature the way a user would."""

    port: int
    status: int = 200
    got: list[dict[str, Any]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    clock: Clock = field(default_factory=Clock)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                try:
                    verify(
                        self.headers.get("Deliverwatch-Signature"),
                        body,
                        secret=SECRET,
                        now=int(receiver.clock().timestamp()),
                    )
                except BadSignature as exc:
                    receiver.bad.append(str(exc))
                    self.send_response(400)
                else:
                    if receiver.status == 200:
                        receiver.got.append(json.loads(body))
                        receiver.ids.append(self.headers["Deliverwatch-Webhook-Id"])
                    self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(port=closed_port())
    yield r
    r.stop()


def _observations(n: int, kind: EventKind = EventKind.BOUNCED) -> list[list[Observation]]:
    return [
        [
            Observation(
                kind=kind,
                key=event_key("wh", kind.value, i),
                source="relay",
                occurred_at=NOW,
                recipient=f"user{i}@example.com",
                trust=Trust.LOCAL,
                reason="userunknown" if kind is EventKind.BOUNCED else "undefined",
                hard=True if kind is EventKind.BOUNCED else None,
                status="5.1.1",
            )
        ]
        for i in range(n)
    ]


def _outbox(store: Store) -> list[WebhookOutbox]:
    with store.factory() as s:
        return list(s.scalars(select(WebhookOutbox).order_by(WebhookOutbox.id)))


def test_outbox_rows_are_written_in_the_recording_transaction(store: Store) -> None:
    with store.factory() as session:
        session.begin()
        record(session, _observations(2), CTX, now=NOW)
        session.rollback()
    # Events and their announcements share their fate: the rollback undoes both, on SQLite
    # too (monitor.store.db.begin_writes).
    with store.factory() as s:
        events = s.scalar(select(func.count()).select_from(Event))
    assert len(_outbox(store)) == events == 0
    with store.factory() as session, session.begin():
        session.execute(delete(WebhookOutbox))
        session.execute(delete(Event))
    with store.factory() as session, session.begin():
        mixed = _observations(2) + _observations(1, EventKind.COMPLAINED)  # complaints: not routed
        record(session, mixed, CTX, now=NOW)
        record(session, _observations(2), CTX, now=NOW)  # the same facts again: nothing new
    rows = _outbox(store)
    assert [(r.endpoint, r.topic, r.state) for r in rows] == [("hooks", "bounced", "pending")] * 2
    assert rows[0].payload["data"]["address"] == "user0@example.com"
    assert rows[0].payload["type"] == "event.bounced"


def test_blocklist_alerts_enter_the_outbox(store: Store) -> None:
    alerts = [
        Alert(
            kind=AlertKind.NEWLY_LISTED,
            subject="192.0.2.10",
            key="zen.spamhaus.org",
            summary="listed",
        ),
        Alert(kind=AlertKind.DKIM_KEY_CHANGED, subject="s._domainkey.x", summary="not a blocklist"),
    ]
    with store.factory() as session, session.begin():
        add_alerts(session, alerts, now=NOW, webhooks=ROUTES)
    (row,) = _outbox(store)
    assert row.topic == "blocklist" and row.payload["type"] == "blocklist.newly_listed"
    assert row.payload["data"]["target"] == "192.0.2.10"


def _deliver(store: Store, receiver: Receiver, clock: Clock, **kw: Any) -> JobResult:
    endpoint = Endpoint(
        name="hooks", url=f"http://127.0.0.1:{receiver.port}/hook", secret=SECRET, timeout=2.0
    )
    return deliver_webhooks(
        factory=store.factory,
        now=clock,
        endpoints={"hooks": endpoint},
        retry=RetryPolicy(initial_seconds=30, max_seconds=600, max_age_hours=1),
        **kw,
    )


def test_signed_deliveries_resume_after_the_receiver_comes_back(
    store: Store, receiver: Receiver
) -> None:
    clock = Clock()
    receiver.clock = clock
    with store.factory() as session, session.begin():
        record(session, _observations(5), CTX, now=NOW)
    # the receiver is down: one failed attempt, the other rows left for later
    summary = _deliver(store, receiver, clock)
    assert "unreachable: hooks" in summary
    assert summary.counts == {"delivered": 0, "failed": 1, "given_up": 0, "unreachable": 1}
    rows = _outbox(store)
    assert [r.state for r in rows] == ["pending"] * 5 and sum(r.attempts for r in rows) == 1
    failed = next(r for r in rows if r.attempts)
    assert failed.last_error and failed.next_attempt_at > NOW + timedelta(seconds=25)
    # back up: the untouched rows go at once, the failed one when its back-off has passed
    receiver.start()
    _deliver(store, receiver, clock)
    assert len(receiver.got) == 4
    clock.at = NOW + timedelta(minutes=2)
    assert _deliver(store, receiver, clock).startswith("1 webhook(s) delivered")
    assert receiver.bad == []
    assert sorted(g["data"]["address"] for g in receiver.got) == [
        f"user{i}@example.com" for i in range(5)
    ]
    assert len(set(receiver.ids)) == 5 and {g["type"] for g in receiver.got} == {"event.bounced"}
    assert all(r.state == "delivered" and r.delivered_at for r in _outbox(store))
    assert _deliver(store, receiver, clock) == "0 webhook(s) delivered"


def test_refused_deliveries_back_off_then_are_given_up(store: Store, receiver: Receiver) -> None:
    clock = Clock()
    receiver.clock = clock
    receiver.status = 500
    receiver.start()
    with store.factory() as session, session.begin():
        record(session, _observations(1), CTX, now=NOW)
    waits = []
    for _ in range(15):
        _deliver(store, receiver, clock)
        (row,) = _outbox(store)
        if row.state == "failed":
            break
        waits.append((row.next_attempt_at - clock.at).total_seconds())
        clock.at = row.next_attempt_at
    (row,) = _outbox(store)
    assert row.state == "failed" and row.last_error and "HTTP 500" in row.last_error
    assert 27 <= waits[0] <= 33 and 54 <= waits[1] <= 66 and waits[2] > waits[1]  # doubling


def test_the_daemon_schedules_the_job_only_with_webhooks(store: Store, tmp_path: Path) -> None:
    base = {
        "database": {"url": store.url},
        "report": {"enabled": False},
        "checks": {"blocklist_every_minutes": 0, "auth_at": ""},
        "daemon": {"export_formats": []},
    }
    plain = App.from_config(config_from_dict(base, base_dir=tmp_path))
    assert "deliver-webhooks" not in [s.id for s in job_specs(plain)]
    hooked = {
        **base,
        "web": {"webhooks": {"hooks": {"url": "http://127.0.0.1:9/h", "secret": "s" * 20}}},
    }
    app = App.from_config(config_from_dict(hooked, base_dir=tmp_path))
    try:
        (spec,) = [s for s in job_specs(app) if s.id == "deliver-webhooks"]
        assert spec.kwargs["endpoints"]["hooks"].url == "http://127.0.0.1:9/h"
    finally:
        app.close()
        plain.close()
