"""The RCPT-time suppression check: an in-memory pre-filter, confirmed by the database.

Every RCPT TO asks "is this address (or its domain) suppressed?". Asking the database each
time costs a thread hop and a query (~100 µs) per recipient; holding the list as Python
strings costs ~200 bytes per entry (200 MB for a million). So the relay keeps a *sorted array
of 64-bit hashes* of every suppressed address and domain (8 bytes per entry, numpy's binary
search: ~2 µs per check, on the event loop) plus a small set of entries added since the array
was built. A miss means "not suppressed" and is final; a hit is confirmed against the
database (``monitor.suppression.verdict_for``: the entry may have expired, been removed, or be
overridden by the allowlist) and only then refused, with the entry's reason and date.

Changes made by other processes (the daemon's bounce processing, the web unsubscribe, the
CLI) reach the index through ``refresh``: rows whose ``updated_at`` is at or after the last
one seen (indexed, revision 0004), polled every second, so a new suppression is enforced
within about a second. Removed entries stay in the array until the next full ``load``
(every few minutes); they cost one confirming query each until then, never a wrong refusal.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from monitor.enums import ListScope
from monitor.store.db import session_scope
from monitor.store.models import Suppression
from monitor.suppression import verdict_for
from monitor.suppression.policy import Verdict

__all__ = ["SuppressionIndex", "entry_hash"]

log = logging.getLogger(__name__)

#: How far back each refresh looks before its watermark: commits from other processes may
#: carry a time a little before one already seen (their clock read, then their commit).
OVERLAP = timedelta(seconds=5)


def entry_hash(scope: ListScope, value: str) -> int:
    """64 bits of BLAKE2b over ``scope:value`` (collisions only cost a confirming query)."""
    return _hash(_PREFIX[scope] + value.encode())


_PREFIX = {scope: f"{scope.value}:".encode() for scope in ListScope}
_ADDRESS, _DOMAIN = _PREFIX[ListScope.ADDRESS], _PREFIX[ListScope.DOMAIN]


def _hash(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big", signed=True)


class SuppressionIndex:
    """``maybe`` on the event loop; ``load``, ``refresh`` and ``confirm`` in a thread."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self._array = np.empty(0, dtype=np.int64)
        self._recent: set[int] = set()
        self._watermark: datetime | None = None
        self._lock = threading.Lock()
        self.loaded = 0

    # ------------------------------------------------------------------ on the loop

    def maybe(self, address: str) -> bool:
        """Whether ``address`` (normalised) or its domain may be suppressed.

        Runs for every RCPT on the event loop: both keys are looked up in one vectorised
        ``searchsorted`` call (numpy's per-call overhead, not the search, is what costs).
        """
        keys = (_hash(_ADDRESS + address.encode()),
                _hash(_DOMAIN + address.rpartition("@")[2].encode()))  # fmt: skip
        recent, array = self._recent, self._array
        if keys[0] in recent or keys[1] in recent:
            return True
        n = len(array)
        if not n:
            return False
        for key, i in zip(keys, array.searchsorted(keys).tolist(), strict=True):
            if i < n and array[i] == key:
                return True
        return False

    # ------------------------------------------------------------------ in a thread

    def load(self) -> int:
        """(Re)build the array from every suppression row; returns how many."""
        hashes: list[int] = []
        newest: datetime | None = None
        with session_scope(self.factory, "loading the suppression index") as session:
            rows = session.execute(
                select(Suppression.scope, Suppression.value, Suppression.updated_at)
            ).yield_per(50_000)
            for scope, value, updated in rows:
                hashes.append(entry_hash(scope, value))
                if newest is None or updated > newest:
                    newest = updated
        array = np.unique(np.asarray(hashes, dtype=np.int64))
        with self._lock:
            self._array, self._recent = array, set()
            if newest is not None:
                self._watermark = newest
        self.loaded = len(array)
        return self.loaded

    def refresh(self) -> int:
        """Take in entries added or changed since the last look; returns how many."""
        since = self._watermark - OVERLAP if self._watermark is not None else None
        with session_scope(self.factory, "refreshing the suppression index") as session:
            q = select(Suppression.scope, Suppression.value, Suppression.updated_at)
            if since is not None:
                q = q.where(Suppression.updated_at >= since)
            rows = session.execute(q).all()
        self._add((entry_hash(s, v), u) for s, v, u in rows)
        return len(rows)

    def _add(self, entries: Iterable[tuple[int, datetime]]) -> None:
        with self._lock:
            recent = set(self._recent)
            for key, updated in entries:
                recent.add(key)
                if self._watermark is None or updated > self._watermark:
                    self._watermark = updated
            self._recent = recent  # a new set: the loop reads without the lock

    def confirm(self, address: str, now: datetime) -> Verdict:
        """The database's verdict for an address ``maybe`` said yes to."""
        with session_scope(self.factory, "checking the suppression list") as session:
            return verdict_for(session, address, now=now)

    def note(self, scope: ListScope, value: str) -> None:
        """Remember an entry this process just added (seen before the next refresh)."""
        with self._lock:
            self._recent = {*self._recent, entry_hash(scope, value)}
