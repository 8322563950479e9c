"""Idle outbound connections, kept a few seconds for the next message to the same MX.

Keyed by the MX address and port (Postfix's "physical endpoint", CONNECTION_CACHE_README)
and the destination group it counts against (traffic shaping), so two domains served by one
MX share its connections. The most recently used connection is
handed out first (the one least likely to have been closed by the server); ``reap`` closes
connections idle past ``idle_seconds`` and any the server closed meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from monitor.relay.delivery.session import Connection

__all__ = ["ConnectionPool"]


class ConnectionPool:
    """Idle connections by MX address (most recently used first out), closed after
    ``idle_seconds`` by :meth:`reap`."""

    def __init__(self, idle_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._idle: dict[tuple[str, int, str], list[tuple[float, Connection]]] = {}

    def __len__(self) -> int:
        return sum(len(v) for v in self._idle.values())

    def take(self, key: tuple[str, int, str]) -> Connection | None:
        """The most recently used idle connection to ``key`` that is still open."""
        entries = self._idle.get(key)
        while entries:
            _, conn = entries.pop()
            if conn.usable:
                return conn
            conn.close()
        return None

    def give(self, conn: Connection) -> None:
        if conn.usable:
            self._idle.setdefault(conn.key, []).append((self.clock(), conn))
        else:
            conn.close()

    async def evict(self, group: str | None = None) -> bool:
        """Close the connection idle longest (of ``group`` when given: room for a new one
        under its cap); False: none idle."""
        oldest: tuple[float, tuple[str, int, str]] | None = None
        for key, entries in self._idle.items():
            if group is not None and key[2].split("/")[0] != group:
                continue
            if entries and (oldest is None or entries[0][0] < oldest[0]):
                oldest = (entries[0][0], key)
        if oldest is None:
            return False
        _, conn = self._idle[oldest[1]].pop(0)
        await conn.quit()
        return True

    async def reap(self) -> None:
        """Close connections idle past ``idle_seconds`` (or closed by the server)."""
        limit = self.clock() - self.idle_seconds
        stale: list[Connection] = []
        for key, entries in list(self._idle.items()):
            fresh = [(t, c) for t, c in entries if t > limit and c.usable]
            stale.extend(c for t, c in entries if not (t > limit and c.usable))
            if fresh:
                self._idle[key] = fresh
            else:
                del self._idle[key]
        await asyncio.gather(*(c.quit() for c in stale))

    async def close_all(self) -> None:
        conns = [c for entries in self._idle.values() for _, c in entries]
        self._idle.clear()
        await asyncio.gather(*(c.quit() for c in conns))
