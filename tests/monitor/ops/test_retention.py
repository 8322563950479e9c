"""Retention deletes exactly what is older than configured, per kind, in batches, on both
backends; pending relay recipients and messages that still have them are never deleted."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count

from sqlalchemy import func, select

from monitor.enums import CheckStatus, ItemOutcome
from monitor.store.models import (
    AlertRecord,
    AuthFailureReport,
    AuthResult,
    BlocklistResult,
    DmarcReport,
    DmarcRow,
    Event,
    JobRun,
    ProcessedItem,
    RelayMessage,
    SentMessage,
    TlsReportRow,
    WebhookOutbox,
)
from monitor.store.retention import RetentionPolicy, maintain, prune, retention_job
from tests.monitor.ops import rows
from tests.monitor.ops.rows import Clock

POLICY = RetentionPolicy(events_days=30, processed_days=60, dmarc_days=90, checks_days=10,
                         queue_days=20, job_runs_days=5, batch_size=2)  # fmt: skip
SECOND = timedelta(seconds=1)
_n = count()


def _add(s, at: datetime, kind: str) -> None:
    """One row of ``kind`` dated ``at`` (its age column)."""
    i = next(_n)
    if kind == "events":
        rows.events(s, 1, kind="bounced", domain="example.org", at=at)
    elif kind == "processed":
        s.add(ProcessedItem(mailbox="b", uidvalidity=1, uid=i, content_hash="0" * 64,
                            outcome=ItemOutcome.PROCESSED, processed_at=at))  # fmt: skip
    elif kind == "dmarc":
        report = DmarcReport(org_name="google.com", report_id=f"r{i}", date_begin=at,
                             received_at=at + timedelta(days=400))  # fmt: skip
        s.add(report)
        s.flush()
        s.add_all([DmarcRow(report_pk=report.id, count=3), DmarcRow(report_pk=report.id, count=4)])
        s.add(AuthFailureReport(dedupe_key=f"f{i}", arrival_date=at, received_at=at))
        s.add(
            TlsReportRow(
                organization_name="o", report_id=f"t{i}", start_datetime=None, received_at=at
            )
        )  # fmt: skip  (no date of its own: when we got it)
    elif kind == "checks":
        s.add(BlocklistResult(target="192.0.2.1", target_type="ip4", zone="z",
                              status=CheckStatus.OK, checked_at=at))  # fmt: skip
        s.add(AuthResult(check="spf", subject="example.com", status=CheckStatus.OK, checked_at=at))
        s.add(AlertRecord(category="delisted", subject="x", severity="info", message="m",
                          created_at=at, attempts=0))  # fmt: skip
    elif kind == "queue":
        mid = rows.relay_message(s, at=at)
        rows.sent(s, 1, domain="example.net", at=at, relay_message_id=mid)
        rows.sent(s, 1, domain="example.net", at=at, state="bounced", relay_message_id=mid)
        rows.sent(s, 1, domain="example.net", at=at, state="imported")
        s.add(WebhookOutbox(endpoint="crm", topic="bounced", fact_key=f"w{i}", payload={},
                            state="delivered", attempts=1, created_at=at,
                            next_attempt_at=at))  # fmt: skip
    elif kind == "job_runs":
        rows.job_run(s, "expire-suppressions", "ok", at=at)
    s.flush()


TABLES = {
    "events": [Event],
    "processed": [ProcessedItem],
    "dmarc": [DmarcReport, DmarcRow, AuthFailureReport, TlsReportRow],
    "checks": [BlocklistResult, AuthResult, AlertRecord],
    "queue": [RelayMessage, SentMessage, WebhookOutbox],
    "job_runs": [JobRun],
}


def _counts(store) -> dict[str, int]:
    with store.session() as s:
        return {m.__tablename__: int(s.scalar(select(func.count()).select_from(m)) or 0)
                for models in TABLES.values() for m in models}  # fmt: skip


def test_prune_deletes_exactly_what_is_older_than_configured(store) -> None:
    clock = Clock()
    with store.session() as s, s.begin():
        for kind in TABLES:
            cutoff = clock() - timedelta(days=getattr(POLICY, f"{kind}_days"))
            for _ in range(5):  # more than a batch: the prune loops
                _add(s, cutoff - SECOND, kind)
            for _ in range(3):
                _add(s, cutoff + SECOND, kind)
            _add(s, cutoff, kind)  # exactly the cutoff: not older, kept
        # a pending recipient is kept however old, and so is its message
        old = clock() - timedelta(days=365)
        mid = rows.relay_message(s, at=old)
        rows.sent(s, 1, domain="example.net", at=old, state="deferred", relay_message_id=mid)
    before = _counts(store)
    deleted = prune(store.factory, POLICY, now=clock())
    after = _counts(store)
    assert deleted == {
        "events": 5, "processed_items": 5, "dmarc_reports": 5, "auth_failure_reports": 5,
        "tls_reports": 5, "blocklist_results": 5, "auth_results": 5, "alerts": 5,
        "alert_conditions": 0, "sent_messages": 15, "relay_messages": 5, "webhook_outbox": 5,
        "job_runs": 5,
    }  # fmt: skip
    for table, n in before.items():
        gone = 10 if table == "dmarc_rows" else deleted[table]
        assert after[table] == n - gone, table
    with store.session() as s:
        assert s.scalar(select(SentMessage.state).where(SentMessage.relay_message_id == mid))
        assert s.get(RelayMessage, mid) is not None
        # what is left is what was not older than the cutoff
        cutoff = clock() - timedelta(days=POLICY.events_days)
        assert s.scalar(select(func.min(Event.occurred_at))) == cutoff
    assert prune(store.factory, POLICY, now=clock()) == dict.fromkeys(deleted, 0)


def test_zero_days_keeps_forever_and_job_maintains_weekly(store) -> None:
    clock = Clock()  # 2026-06-10 is a Wednesday
    with store.session() as s, s.begin():
        rows.events(s, 3, kind="bounced", domain="example.org", at=clock() - timedelta(days=3000))
    keep = RetentionPolicy(events_days=0)
    assert "events" not in prune(store.factory, keep, now=clock())
    out = retention_job(factory=store.factory, now=clock, policy=keep, vacuum_weekday="wed",
                        timezone="UTC")  # fmt: skip
    assert out["deleted"] == 0
    assert out["maintenance"] == ("VACUUM and ANALYZE" if store.backend == "sqlite" else "ANALYZE")
    out = retention_job(factory=store.factory, now=clock, policy=RetentionPolicy(),
                        vacuum_weekday="sun", timezone="UTC")  # fmt: skip
    assert out["deleted"] == 3 and out["events"] == 3 and "maintenance" not in out
    assert maintain(store.engine, vacuum=False) == "ANALYZE"
