"""One writer thread for the web service's events: group commit of concurrent requests.

Why: every unsubscribe, open and click is a small write transaction. Run from the request
threads, they contend for the database's write lock; on SQLite a waiting writer sleeps in
SQLite's busy handler (1, 2, 5 ... 100 ms steps), so 32 concurrent POSTs crawled at about
80 per second on this machine. One thread that takes whatever observations are waiting and
records them in one transaction (``monitor.events.record_events`` with one group per
request) pays one commit for many requests and never contends with itself; each request
waits for its own group's ``Recorded`` and answers only after the commit (bench_web.py has
the figures).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from monitor.events import EventContext, Observation, Recorded, record_events

__all__ = ["EventWriter"]

log = logging.getLogger(__name__)
_STOP = object()


class EventWriter:
    """``await writer.record(observations)``: recorded in the next group commit."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        ctx: EventContext,
        now: Callable[[], datetime],
        *,
        batch: int = 500,
    ) -> None:
        self.factory = factory
        self.ctx = ctx
        self.now = now
        self.batch = batch
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def _ensure_started(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="web-writer", daemon=True)
                self._thread.start()

    def submit(self, observations: Sequence[Observation]) -> Future[Recorded]:
        future: Future[Recorded] = Future()
        self._ensure_started()
        self._queue.put((list(observations), future))
        return future

    async def record(self, observations: Sequence[Observation]) -> Recorded:
        """Record one group; raises what ``record_events`` raised (``StoreError``)."""
        return await asyncio.wrap_future(self.submit(observations))

    def stop(self) -> None:
        with self._lock:
            thread = self._thread
            self._thread = None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join(timeout=30)

    def _take(self, first: object) -> tuple[list[tuple[list[Observation], Future[Recorded]]], bool]:
        items: list[tuple[list[Observation], Future[Recorded]]] = []
        stop = False
        item = first
        while True:
            if item is _STOP:
                stop = True
            else:
                items.append(item)  # type: ignore[arg-type]
            if len(items) >= self.batch:
                break
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
        return items, stop

    def _run(self) -> None:
        while True:
            items, stop = self._take(self._queue.get())
            if items:
                self._commit(items)
            if stop:
                return

    def _commit(self, items: list[tuple[list[Observation], Future[Recorded]]]) -> None:
        try:
            results = record_events(
                self.factory, [obs for obs, _ in items], self.ctx, now=self.now()
            )
        except BaseException as exc:  # the whole batch failed: every request hears why
            for _, future in items:
                future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(items, results, strict=True):
            future.set_result(result)
