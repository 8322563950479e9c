"""Ingestion end to end: messages APPENDed to a real Dovecot, polled into SQLite and PostgreSQL.

Every rule of the suppression policy is driven by a real message here, and the trust rules
by a send log: a forged bounce naming an address we never mailed must not suppress it.
"""

from __future__ import annotations

import pytest

from monitor.enums import EventKind, ItemOutcome, SuppressionReason, Trust
from monitor.store.models import (
    AlertRecord,
    AuthFailureReport,
    AuthResult,
    CheckState,
    DmarcReport,
    DmarcRow,
    Event,
    Suppression,
    TlsReportRow,
)
from parsers import verp
from tests.builders.reports import Arf, aggregate_xml, attachment_mail, gz, tls_json
from tests.integration.rig import FAILED, PROCESSED, VERP_KEY, Rig, days_ago, kinds
from tests.integration.samples import auto_reply, dsn, garbage
from tests.servers.dovecot import Dovecot

FULL = "smtp; 552 5.2.2 <{a}>: Mailbox full, quota exceeded"
BLOCKED = "smtp; 550 5.7.1 Service unavailable; client [192.0.2.1] blocked using zen.spamhaus.org"


@pytest.fixture
def rig(imap: Dovecot, store) -> Rig:
    return Rig(imap, store, imap.add_user())


def soft(address: str) -> bytes:
    return dsn(address, status="5.2.2", diagnostic=FULL.format(a=address))


def test_hard_bounce_of_a_sent_message_suppresses_and_points_at_its_event(rig: Rig) -> None:
    rig.sent("gone@example.org", message_id="newsletter-1@sender.example")
    rig.append(dsn("Gone@Example.org"))
    summary = rig.poll()
    assert (summary.fetched, summary.processed, summary.effects.bounces) == (1, 1, 1)
    assert summary.effects.suppressed == 1
    [event] = rig.events()
    assert event.kind is EventKind.BOUNCED and event.address == "gone@example.org"
    assert event.trust is Trust.VERIFIED and event.details["matched_by"] == "message-id"
    assert event.hard and event.status == "5.1.1" and event.sent_message_id is not None
    assert event.campaign == "spring" and event.source == "imap:bounces"
    sup = rig.suppression("gone@example.org")
    assert sup is not None and sup.reason is SuppressionReason.HARD_BOUNCE
    assert sup.source_event_id == event.id
    assert (rig.count(), rig.count(PROCESSED), rig.count(FAILED)) == (0, 1, 0)
    assert [i.outcome for i in rig.ledger()] == [ItemOutcome.PROCESSED]
    again = rig.poll()
    assert (again.fetched, again.effects.bounces) == (0, 0)
    assert len(rig.events()) == 1


def test_soft_bounces_suppress_on_the_third_distinct_day_within_the_window(rig: Rig) -> None:
    for address in ("full@example.org", "sameday@example.org", "spread@example.org"):
        rig.sent(address, message_id="newsletter-1@sender.example", when=days_ago(60))
    rig.append(soft("full@example.org"), when=days_ago(9))
    rig.append(soft("full@example.org"), when=days_ago(5))
    assert rig.poll().effects.suppressed == 0  # two days so far
    for hours in (1, 2, 3):
        rig.append(soft("sameday@example.org"), when=days_ago(1 + hours / 100))
    rig.append(soft("spread@example.org"), when=days_ago(30))  # outside the 14-day window
    rig.append(soft("spread@example.org"), when=days_ago(10))
    rig.append(soft("spread@example.org"), when=days_ago(2))
    rig.append(soft("full@example.org"), when=days_ago(1))
    summary = rig.poll()
    assert summary.effects.suppressed_addresses == ["full@example.org"]
    sup = rig.suppression("full@example.org")
    assert sup is not None and sup.reason is SuppressionReason.SOFT_BOUNCE
    [third] = rig.events(Event.id == sup.source_event_id)
    assert third.occurred_at.date() == days_ago(1).date()
    assert rig.suppression("sameday@example.org") is None
    assert rig.suppression("spread@example.org") is None
    assert len(rig.events()) == 9


