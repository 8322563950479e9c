"""Pure suppression rules: given the facts, decide. No database, no clock of its own.

Keeping the decisions here (and the lookups in ``monitor.store``) lets the rules be tested
exhaustively with plain values and read in one place by a postmaster. Two questions live here:

* ``decide_verdict``: may we send to this address now (suppression list vs allowlist)?
* ``decide_event``: does this bounce/complaint put the address on the list? In order:
  the allowlist wins; under ``trust = verified`` only events matched to mail we sent act
  (a forged bounce must not suppress an address we never mailed); a hard bounce suppresses
  at once; a soft bounce whose reason is about the recipient's mailbox (``SOFT_REASONS``)
  suppresses once it happened on ``soft_bounce_threshold`` distinct days within
  ``soft_bounce_window_days``; reasons that are about *us* (``SENDER_REASONS``: blocked,
  spam detected, reputation, PTR, authentication, rate...) never suppress, because the
  recipient would receive mail once we fix our side; complaints of the configured
  Feedback-Types (RFC 5965 7.3) suppress at once, ``not-spam`` never; an unsubscribe that
  is not an ARF report (one-click, mailto, operator) always suppresses; deliveries, delays
  and auto-replies (RFC 3834) are recorded only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from monitor.enums import EventKind, ListScope, SuppressionReason, Trust
from monitor.store.suppressions import ListEntry

__all__ = [
    "SENDER_REASONS",
    "SOFT_REASONS",
    "BounceClass",
    "Decision",
    "EventFacts",
    "ListEntry",
    "Rules",
    "Verdict",
    "bounce_class",
    "decide_event",
    "decide_verdict",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """May we send to ``address``, and why (the entry that decided)."""

    address: str
    suppressed: bool
    why: str
    entry: ListEntry | None = None
    allowed_by: ListEntry | None = None


def _describe(entry: ListEntry) -> str:
    """``address suppressed (reason), since ..., until ..., note: ...``: the why of a
    suppressed verdict, written for each listed address of a checked list."""
    what = "address" if entry.scope is ListScope.ADDRESS else f"domain {entry.value}"
    why = f"{what} suppressed ({entry.reason.value if entry.reason else 'unknown'})"
    if entry.created_at:
        why += f", since {_minute(entry.created_at)}Z"
    if entry.expires_at:
        why += f", until {_minute(entry.expires_at)}Z"
    if entry.note:
        why += f", note: {entry.note}"
    return why


def _minute(dt: datetime) -> str:
    """``dt`` to the minute, ``2026-12-03 16:11``: the text of ``f"{dt:%Y-%m-%d %H:%M}"``
    (its own clock's fields; a year before 1000 unpadded, as glibc's ``%Y`` gives it) at a
    third of the cost, ``strftime`` being half of ``_describe``."""
    return "%d-%02d-%02d %02d:%02d" % (dt.year, dt.month, dt.day, dt.hour, dt.minute)  # noqa: UP031 - five integer fields, cheaper than an f-string's


def _address_first(entries: list[ListEntry]) -> ListEntry:
    """The entry that decides: the address's own before its domain's."""
    if len(entries) == 1:  # nearly always: one entry, no choice to make
        return entries[0]
    return min(entries, key=lambda e: e.scope is not ListScope.ADDRESS)


def decide_verdict(
    address: str,
    *,
    suppressions: list[ListEntry],
    allows: list[ListEntry],
    now: datetime,
) -> Verdict:
    """Decide whether ``address`` (normalised) may be mailed.

    Precedence: an allowlist entry (address or its domain) always wins; otherwise an
    active address entry, then an active whole-domain entry, suppresses. Expired entries
    are ignored even before the expiry sweep deletes them.
    """
    active = [e for e in suppressions if e.active(now)]
    if allows:
        allow = _address_first(allows)
        if active:
            why = f"allowlisted ({allow.scope.value} {allow.value}) despite: {_describe(active[0])}"
        else:
            why = f"allowlisted ({allow.scope.value} {allow.value})"
        return Verdict(address=address, suppressed=False, why=why, allowed_by=allow)
    if not active:
        return Verdict(address=address, suppressed=False, why="not suppressed")
    entry = _address_first(active)
    return Verdict(address=address, suppressed=True, why=_describe(entry), entry=entry)


# --------------------------------------------------------------------------- event rules

#: Recipient-side temporary failures that count towards the soft-bounce threshold (values
#: of ``parsers.records.Reason``). ``expired`` counts: a domain whose servers stay
#: unreachable for the whole retry period on several days is as dead as a full mailbox.
#: A 4xx userunknown/hostunknown/hasmoved/notaccept (``hard`` false) counts too.
SOFT_REASONS = frozenset(
    {
        "mailboxfull",
        "suspend",
        "systemfull",
        "filtered",
        "expired",
        "mailererror",
        "userunknown",
        "hostunknown",
        "hasmoved",
        "notaccept",
    }
)
#: Failures caused by the sender (our IPs, content, authentication, rate, protocol): they
#: never suppress the recipient and show in reports instead.
SENDER_REASONS = frozenset(
    {
        "blocked",
        "spamdetected",
        "badreputation",
        "requireptr",
        "authfailure",
        "policyviolation",
        "securityerror",
        "norelaying",
        "notcompliantrfc",
        "toomanyconn",
        "speeding",
        "contenterror",
        "virusdetected",
        "mesgtoobig",
        "exceedlimit",
        "rejected",
        "syntaxerror",
    }
)


class BounceClass(StrEnum):
    HARD = "hard"  # suppress at once
    SOFT = "soft"  # counts towards the threshold
    SENDER = "sender"  # our problem: never suppresses
    NEUTRAL = "neutral"  # says nothing about the mailbox (systemerror, onhold, undefined...)


def bounce_class(reason: str | None, hard: bool | None) -> BounceClass:
    """Sender-side reasons first (a parser's ``hard`` never overrides them), then hard."""
    if reason in SENDER_REASONS:
        return BounceClass.SENDER
    if hard:
        return BounceClass.HARD
    if reason in SOFT_REASONS:
        return BounceClass.SOFT
    return BounceClass.NEUTRAL


@dataclass(frozen=True, slots=True, kw_only=True)
class Rules:
    """The configurable part of the event rules (``[suppression]`` in config.toml)."""

    soft_bounce_threshold: int = 3
    soft_bounce_window_days: int = 14
    trust_any: bool = False
    complaint_types: frozenset[str] = frozenset({"abuse", "fraud", "virus", "opt-out"})


@dataclass(frozen=True, slots=True, kw_only=True)
class EventFacts:
    """What the store knows about one event when the rules are asked."""

    kind: EventKind
    address: str | None
    trust: Trust
    reason: str | None = None  # parsers.records.Reason value
    hard: bool | None = None
    feedback_type: str | None = None
    allowlisted: bool = False
    already_suppressed: bool = False
    #: Distinct UTC days with a counted soft bounce inside the window, this event included.
    soft_bounce_days: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    suppress: bool
    why: str
    reason: SuppressionReason | None = None


def _bounce_decision(facts: EventFacts, rules: Rules) -> Decision:
    cls = bounce_class(facts.reason, facts.hard)
    if cls is BounceClass.SENDER:
        return Decision(False, f"sender-side reason {facts.reason}: never suppresses")
    if cls is BounceClass.HARD:
        return Decision(True, f"hard bounce ({facts.reason})", SuppressionReason.HARD_BOUNCE)
    if cls is BounceClass.NEUTRAL:
        return Decision(False, f"reason {facts.reason or 'unknown'} does not count")
    days, need = facts.soft_bounce_days, rules.soft_bounce_threshold
    window = rules.soft_bounce_window_days
    if days >= need:
        return Decision(
            True,
            f"soft bounces ({facts.reason}) on {days} distinct days within {window} days",
            SuppressionReason.SOFT_BOUNCE,
        )
    return Decision(False, f"soft bounce {days} of {need} distinct days within {window} days")


def _complaint_decision(facts: EventFacts, rules: Rules) -> Decision:
    if facts.kind is EventKind.UNSUBSCRIBED and facts.feedback_type is None:
        # our own one-click endpoint, an unsub+TOKEN mail, the operator: always honoured
        # (RFC 8058; Gmail and Yahoo require it within two days)
        return Decision(True, "unsubscribe request", SuppressionReason.UNSUBSCRIBE)
    ftype = facts.feedback_type or "abuse"  # an FBL mail without Feedback-Type is a complaint
    if ftype == "not-spam":
        return Decision(False, "not-spam feedback: no action")
    if ftype not in rules.complaint_types:
        return Decision(False, f"feedback type {ftype} is not configured to suppress")
    if ftype == "opt-out":
        return Decision(True, "opt-out request", SuppressionReason.UNSUBSCRIBE)
    return Decision(True, f"complaint ({ftype})", SuppressionReason.COMPLAINT)


def decide_event(facts: EventFacts, rules: Rules) -> Decision:
    """Whether one event suppresses its address, and why (see the module docstring)."""
    if facts.kind is EventKind.BOUNCED:
        decision = _bounce_decision(facts, rules)
    elif facts.kind in (EventKind.COMPLAINED, EventKind.UNSUBSCRIBED):
        decision = _complaint_decision(facts, rules)
    else:
        return Decision(False, f"{facts.kind.value}: recorded, no action")
    if not decision.suppress:
        return decision
    if facts.address is None:
        return Decision(False, f"{decision.why}, but the report names no address")
    if facts.allowlisted:
        return Decision(False, f"{decision.why}, but the address is allowlisted")
    if facts.trust is Trust.UNVERIFIED and not rules.trust_any:
        return Decision(False, f"{decision.why}, but unverified: not matched to mail we sent")
    if facts.already_suppressed:
        return Decision(False, f"{decision.why}; already suppressed")
    return decision
