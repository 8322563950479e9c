"""The alert rules on real rows (SQLite and PostgreSQL) with a controllable clock: each rule
triggers, is announced once, resolves once; the hourly limit; Slack-shaped delivery."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from monitor.alerts import AlertChannels
from monitor.alerts.model import AlertKind, Severity
from monitor.alerts.rules import RuleLimits, evaluate_rules, rules_job
from monitor.daemon.scheduler import JobRecorder, run_guarded
from monitor.enums import MessageState
from monitor.errors import JobFailed
from monitor.store.models import AlertCondition, AlertRecord, SentMessage
from tests.monitor.checks.helpers import Webhook
from tests.monitor.ops import rows
from tests.monitor.ops.rows import Clock

LIMITS = RuleLimits(max_per_hour=100)


def _evaluate(store, clock: Clock, limits: RuleLimits = LIMITS):
    with store.session() as s, s.begin():
        stored, held = evaluate_rules(s, limits, now=clock())
        return [(a.kind, a.subject, a.severity) for a in stored], held


def _seed_rate(store, clock: Clock, rule: AlertKind, bad: int) -> None:
    """1000 sent to gmail.com an hour ago and ``bad`` events that count for ``rule``."""
    at = clock() - timedelta(hours=1)
    with store.session() as s, s.begin():
        rows.sent(s, 1000, domain="gmail.com", at=at)
        if rule is AlertKind.COMPLAINT_RATE:
            rows.events(s, bad, kind="complained", domain="gmail.com", at=at)
        elif rule is AlertKind.HARD_BOUNCE_RATE:
            rows.events(s, bad, kind="bounced", domain="gmail.com", at=at, hard=True,
                        reason="userunknown")  # fmt: skip
        elif rule is AlertKind.SENDER_REJECTIONS:
            rows.events(s, bad, kind="bounced", domain="gmail.com", at=at, hard=True,
                        reason="blocked")  # fmt: skip
        elif rule is AlertKind.DEFERRAL_RATE:
            rows.events(s, bad, kind="deferred", domain="gmail.com", at=at,
                        reason="mailboxfull")  # fmt: skip
        # forged bounces and complaints never count against us
        rows.events(s, 500, kind="complained", domain="gmail.com", at=at, trust="unverified")


@pytest.mark.parametrize(
    ("rule", "warn", "critical"),
    [
        # (rule, bad events of the first 1000 sent, then of 1000 more); warn then critical
        (AlertKind.COMPLAINT_RATE, 2, 10),  # 0.2 % > 0.1; then 12 of 2000: 0.6 % > 0.3
        (AlertKind.HARD_BOUNCE_RATE, 30, 120),  # 3 % > 2; then 7.5 % > 5
        (AlertKind.SENDER_REJECTIONS, 20, 60),  # 2 % > 1; then 4 % > 3
        (AlertKind.DEFERRAL_RATE, 150, 600),  # 15 % > 10; then 37.5 % > 30
    ],
)
def test_rate_rule_triggers_escalates_and_resolves(store, rule, warn, critical) -> None:
    clock = Clock()
    _seed_rate(store, clock, rule, warn)
    assert _evaluate(store, clock) == ([(rule, "gmail", Severity.WARNING)], 0)
    clock.advance(hours=1)
    assert _evaluate(store, clock) == ([], 0)  # still holds: quiet
    _seed_rate(store, clock, rule, critical)  # 2000 sent now, warn+critical bad: critical
    assert _evaluate(store, clock) == ([(rule, "gmail", Severity.CRITICAL)], 0)
    assert _evaluate(store, clock) == ([], 0)  # announced at critical: quiet
    clock.advance(hours=25)  # the rows left the 24 h window
    assert _evaluate(store, clock) == ([(AlertKind.RESOLVED, "gmail", Severity.INFO)], 0)
    assert _evaluate(store, clock) == ([], 0)
    with store.session() as s:
        cond = s.scalars(select(AlertCondition)).one()
        assert cond.rule == rule.value and not cond.active and cond.resolved_at == clock()


def test_rates_under_limit_or_volume_do_not_alert(store) -> None:
    clock = Clock()
    at = clock() - timedelta(hours=2)
    with store.session() as s, s.begin():
        rows.sent(s, 1000, domain="gmail.com", at=at)
        rows.events(s, 1, kind="complained", domain="gmail.com", at=at)  # 0.1 %: not over
        rows.sent(s, 50, domain="yahoo.com", at=at)  # under min_volume (100)
        rows.events(s, 10, kind="complained", domain="yahoo.com", at=at)
    assert _evaluate(store, clock) == ([], 0)


def test_mailbox_and_job_failures(store) -> None:
    clock = Clock()
    recorder = JobRecorder(store.factory, clock)

    def broken_poll() -> str:
        raise JobFailed("mailbox bounces: login refused")

    def broken_job() -> str:
        raise RuntimeError("disk full")

    for _ in range(2):
        run_guarded("poll-bounces", broken_poll, recorder)
        clock.advance(minutes=5)
    run_guarded("export-suppressions", broken_job, recorder)
    assert _evaluate(store, clock) == ([(AlertKind.JOB_FAILING, "export-suppressions",
                                         Severity.WARNING)], 0)  # fmt: skip
    run_guarded("poll-bounces", broken_poll, recorder)  # the third in a row
    found, _ = _evaluate(store, clock)
    assert found == [(AlertKind.MAILBOX_FAILING, "bounces", Severity.WARNING)]
    with store.session() as s:
        alert = s.scalars(
            select(AlertRecord).where(AlertRecord.category == "mailbox_failing")
        ).one()
        assert "login refused" in alert.message and "3 polls failed" in alert.message
    clock.advance(minutes=5)
    run_guarded("poll-bounces", lambda: "fetched 3", recorder)
    run_guarded("export-suppressions", lambda: {"exported": 10}, recorder)
    found, _ = _evaluate(store, clock)
    resolved = [(AlertKind.RESOLVED, scope, Severity.INFO)
                for scope in ("bounces", "export-suppressions")]  # fmt: skip
    assert sorted(found) == resolved


def test_queue_backlog_and_age(store) -> None:
    clock = Clock()
    limits = RuleLimits(queue_backlog=5, queue_age_minutes=60, max_per_hour=100)
    with store.session() as s, s.begin():
        mid = rows.relay_message(s, at=clock() - timedelta(hours=3))
        rows.sent(s, 4, domain="example.net", at=clock() - timedelta(hours=3), state="deferred",
                  relay_message_id=mid)  # fmt: skip
        rows.sent(s, 2, domain="example.net", at=clock(), state="queued", relay_message_id=mid)
    found, _ = _evaluate(store, clock, limits)
    assert sorted(found) == [(AlertKind.QUEUE_AGE, "relay", Severity.CRITICAL),
                             (AlertKind.QUEUE_BACKLOG, "relay", Severity.WARNING)]  # fmt: skip
    with store.session() as s, s.begin():
        s.execute(update(SentMessage).where(SentMessage.state == MessageState.DEFERRED)
                  .values(state=MessageState.DELIVERED))  # fmt: skip
    clock.advance(hours=1)
    found, _ = _evaluate(store, clock, limits)
    assert sorted(found) == [(AlertKind.RESOLVED, "relay", Severity.INFO)] * 2


def test_hourly_limit_holds_messages_back_until_later(store) -> None:
    clock = Clock()
    limits = RuleLimits(max_per_hour=1)
    at = clock() - timedelta(hours=1)
    with store.session() as s, s.begin():
        for domain in ("gmail.com", "yahoo.com"):
            rows.sent(s, 1000, domain=domain, at=at)
            rows.events(s, 5, kind="complained", domain=domain, at=at)
    first, held = _evaluate(store, clock, limits)
    assert len(first) == 1 and held == 1
    clock.advance(minutes=30)
    assert _evaluate(store, clock, limits) == ([], 1)  # the hour is not over
    clock.advance(minutes=31)
    second, held = _evaluate(store, clock, limits)
    assert len(second) == 1 and held == 0
    assert {first[0][1], second[0][1]} == {"gmail", "yahoo"}


def test_rules_job_posts_slack_shaped_payload(store) -> None:
    clock = Clock()
    with store.session() as s, s.begin():
        at = clock() - timedelta(hours=1)
        rows.sent(s, 1000, domain="gmail.com", at=at)
        rows.events(s, 5, kind="complained", domain="gmail.com", at=at)
    with Webhook(status=200) as hook:
        channels = AlertChannels(slack_url=hook.url)
        counts = rules_job(factory=store.factory, now=clock, limits=LIMITS, channels=channels,
                           max_attempts=3)  # fmt: skip
        assert counts == {"alerts": 1, "held": 0, "active": 1}
        assert len(hook.posts) == 1
        body = hook.posts[0]
        assert set(body) == {"text", "blocks"}
        assert "complaint rate" in body["text"] or "critical" in body["text"]
        assert body["blocks"][0]["type"] == "header"
        section = body["blocks"][1]
        assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
        assert "gmail: complaint rate 0.50% over 0.3%" in section["text"]["text"]
        with store.session() as s:
            assert s.scalars(select(AlertRecord)).one().delivered_at == clock()
        clock.advance(hours=25)
        rules_job(factory=store.factory, now=clock, limits=LIMITS, channels=channels,
                  max_attempts=3)  # fmt: skip
        assert len(hook.posts) == 2
        assert "resolved" in hook.posts[1]["blocks"][1]["text"]["text"]