def test_sender_side_reasons_never_suppress(rig: Rig) -> None:
    rig.sent("blocked@example.org", message_id="newsletter-1@sender.example")
    for day in (6, 4, 2):
        rig.append(
            dsn("blocked@example.org", status="5.7.1", diagnostic=BLOCKED), when=days_ago(day)
        )
    spam = "smtp; 550 5.7.1 Message rejected as spam by Content Filtering"
    rig.append(dsn("spam@example.org", status="5.7.1", diagnostic=spam))
    summary = rig.poll()
    assert summary.effects.bounces == 4 and summary.effects.suppressed == 0
    reasons = sorted({e.reason for e in rig.events()})
    assert reasons == ["blocked", "spamdetected"]
    assert all(e.details["bounce_class"] == "sender" for e in rig.events())
    assert rig.n(Suppression) == 0


@pytest.mark.parametrize(
    ("feedback_type", "kind", "reason"),
    [
        ("abuse", EventKind.COMPLAINED, SuppressionReason.COMPLAINT),
        ("fraud", EventKind.COMPLAINED, SuppressionReason.COMPLAINT),
        ("opt-out", EventKind.UNSUBSCRIBED, SuppressionReason.UNSUBSCRIBE),
        ("not-spam", EventKind.COMPLAINED, None),
    ],
)
def test_complaints_act_by_feedback_type(
    rig: Rig, feedback_type: str, kind: EventKind, reason: SuppressionReason | None
) -> None:
    rig.sent("reader@isp.example", message_id="msg-1@sender.example")
    rig.append(Arf(feedback_type=feedback_type, rcpt_to=("reader@isp.example",)).build())
    summary = rig.poll()
    assert summary.effects.complaints == 1
    [event] = rig.events()
    assert event.kind is kind and event.feedback_type == feedback_type
    assert event.trust is Trust.VERIFIED and event.source_ip == "192.0.2.7"
    sup = rig.suppression("reader@isp.example")
    if reason is None:
        assert sup is None and "no action" in event.details["decision"]
    else:
        assert sup is not None and sup.reason is reason and sup.source_event_id == event.id


def test_redacted_complaint_learns_its_recipient_from_the_send_log(rig: Rig) -> None:
    rig.sent("reader@isp.example", message_id="msg-1@sender.example")
    rig.append(Arf(rcpt_to=(), enclosed_to="undisclosed-recipients:;").build())
    rig.poll()
    [event] = rig.events()
    assert event.address == "reader@isp.example" and event.trust is Trust.VERIFIED
    assert event.details["matched_by"] == "message-id"
    assert rig.suppression("reader@isp.example") is not None


def test_auto_replies_deliveries_and_delays_are_recorded_only(rig: Rig) -> None:
    rig.sent("away@example.org", message_id="newsletter-1@sender.example")
    rig.append(
        auto_reply("away@example.org"),
        dsn("fine@example.org", status="2.0.0", action="delivered", diagnostic="smtp; 250 OK"),
        dsn("slow@example.org", status="4.2.2", action="delayed", diagnostic="smtp; 452 full"),
    )
    summary = rig.poll()
    e = summary.effects
    assert (e.auto_replies, e.deliveries, e.delays, e.suppressed) == (1, 1, 1, 0)
    assert kinds(rig.events()) == ["auto-replied", "deferred", "delivered"]
    assert rig.n(Suppression) == 0


def test_the_allowlist_always_wins(rig: Rig) -> None:
    rig.sent("ceo@example.org", message_id="newsletter-1@sender.example")
    rig.allow("ceo@example.org")
    rig.append(dsn("ceo@example.org"))
    assert rig.poll().effects.suppressed == 0
    [event] = rig.events()
    assert "allowlisted" in event.details["decision"]
    assert rig.suppression("ceo@example.org") is None


