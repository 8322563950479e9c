"""The event rules of ``monitor.suppression.policy``, one table row per rule (pure, no clock)."""

from __future__ import annotations

import pytest

from monitor.enums import EventKind, SuppressionReason, Trust
from monitor.suppression.policy import (
    SENDER_REASONS,
    SOFT_REASONS,
    BounceClass,
    EventFacts,
    Rules,
    bounce_class,
    decide_event,
)
from parsers.records import Reason

RULES = Rules()
V, U = Trust.VERIFIED, Trust.UNVERIFIED
B, C, UNSUB = EventKind.BOUNCED, EventKind.COMPLAINED, EventKind.UNSUBSCRIBED


def facts(kind: EventKind = B, **kw: object) -> EventFacts:
    values: dict[str, object] = {"kind": kind, "address": "a@example.org", "trust": V}
    values.update(kw)
    return EventFacts(**values)  # type: ignore[arg-type]


def test_every_parser_reason_has_exactly_one_class() -> None:
    assert not SOFT_REASONS & SENDER_REASONS
    values = {r.value for r in Reason}
    assert SOFT_REASONS.issubset(values)
    assert SENDER_REASONS.issubset(values)


@pytest.mark.parametrize(
    ("reason", "hard", "expected"),
    [
        ("userunknown", True, BounceClass.HARD),
        ("hostunknown", True, BounceClass.HARD),
        ("hasmoved", True, BounceClass.HARD),
        ("notaccept", True, BounceClass.HARD),
        ("userunknown", False, BounceClass.SOFT),  # a 4xx "no such user"
        ("mailboxfull", False, BounceClass.SOFT),
        ("suspend", False, BounceClass.SOFT),
        ("systemfull", False, BounceClass.SOFT),
        ("expired", False, BounceClass.SOFT),
        ("blocked", False, BounceClass.SENDER),
        ("spamdetected", False, BounceClass.SENDER),
        ("badreputation", False, BounceClass.SENDER),
        ("requireptr", False, BounceClass.SENDER),
        ("authfailure", False, BounceClass.SENDER),
        ("policyviolation", False, BounceClass.SENDER),
        ("blocked", True, BounceClass.SENDER),  # our problem, whatever the parser says
        ("systemerror", False, BounceClass.NEUTRAL),
        ("undefined", None, BounceClass.NEUTRAL),
        (None, None, BounceClass.NEUTRAL),
    ],
)
def test_bounce_classes(reason: str | None, hard: bool | None, expected: BounceClass) -> None:
    assert bounce_class(reason, hard) is expected


@pytest.mark.parametrize(
    ("f", "suppress", "reason", "why"),
    [
        # hard bounce: at once
        (facts(reason="userunknown", hard=True), True, SuppressionReason.HARD_BOUNCE, "hard"),
        # soft bounces: N distinct days within D days
        (facts(reason="mailboxfull", hard=False, soft_bounce_days=1), False, None, "1 of 3"),
        (facts(reason="mailboxfull", hard=False, soft_bounce_days=2), False, None, "2 of 3"),
        (
            facts(reason="mailboxfull", hard=False, soft_bounce_days=3),
            True,
            SuppressionReason.SOFT_BOUNCE,
            "3 distinct days within 14",
        ),
        (
            facts(reason="suspend", hard=False, soft_bounce_days=4),
            True,
            SuppressionReason.SOFT_BOUNCE,
            "soft",
        ),
        # sender-side reasons never suppress, however often
        (facts(reason="blocked", hard=False, soft_bounce_days=9), False, None, "sender-side"),
        (facts(reason="spamdetected", hard=False), False, None, "sender-side"),
        (facts(reason="badreputation", hard=False), False, None, "sender-side"),
        (facts(reason="requireptr", hard=False), False, None, "sender-side"),
        (facts(reason="authfailure", hard=False), False, None, "sender-side"),
        (facts(reason="systemerror", hard=False, soft_bounce_days=5), False, None, "not count"),
        # complaints per feedback type
        (facts(C, feedback_type="abuse"), True, SuppressionReason.COMPLAINT, "complaint (abuse)"),
        (facts(C, feedback_type="fraud"), True, SuppressionReason.COMPLAINT, "fraud"),
        (facts(C, feedback_type="virus"), True, SuppressionReason.COMPLAINT, "virus"),
        (facts(UNSUB, feedback_type="opt-out"), True, SuppressionReason.UNSUBSCRIBE, "opt-out"),
        # one-click, unsub+TOKEN mail, the operator: no ARF type, always honoured
        (facts(UNSUB, feedback_type=None), True, SuppressionReason.UNSUBSCRIBE, "unsubscribe"),
        (facts(C, feedback_type=None), True, SuppressionReason.COMPLAINT, "abuse"),
        (facts(C, feedback_type="not-spam"), False, None, "not-spam"),
        (facts(C, feedback_type="other"), False, None, "not configured"),
        # recorded, no action
        (facts(EventKind.AUTO_REPLIED), False, None, "recorded"),
        (facts(EventKind.DELIVERED), False, None, "recorded"),
        (facts(EventKind.DEFERRED, reason="mailboxfull"), False, None, "recorded"),
        # the allowlist always wins
        (facts(reason="userunknown", hard=True, allowlisted=True), False, None, "allowlisted"),
        (facts(C, feedback_type="abuse", allowlisted=True), False, None, "allowlisted"),
        # trust: a forged (unmatched) report never acts under the default
        (facts(reason="userunknown", hard=True, trust=U), False, None, "unverified"),
        (facts(C, feedback_type="abuse", trust=U), False, None, "unverified"),
        (facts(reason="userunknown", hard=True, trust=Trust.LOCAL), True, None, "hard"),
        # nothing to suppress
        (facts(reason="userunknown", hard=True, address=None), False, None, "names no address"),
        (facts(reason="userunknown", hard=True, already_suppressed=True), False, None, "already"),
    ],
)
def test_event_rules(
    f: EventFacts, suppress: bool, reason: SuppressionReason | None, why: str
) -> None:
    decision = decide_event(f, RULES)
    assert decision.suppress is suppress
    if reason is not None:
        assert decision.reason is reason
    assert why in decision.why


def test_trust_any_acts_on_unmatched_reports() -> None:
    rules = Rules(trust_any=True)
    assert decide_event(facts(reason="userunknown", hard=True, trust=U), rules).suppress
    assert decide_event(facts(C, feedback_type="abuse", trust=U), rules).suppress
    assert not decide_event(
        facts(C, feedback_type="abuse", trust=U, allowlisted=True), rules
    ).suppress


def test_rules_are_configurable() -> None:
    rules = Rules(soft_bounce_threshold=2, complaint_types=frozenset({"abuse", "other"}))
    assert decide_event(facts(reason="mailboxfull", hard=False, soft_bounce_days=2), rules).suppress
    assert decide_event(facts(C, feedback_type="other"), rules).suppress
    assert not decide_event(facts(C, feedback_type="fraud"), rules).suppress
