"""Closed vocabularies of the application shell (stored as their string values)."""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "CheckCategory",
    "CheckStatus",
    "EventKind",
    "ItemOutcome",
    "ListScope",
    "MessageState",
    "SuppressionReason",
    "Trust",
]


class EventKind(StrEnum):
    """What happened to a message for one recipient."""

    DELIVERED = "delivered"
    DEFERRED = "deferred"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    UNSUBSCRIBED = "unsubscribed"
    AUTO_REPLIED = "auto-replied"
    OPENED = "opened"
    CLICKED = "clicked"


class Trust(StrEnum):
    """Whether an event was matched to something we sent (forged bounces are unverified)."""

    VERIFIED = "verified"  # VERP token valid, or Message-ID / recipient found in the send log
    UNVERIFIED = "unverified"  # nothing we sent matches: stored, reported, never acted on
    LOCAL = "local"  # produced by deliverwatch itself (relay, web unsubscribe, CLI)


class SuppressionReason(StrEnum):
    HARD_BOUNCE = "hard-bounce"
    SOFT_BOUNCE = "soft-bounce"
    COMPLAINT = "complaint"
    UNSUBSCRIBE = "unsubscribe"
    MANUAL = "manual"
    IMPORT = "import"


class ListScope(StrEnum):
    """A suppression or allowlist entry covers one address or a whole domain."""

    ADDRESS = "address"
    DOMAIN = "domain"


class MessageState(StrEnum):
    """Life cycle of a sent message in the relay queue (or an imported send-log row)."""

    QUEUED = "queued"
    SENDING = "sending"
    DEFERRED = "deferred"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    EXPIRED = "expired"
    SUPPRESSED = "suppressed"
    IMPORTED = "imported"  # from a send log: we know it was sent, not its fate
    HELD = "held"  # the relay keeps it, undelivered, until an operator releases or deletes it
    SCANNING = "scanning"  # waits for the content check of its campaign (``[relay.content]``)


class ItemOutcome(StrEnum):
    """What happened to one mailbox message."""

    PROCESSED = "processed"
    FAILED = "failed"
    DUPLICATE = "duplicate"


class CheckCategory(StrEnum):
    BLOCKLIST = "blocklist"
    AUTH = "auth"


class CheckStatus(StrEnum):
    """Outcome of one DNS check; ``unknown``/``error`` are never read as clean or listed."""

    OK = "ok"  # not listed / record passes
    LISTED = "listed"
    WARN = "warn"  # record works but is weak
    FAIL = "fail"  # record missing or broken
    ERROR = "error"  # the list answered with an error code (public resolver, rate limit)
    UNKNOWN = "unknown"  # timeout, SERVFAIL: could not be decided