def test_forged_bounce_for_an_address_we_never_mailed_does_not_suppress(rig: Rig) -> None:
    rig.sent("customer@example.org", message_id="newsletter-1@sender.example")
    rig.append(
        dsn("victim@example.org", message_id="<forged@attacker.example>"),
        Arf(rcpt_to=("victim2@example.org",), enclosed_to="victim2@example.org").build(),
    )
    summary = rig.poll()
    assert summary.effects.unverified == 2 and summary.effects.suppressed == 0
    assert {e.trust for e in rig.events()} == {Trust.UNVERIFIED}
    assert all("unverified" in e.details["decision"] for e in rig.events())
    assert rig.n(Suppression) == 0


def test_message_id_alone_is_not_proof_for_another_recipient(rig: Rig) -> None:
    rig.sent("customer@example.org", message_id="newsletter-1@sender.example")
    rig.append(dsn("victim@example.org"))  # a real Message-ID, someone else's address
    rig.poll()
    [event] = rig.events()
    assert event.trust is Trust.UNVERIFIED and rig.suppression("victim@example.org") is None


def test_recipient_in_the_send_log_before_the_report_verifies(rig: Rig) -> None:
    rig.sent("old@example.org", message_id="other@sender.example", when=days_ago(20))
    rig.sent("old@example.org", message_id="later@sender.example", when=days_ago(2))
    rig.sent("new@example.org", message_id="later@sender.example", when=days_ago(2))
    rig.append(
        dsn("old@example.org", message_id=None),  # the bounce enclosed no Message-ID
        dsn("new@example.org", message_id=None),
        when=days_ago(10),
    )
    rig.poll()
    by_address = {e.address: e for e in rig.events()}
    assert by_address["old@example.org"].trust is Trust.VERIFIED
    assert by_address["old@example.org"].details["matched_by"] == "recipient"
    assert by_address["new@example.org"].trust is Trust.UNVERIFIED  # mailed only afterwards
    assert rig.suppression("old@example.org") and not rig.suppression("new@example.org")


def test_an_enclosed_message_id_the_log_contradicts_is_not_ours(rig: Rig) -> None:
    """Issue 11, point 11: the recipient is in our log, but the enclosed original carries a
    Message-ID we never sent to them: the bounce is about somebody else's mail."""
    rig.sent("old@example.org", message_id="ours@sender.example", when=days_ago(20))
    rig.append(dsn("old@example.org", message_id="<theirs@other.example>"), when=days_ago(10))
    rig.poll()
    [event] = rig.events()
    assert event.trust is Trust.UNVERIFIED
    assert "not one we sent" in event.details["match_note"]
    assert rig.suppression("old@example.org") is None


def test_a_log_without_message_ids_cannot_be_contradicted(rig: Rig) -> None:
    """A send log imported without Message-IDs says nothing about the enclosed one: the
    recipient fallback still applies."""
    rig.sent("old@example.org", message_id=None, when=days_ago(20))
    rig.append(dsn("old@example.org", message_id="<any@sender.example>"), when=days_ago(10))
    rig.poll()
    [event] = rig.events()
    assert event.trust is Trust.VERIFIED and event.details["matched_by"] == "recipient"
    assert rig.suppression("old@example.org")


def test_trust_any_acts_without_a_send_log(rig: Rig) -> None:
    rig = rig.with_rules(trust_any=True)
    rig.append(dsn("nolog@example.org"))
    assert rig.poll().effects.suppressed == 1
    [event] = rig.events()
    assert event.trust is Trust.UNVERIFIED  # stored truthfully, acted on by configuration
    assert rig.suppression("nolog@example.org") is not None


