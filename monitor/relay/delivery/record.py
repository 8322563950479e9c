"""From what an attempt learnt to what is stored: queue state, events, DSNs, in one transaction.

Each :class:`Attempt` (one recipient, one reply) becomes

* an ``Outcome`` for the queue: delivered and bounced are final; a deferral gets its next
  attempt after an exponential back-off with jitter (``retry_initial`` doubling per attempt
  up to ``retry_max``, times 0.8-1.2 so a burst of deferrals does not come back as one
  burst), but never later than the end of the queue lifetime, where one last attempt is
  made; a deferral at or past that end expires (RFC 5321 4.5.4.1, Postfix
  ``maximal_queue_lifetime``);
* an ``Observation`` for the events core (delivered / deferred / bounced, an expiry is a
  bounce with reason ``expired``), classified by ``parsers.reply`` exactly as a bounce in
  the mailbox would be, with ``trust=LOCAL`` and the ``sent_messages`` row, so the report's
  counts and the suppression policy come from real sending;
* when the submitter asked for it (RFC 3461 NOTIFY) and the message did not come from the
  null sender: a DSN recipient block (``failed``; ``delayed`` at the first deferral;
  ``relayed`` on delivery to a server that does not do DSN itself, RFC 3461 6.2).

:func:`write` stores a batch: ``record_outcomes``, the hold reasons, ``events.record`` and
the DSNs, all in the one transaction, so queue state and events never disagree.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from monitor.enums import EventKind, MessageState, Trust
from monitor.events import EventContext, Observation, event_key, record
from monitor.relay.delivery.dsn import DsnRecipient, build_dsn
from monitor.relay.delivery.result import Reply, Verdict
from monitor.relay.delivery.settings import DeliverySettings
from monitor.store import queue
from monitor.store.db import store_errors, write_turn
from monitor.store.queue import Due, Outcome
from parsers.records import Recipient
from parsers.reply import classify_reply, expired

__all__ = ["Attempt", "Batch", "Settled", "backoff", "settle", "write"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt (or the decision not to make one) did to one recipient."""

    due: Due
    reply: Reply
    source_ip: str | None = None
    remote_dsn: bool = False  # the server took NOTIFY over (RFC 3461 6.2)
    body: bytes | None = None  # the message, for a DSN that returns it
    #: The session was encrypted (STARTTLS); None: no session. Kept on the event so the
    #: compliance check can say how much mail to each provider went over TLS.
    tls: bool | None = None


@dataclass(frozen=True, slots=True)
class Settled:
    outcome: Outcome
    observation: Observation | None
    notice: DsnRecipient | None
    state: MessageState


def backoff(attempts: int, settings: DeliverySettings, rng: random.Random) -> float:
    """Seconds until the next try after ``attempts`` tries (the one just made included)."""
    exponent = min(max(attempts - 1, 0), 32)
    delay = min(settings.retry_initial * 2.0**exponent, settings.retry_max)
    return delay * rng.uniform(0.8, 1.2)


def _notify(due: Due) -> frozenset[str]:
    if not due.envelope_sender or not due.notify:
        return frozenset()  # never a DSN about mail from <> (RFC 3464 2)
    words = frozenset(w.strip().upper() for w in due.notify.split(","))
    return frozenset() if "NEVER" in words else words


def _observation(
    a: Attempt, kind: EventKind, rcpt: Recipient, attempt_no: int, now: datetime
) -> Observation:
    due = a.due
    return Observation(
        kind=kind,
        key=event_key("relay", due.id, attempt_no, kind.value),
        source="relay",
        occurred_at=now,
        recipient=due.recipient,
        sent_id=due.id,
        message_id=due.message_id,
        trust=Trust.LOCAL,
        reason=rcpt.reason.value,
        hard=False if kind is EventKind.DEFERRED else rcpt.hard,  # a deferral is never hard
        status=rcpt.status,
        reply_code=rcpt.reply_code,
        diagnostic=rcpt.diagnostic,
        remote_mta=a.reply.mx,
        campaign=due.campaign,
        source_ip=a.source_ip,
        source_ref=due.queue_id,
        details={"command": a.reply.command, "attempt": attempt_no}
        | ({} if a.tls is None else {"tls": a.tls}),
    )


def _state(a: Attempt, now: datetime) -> MessageState:
    verdict = a.reply.verdict
    if verdict is Verdict.DEFERRED and a.due.expires_at is not None and now >= a.due.expires_at:
        return MessageState.EXPIRED
    return {
        Verdict.DELIVERED: MessageState.DELIVERED,
        Verdict.BOUNCED: MessageState.BOUNCED,
        Verdict.DEFERRED: MessageState.DEFERRED,
        Verdict.HELD: MessageState.HELD,
    }[verdict]


