"""Record observations: trust, store once, apply the suppression policy. Every source calls it.

``record`` works inside the caller's transaction, so a source can commit its own
bookkeeping (the IMAP ledger, the relay's queue state) atomically with the events. Per
batch it:

1. normalises each recipient and reads what the batch needs in a few queries
   (``Lookups.load``: send log, list entries, soft bounces, keys already stored);
2. per observation: ties it to what we sent (``Lookups.match``, or the source's word for
   ``Trust.LOCAL``), asks ``monitor.suppression.policy.decide_event`` whether it puts the
   address on the list, and builds the event row; an observation whose ``key`` is stored
   already is skipped (exactly once);
3. writes: groups that only add events go in one statement (with their webhook outbox
   rows, when ``ctx.webhooks`` routes some kinds to endpoints); a group that suppresses writes
   its events and suppressions (each pointing at its event) inside a SAVEPOINT, so data the
   database refuses rolls back that group alone and is reported in ``Recorded.error``. A
   database that is down or locked raises instead (``is_infrastructure``): nothing of the
   batch is kept, and the source must not act as if it were.

``record_events`` is the same in a transaction of its own, for sources with a few facts at
a time (the CLI, the web service, the relay's delivery results).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy.exc import InterfaceError, InvalidRequestError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from monitor.enums import EventKind, ListScope, SuppressionReason, Trust
from monitor.events.observation import (
    Decided,
    Effects,
    EventContext,
    Observation,
    Recorded,
    normalize_recipient,
)
from monitor.events.trust import Lookups, SentMatch
from monitor.store.db import begin_writes, store_errors
from monitor.store.events import bare_message_id, insert_events, insert_one_event
from monitor.store.ingest_repo import cut
from monitor.store.suppressions import add_suppression
from monitor.store.webhooks import enqueue_events
from monitor.suppression.policy import BounceClass, EventFacts, bounce_class, decide_event

__all__ = ["is_infrastructure", "record", "record_events"]

log = logging.getLogger(__name__)
T = TypeVar("T")

_ACTING = frozenset({EventKind.BOUNCED, EventKind.COMPLAINED, EventKind.UNSUBSCRIBED})


def is_infrastructure(exc: BaseException) -> bool:
    """Database down or locked (abort the batch), as opposed to one item's data refused."""
    return isinstance(exc, OperationalError | InterfaceError | InvalidRequestError) or bool(
        getattr(exc, "connection_invalidated", False)
    )


@dataclass(frozen=True, slots=True)
class _Obs:
    """An observation with its recipient normalised."""

    obs: Observation
    address: str | None
    unreadable: str | None
    message_id: str | None


@dataclass
class _Plan:
    """What one group will write, decided in memory from the batch ``Lookups``."""

    result: Recorded = field(default_factory=Recorded)
    rows: list[dict[str, Any]] = field(default_factory=list)
    suppress: list[tuple[dict[str, Any], str, SuppressionReason, str]] = field(default_factory=list)
    learned: list[tuple[str, str | None, datetime, bool]] = field(default_factory=list)

    @property
    def simple(self) -> bool:
        return not self.suppress


def _invalid(obs: Observation) -> str | None:
    """Why a source's observation cannot be recorded at all (a bug of the source)."""
    if obs.occurred_at.tzinfo is None:
        return "observation time has no time zone"
    if not obs.key or len(obs.key) > 128:
        return "observation key must be 1 to 128 characters"
    return None


def _prepare(
    groups: Sequence[Sequence[Observation]], ctx: EventContext
) -> tuple[list[list[_Obs]], dict[int, str]]:
    """Normalised observations per group, and why the groups that cannot be used fail."""
    out: list[list[_Obs]] = []
    invalid: dict[int, str] = {}
    for index, group in enumerate(groups):
        prepared: list[_Obs] = []
        for obs in group:
            why = _invalid(obs)
            if why is not None:
                invalid[index] = why
                prepared = []
                break
            address, unreadable = normalize_recipient(obs.recipient, ctx.lowercase_local)
            prepared.append(_Obs(obs, address, unreadable, bare_message_id(obs.message_id)))
        out.append(prepared)
    return out, invalid


def _load(session: Session, groups: list[list[_Obs]], ctx: EventContext) -> Lookups:
    addresses: set[str] = set()
    message_ids: set[str] = set()
    anonymous: set[str] = set()
    tokens: set[str] = set()
    sent_ids: set[int] = set()
    keys: list[str] = []
    times: list[datetime] = []
    for group in groups:
        for p in group:
            keys.append(p.obs.key)
            times.append(p.obs.occurred_at)
            if p.obs.verp_token:
                tokens.add(p.obs.verp_token)
            if p.obs.sent_id is not None:
                sent_ids.add(p.obs.sent_id)
            # A source that vouches for its own sent row (the relay's delivery results) is
            # matched by that row alone (``_match``): the send log is not searched for it, and
            # the address is only needed when the event may act on the list.
            vouched = p.obs.trust is Trust.LOCAL and p.obs.sent_id is not None
            if p.address and (not vouched or p.obs.kind in _ACTING):
                addresses.add(p.address)
            if p.message_id and not vouched:
                (message_ids if p.address else anonymous).add(p.message_id)
    window = timedelta(days=ctx.rules.soft_bounce_window_days)
    return Lookups.load(
        session,
        verp_key=ctx.verp_key,
        addresses=addresses,
        message_ids=message_ids,
        anonymous_ids=anonymous,
        tokens=tokens,
        sent_ids=sent_ids,
        keys=keys,
        until=max(times) if times else None,
        soft_since=min(times) - window if times else None,
        verified_only=not ctx.rules.trust_any,
    )