def test_signed_verp_token_verifies_and_a_bad_signature_does_not(rig: Rig) -> None:
    sent_id = rig.sent("verp@example.org", message_id=None)
    good = verp.encode(
        key=VERP_KEY, message_id=sent_id, recipient="verp@example.org", bounce_domain="s.example"
    )
    bad = verp.encode(
        key=b"another key",
        message_id=sent_id,
        recipient="forged@example.org",
        bounce_domain="s.example",
    )
    rig.append(
        dsn("verp@example.org", return_path=good, message_id="<unknown@x>"),
        dsn("forged@example.org", return_path=bad, message_id="<unknown@x>"),
    )
    rig.poll()
    by_address = {e.address: e for e in rig.events()}
    ok, forged = by_address["verp@example.org"], by_address["forged@example.org"]
    assert ok.trust is Trust.VERIFIED and ok.details["matched_by"] == "verp"
    assert ok.sent_message_id == sent_id
    assert forged.trust is Trust.UNVERIFIED
    assert forged.details["match_note"] == "VERP token signature does not verify"
    assert rig.suppression("verp@example.org") is not None
    assert rig.suppression("forged@example.org") is None


def test_reports_are_stored_with_their_rows_and_only_once(rig: Rig) -> None:
    report = attachment_mail("application/gzip", gz(aggregate_xml(3)), "report.xml.gz")
    copy = b"X-Resent: yes\n" + report  # another message, the same (org, report_id)
    tls = attachment_mail("application/tlsrpt+gzip", gz(tls_json()), "report.json.gz")
    failure = Arf(
        feedback_type="auth-failure",
        extra_fields=(("Auth-Failure", "dkim"), ("DKIM-Domain", "sender.example")),
    ).build()
    rig.append(report, copy, tls, failure, failure)
    summary = rig.poll()
    assert summary.effects.reports == 3
    assert summary.duplicates == 1  # the identical failure report: same message
    assert summary.effects.duplicate_reports == 1  # the resent aggregate
    assert rig.n(DmarcReport) == 1 and rig.n(DmarcRow) == 3 and rig.n(TlsReportRow) == 1
    [agg] = rig.rows(DmarcReport)
    assert (agg.org_name, agg.report_id, agg.n_records) == ("ISP Example", "r-42", 3)
    [tlsrow] = rig.rows(TlsReportRow)
    assert tlsrow.total_failure_sessions == 2 and tlsrow.policies
    [af] = rig.rows(AuthFailureReport)
    assert af.auth_failure == "dkim" and af.dkim_domain == "sender.example"
    assert rig.count(PROCESSED) == 5 and not rig.events()


def test_unparseable_mail_goes_to_the_failed_folder_with_its_reason(rig: Rig) -> None:
    rig.append(garbage(), dsn("ok@example.org"))
    summary = rig.poll()
    assert (summary.processed, summary.failed) == (1, 1)
    assert "not a bounce, complaint, report or auto-reply" in summary.failures[0][1]
    assert (rig.count(), rig.count(PROCESSED), rig.count(FAILED)) == (0, 1, 1)
    [failed] = [i for i in rig.ledger() if i.outcome is ItemOutcome.FAILED]
    assert failed.error and "not a bounce" in failed.error and failed.moved


def test_oversized_mail_is_not_downloaded_and_reprocess_takes_it_once_allowed(rig: Rig) -> None:
    rig.sent("big@example.org", message_id="newsletter-1@sender.example")
    big = dsn("big@example.org").replace(b"--b1--", b"X" * 5000 + b"\r\n--b1--")
    rig.cfg_overrides["max_message_bytes"] = 4000
    rig.append(big)
    summary = rig.poll()
    assert summary.failed == 1 and "over max_message_bytes = 4000" in summary.failures[0][1]
    assert rig.count(FAILED) == 1 and not rig.events()
    still = rig.poll(reprocess=True)
    assert still.failed == 1 and rig.count(FAILED) == 1  # stays where it is
    rig.cfg_overrides["max_message_bytes"] = 1_000_000
    fixed = rig.poll(reprocess=True)
    assert (fixed.processed, fixed.failed, fixed.effects.suppressed) == (1, 0, 1)
    assert (rig.count(FAILED), rig.count(PROCESSED)) == (0, 1)
    assert len(rig.events()) == 1
    assert rig.poll(reprocess=True).fetched == 0


