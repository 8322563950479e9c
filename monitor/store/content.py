"""The content check's state: each campaign's verdict, the sampled messages, holds.

``admit`` runs in the relay's intake transaction, the one whose commit comes before the 250:
it counts the campaign's messages and decides, for each message, whether it is delivered as
usual, waits for a scan (recipients ``scanning``) or is held because its campaign is. Mail
of a campaign whose first message has not been judged yet waits too, so nothing of a
campaign goes out before its first verdict. ``finish_scan`` writes a verdict: a clean one
lets the waiting recipients go (``queued``), findings hold the campaign and everything of
it that has not left yet. ``release_campaign`` is the operator's way out.

A campaign is the message's ``campaign`` (``X-Campaign``) or, without one, the account
that submitted it (``campaign_key``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.orm import Session

from monitor.enums import MessageState
from monitor.store.lookups import chunks
from monitor.store.models import CampaignContent, ContentScan, RelayMessage, SentMessage
from monitor.store.queue import QueuedMessage

__all__ = [
    "CampaignHold",
    "ScanFindings",
    "ScanJob",
    "admit",
    "campaign_key",
    "claim_scans",
    "finish_scan",
    "held_campaigns",
    "release_campaign",
    "scan_counts",
    "scans_of",
    "unblock_scanning",
]

S = MessageState
PENDING, CLEAR, HELD = "pending", "clear", "held"


def campaign_key(campaign: str | None, submitted_by: str) -> str:
    return (campaign or submitted_by or "-")[:200]


def _of_campaign(key: str) -> Any:
    """relay_messages of campaign ``key`` (its own name, or the account without a name)."""
    m = RelayMessage
    return select(m.id).where(
        or_(m.campaign == key, and_(m.campaign.is_(None), m.submitted_by == key))
    )


def admit(
    session: Session,
    messages: Sequence[QueuedMessage],
    ids: Sequence[Sequence[int]],
    *,
    sample_every: int,
    now: datetime,
) -> int:
    """Decide what the content check does with freshly queued ``messages`` (module
    docstring); ``ids`` are their recipients' ``sent_messages`` ids (``queue.enqueue``).
    The number of scans queued."""
    keys = {campaign_key(m.campaign, m.submitted_by) for m in messages}
    lock = session.get_bind().dialect.name == "postgresql"  # relays sharing one queue
    known: dict[str, CampaignContent] = {}
    for part in chunks(sorted(keys)):
        q = select(CampaignContent).where(CampaignContent.campaign.in_(part))
        known.update({c.campaign: c for c in session.scalars(q.with_for_update() if lock else q)})
    waiting: list[int] = []
    held: dict[str, list[int]] = {}
    scans: list[dict[str, Any]] = []
    for message, rcpts in zip(messages, ids, strict=True):
        key = campaign_key(message.campaign, message.submitted_by)
        row = known.get(key)
        if row is None:
            row = known[key] = CampaignContent(
                campaign=key, state=PENDING, messages=0, scans=0, created_at=now, updated_at=now
            )
            session.add(row)
        row.messages += 1
        row.updated_at = now
        if row.state == HELD:
            held.setdefault(row.hold_reason or "campaign held", []).extend(rcpts)
            continue
        sampled = row.messages == 1 or (row.messages - 1) % sample_every == 0
        if sampled:
            row.scans += 1
            scans.append({"queue_id": message.queue_id, "campaign": key, "state": "pending",
                          "created_at": now})  # fmt: skip
        if sampled or row.state == PENDING:
            waiting.extend(rcpts)
    _set_state(session, waiting, S.SCANNING, now)
    for reason, rows in held.items():
        _set_state(session, rows, S.HELD, now)
        _note(session, rows, reason)
    if scans:  # the message ids are looked up for the sampled few only
        relay_ids = _relay_ids(session, [x["queue_id"] for x in scans])
        for x in scans:
            x["relay_message_id"] = relay_ids[x["queue_id"]]
        session.execute(insert(ContentScan), scans)
    session.flush()
    return len(scans)


def _relay_ids(session: Session, queue_ids: Sequence[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for part in chunks(queue_ids):
        q = select(RelayMessage.queue_id, RelayMessage.id).where(RelayMessage.queue_id.in_(part))
        found.update({str(k): int(v) for k, v in session.execute(q)})
    return found


def _set_state(session: Session, ids: Sequence[int], state: MessageState, now: datetime) -> None:
    for part in chunks(ids):
        session.execute(
            update(SentMessage)
            .where(SentMessage.id.in_(part))
            .values(state=state, updated_at=now)
            .execution_options(synchronize_session=False)
        )


def _note(session: Session, sent_ids: Sequence[int], reason: str) -> None:
    for part in chunks(sent_ids):
        owners = select(SentMessage.relay_message_id).where(SentMessage.id.in_(part))
        session.execute(
            update(RelayMessage)
            .where(RelayMessage.id.in_(owners))
            .values(hold_reason=reason[:2000])
            .execution_options(synchronize_session=False)
        )


@dataclass(frozen=True, slots=True)
class ScanJob:
    id: int
    queue_id: str
    campaign: str
    body: bytes | None  # None: the message is gone (deleted by the operator)


def claim_scans(session: Session, *, now: datetime, lease_until: datetime,
                limit: int) -> list[ScanJob]:  # fmt: skip
    """Pending scans (oldest first) not leased to a live scanner, leased until
    ``lease_until``: a relay killed mid-scan leaves them to the next one."""
    c = ContentScan
    q = (
        select(c.id, c.queue_id, c.campaign, c.relay_message_id)
        .where(c.state == "pending", or_(c.lease_until.is_(None), c.lease_until < now))
        .order_by(c.created_at, c.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True, of=c)
    rows = list(session.execute(q))
    if not rows:
        return []
    session.execute(
        update(c)
        .where(c.id.in_([r[0] for r in rows]))
        .values(lease_until=lease_until)
        .execution_options(synchronize_session=False)
    )
    message_ids = [int(r[3]) for r in rows if r[3] is not None]
    bodies: dict[int, bytes | None] = {}
    for part in chunks(message_ids):
        q2 = select(RelayMessage.id, RelayMessage.body).where(RelayMessage.id.in_(part))
        bodies.update({int(i): b for i, b in session.execute(q2)})
    return [
        ScanJob(int(i), str(qid), str(camp), bodies.get(int(mid)) if mid is not None else None)
        for i, qid, camp, mid in rows
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class ScanFindings:
    """What the scanners said of one message, and what it means."""

    hold: bool
    verdict: str  # pass, hold, pass-unscanned
    spam_score: float | None = None
    spam_rules: tuple[str, ...] = ()
    virus: str | None = None
    errors: tuple[str, ...] = ()
    reason: str = ""  # the operator's one line: why it was held


def finish_scan(session: Session, scan_id: int, findings: ScanFindings, *, now: datetime) -> int:
    """Store a verdict and act on it (module docstring); the recipients it moved."""
    scan = session.get(ContentScan, scan_id)
    if scan is None or scan.state != "pending":
        return 0  # done meanwhile (another relay, after our lease ran out)
    scan.state = "done"
    scan.verdict = findings.verdict
    scan.spam_score = findings.spam_score
    scan.spam_rules = ",".join(findings.spam_rules)[:4000] or None
    scan.virus = findings.virus[:200] if findings.virus else None
    scan.errors = "; ".join(findings.errors)[:4000] or None
    scan.scanned_at = now
    scan.lease_until = None
    row = session.get(CampaignContent, scan.campaign)
    if row is None:  # pragma: no cover - admit made it in the same transaction as the scan
        row = CampaignContent(campaign=scan.campaign, state=PENDING, messages=1, scans=1,
                              created_at=now, updated_at=now)  # fmt: skip
        session.add(row)
    row.updated_at = now
    if findings.hold:
        reason = f"content check of {scan.queue_id}: {findings.reason}"[:2000]
        if row.state != HELD:
            row.state, row.held_at, row.hold_reason = HELD, now, reason
        return _hold_campaign(session, scan.campaign, row.hold_reason or reason, now)
    if row.state == PENDING:
        row.state = CLEAR
    moved = 0
    if scan.relay_message_id is not None:
        moved += _wake(session, [scan.relay_message_id], now)
    if row.state == CLEAR:  # the rest of the campaign waited only for its first verdict
        unscanned = _of_campaign(scan.campaign).where(
            ~select(ContentScan.id)
            .where(ContentScan.relay_message_id == RelayMessage.id, ContentScan.state == "pending")
            .exists()
        )
        moved += _wake(session, unscanned, now)
    return moved


def _wake(session: Session, messages: Any, now: datetime) -> int:
    hit = session.execute(
        update(SentMessage)
        .where(SentMessage.relay_message_id.in_(messages), SentMessage.state == S.SCANNING)
        .values(state=S.QUEUED, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(hit.rowcount)  # type: ignore[attr-defined]


def _hold_campaign(session: Session, key: str, reason: str, now: datetime) -> int:
    """Everything of campaign ``key`` that has not left yet is held with ``reason``."""
    messages = _of_campaign(key)
    waiting = (S.QUEUED, S.DEFERRED, S.SCANNING)
    ids = [
        int(i)
        for i in session.scalars(
            select(SentMessage.id).where(
                SentMessage.relay_message_id.in_(messages), SentMessage.state.in_(waiting)
            )
        )
    ]
    _set_state(session, ids, S.HELD, now)
    _note(session, ids, reason)
    return len(ids)


def release_campaign(session: Session, key: str, *, now: datetime) -> int | None:
    """The operator releases a held campaign: its held recipients are due at once and its
    new mail flows (sampled as before). The recipients released; None: not held."""
    row = session.get(CampaignContent, key)
    if row is None or row.state != HELD:
        return None
    row.state, row.released_at, row.updated_at = CLEAR, now, now
    ids = [
        int(i)
        for i in session.scalars(
            select(SentMessage.id).where(
                SentMessage.relay_message_id.in_(_of_campaign(key)), SentMessage.state == S.HELD
            )
        )
    ]
    for part in chunks(ids):
        session.execute(
            update(SentMessage)
            .where(SentMessage.id.in_(part))
            .values(state=S.DEFERRED, next_attempt_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
    session.execute(
        update(RelayMessage)
        .where(RelayMessage.id.in_(_of_campaign(key)))
        .values(hold_reason=None)
        .execution_options(synchronize_session=False)
    )
    return len(ids)


def unblock_scanning(session: Session, *, now: datetime) -> int:
    """Content checking is off (again): recipients still waiting for a scan are queued,
    their pending scans dropped, rather than kept forever."""
    hit = session.execute(
        update(SentMessage)
        .where(SentMessage.state == S.SCANNING)
        .values(state=S.QUEUED, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(ContentScan)
        .where(ContentScan.state == "pending")
        .values(
            state="done",
            verdict="pass-unscanned",
            errors="content check turned off",
            scanned_at=now,
            lease_until=None,
        )
        .execution_options(synchronize_session=False)
    )
    return int(hit.rowcount)  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class CampaignHold:
    campaign: str
    held_at: datetime | None
    reason: str
    messages: int
    held_recipients: int


def held_campaigns(session: Session) -> list[CampaignHold]:
    """Campaigns the content check holds now, oldest hold first, with their held mail."""
    out = []
    rows = session.scalars(
        select(CampaignContent)
        .where(CampaignContent.state == HELD)
        .order_by(CampaignContent.held_at, CampaignContent.campaign)
    )
    for row in rows:
        n = session.scalar(
            select(func.count()).where(
                SentMessage.relay_message_id.in_(_of_campaign(row.campaign)),
                SentMessage.state == S.HELD,
            )
        )
        out.append(CampaignHold(row.campaign, row.held_at, row.hold_reason or "", row.messages,
                                int(n or 0)))  # fmt: skip
    return out


def scans_of(session: Session, relay_message_id: int) -> list[ContentScan]:
    q = select(ContentScan).where(ContentScan.relay_message_id == relay_message_id)
    return list(session.scalars(q.order_by(ContentScan.id)))


def scan_counts(session: Session, since: datetime, until: datetime) -> dict[str, int]:
    """Scans finished in [since, until) by verdict (``pass``, ``hold``, ``pass-unscanned``)."""
    q = (
        select(ContentScan.verdict, func.count())
        .where(ContentScan.scanned_at >= since, ContentScan.scanned_at < until)
        .group_by(ContentScan.verdict)
    )
    return {str(v): int(n) for v, n in session.execute(q) if v is not None}