def settle(a: Attempt, *, now: datetime, settings: DeliverySettings, rng: random.Random) -> Settled:
    """The outcome, event and DSN block of one attempt (module docstring)."""
    due, reply = a.due, a.reply
    state = _state(a, now)
    text = str(reply)
    if state is MessageState.HELD:
        outcome = Outcome(id=due.id, state=state, reply=f"held: {text}", attempted=False)
        return Settled(outcome, None, None, state)
    attempt_no = due.attempts + 1
    next_at = None
    if state is MessageState.DEFERRED:
        next_at = now + timedelta(seconds=backoff(attempt_no, settings, rng))
        if due.expires_at is not None:
            next_at = min(next_at, due.expires_at)  # one last try at the end of the lifetime
    if state is MessageState.EXPIRED:
        rcpt = expired(due.recipient, text, remote_mta=reply.mx or "")
    else:
        rcpt = classify_reply(reply.code, reply.text, address=due.recipient,
                              remote_mta=reply.mx or "", command=reply.command)  # fmt: skip
    kind = {
        MessageState.DELIVERED: EventKind.DELIVERED,
        MessageState.DEFERRED: EventKind.DEFERRED,
    }.get(state, EventKind.BOUNCED)
    outcome = Outcome(id=due.id, state=state, reply=text, remote_mx=reply.mx,
                      source_ip=a.source_ip, next_attempt_at=next_at)  # fmt: skip
    observation = _observation(a, kind, rcpt, attempt_no, now)
    notice = _notice(a, state, rcpt, now, next_at)
    return Settled(outcome, observation, notice, state)


def _notice(
    a: Attempt, state: MessageState, rcpt: Recipient, now: datetime, next_at: datetime | None
) -> DsnRecipient | None:
    wanted = _notify(a.due)
    if state in (MessageState.BOUNCED, MessageState.EXPIRED) and "FAILURE" in wanted:
        action = "failed"
    elif state is MessageState.DEFERRED and "DELAY" in wanted and a.due.attempts == 0:
        action = "delayed"
    elif state is MessageState.DELIVERED and "SUCCESS" in wanted and not a.remote_dsn:
        action = "relayed"
    else:
        return None
    default = {"failed": "5.0.0", "delayed": "4.0.0", "relayed": "2.0.0"}[action]
    status = rcpt.status or default
    if status[:1] != default[:1]:  # an expiry's 4.4.7 is reported as the failure it now is
        status = default[:1] + status[1:]
    return DsnRecipient(
        address=a.due.recipient,
        orcpt=a.due.orcpt,
        action=action,
        status=status,
        remote_mta=a.reply.mx,
        diagnostic=str(a.reply),
        smtp=a.reply.code is not None,
        last_attempt=now,
        will_retry_until=a.due.expires_at if action == "delayed" else None,
    )


@dataclass
class Batch:
    """A batch ready to store, and what it counted."""

    outcomes: list[Outcome] = field(default_factory=list)
    groups: list[list[Observation]] = field(default_factory=list)
    holds: dict[str, set[int]] = field(default_factory=dict)  # reason -> relay message ids
    dsns: list[queue.QueuedMessage] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def prepare(
    attempts: Sequence[Attempt], *, now: datetime, settings: DeliverySettings, rng: random.Random
) -> Batch:
    """Settle every attempt and group the DSN blocks per message (one DSN each)."""
    batch = Batch()
    notices: dict[int, tuple[Attempt, list[DsnRecipient]]] = {}
    for a in attempts:
        settled = settle(a, now=now, settings=settings, rng=rng)
        batch.outcomes.append(settled.outcome)
        batch.counts[settled.state.value] = batch.counts.get(settled.state.value, 0) + 1
        if settled.observation is not None:
            batch.groups.append([settled.observation])
        if settled.state is MessageState.HELD:
            batch.holds.setdefault(str(a.reply), set()).add(a.due.relay_message_id)
        if settled.notice is not None:
            entry = notices.setdefault(a.due.relay_message_id, (a, []))
            entry[1].append(settled.notice)
    for first, blocks in notices.values():
        batch.dsns.append(
            build_dsn(
                first.due,
                blocks,
                original=first.body,
                hostname=settings.hostname,
                now=now,
                lifetime=settings.queue_lifetime,
                size_limit=settings.dsn_size_limit,
            )
        )
    return batch


def write(
    factory: sessionmaker[Session], batch: Batch, ctx: EventContext, *, now: datetime
) -> None:
    """Store a prepared batch in one transaction (raises ``StoreError``: nothing stored)."""
    with store_errors("recording delivery results"), write_turn(factory), factory() as session:
        session.begin()
        _store(session, batch, ctx, now)
        session.commit()


def _store(session: Session, batch: Batch, ctx: EventContext, now: datetime) -> None:
    queue.record_outcomes(session, batch.outcomes, now=now)
    for reason, message_ids in batch.holds.items():
        queue.note_hold(session, message_ids, reason)
    if batch.groups:
        for result in record(session, batch.groups, ctx, now=now):
            if result.error:
                log.warning("a delivery event was not recorded: %s", result.error)
    if batch.dsns:
        queue.enqueue(session, batch.dsns)
