"""Trust: is an observation about mail we sent? And the batch view that answers it.

An event acts on the suppression list only when it is tied to a row of ``sent_messages``
(the relay's queue or an imported send log), or when its source vouches for it
(``Trust.LOCAL``: the relay's own delivery, the operator). Tried from the strongest proof
to the weakest (CONTRIBUTING.md, Security: a forged bounce must not suppress an address we
never mailed):

1. the VERP token of the return path: found verbatim in the send log, or its HMAC verifies
   under the configured key (``parsers.verp``) and its recipient hash matches the address;
2. the original Message-ID together with the recipient (a Message-ID alone is public: anyone
   who received the newsletter knows it);
3. the recipient address alone (mail was sent to it before the report arrived) -- unless
   the report names an original Message-ID that our log does not know for that recipient:
   the report is then about somebody else's mail, and the recipient's presence in our log
   proves nothing.

Why a per-batch ``Lookups`` object instead of one query per question: a backlog of bounces
asks the same questions (send log by token, Message-ID and recipient; suppression and
allowlist entries; recent soft bounces; events already stored) for every message. Asking
them once per batch (``monitor.store.lookups``) turns ~10 statements per message into ~10
per batch. The batch's own writes are folded back in (``note_event``, ``note_suppression``)
so later observations of the same batch see them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from monitor.enums import ListScope, SuppressionReason, Trust
from monitor.store import lookups as db
from monitor.store.lookups import SentRow
from monitor.store.suppressions import ListEntry, entries_for
from monitor.suppression.policy import SOFT_REASONS, Verdict, decide_verdict
from parsers.verp import BadVerpSignature, MalformedVerp, VerpToken, decode

__all__ = ["SEND_CLOCK_SLACK", "Lookups", "SentMatch"]

#: A report may arrive a little before the send log says the message left (clock skew,
#: a send log imported with the time the batch was queued).
SEND_CLOCK_SLACK = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class SentMatch:
    """How an observation was tied to what we sent (``via`` None: it was not)."""

    via: str | None = None  # "verp", "message-id", "recipient", "local"
    sent_id: int | None = None
    recipient: str | None = None
    campaign: str | None = None
    note: str | None = None  # why a token or the recipient did not count, for the details

    @property
    def trust(self) -> Trust:
        if self.via == "local":
            return Trust.LOCAL
        return Trust.VERIFIED if self.via else Trust.UNVERIFIED


def _matched(sent: SentRow, via: str) -> SentMatch:
    return SentMatch(via=via, sent_id=sent.id, recipient=sent.recipient, campaign=sent.campaign)


def _domain(address: str) -> str:
    return address.rsplit("@", 1)[-1]


@dataclass
class Lookups:
    """Everything one batch needs to know, read in a few queries (see the module docstring)."""

    verp_key: bytes | None
    by_token: dict[str, list[SentRow]] = field(default_factory=lambda: defaultdict(list))
    by_message_id: dict[str, list[SentRow]] = field(default_factory=lambda: defaultdict(list))
    latest_sent: dict[str, SentRow] = field(default_factory=dict)
    first_sent: dict[str, datetime | None] = field(default_factory=dict)
    by_id: dict[int, SentRow] = field(default_factory=dict)
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
        sent_ids: Iterable[int],
        keys: Iterable[str],
        until: datetime | None,
        soft_since: datetime | None,
        verified_only: bool,
    ) -> Lookups:
        """Bounded reads only: a Message-ID shared by a whole campaign, or a subscriber mailed
        every day for years, must not pull thousands of send-log rows into one batch."""
        self = cls(verp_key=verp_key)
        addresses, tokens = set(addresses), set(tokens)
        for row in db.sends_by_tokens(session, tokens):
            self._add_sent(row)
        ids = self._decode_tokens(tokens)
        for row in db.sends_by_ids(session, [*ids, *sent_ids]):
            self._add_sent(row)
        for row in db.sends_by_message_ids(session, message_ids, addresses):
            self._add_sent(row)
        for mid in sorted({m.strip("<>") for m in anonymous_ids}):
            for row in db.sends_of_message(session, mid, limit=2):
                self._add_sent(row)
        if until is not None:
            self.first_sent, self.latest_sent = db.first_and_latest_sends(
                session, addresses, until=until + SEND_CLOCK_SLACK
            )
        self.entries, self.allows = entries_for(session, addresses)
        if soft_since is not None:
            for address, when in db.soft_bounce_times(
                session,
                addresses,
                reasons=SOFT_REASONS,
                since=soft_since,
                verified_only=verified_only,
            ):
                self.soft_times[address].append(when)
        self.stored_keys = db.stored_event_keys(session, keys)
        return self

    def _add_sent(self, sent: SentRow) -> None:
        if sent.id in self.by_id:
            return
        self.by_id[sent.id] = sent
        if sent.verp_token:
            self.by_token[sent.verp_token].append(sent)
        if sent.message_id:
            self.by_message_id[sent.message_id.strip("<>")].append(sent)

    def _decode_tokens(self, tokens: Iterable[str]) -> list[int]:
        """Check each token's HMAC; the ids of the sent rows the good ones name."""
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
        return ids

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
            if address and self._log_knows_other_message(message_id, address):
                return SentMatch(
                    note="the report's original Message-ID is not one we sent to this recipient"
                )
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

    def _log_knows_other_message(self, message_id: str, address: str) -> bool:
        """The report names an original Message-ID that our log never sent to ``address``,
        while the log does hold Message-IDs for what we sent to it: the enclosed original is
        somebody else's mail (issue 11, point 11). A log without Message-IDs says nothing."""
        latest = self.latest_sent.get(address)
        return latest is not None and latest.message_id is not None

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

    def local(self, sent_id: int | None, address: str | None) -> SentMatch:
        """The source vouches for the observation (``Trust.LOCAL``); tie it to its sent row
        when the source named one."""
        row = self.by_id.get(sent_id) if sent_id is not None else None
        if row is not None:
            return _matched(row, "local")
        return SentMatch(via="local", sent_id=None, recipient=address)

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
