"""The relay's queue: accepted messages, each recipient's delivery state, and leases.

A message the relay accepts is one ``relay_messages`` row (envelope, body) and one
``sent_messages`` row per recipient, written in the transaction whose commit the relay waits
for before it answers 250 (``enqueue``). Delivery claims due recipients with a lease
(``claim_due``: state ``sending``, ``lease_owner``, ``lease_until``), so a relay killed in the
middle of a delivery leaves rows whose lease runs out and that the next claim takes again:
at least once, never lost. ``record_outcomes`` writes what a delivery attempt did; once every
recipient of a message is final its body is dropped. The operator's functions (``list_queue``,
``hold``, ``release``, ``retry``, ``delete``) take a :class:`QueueFilter`.

On PostgreSQL the claim reads ``FOR UPDATE SKIP LOCKED``, so several relays can share one
queue without taking the same row (issue 17); SQLite has one writer at a time anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, and_, bindparam, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from monitor.enums import MessageState
from monitor.store.lookups import chunks
from monitor.store.models import RelayMessage, SentMessage

__all__ = [
    "FINAL",
    "PENDING",
    "Due",
    "Outcome",
    "QueueFilter",
    "QueueRow",
    "QueuedMessage",
    "QueuedRecipient",
    "claim_due",
    "delete_queued",
    "enqueue",
    "hold",
    "lease_owners",
    "list_queue",
    "message_bodies",
    "note_hold",
    "queue_summary",
    "record_outcomes",
    "release",
    "release_leases",
    "renew_leases",
    "retry",
    "show_message",
]

S = MessageState
#: A recipient in one of these states will not be tried again.
FINAL = frozenset({S.DELIVERED, S.BOUNCED, S.EXPIRED})
#: Still the relay's business (shown by ``deliverwatch queue``).
PENDING = frozenset({S.QUEUED, S.SENDING, S.DEFERRED, S.HELD, S.SCANNING})
_DUE = (S.QUEUED, S.DEFERRED)
_SENT = cast(Table, SentMessage.__table__)


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedRecipient:
    address: str  # normalised
    notify: str | None = None  # RFC 3461 NOTIFY, as given ("FAILURE,DELAY", "NEVER")
    orcpt: str | None = None  # RFC 3461 ORCPT


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedMessage:
    """A message as the relay accepted it."""

    queue_id: str
    submitted_by: str
    envelope_sender: str  # "" for the null reverse-path
    body: bytes
    received_at: datetime
    expires_at: datetime
    recipients: tuple[QueuedRecipient, ...]
    header_from: str | None = None
    message_id: str | None = None  # bare
    campaign: str | None = None
    stream: str = "bulk"
    smtputf8: bool = False
    body_8bit: bool = False
    dsn_ret: str | None = None
    dsn_envid: str | None = None
    client_ip: str | None = None


def enqueue(session: Session, messages: Sequence[QueuedMessage]) -> list[list[int]]:
    """Insert ``messages`` and their recipients; the ``sent_messages`` ids per message.

    Each recipient is due at once (``next_attempt_at`` = accepted) and counts as sent that
    moment (``sent_at``), which is what the report's volume and the trust rules read.
    """
    if not messages:
        return []
    table = cast(Table, RelayMessage.__table__)
    ids = session.scalars(
        table.insert().returning(table.c.id, sort_by_parameter_order=True),
        [
            {
                "queue_id": m.queue_id,
                "submitted_by": m.submitted_by[:100],
                "envelope_sender": m.envelope_sender,
                "header_from": m.header_from,
                "message_id": m.message_id,
                "campaign": m.campaign,
                "stream": m.stream,
                "size": len(m.body),
                "body": m.body,
                "smtputf8": m.smtputf8,
                "body_8bit": m.body_8bit,
                "dsn_ret": m.dsn_ret,
                "dsn_envid": m.dsn_envid,
                "client_ip": m.client_ip,
                "hold_reason": None,
                "received_at": m.received_at,
            }
            for m in messages
        ],
    ).all()
    rows = []
    for message_pk, m in zip(ids, messages, strict=True):
        for n, rcpt in enumerate(m.recipients, start=1):
            rows.append(
                {
                    "queue_id": f"{m.queue_id}.{n}",
                    "message_id": m.message_id,
                    "verp_token": None,
                    "campaign": m.campaign,
                    "envelope_sender": m.envelope_sender,
                    "recipient": rcpt.address,
                    "recipient_domain": rcpt.address.rsplit("@", 1)[-1],
                    "source_ip": None,
                    "state": S.QUEUED,
                    "attempts": 0,
                    "next_attempt_at": m.received_at,
                    "last_reply": None,
                    "size": len(m.body),
                    "created_at": m.received_at,
                    "sent_at": m.received_at,
                    "updated_at": m.received_at,
                    "relay_message_id": message_pk,
                    "notify": rcpt.notify,
                    "orcpt": rcpt.orcpt,
                    "expires_at": m.expires_at,
                }
            )
    sent_ids = session.scalars(
        _SENT.insert().returning(_SENT.c.id, sort_by_parameter_order=True), rows
    ).all()
    out: list[list[int]] = []
    position = 0
    for m in messages:
        out.append([int(i) for i in sent_ids[position : position + len(m.recipients)]])
        position += len(m.recipients)
    return out


@dataclass(frozen=True, slots=True)
class Due:
    """A claimed recipient with what delivering it needs of its message."""

    id: int
    relay_message_id: int
    queue_id: str
    recipient: str
    domain: str
    attempts: int
    notify: str | None
    orcpt: str | None
    expires_at: datetime | None
    envelope_sender: str
    campaign: str | None
    message_id: str | None
    stream: str
    submitted_by: str
    header_from: str | None
    smtputf8: bool
    body_8bit: bool
    dsn_ret: str | None
    dsn_envid: str | None
    received_at: datetime


def _claimable(now: datetime) -> Any:
    return or_(
        and_(SentMessage.state.in_(_DUE), SentMessage.next_attempt_at <= now),
        and_(SentMessage.state == S.SENDING, SentMessage.lease_until < now),
    )


def claim_due(
    session: Session,
    *,
    now: datetime,
    owner: str,
    lease_until: datetime,
    limit: int,
    skip_domains: Iterable[str] = (),
) -> list[Due]:
    """Take up to ``limit`` recipients whose time has come (or whose lease ran out), oldest
    first, and lease them to ``owner`` until ``lease_until``. ``skip_domains`` are left for
    later (e.g. destinations the caller has no room for now)."""
    q = (
        select(SentMessage.id)
        .where(_claimable(now), SentMessage.relay_message_id.is_not(None))
        .order_by(SentMessage.next_attempt_at, SentMessage.id)
        .limit(limit)
    )
    skip = sorted(set(skip_domains))
    if skip:
        q = q.where(SentMessage.recipient_domain.not_in(skip))
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    ids = list(session.scalars(q))
    if not ids:
        return []
    session.execute(
        update(SentMessage)
        .where(SentMessage.id.in_(ids))
        .values(state=S.SENDING, lease_owner=owner[:64], lease_until=lease_until, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    s, m = SentMessage, RelayMessage
    columns: list[Any] = [
        s.id, s.relay_message_id, s.queue_id, s.recipient, s.recipient_domain, s.attempts,
        s.notify, s.orcpt, s.expires_at, m.envelope_sender, m.campaign, m.message_id,
        m.stream, m.submitted_by, m.header_from, m.smtputf8, m.body_8bit, m.dsn_ret,
        m.dsn_envid, m.received_at,
    ]  # fmt: skip
    q = (
        select(*columns)
        .join(m, m.id == s.relay_message_id)
        .where(s.id.in_(ids))
        .order_by(s.next_attempt_at, s.id)
    )
    return [Due(*cast(tuple[Any, ...], row)) for row in session.execute(q)]


def message_bodies(session: Session, message_ids: Iterable[int]) -> dict[int, bytes | None]:
    """The bodies of relay messages (None once dropped)."""
    found: dict[int, bytes | None] = {}
    for part in chunks(message_ids):
        q = select(RelayMessage.id, RelayMessage.body).where(RelayMessage.id.in_(part))
        found.update({int(i): b for i, b in session.execute(q)})
    return found


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """What one delivery attempt (or the decision not to make one) did to a recipient."""

    id: int
    state: MessageState  # DELIVERED, DEFERRED, BOUNCED, EXPIRED, HELD, QUEUED
    reply: str | None = None
    remote_mx: str | None = None
    source_ip: str | None = None
    next_attempt_at: datetime | None = None  # DEFERRED: when to try again
    attempted: bool = True  # False: no SMTP attempt was made (held, lease given back)


def record_outcomes(session: Session, outcomes: Sequence[Outcome], *, now: datetime) -> None:
    """Write the outcomes, give back their leases, and drop the bodies of messages all of
    whose recipients are now final."""
    if not outcomes:
        return
    params = [
        {
            "b_id": o.id,
            "b_state": o.state.value,
            "b_add": 1 if o.attempted else 0,
            "b_reply": o.reply[:2000] if o.reply else None,
            "b_mx": o.remote_mx[:255] if o.remote_mx else None,
            "b_ip": o.source_ip,
            "b_next": o.next_attempt_at,
            "b_final": now if o.state in FINAL else None,
        }
        for o in outcomes
    ]
    stmt = (
        update(_SENT)
        .where(_SENT.c.id == bindparam("b_id"))
        .values(
            state=bindparam("b_state"),
            attempts=_SENT.c.attempts + bindparam("b_add"),
            last_reply=func.coalesce(bindparam("b_reply"), _SENT.c.last_reply),
            remote_mx=func.coalesce(bindparam("b_mx"), _SENT.c.remote_mx),
            source_ip=func.coalesce(bindparam("b_ip"), _SENT.c.source_ip),
            next_attempt_at=bindparam("b_next", type_=_SENT.c.next_attempt_at.type),
            final_at=bindparam("b_final", type_=_SENT.c.final_at.type),
            lease_owner=None,
            lease_until=None,
            updated_at=now,
        )
    )
    session.connection().execute(stmt, params)
    finals = [o.id for o in outcomes if o.state in FINAL]
    if finals:
        _drop_finished_bodies(session, finals)


def _drop_finished_bodies(session: Session, sent_ids: Sequence[int]) -> None:
    message_ids: set[int] = set()
    for part in chunks(sent_ids):
        q = select(SentMessage.relay_message_id).where(SentMessage.id.in_(part)).distinct()
        message_ids.update(int(i) for i in session.scalars(q) if i is not None)
    pending = (
        select(SentMessage.id)
        .where(
            SentMessage.relay_message_id == RelayMessage.id,
            SentMessage.state.not_in(sorted(FINAL)),
        )
        .exists()
    )
    for part in chunks(message_ids):
        session.execute(
            update(RelayMessage)
            .where(RelayMessage.id.in_(part), ~pending)
            .values(body=None)
            .execution_options(synchronize_session=False)
        )


def release_leases(session: Session, owner: str) -> int:
    """Give back every lease of ``owner`` (a relay stopping): due again at once."""
    hit = session.execute(
        update(SentMessage)
        .where(SentMessage.lease_owner == owner, SentMessage.state == S.SENDING)
        .values(state=S.DEFERRED, lease_owner=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    return int(hit.rowcount)  # type: ignore[attr-defined]


def renew_leases(session: Session, owner: str, ids: Sequence[int], *, lease_until: datetime) -> int:
    """Extend the leases ``owner`` still holds on ``ids`` (rows a live relay has in hand),
    so that only the rows of a relay that died are claimed again."""
    hit = 0
    for part in chunks(ids):
        result = session.execute(
            update(SentMessage)
            .where(
                SentMessage.id.in_(part),
                SentMessage.lease_owner == owner[:64],
                SentMessage.state == S.SENDING,
            )
            .values(lease_until=lease_until)
            .execution_options(synchronize_session=False)
        )
        hit += int(result.rowcount)  # type: ignore[attr-defined]
    return hit


def lease_owners(session: Session) -> list[str]:
    """Who holds leases now (relay processes, ``host:pid``), for a relay that starts to give
    back the leases of a dead process on its own host at once."""
    q = (
        select(SentMessage.lease_owner)
        .where(SentMessage.state == S.SENDING, SentMessage.lease_owner.is_not(None))
        .distinct()
    )
    return sorted(str(o) for o in session.scalars(q))


def note_hold(session: Session, relay_message_ids: Iterable[int], reason: str) -> None:
    """Say why messages were held (``hold_reason``) when the relay itself held them: the
    recipients became ``held`` through ``record_outcomes`` (a message that made delivery
    fail in an unexpected way is kept for the operator, not retried in a loop)."""
    for part in chunks(relay_message_ids):
        session.execute(
            update(RelayMessage)
            .where(RelayMessage.id.in_(part))
            .values(hold_reason=reason[:2000])
            .execution_options(synchronize_session=False)
        )


# --------------------------------------------------------------------------- operators


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueFilter:
    """Which recipients an operator means; every field narrows."""

    queue_id: str | None = None  # a message ("ABC") or one recipient ("ABC.2")
    domain: str | None = None
    campaign: str | None = None
    states: tuple[MessageState, ...] = ()  # default: every pending state
    older_than: datetime | None = None  # accepted before this time
    recipient: str | None = None


@dataclass(frozen=True, slots=True)
class QueueRow:
    queue_id: str
    recipient: str
    state: MessageState
    attempts: int
    next_attempt_at: datetime | None
    last_reply: str | None
    campaign: str | None
    envelope_sender: str | None
    received_at: datetime | None
    expires_at: datetime | None
    remote_mx: str | None
    hold_reason: str | None


def _filtered(q: Select[Any], flt: QueueFilter) -> Select[Any]:
    s = SentMessage
    q = q.where(s.relay_message_id.is_not(None))
    states = flt.states or tuple(sorted(PENDING))
    q = q.where(s.state.in_(states))
    if flt.queue_id:
        if "." in flt.queue_id:
            q = q.where(s.queue_id == flt.queue_id)
        else:
            q = q.where(s.queue_id.startswith(f"{flt.queue_id}.", autoescape=True))
    if flt.domain:
        q = q.where(s.recipient_domain == flt.domain.lower().rstrip("."))
    if flt.campaign:
        q = q.where(s.campaign == flt.campaign)
    if flt.older_than is not None:
        q = q.where(s.sent_at < flt.older_than)
    if flt.recipient:
        q = q.where(s.recipient == flt.recipient)
    return q


def list_queue(session: Session, flt: QueueFilter, *, limit: int = 1000) -> list[QueueRow]:
    """Matching recipients, oldest first."""
    s, m = SentMessage, RelayMessage
    columns: list[Any] = [
        s.queue_id, s.recipient, s.state, s.attempts, s.next_attempt_at, s.last_reply,
        s.campaign, s.envelope_sender, m.received_at, s.expires_at, s.remote_mx, m.hold_reason,
    ]  # fmt: skip
    q: Select[Any] = select(*columns).join(m, m.id == s.relay_message_id)
    q = _filtered(q, flt).order_by(s.sent_at, s.id).limit(limit)
    return [QueueRow(*row) for row in session.execute(q)]


def show_message(session: Session, queue_id: str) -> tuple[RelayMessage, list[SentMessage]] | None:
    """One message (by its queue id, or one of its recipients' ids) with every recipient."""
    base = queue_id.split(".", 1)[0]
    message = session.scalar(select(RelayMessage).where(RelayMessage.queue_id == base))
    if message is None:
        return None
    rcpts = session.scalars(
        select(SentMessage)
        .where(SentMessage.relay_message_id == message.id)
        .order_by(SentMessage.id)
    )
    return message, list(rcpts)


def _ids(session: Session, flt: QueueFilter, states: Iterable[MessageState]) -> list[int]:
    wanted = tuple(st for st in (flt.states or tuple(PENDING)) if st in set(states))
    if not wanted:
        return []
    narrowed = QueueFilter(
        queue_id=flt.queue_id,
        domain=flt.domain,
        campaign=flt.campaign,
        states=wanted,
        older_than=flt.older_than,
        recipient=flt.recipient,
    )
    return [int(i) for i in session.scalars(_filtered(select(SentMessage.id), narrowed))]


def _set(session: Session, ids: list[int], **values: Any) -> int:
    for part in chunks(ids):
        session.execute(
            update(SentMessage)
            .where(SentMessage.id.in_(part))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    return len(ids)


def hold(session: Session, flt: QueueFilter, *, reason: str, now: datetime) -> int:
    """Keep matching queued or deferred recipients out of delivery until released."""
    ids = _ids(session, flt, (S.QUEUED, S.DEFERRED))
    _set(session, ids, state=S.HELD, updated_at=now)
    _note_hold(session, ids, reason)
    return len(ids)


def _note_hold(session: Session, ids: list[int], reason: str | None) -> None:
    messages: set[int] = set()
    for part in chunks(ids):
        q = select(SentMessage.relay_message_id).where(SentMessage.id.in_(part)).distinct()
        messages.update(int(i) for i in session.scalars(q) if i is not None)
    for part in chunks(messages):
        session.execute(
            update(RelayMessage)
            .where(RelayMessage.id.in_(part))
            .values(hold_reason=reason[:2000] if reason else None)
            .execution_options(synchronize_session=False)
        )


def release(session: Session, flt: QueueFilter, *, now: datetime) -> int:
    """Held recipients become due at once."""
    ids = _ids(session, flt, (S.HELD,))
    _set(session, ids, state=S.DEFERRED, next_attempt_at=now, updated_at=now)
    _note_hold(session, ids, None)
    return len(ids)


def retry(session: Session, flt: QueueFilter, *, now: datetime) -> int:
    """Queued and deferred recipients are due at once (their back-off is skipped)."""
    ids = _ids(session, flt, (S.QUEUED, S.DEFERRED))
    return _set(session, ids, next_attempt_at=now, updated_at=now)


def delete_queued(session: Session, flt: QueueFilter) -> int:
    """Remove matching recipients that were never delivered and are not being delivered
    now (queued, deferred, held): they were never sent, so nothing refers to them."""
    ids = _ids(session, flt, (S.QUEUED, S.DEFERRED, S.HELD, S.SCANNING))
    messages: set[int] = set()
    for part in chunks(ids):
        q = select(SentMessage.relay_message_id).where(SentMessage.id.in_(part)).distinct()
        messages.update(int(i) for i in session.scalars(q) if i is not None)
        session.execute(
            delete(SentMessage)
            .where(SentMessage.id.in_(part))
            .execution_options(synchronize_session=False)
        )
    left = exists().where(
        SentMessage.relay_message_id == RelayMessage.id,
        SentMessage.state.not_in(sorted(FINAL)),
    )
    for part in chunks(messages):
        session.execute(
            update(RelayMessage)
            .where(RelayMessage.id.in_(part), ~left)
            .values(body=None)
            .execution_options(synchronize_session=False)
        )
    return len(ids)


@dataclass
class QueueSummary:
    by_state: dict[str, int] = field(default_factory=dict)
    oldest: datetime | None = None  # accepted time of the oldest pending recipient

    @property
    def pending(self) -> int:
        return sum(self.by_state.get(st.value, 0) for st in PENDING)


def queue_summary(session: Session) -> QueueSummary:
    """Pending recipients per state and the oldest one's age (for ``queue`` and status)."""
    summary = QueueSummary()
    q = (
        select(SentMessage.state, func.count(), func.min(SentMessage.sent_at))
        .where(SentMessage.relay_message_id.is_not(None))
        .where(SentMessage.state.in_(sorted(PENDING)))
        .group_by(SentMessage.state)
    )
    for state, count, oldest in session.execute(q):
        summary.by_state[state.value] = int(count)
        if oldest is not None and (summary.oldest is None or oldest < summary.oldest):
            summary.oldest = oldest
    return summary
