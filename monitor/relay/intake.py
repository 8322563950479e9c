"""Group commit of accepted messages: the relay answers 250 only after this commit.

Sessions hand their finished messages to ``Intake.submit`` and wait. One writer thread takes
whatever has arrived -- one message when the relay is idle, dozens under load -- writes them
all (``monitor.store.queue.enqueue``: the message, its body, one ``sent_messages`` row per
recipient) in one transaction, commits (on SQLite with ``synchronous=FULL``: the WAL is
fsynced, so the promise holds through a power cut), and only then wakes every waiting
session with its rows' ids. One fsync then covers many messages, which is what lets a
durable queue accept as fast as Postfix. If the database refuses or is unreachable, every
waiting session gets the error and answers ``451 4.3.0``: never a 250 for a message that is
not stored.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session, sessionmaker

from monitor.errors import MonitorError, RelayError
from monitor.store import queue as queue_repo
from monitor.store.db import store_errors, write_turn
from monitor.store.queue import QueuedMessage

__all__ = ["Intake"]

log = logging.getLogger(__name__)

#: Messages per transaction at most (bounded memory and transaction size under bursts).
MAX_BATCH = 256


@dataclass(slots=True)
class _Job:
    message: QueuedMessage
    future: asyncio.Future[list[int]]
    loop: asyncio.AbstractEventLoop


class Intake:
    """The group-commit writer (one thread, one database connection at a time)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        on_commit: Callable[[int], None] | None = None,
        admit: Callable[[Session, list[QueuedMessage], list[list[int]]], int] | None = None,
        on_admitted: Callable[[], None] | None = None,
    ) -> None:
        self.factory = factory
        self.on_commit = on_commit  # called in the writer thread with the batch size
        #: The content check's decision (``monitor.relay.content``), in the same transaction
        #: as the messages; it returns how many scans it queued, ``on_admitted`` is then
        #: called after the commit.
        self.admit = admit
        self.on_admitted = on_admitted
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="relay-intake", daemon=True)
        self._thread.start()
        self.committed = 0
        self.batches = 0
        self.write_seconds = 0.0  # time spent writing and committing (the fsyncs)

    async def submit(self, message: QueuedMessage) -> list[int]:
        """Store ``message`` durably; its recipients' ``sent_messages`` ids. Raises
        ``RelayError`` when it could not be stored."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[int]] = loop.create_future()
        self._jobs.put(_Job(message, future, loop))
        return await future

    def close(self, timeout: float = 30.0) -> None:
        """Write what is waiting, then stop the thread."""
        self._jobs.put(None)
        self._thread.join(timeout)

    # ------------------------------------------------------------------ the thread

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._jobs.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    job = self._jobs.get_nowait()
                except queue.Empty:
                    break
                if job is None:
                    stopping = True
                    break
                batch.append(job)
            self._write(batch)

    def _write(self, batch: list[_Job]) -> None:
        started = time.perf_counter()
        try:
            with (
                store_errors("queueing accepted mail"),
                write_turn(self.factory),
                self.factory() as session,
            ):
                session.begin()
                messages = [job.message for job in batch]
                ids = queue_repo.enqueue(session, messages)
                scans = self.admit(session, messages, ids) if self.admit is not None else 0
                session.commit()
        except MonitorError as exc:
            log.error("could not queue %d message(s): %s", len(batch), exc)
            self._settle(batch, error=RelayError(str(exc)))
            return
        except Exception as exc:  # a bug must not leave sessions waiting forever
            log.exception("could not queue %d message(s)", len(batch))
            self._settle(batch, error=RelayError(f"internal error: {type(exc).__name__}"))
            return
        self.committed += len(batch)
        self.batches += 1
        self.write_seconds += time.perf_counter() - started
        if self.on_commit is not None:
            self.on_commit(len(batch))
        if scans and self.on_admitted is not None:
            self.on_admitted()
        for job, rows in zip(batch, ids, strict=True):
            job.loop.call_soon_threadsafe(_resolve, job.future, rows, None)

    @staticmethod
    def _settle(batch: list[_Job], *, error: RelayError) -> None:
        for job in batch:
            job.loop.call_soon_threadsafe(_resolve, job.future, None, error)


def _resolve(
    future: asyncio.Future[list[int]], rows: list[int] | None, error: BaseException | None
) -> None:
    if future.done():  # the session went away (client hung up, relay stopping)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(rows or [])