def _is_soft(obs: Observation) -> bool:
    return obs.kind is EventKind.BOUNCED and bounce_class(obs.reason, obs.hard) is (
        BounceClass.SOFT
    )


def _counts(trust: Trust, ctx: EventContext) -> bool:
    """Whether an event of this trust may count and act (forged ones never, unless
    ``trust = "any"``)."""
    return trust is not Trust.UNVERIFIED or ctx.rules.trust_any


def _facts(
    p: _Obs, address: str | None, trust: Trust, lookups: Lookups, ctx: EventContext
) -> EventFacts:
    obs = p.obs
    facts: dict[str, Any] = {
        "kind": obs.kind,
        "address": address,
        "trust": trust,
        "reason": obs.reason,
        "hard": obs.hard,
        "feedback_type": obs.feedback_type,
    }
    if address is not None and obs.kind in _ACTING:
        verdict = lookups.verdict(address, obs.occurred_at)
        facts["allowlisted"] = verdict.allowed_by is not None
        entry = verdict.entry
        facts["already_suppressed"] = (
            verdict.suppressed and entry is not None and not entry.expires_at
        )
        if _counts(trust, ctx) and _is_soft(obs):
            facts["soft_bounce_days"] = lookups.soft_days(
                address, obs.occurred_at, ctx.rules.soft_bounce_window_days
            )
    return EventFacts(**facts)


def _row(p: _Obs, address: str | None, match: SentMatch, why: str, now: datetime) -> dict[str, Any]:
    obs = p.obs
    details = {
        **obs.details,
        "matched_by": match.via,
        "match_note": match.note,
        "decision": why,
        "unreadable_address": p.unreadable,
        "bounce_class": bounce_class(obs.reason, obs.hard).value
        if obs.kind is EventKind.BOUNCED
        else None,
    }
    return {
        "dedupe_key": obs.key,
        "kind": obs.kind,
        "address": address,
        "recipient_domain": address.rsplit("@", 1)[-1] if address else None,
        "reason": obs.reason,
        "status": cut(obs.status, 16),
        "reply_code": cut(obs.reply_code, 3),
        "hard": obs.hard,
        "diagnostic": cut(obs.diagnostic, 4000),
        "remote_mta": cut(obs.remote_mta, 255),
        "feedback_type": obs.feedback_type,
        "campaign": cut(obs.campaign or match.campaign, 200),
        "source_ip": cut(obs.source_ip, 45),
        "message_id": p.message_id,
        "sent_message_id": match.sent_id,
        "trust": match.trust,
        "source": cut(obs.source, 100),
        "source_ref": cut(obs.source_ref, 200),
        "occurred_at": obs.occurred_at,
        "ingested_at": now,
        "details": {k: v for k, v in details.items() if v is not None},
    }


def _match(p: _Obs, lookups: Lookups) -> SentMatch:
    obs = p.obs
    if obs.trust is Trust.LOCAL and obs.sent_id is not None:
        return lookups.local(obs.sent_id, p.address)
    found = lookups.match(
        address=p.address, token=obs.verp_token, message_id=p.message_id, when=obs.occurred_at
    )
    if obs.trust is Trust.LOCAL:  # the source vouches; the match only names the sent row
        return SentMatch(
            via="local",
            sent_id=found.sent_id,
            recipient=found.recipient or p.address,
            campaign=found.campaign,
        )
    return found


def _plan(group: list[_Obs], lookups: Lookups, ctx: EventContext, now: datetime) -> _Plan:
    """Decide every observation of a group (no database access: ``lookups`` hold the facts)."""
    plan = _Plan()
    result, effects = plan.result, plan.result.effects
    for p in group:
        obs = p.obs
        match = _match(p, lookups)
        address = p.address or match.recipient
        trust = match.trust
        if obs.key in lookups.stored_keys:  # this very fact was stored by an earlier run
            result.decided.append(
                Decided(address, trust, match.via, False, False, "stored before", match.sent_id)
            )
            continue
        decision = decide_event(_facts(p, address, trust, lookups, ctx), ctx.rules)
        row = _row(p, address, match, decision.why, now)
        effects.count(obs.kind)
        effects.unverified += trust is Trust.UNVERIFIED
        result.verified = result.verified or _counts(trust, ctx)
        counted = _is_soft(obs) and _counts(trust, ctx)
        plan.learned.append((obs.key, address, obs.occurred_at, counted))
        suppress = decision.suppress and decision.reason is not None and address is not None
        if suppress and decision.reason is not None and address is not None:
            note = f"{decision.why} ({obs.source})"
            plan.suppress.append((row, address, decision.reason, note))
            effects.suppressed += 1
            effects.suppressed_addresses.append(address)
        else:
            plan.rows.append(row)
        result.decided.append(
            Decided(address, trust, match.via, True, suppress, decision.why, match.sent_id)
        )
    return plan


