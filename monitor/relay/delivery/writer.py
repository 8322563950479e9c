"""Group commit of delivery results: whatever arrived while the last batch was being written
is the next batch, one transaction each (``record.write``).

No delay is added to gather a batch: under load the database's own latency makes the
batches big, when idle each result goes at once. A batch the database cannot take because
it is down or locked is retried (with a growing pause) until it goes; the rows stay leased
meanwhile, so nobody else delivers them. A batch refused for its data (or that trips a bug)
is split until the culprit is alone, and that one is held with the reason instead of
being retried for ever.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import StoreError
from monitor.events import EventContext, is_infrastructure
from monitor.relay.delivery.record import Attempt, Batch, prepare, write
from monitor.relay.delivery.result import Reply, Verdict
from monitor.relay.delivery.settings import DeliverySettings

__all__ = ["Writer"]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Attempts per transaction at most.
MAX_BATCH = 2000


class Writer:
    """Takes attempts from the agents (``put``) and stores them in batches (``run``)."""

    def __init__(
        self,
        *,
        in_db: Callable[[Callable[[], T]], Awaitable[T]],
        factory: sessionmaker[Session],
        ctx: EventContext,
        settings: DeliverySettings,
        clock: Callable[[], datetime],
        committed: Callable[[Sequence[Attempt], Batch | None], None],
        rng: random.Random | None = None,
    ) -> None:
        self._in_db: Callable[[Callable[[], Any]], Awaitable[Any]] = in_db
        self.factory = factory
        self.ctx = ctx
        self.settings = settings
        self.clock = clock
        self.committed = committed
        self.rng = rng or random.Random()
        self._items: list[Attempt] = []
        self._ready = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._give_up_at: float | None = None
        self.stored = 0  # attempts, commits and seconds in them: the log line at close
        self.commits = 0
        self.seconds = 0.0

    def put(self, attempts: Sequence[Attempt]) -> None:
        self._items.extend(attempts)
        self._idle.clear()
        self._ready.set()

    @property
    def pending(self) -> int:
        return len(self._items)

    async def run(self) -> None:
        """Write batches until :meth:`close` and everything is written (or given up)."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            while self._items:
                items = self._items[:MAX_BATCH]
                del self._items[:MAX_BATCH]
                await self._write(items)
            self._idle.set()
            if self._closing:
                return

    async def close(self, timeout: float) -> None:
        """Write what is left (for at most ``timeout`` seconds of database trouble)."""
        self._closing = True
        self._give_up_at = asyncio.get_running_loop().time() + timeout
        self._ready.set()
        await self._idle.wait()
        if self.commits:
            log.info("relay: recorded %d delivery results in %d commits (%.1f per commit, "
                     "%.1f ms each)", self.stored, self.commits, self.stored / self.commits,
                     1000 * self.seconds / self.commits)  # fmt: skip

    async def _write(self, items: list[Attempt]) -> None:
        pause = 0.5
        while True:
            now = self.clock()
            try:
                batch = await self._in_db(lambda now=now: self._store(items, now))  # type: ignore[misc]
            except StoreError as exc:
                cause = exc.__cause__  # None: the store's own check (a replaced SQLite file)
                if cause is not None and not is_infrastructure(cause):
                    await self._split(items, exc)
                    return
                if self._gave_up(items, exc):
                    self.committed(items, None)
                    return
                log.warning("cannot record %d delivery results yet (%s); retrying in %.1f s",
                            len(items), exc, pause)  # fmt: skip
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)
                continue
            except Exception as exc:  # a bug while settling or storing: find the culprit
                await self._split(items, exc)
                return
            self.committed(items, batch)
            return

    def _store(self, items: list[Attempt], now: datetime) -> Batch:
        started = time.perf_counter()
        batch = prepare(items, now=now, settings=self.settings, rng=self.rng)
        write(self.factory, batch, self.ctx, now=now)
        self.stored, self.commits = self.stored + len(items), self.commits + 1
        self.seconds += time.perf_counter() - started
        return batch

    def _gave_up(self, items: list[Attempt], exc: Exception) -> bool:
        if self._give_up_at is None or asyncio.get_running_loop().time() < self._give_up_at:
            return False
        log.error("giving up recording %d delivery results (%s): their leases run out "
                  "and they will be delivered again", len(items), exc)  # fmt: skip
        return True

    async def _split(self, items: list[Attempt], exc: Exception) -> None:
        """Halve a refused batch; a lone culprit is held (or, when even that fails, left to
        its lease: it is tried again later, never in a loop here)."""
        if len(items) > 1:
            middle = len(items) // 2
            await self._write(items[:middle])
            await self._write(items[middle:])
            return
        [item] = items
        if item.reply.verdict is Verdict.HELD:
            log.error("cannot record message %s even as held (%s); its lease will run out",
                      item.due.queue_id, exc)  # fmt: skip
            self.committed(items, None)
            return
        log.error("recording the delivery result of %s failed (%s); holding it",
                  item.due.queue_id, exc, exc_info=exc)  # fmt: skip
        why = Reply(None, f"internal error while recording: {type(exc).__name__}: {exc}",
                    local=Verdict.HELD)  # fmt: skip
        await self._write([Attempt(item.due, why, item.source_ip, False, None)])
