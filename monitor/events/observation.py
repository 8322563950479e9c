"""What a source tells the events core, and what the core tells it back.

Every source (the IMAP poller, the relay, the web service, the send-log import, the CLI)
describes each fact the same way: an :class:`Observation` about one recipient of one sent
message. The core answers per group of observations (one mailbox message, one delivery
attempt) with a :class:`Recorded`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from monitor.enums import EventKind, Trust
from monitor.store.webhooks import WebhookRoute
from monitor.suppression.policy import Rules
from parsers.address import AddressError, normalize_address

__all__ = [
    "Decided",
    "Effects",
    "EventContext",
    "Observation",
    "Recorded",
    "event_key",
    "normalize_recipient",
    "unsubscribe_key",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class EventContext:
    """The configured part of the decisions (``[suppression]``), the same for every source,
    and the webhook endpoints (``[web.webhooks]``) whose outbox rows are written with the
    events they announce."""

    rules: Rules = field(default_factory=Rules)
    verp_key: bytes | None = None
    lowercase_local: bool = True
    #: Keys of the web tokens (``parsers.webtoken``), current first: an ``unsub+TOKEN@``
    #: mail is honoured only when its token verifies under one of them.
    web_keys: tuple[bytes, ...] = ()
    webhooks: tuple[WebhookRoute, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Observation:
    """One fact about one recipient of one sent message.

    ``key`` is the idempotency key, chosen by the source so that seeing the same fact again
    (a mailbox message read twice, a delivery result recorded again after a crash) stores
    nothing new. What ties the fact to what we sent, strongest first: ``sent_id`` (the
    source knows the ``sent_messages`` row: relay, web), ``verp_token``, ``message_id`` of
    the original, the recipient alone (``monitor.events.trust``). ``trust=Trust.LOCAL`` says
    the source itself is the proof (the relay's own delivery attempt, the operator).
    """

    kind: EventKind
    key: str
    source: str  # "imap:<mailbox>", "relay", "web", "sendlog", "cli"
    occurred_at: datetime
    recipient: str | None = None  # as the source saw it; the core normalises it
    sent_id: int | None = None
    verp_token: str | None = None
    message_id: str | None = None  # of the original message, bare (``monitor.store.events``)
    trust: Trust | None = None  # None: decided by the trust rules; LOCAL: the source vouches
    reason: str = "undefined"  # parsers.records.Reason value
    hard: bool | None = None
    status: str | None = None  # RFC 3463 X.Y.Z
    reply_code: str | None = None
    diagnostic: str | None = None
    remote_mta: str | None = None
    feedback_type: str | None = None  # RFC 5965 Feedback-Type of a complaint
    campaign: str | None = None
    source_ip: str | None = None
    source_ref: str | None = None  # where the fact came from (mailbox:uidvalidity:uid, queue id)
    details: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Effects:
    """What recording did, counted (summed over a batch or a poll by the caller)."""

    bounces: int = 0
    delays: int = 0
    deliveries: int = 0
    complaints: int = 0
    auto_replies: int = 0
    opens: int = 0
    clicks: int = 0
    reports: int = 0
    duplicate_reports: int = 0
    unverified: int = 0
    suppressed: int = 0
    suppressed_addresses: list[str] = field(default_factory=list)

    def add(self, other: Effects) -> None:
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            setattr(self, f.name, mine + theirs if isinstance(mine, int) else mine)
        self.suppressed_addresses.extend(other.suppressed_addresses)

    def count(self, kind: EventKind) -> None:
        name = _COUNTER[kind]
        setattr(self, name, getattr(self, name) + 1)


_COUNTER = {
    EventKind.BOUNCED: "bounces",
    EventKind.DEFERRED: "delays",
    EventKind.DELIVERED: "deliveries",
    EventKind.COMPLAINED: "complaints",
    EventKind.UNSUBSCRIBED: "complaints",
    EventKind.AUTO_REPLIED: "auto_replies",
    EventKind.OPENED: "opens",
    EventKind.CLICKED: "clicks",
}


@dataclass(frozen=True, slots=True)
class Decided:
    """What the core did with one observation."""

    address: str | None
    trust: Trust
    matched_by: str | None
    stored: bool  # False: an earlier run stored this very fact (same key)
    suppressed: bool
    why: str
    sent_id: int | None = None


@dataclass
class Recorded:
    """The core's answer for one group of observations (one mailbox message, one attempt).

    ``error`` set: the database refused this group's data; nothing of it was stored and the
    rest of the batch went ahead (the per-item boundary).
    """

    effects: Effects = field(default_factory=Effects)
    decided: list[Decided] = field(default_factory=list)
    #: At least one observation was tied to mail we sent (or ``trust = "any"``)
    verified: bool = False
    error: str | None = None


def normalize_recipient(raw: str | None, lowercase: bool) -> tuple[str | None, str | None]:
    """(normalised address, None), or (None, the raw text) when it cannot be normalised."""
    if not raw:
        return None, None
    try:
        return normalize_address(raw, lowercase_local=lowercase), None
    except AddressError:
        return None, raw[:320]


def event_key(*parts: object) -> str:
    """An idempotency key from the parts that identify a fact (SHA-256, hex)."""
    basis = ":".join("" if p is None else str(p) for p in parts)
    return hashlib.sha256(basis.encode("utf-8", "replace")).hexdigest()


def unsubscribe_key(sent_id: int) -> str:
    """The idempotency key of an unsubscribe request for one sent message, whichever way it
    came (the one-click POST, the page's button, ``unsub+TOKEN@`` mail): one event in all."""
    return event_key("unsubscribe", sent_id)