def _sources(group: list[_Obs]) -> str:
    return ", ".join(sorted({p.obs.source_ref or p.obs.source for p in group})) or "?"


def _announce(
    session: Session, rows: Sequence[dict[str, Any]], ctx: EventContext, now: datetime
) -> None:
    """The webhook outbox rows of ``rows``, in the transaction (and SAVEPOINT) that writes
    them: an event is announced exactly when it is stored (``monitor.store.webhooks``)."""
    if ctx.webhooks and rows:
        enqueue_events(session, rows, ctx.webhooks, now=now)


def _write(session: Session, plan: _Plan, ctx: EventContext, now: datetime) -> bool:
    """A group's suppressions (each pointing at its event) and event rows, in a SAVEPOINT."""
    with session.begin_nested():
        for row, address, reason, note in plan.suppress:
            event_id = insert_one_event(session, row)
            add_suppression(
                session,
                scope=ListScope.ADDRESS,
                value=address,
                reason=reason,
                now=now,
                note=cut(note, 500),
                source_event_id=event_id,
            )
        insert_events(session, plan.rows)
        _announce(session, [row for row, *_ in plan.suppress] + plan.rows, ctx, now)
    return True


def _guarded(plan: _Plan, action: Callable[[], T]) -> T | None:
    """Run ``action``; when the database refuses the group's data, record why in the
    group's result and return None (the per-item boundary). Infrastructure errors raise."""
    try:
        return action()
    except (SQLAlchemyError, OverflowError) as exc:  # pysqlite: int beyond 64 bits
        if is_infrastructure(exc):
            raise
        plan.result.error = f"database refused it: {str(exc).splitlines()[0][:300]}"
    except Exception as exc:  # the per-item boundary: the SAVEPOINT rolled this group back
        log.exception("events could not be written")
        plan.result.error = f"internal error: {type(exc).__name__}: {exc}"
    return None


def _learn(plan: _Plan, lookups: Lookups, now: datetime) -> None:
    """Tell the batch ``lookups`` what a plan wrote, for the observations after it."""
    for key, address, when, counted in plan.learned:
        lookups.note_event(key, address, when, counted)
    for _row, address, reason, note in plan.suppress:
        lookups.note_suppression(address, reason, now, note)


def _write_simple(session: Session, simple: list[_Plan], ctx: EventContext, now: datetime) -> None:
    """All simple plans' events at once; if the database refuses the lot, one by one."""
    rows = [row for plan in simple for row in plan.rows]
    if not rows:
        return
    try:
        with session.begin_nested():
            insert_events(session, rows)
            _announce(session, rows, ctx, now)
        return
    except Exception as exc:  # refused data somewhere in the lot: find it group by group
        if is_infrastructure(exc):
            raise
        log.warning(
            "batch insert of %d events refused (%s); retrying group by group", len(rows), exc
        )
    for plan in simple:
        if not _guarded(plan, partial(_write, session, plan, ctx, now)):
            plan.result.effects = Effects()


def record(
    session: Session,
    groups: Sequence[Sequence[Observation]],
    ctx: EventContext,
    *,
    now: datetime,
) -> list[Recorded]:
    """Record ``groups`` of observations in the caller's transaction (module docstring);
    one ``Recorded`` per group, in order."""
    begin_writes(session)  # SAVEPOINTs below must live inside the caller's transaction
    prepared, invalid = _prepare(groups, ctx)
    lookups = _load(session, prepared, ctx)
    plans: list[_Plan] = []
    simple: list[_Plan] = []
    for index, group in enumerate(prepared):
        if index in invalid:
            plans.append(_Plan(result=Recorded(error=invalid[index])))
            continue
        try:
            plan = _plan(group, lookups, ctx, now)
        except Exception as exc:  # the per-item boundary: this group fails, the batch goes on
            log.exception("observations from %s could not be decided", _sources(group))
            plans.append(
                _Plan(result=Recorded(error=f"internal error: {type(exc).__name__}: {exc}"))
            )
            continue
        plans.append(plan)
        if plan.simple:
            simple.append(plan)
        elif not _guarded(plan, partial(_write, session, plan, ctx, now)):
            continue
        _learn(plan, lookups, now)
    _write_simple(session, simple, ctx, now)
    return [plan.result for plan in plans]


def record_events(
    factory: sessionmaker[Session],
    groups: Sequence[Sequence[Observation]],
    ctx: EventContext,
    *,
    now: datetime,
) -> list[Recorded]:
    """``record`` in a transaction of its own (raises ``StoreError`` when the database is
    unreachable, locked or gone: then nothing was stored)."""
    with store_errors("recording events"), factory() as session:
        session.begin()
        results = record(session, groups, ctx, now=now)
        session.commit()
    return results