def test_dry_run_decides_but_stores_and_moves_nothing(rig: Rig) -> None:
    rig.sent("gone@example.org", message_id="newsletter-1@sender.example")
    rig.append(dsn("gone@example.org"), garbage())
    summary = rig.poll(dry_run=True)
    assert summary.dry_run and summary.effects.suppressed == 1 and summary.failed == 1
    assert "dry run" in summary.line()
    assert rig.count() == 2 and not rig.events() and not rig.ledger()
    assert rig.n(Suppression) == 0
    assert rig.poll().effects.suppressed == 1


def test_delete_after_instead_of_move(rig: Rig) -> None:
    rig.cfg_overrides["action_after"] = "delete"
    rig.append(dsn("x@example.org"), garbage())
    rig.poll()
    assert (rig.count(), rig.count(PROCESSED), rig.count(FAILED)) == (0, 0, 1)


def test_a_backlog_parsed_by_worker_processes_gives_the_same_result(rig: Rig) -> None:
    rig.cfg_overrides["batch_size"] = 4
    addresses = [f"w{i}@example.org" for i in range(11)]
    for address in addresses:
        rig.sent(address, message_id="newsletter-1@sender.example")
    rig.append(*(dsn(a) for a in addresses), garbage())
    summary = rig.poll(workers=1)  # 12 messages > 2 batches: the pool is used
    assert (summary.processed, summary.failed, summary.effects.suppressed) == (11, 1, 11)
    assert sorted(e.address or "" for e in rig.events()) == sorted(addresses)
    assert (rig.count(), rig.count(PROCESSED), rig.count(FAILED)) == (0, 11, 1)


ONE_CLICK_HEADERS = (
    ("List-Unsubscribe", "<https://sender.example/u/abc123>"),
    ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
    (
        "DKIM-Signature",
        "v=1; a=rsa-sha256; d=sender.example; s=s1; "
        "h=from:to:subject:list-unsubscribe:list-unsubscribe-post; bh=AAAA; b=BBBB",
    ),
)


def test_one_click_unsubscribe_is_judged_on_verified_enclosures_only(rig: Rig) -> None:
    def state() -> tuple[str, str | None] | None:
        found = rig.rows(CheckState, CheckState.key == "one-click")
        assert [s.subject for s in found] in ([], ["sender.example"])
        return (found[0].status.value, found[0].detail) if found else None

    rig.sent("reader@isp.example", message_id="msg-1@sender.example")
    rig.sent("other@example.org", message_id="newsletter-1@sender.example")
    rig.append(Arf(rcpt_to=("reader@isp.example",), enclosed_headers=ONE_CLICK_HEADERS).build())
    rig.poll()
    assert state() == ("ok", "pass")
    assert rig.n(AlertRecord) == 0
    # a forged complaint about mail without the fields speaks for nobody's templates
    rig.append(Arf(rcpt_to=("victim@example.org",), enclosed_to="victim@example.org").build())
    assert rig.poll().effects.unverified == 1
    assert state() == ("ok", "pass")
    # our own bounced campaign mail without them: now failing, history kept, one alert
    rig.append(dsn("other@example.org"))
    rig.poll()
    assert state() == ("fail", "list_unsubscribe_missing")
    history = rig.rows(AuthResult, AuthResult.check == "one-click")
    assert sorted(r.status.value for r in history) == ["fail", "ok"]
    [alert] = rig.rows(AlertRecord)
    assert (alert.key, alert.subject, alert.new_status) == (
        "one-click",
        "sender.example",
        "fail",
    )
    assert "now fails" in alert.message and "List-Unsubscribe-Post" in alert.message
