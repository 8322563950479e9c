"""Events repository (write side) and matching reports to what we sent.

``Lookups.match`` decides an event's trust (DEVELOPERS.md, Security): a bounce or complaint
is ours only if it can be tied to a row of ``sent_messages`` (the relay's queue or an
imported send log), tried from the strongest proof to the weakest:

1. the VERP token of the return path: found verbatim in the send log, or its HMAC verifies
   under the configured key (``parsers.verp``) and its recipient hash matches the address;
2. the original Message-ID together with the recipient (a Message-ID alone is public: anyone
   who received the newsletter knows it);
3. the recipient address alone (mail was sent to it before the report arrived).

Why a per-batch ``Lookups`` object instead of one query per question: a backlog of bounces
asks the same five questions (send log by token, Message-ID and recipient; suppression and
allowlist entries; recent soft bounces; events already stored) for every message. Asking
them once per batch with ``IN (...)`` lists turns ~10 statements per message into ~10 per
batch, which is what lets a poller drain hundreds of messages per second. The batch's own
writes are folded back in (``note_event``, ``note_suppression``) so later messages of the
same batch see them. Listing and exporting events (issue 7) is not here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple, cast

from sqlalchemy import Table, func, insert, or_, select
from sqlalchemy.orm import Session

from monitor.enums import EventKind, ListScope, SuppressionReason, Trust
from monitor.policy import SOFT_REASONS, ListEntry, Verdict, decide_verdict
from monitor.store.models import AllowEntry, Event, SentMessage, Suppression
from parsers.verp import BadVerpSignature, MalformedVerp, VerpToken, decode

__all__ = ["Lookups", "SentMatch", "bare_message_id", "insert_events", "insert_one_event"]

#: A report may arrive a little before the send log says the message left (clock skew,
#: a send log imported with the time the batch was queued).
SEND_CLOCK_SLACK = timedelta(hours=1)
_IN_CHUNK = 500  # values per IN (...) list: well under SQLite's 32,766 bound parameters


class _Sent(NamedTuple):
    id: int
    recipient: str
    campaign: str | None
    sent_at: datetime | None
    message_id: str | None
    verp_token: str | None


@dataclass(frozen=True, slots=True)
class SentMatch:
    """How an event was tied to our send log (``via`` None: it was not)."""

    via: str | None = None  # "verp", "message-id", "recipient"
    sent_id: int | None = None
    recipient: str | None = None
    campaign: str | None = None
    note: str | None = None  # why a token did not count, for the event's details

    @property
    def trust(self) -> Trust:
        return Trust.VERIFIED if self.via else Trust.UNVERIFIED


def bare_message_id(value: str | None) -> str | None:
    """``<abc@x>`` -> ``abc@x`` (whitespace removed): the one spelling we store and compare."""
    if not value:
        return None
    text = "".join(value.split()).strip("<>")
    return text[:998] or None


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    items = sorted(set(values))
    for i in range(0, len(items), _IN_CHUNK):
        yield items[i : i + _IN_CHUNK]


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1]


@dataclass
class Lookups:
    """Everything one batch needs to know, read in a few queries (see the module docstring)."""

    verp_key: bytes | None
    by_token: dict[str, list[_Sent]] = field(default_factory=lambda: defaultdict(list))
    by_message_id: dict[str, list[_Sent]] = field(default_factory=lambda: defaultdict(list))
    latest_sent: dict[str, _Sent] = field(default_factory=dict)
    first_sent: dict[str, datetime | None] = field(default_factory=dict)
    by_id: dict[int, _Sent] = field(default_factory=dict)
    decoded: dict[str, VerpToken | str] = field(default_factory=dict)  # token -> proof or why not
    entries: dict[tuple[ListScope, str], ListEntry] = field(default_factory=dict)
    allows: dict[tuple[ListScope, str], ListEntry] = field(default_factory=dict)
    soft_times: dict[str, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    stored_keys: set[str] = field(default_factory=set)

    # ------------------------------------------------------------------ loading

    @classmethod
    def load(
        cls,
        session: Session,
        *,
        verp_key: bytes | None,
        addresses: Iterable[str],
        message_ids: Iterable[str],
        anonymous_ids: Iterable[str],
        tokens: Iterable[str],
        dedupe_keys: Iterable[str],
        until: datetime | None,
        soft_since: datetime | None,
        verified_only: bool,
    ) -> Lookups:
        """Bounded reads only: a Message-ID shared by a whole campaign, or a subscriber mailed
        every day for years, must not pull thousands of send-log rows into one batch."""
        self = cls(verp_key=verp_key)
        addresses, tokens = set(addresses), set(tokens)
        self._load_tokens(session, tokens)
        self._load_message_ids(session, message_ids, addresses, anonymous_ids)
        if until is not None:
            self._load_recipients(session, addresses, until + SEND_CLOCK_SLACK)
        self._load_lists(session, addresses)
        if soft_since is not None:
            self._load_soft(session, addresses, soft_since, verified_only)
        for part in _chunks(dedupe_keys):
            self.stored_keys.update(
                session.scalars(select(Event.dedupe_key).where(Event.dedupe_key.in_(part)))
            )
        return self

    def _load_message_ids(
        self,
        session: Session,
        message_ids: Iterable[str],
        addresses: set[str],
        anonymous_ids: Iterable[str],
    ) -> None:
        """Rows of (Message-ID, one of the batch's recipients); for reports that name no
        recipient, at most two rows per Message-ID (one means: that is the recipient)."""
        ids = {m.strip("<>") for m in message_ids}
        spellings = sorted(ids | {f"<{m}>" for m in ids})
        for part in _chunks(spellings):
            for rcpts in _chunks(addresses):
                q = self._select_sent().where(
                    SentMessage.message_id.in_(part), SentMessage.recipient.in_(rcpts)
                )
                for row in session.execute(q):
                    self._add_sent(row)
        for mid in sorted({m.strip("<>") for m in anonymous_ids}):
            q = self._select_sent().where(SentMessage.message_id.in_([mid, f"<{mid}>"]))
            for row in session.execute(q.limit(2)):
                self._add_sent(row)

    def _load_recipients(self, session: Session, addresses: set[str], until: datetime) -> None:
        """Per recipient: the latest send up to ``until`` and the time of the first one."""
        s = SentMessage
        for part in _chunks(addresses):
            q = (
                select(s.recipient, func.max(s.id), func.min(s.sent_at))
                .where(s.recipient.in_(part), or_(s.sent_at.is_(None), s.sent_at <= until))
                .group_by(s.recipient)
            )
            latest = []
            for recipient, last_id, first_at in session.execute(q):
                self.first_sent[recipient] = first_at
                latest.append(last_id)
            for row in session.execute(self._select_sent().where(s.id.in_(latest))):
                self.latest_sent[row.recipient] = _Sent(*row)

    def _add_sent(self, row: Any) -> None:
        sent = _Sent(*row)
        if sent.id in self.by_id:
            return
        self.by_id[sent.id] = sent
        if sent.verp_token:
            self.by_token[sent.verp_token].append(sent)
        if sent.message_id:
            self.by_message_id[sent.message_id.strip("<>")].append(sent)

    def _select_sent(self) -> Any:
        s = SentMessage
        return select(s.id, s.recipient, s.campaign, s.sent_at, s.message_id, s.verp_token)

    def _load_sent(self, session: Session, column: Any, values: Iterable[str]) -> None:
        for part in _chunks(values):
            for row in session.execute(self._select_sent().where(column.in_(part))):
                self._add_sent(row)

    def _load_tokens(self, session: Session, tokens: set[str]) -> None:
        self._load_sent(session, SentMessage.verp_token, tokens)
        ids = []
        for token in tokens:
            if self.verp_key is None:
                self.decoded[token] = "VERP token not in the send log and no verp_key configured"
                continue
            try:
                proof = decode(token, key=self.verp_key)
            except BadVerpSignature:
                self.decoded[token] = "VERP token signature does not verify"
                continue
            except MalformedVerp as exc:
                self.decoded[token] = f"VERP token malformed: {exc}"
                continue
            self.decoded[token] = proof
            if proof.message_id < 2**63:
                ids.append(proof.message_id)
        for part in _chunks(ids):
            for row in session.execute(self._select_sent().where(SentMessage.id.in_(part))):
                self._add_sent(row)

    def _load_lists(self, session: Session, addresses: set[str]) -> None:
        keys = [(ListScope.ADDRESS, a) for a in addresses]
        keys += [(ListScope.DOMAIN, d) for d in {_domain(a) for a in addresses}]
        for scope in ListScope:
            values = [v for s, v in keys if s is scope]
            for part in _chunks(values):
                q = select(Suppression).where(
                    Suppression.scope == scope, Suppression.value.in_(part)
                )
                for sup in session.scalars(q):
                    self.entries[(sup.scope, sup.value)] = ListEntry(
                        scope=sup.scope,
                        value=sup.value,
                        reason=sup.reason,
                        created_at=sup.created_at,
                        expires_at=sup.expires_at,
                        note=sup.note,
                    )
                qa = select(AllowEntry).where(AllowEntry.scope == scope, AllowEntry.value.in_(part))
                for allow in session.scalars(qa):
                    self.allows[(allow.scope, allow.value)] = ListEntry(
                        scope=allow.scope, value=allow.value, created_at=allow.created_at
                    )

    def _load_soft(
        self, session: Session, addresses: set[str], since: datetime, verified_only: bool
    ) -> None:
        for part in _chunks(addresses):
            q = select(Event.address, Event.occurred_at).where(
                Event.address.in_(part),
                Event.kind == EventKind.BOUNCED,
                Event.hard.is_not(True),
                Event.reason.in_(sorted(SOFT_REASONS)),
                Event.occurred_at > since,
            )
            if verified_only:
                q = q.where(Event.trust != Trust.UNVERIFIED)
            for address, when in session.execute(q):
                if address is not None:
                    self.soft_times[address].append(when)

    # ------------------------------------------------------------------ questions

    def match(
        self, *, address: str | None, token: str | None, message_id: str | None, when: datetime
    ) -> SentMatch:
        """Tie a report about ``address`` to the send log (see the module docstring)."""
        note = None
        if token:
            found, note = self._by_token(token, address)
            if found is not None:
                return found
        if message_id:
            found = self._by_message_id(message_id, address)
            if found is not None:
                return found
        if address and address in self.first_sent:
            latest = self.latest_sent.get(address)
            if latest is not None and (
                latest.sent_at is None or latest.sent_at <= when + SEND_CLOCK_SLACK
            ):
                return _matched(latest, "recipient")
            first = self.first_sent[address]
            if first is None or first <= when + SEND_CLOCK_SLACK:
                return SentMatch(via="recipient", recipient=address)
        return SentMatch(note=note)

    def _by_token(self, token: str, address: str | None) -> tuple[SentMatch | None, str | None]:
        for sent in self.by_token.get(token, ()):
            if address is None or sent.recipient == address:
                return _matched(sent, "verp"), None
        proof = self.decoded.get(token)
        if not isinstance(proof, VerpToken):
            return None, proof
        if address is not None and not proof.matches(address):
            return None, "VERP token was minted for another recipient"
        row = self.by_id.get(proof.message_id)
        if row is not None and (address is None or row.recipient == address):
            return _matched(row, "verp"), None
        return SentMatch(via="verp", recipient=address), None  # the HMAC is the proof

    def _by_message_id(self, message_id: str, address: str | None) -> SentMatch | None:
        rows = self.by_message_id.get(message_id, [])
        if address is not None:
            for sent in rows:
                if sent.recipient == address:
                    return _matched(sent, "message-id")
            return None
        if len({r.recipient for r in rows}) == 1:
            return _matched(rows[0], "message-id")
        return None

    def verdict(self, address: str, now: datetime) -> Verdict:
        keys = [(ListScope.ADDRESS, address), (ListScope.DOMAIN, _domain(address))]
        return decide_verdict(
            address,
            suppressions=[self.entries[k] for k in keys if k in self.entries],
            allows=[self.allows[k] for k in keys if k in self.allows],
            now=now,
        )

    def soft_days(self, address: str, when: datetime, window_days: int) -> int:
        """Distinct UTC days with a counted soft bounce in ``(when - D, when]``, this one too.

        Days are computed in Python, so SQLite and PostgreSQL agree without date functions.
        """
        start = when - timedelta(days=window_days)
        days = {t.date() for t in self.soft_times.get(address, ()) if start < t <= when}
        return len(days | {when.date()})

    # ------------------------------------------------------------------ the batch's writes

    def note_event(self, key: str, address: str | None, when: datetime, soft: bool) -> None:
        self.stored_keys.add(key)
        if soft and address is not None:
            self.soft_times[address].append(when)

    def note_suppression(
        self, address: str, reason: SuppressionReason, now: datetime, note: str | None
    ) -> None:
        self.entries[(ListScope.ADDRESS, address)] = ListEntry(
            scope=ListScope.ADDRESS, value=address, reason=reason, created_at=now, note=note
        )


def _matched(sent: _Sent, via: str) -> SentMatch:
    return SentMatch(via=via, sent_id=sent.id, recipient=sent.recipient, campaign=sent.campaign)


_EVENTS = cast(Table, Event.__table__)


def insert_events(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert events whose ids nobody needs: one Core executemany (no ORM bookkeeping)."""
    if rows:
        session.execute(_EVENTS.insert(), list(rows))


def insert_one_event(session: Session, row: dict[str, Any]) -> int:
    """Insert one event and return its id (a suppression will point at it)."""
    return int(session.execute(insert(Event).returning(Event.id), row).scalar_one())
