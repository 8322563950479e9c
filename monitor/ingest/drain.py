"""Drain one IMAP folder into the store, exactly once, losing nothing.

A batch (``batch_size`` UIDs) goes through four steps, and their order is the guarantee:

1. **fetch**: sizes first (``RFC822.SIZE``), so an oversized message is never downloaded;
   then bodies with ``BODY.PEEK[]`` (RFC 3501 6.4.5: nothing is marked ``\\Seen``) in chunks
   of at most ``fetch_bytes``. Each body is parsed and dropped, so memory is bounded by a
   chunk plus the batch's small parse results, never by the mailbox. Big backlogs are
   parsed by a pool of worker processes while the poller stores the previous batch;
2. **commit** (``monitor.ingest.commit``): one transaction per batch, one SAVEPOINT per message;
3. **move**, only after the commit: processed mail to ``processed_folder`` (or deleted),
   failed mail to ``failed_folder``, the reason kept in ``processed_items.error``; moves of
   several batches are gathered into one MOVE per ``MOVE_EVERY`` messages;
4. **mark** the ledger rows as moved (informational: the folder is the truth).

A crash between 2 and 3 leaves ledger rows for mail still in the folder: the next run finds
them by (folder, UIDVALIDITY, UID) and only moves them; under a new UIDVALIDITY
(RFC 3501 2.3.1.1) the content hash finds them instead. ``ConnectionLost`` (dropped
connection, server restart) is retried with doubling pauses, re-selecting the folder.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from monitor.config import MailboxConfig
from monitor.enums import ItemOutcome
from monitor.events import Effects, EventContext
from monitor.ingest.commit import BatchItem, commit_batch
from monitor.ingest.lifeline import worker_init
from monitor.ingest.mailbox import ConnectionLost, Mailbox
from monitor.ingest.parse import ParsedItem, oversize_hash, parse_jobs
from monitor.store.db import session_scope
from monitor.store.ingest_repo import known_items, ledger_key, mark_moved

__all__ = ["FETCH_BYTES", "Hooks", "IngestOptions", "PollSummary", "drain_mailbox"]

log = logging.getLogger(__name__)

FETCH_BYTES = 16 * 1024 * 1024
PARSE_CHUNK = 25  # messages per parse task
MOVE_EVERY = 1000  # committed UIDs gathered per MOVE (see _Drain._flush_moves)
MAX_FAILURES_KEPT = 50
_EXPECTED = {
    "bounces": {"bounce", "delay", "delivery", "auto-reply"},
    "fbl": {"complaint", "auth-failure"},
    "dmarc": {"dmarc-aggregate", "tls-report", "auth-failure"},
}


def _noop(_uids: list[int]) -> None:
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Hooks:
    """Fault-injection points (tests kill servers or the process here); no-ops by default."""

    before_fetch: Callable[[list[int]], None] = _noop
    after_fetch: Callable[[list[int]], None] = _noop
    after_commit: Callable[[list[int]], None] = _noop
    after_move: Callable[[list[int]], None] = _noop


@dataclass(frozen=True, slots=True, kw_only=True)
class IngestOptions:
    dry_run: bool = False  # parse and decide inside a transaction that is rolled back; no moves
    reprocess: bool = False  # read the failed folder again; what still fails stays there
    reconnect_attempts: int = 4
    fetch_bytes: int = FETCH_BYTES
    #: Parse worker processes for backlogs of more than two batches (0: parse in-process).
    workers: int = 0
    hooks: Hooks = field(default_factory=Hooks)
    sleep: Callable[[float], None] = time.sleep
    progress: Callable[[int, int], None] | None = None  # (done, total)


@dataclass
class PollSummary:
    mailbox: str
    folder: str
    dry_run: bool = False
    found: int = 0
    fetched: int = 0
    processed: int = 0
    failed: int = 0
    duplicates: int = 0
    recovered: int = 0  # handled by an earlier run, only moved now
    moved: int = 0
    unexpected: int = 0  # not what the mailbox's role expects
    reconnects: int = 0
    effects: Effects = field(default_factory=Effects)
    failures: list[tuple[int, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """The figures of :meth:`line`, for the job recorder (``deliverwatch status``)."""
        e = self.effects
        return {
            "fetched": self.fetched,
            "bounces": e.bounces,
            "complaints": e.complaints,
            "reports": e.reports,
            "failed": self.failed,
            "suppressed": e.suppressed,
            "duplicates": self.duplicates + e.duplicate_reports,
        }

    def line(self) -> str:
        e = self.effects
        head = "dry run, nothing stored: " if self.dry_run else ""
        return (
            f"{head}{self.mailbox}: fetched {self.fetched}, bounces {e.bounces}, "
            f"complaints {e.complaints}, reports {e.reports}, failed {self.failed}, "
            f"suppressed {e.suppressed}, duplicates {self.duplicates + e.duplicate_reports}"
        )


class _Inline(Executor):
    """Parse in the poller process (small polls: no worker start-up cost)."""

    def submit(  # type: ignore[override]
        self,
        fn: Callable[[list[tuple[bytes, str, datetime | None]]], list[ParsedItem]],
        /,
        *args: Any,
    ) -> Future[list[ParsedItem]]:
        future: Future[list[ParsedItem]] = Future()
        future.set_result(fn(*args))
        return future


@dataclass(slots=True)
class _Pending:
    """A fetched batch whose parse results may still be on their way."""

    uids: list[int]
    known: dict[int, ItemOutcome]
    items: list[BatchItem]
    futures: list[tuple[list[BatchItem], Future[list[ParsedItem]]]]


def _chunks(uids: Sequence[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(uids), size):
        yield list(uids[i : i + size])


class _Drain:
    """State of one drain of one folder; it survives reconnects."""

    def __init__(
        self,
        name: str,
        cfg: MailboxConfig,
        factory: sessionmaker[Session],
        ctx: EventContext,
        now: Callable[[], datetime],
        options: IngestOptions,
    ) -> None:
        self.name, self.cfg, self.factory, self.ctx = name, cfg, factory, ctx
        self.now, self.options = now, options
        self.folder = cfg.failed_folder if options.reprocess else cfg.folder
        self.key = ledger_key(name, self.folder)
        self.summary = PollSummary(mailbox=name, folder=self.folder, dry_run=options.dry_run)
        self.seen: set[int] = set()  # UIDs handled in this drain (of this UIDVALIDITY)
        self.uidvalidity = 0
        self.done = 0
        self.executor: Executor = _Inline()
        self.to_move: dict[int, ItemOutcome] = {}  # committed, not moved yet
        #: A dry run's one transaction over all its batches, rolled back in ``close``.
        self.dry_session: Session | None = None

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        if self.dry_session is not None:
            self.dry_session.rollback()
            self.dry_session.close()
            self.dry_session = None

    def _dry_transaction(self) -> Session | None:
        if not self.options.dry_run:
            return None
        if self.dry_session is None:
            self.dry_session = self.factory()
            self.dry_session.begin()
        return self.dry_session

    # ------------------------------------------------------------------ one session

    def run(self, box: Mailbox) -> None:
        """Drain until the folder holds nothing this drain has not handled."""
        # After a reconnect: committed but never moved, so to be found (and moved) again.
        self.seen.difference_update(self.to_move)
        self.to_move.clear()
        if not self.options.dry_run:  # a dry run changes nothing on the server either
            if self.cfg.action_after == "move":
                box.ensure_folder(self.cfg.processed_folder)
            box.ensure_folder(self.cfg.failed_folder)
        while True:
            state = box.select(self.folder, readonly=self.options.dry_run)
            if state.uidvalidity != self.uidvalidity:
                self.seen.clear()
                self.uidvalidity = state.uidvalidity
            self._expunge_leftovers(box)
            uids = [u for u in box.pending_uids() if u not in self.seen]
            if not uids:
                return
            self.summary.found = max(self.summary.found, self.done + len(uids))
            self._use_workers(len(uids))
            pending: _Pending | None = None
            for batch in _chunks(uids, self.cfg.batch_size):
                started = self._start(box, batch)
                if pending is not None:
                    self._finish(box, pending)
                pending = started
            if pending is not None:
                self._finish(box, pending)
            self._flush_moves(box)
            if self.options.dry_run:
                return

    def _use_workers(self, backlog: int) -> None:
        if self.options.workers < 1 or backlog <= 2 * self.cfg.batch_size:
            return
        if isinstance(self.executor, ProcessPoolExecutor):
            return
        ctx = multiprocessing.get_context("forkserver")  # no fork() of a threaded daemon
        self.executor = ProcessPoolExecutor(
            self.options.workers, mp_context=ctx, initializer=worker_init, initargs=(os.getpid(),)
        )

    def _expunge_leftovers(self, box: Mailbox) -> None:
        """Finish a COPY + \\Deleted whose EXPUNGE was cut off: only UIDs in our ledger."""
        if self.options.dry_run or (box.has("MOVE") and self.cfg.action_after == "move"):
            return
        deleted = box.deleted_uids()
        if not deleted:
            return
        with session_scope(self.factory, "reading the mailbox ledger") as session:
            ours = list(known_items(session, self.key, self.uidvalidity, deleted))
        box.expunge(ours)

    # ------------------------------------------------------------------ one batch

    def _start(self, box: Mailbox, uids: list[int]) -> _Pending:
        """Ledger check, sizes, fetch; parsing is handed to the executor."""
        with session_scope(self.factory, "reading the mailbox ledger") as session:
            ledger = known_items(session, self.key, self.uidvalidity, uids)
        redo = {ItemOutcome.FAILED} if self.options.reprocess else set()
        todo = [u for u in uids if u not in ledger or ledger[u].outcome in redo]
        # In the ledger but still here: the move after their commit never happened.
        known = {u: e.outcome for u, e in ledger.items() if u not in todo}
        sizes = box.sizes(todo)
        items = [BatchItem(uid, sizes[uid]) for uid in todo if uid in sizes]
        limit = self.cfg.max_message_bytes
        for item in items:
            if item.size is not None and item.size > limit:
                header = box.header(item.uid)
                item.content_hash = oversize_hash(item.size, header)
                item.fail(f"message is {item.size} bytes, over max_message_bytes = {limit}")
        futures = []
        wanted = {i.uid: i for i in items if i.outcome is None}
        self.options.hooks.before_fetch(list(wanted))
        for group in self._fetch_groups(list(wanted.values())):
            fetched = box.fetch(group)
            for i in range(0, len(fetched), PARSE_CHUNK):  # one task per chunk: less IPC
                part = fetched[i : i + PARSE_CHUNK]
                ref = f"{self.folder}:{self.uidvalidity}"
                jobs = [(m.raw, f"{ref}:{m.uid}", m.internal_date) for m in part]
                owners = [wanted[m.uid] for m in part]
                futures.append((owners, self.executor.submit(parse_jobs, jobs)))
            self.summary.fetched += len(group)
        return _Pending(uids, known, items, futures)

    def _fetch_groups(self, items: list[BatchItem]) -> Iterator[list[int]]:
        group: list[int] = []
        total = 0
        for item in items:
            size = item.size or 0
            if group and total + size > self.options.fetch_bytes:
                yield group
                group, total = [], 0
            group.append(item.uid)
            total += size
        if group:
            yield group

    def _finish(self, box: Mailbox, pending: _Pending) -> None:
        """Collect parse results, commit, then move; count everything."""
        for owners, future in pending.futures:
            for item, parsed in zip(owners, future.result(), strict=True):
                item.parsed, item.content_hash = parsed, parsed.content_hash
        items = [i for i in pending.items if i.outcome is not None or i.parsed is not None]
        self.options.hooks.after_fetch(pending.uids)
        decided = []
        if items:
            decided = commit_batch(
                self.factory,
                items,
                mailbox=self.name,
                ledger=self.key,
                uidvalidity=self.uidvalidity,
                ctx=self.ctx,
                now=self.now(),
                reprocess=self.options.reprocess,
                dry_run=self.options.dry_run,
                session=self._dry_transaction(),
            )
        for item in decided:
            self._count(item)
        if not self.options.dry_run:
            self.options.hooks.after_commit(pending.uids)
            self.summary.recovered += len(pending.known)
            self.to_move.update(pending.known)
            self.to_move.update({i.uid: i.outcome for i in decided if i.outcome})
            if len(self.to_move) >= MOVE_EVERY:
                self._flush_moves(box)
        self.seen.update(pending.uids)
        self.done += len(pending.uids)
        if self.options.progress:
            self.options.progress(self.done, self.summary.found)

    def _count(self, item: BatchItem) -> None:
        s = self.summary
        if item.outcome is ItemOutcome.PROCESSED:
            s.processed += 1
            if item.effects is not None:
                s.effects.add(item.effects)
            expected = _EXPECTED.get(self.cfg.role)
            if expected is not None and item.kind not in expected:
                s.unexpected += 1
        elif item.outcome is ItemOutcome.DUPLICATE:
            s.duplicates += 1
        else:
            s.failed += 1
            verb = "would go" if self.options.dry_run else "goes"
            log.warning(
                "%s: UID %d %s to the failed folder: %s", self.name, item.uid, verb, item.error
            )
            if len(s.failures) < MAX_FAILURES_KEPT:
                s.failures.append((item.uid, item.error or "unknown"))

    # ------------------------------------------------------------------ moving

    def _flush_moves(self, box: Mailbox) -> None:
        """Move what was committed: one MOVE per ``MOVE_EVERY`` messages, not per batch,
        because on many servers (Dovecot maildir: the UID list is rewritten on every
        expunge) a MOVE costs in proportion to the folder's size."""
        if not self.to_move:
            return
        self._move(box, self.to_move)
        self.options.hooks.after_move(sorted(self.to_move))
        self.to_move.clear()

    def _move(self, box: Mailbox, outcomes: dict[int, ItemOutcome]) -> None:
        good = sorted(u for u, o in outcomes.items() if o is not ItemOutcome.FAILED)
        bad = sorted(u for u, o in outcomes.items() if o is ItemOutcome.FAILED)
        if self.cfg.action_after == "delete":
            box.delete(good)
        else:
            box.move(good, self.cfg.processed_folder)
        moved = good
        if not self.options.reprocess:  # otherwise they are in the failed folder already
            box.move(bad, self.cfg.failed_folder)
            moved = good + bad
        self.summary.moved += len(moved)
        try:
            with session_scope(self.factory, "marking items moved") as session:
                mark_moved(session, self.key, self.uidvalidity, moved)
        except Exception as exc:  # informational flag only: the folder is the truth
            log.warning("%s: could not mark %d items moved: %s", self.name, len(moved), exc)


def drain_mailbox(
    name: str,
    cfg: MailboxConfig,
    *,
    factory: sessionmaker[Session],
    ctx: EventContext,
    now: Callable[[], datetime],
    options: IngestOptions | None = None,
) -> PollSummary:
    """Connect, drain ``cfg.folder`` (or the failed folder when reprocessing), log out.

    ``ConnectionLost`` is retried up to ``reconnect_attempts`` times in a row with doubling
    pauses (a batch that completes resets the count); other errors propagate as
    ``MailboxError``/``StoreError`` with the mailbox left consistent.
    """
    options = options or IngestOptions()
    drain = _Drain(name, cfg, factory, ctx, now, options)
    failures, done_before = 0, -1
    try:
        while True:
            try:
                with Mailbox.connect(cfg, label=name) as box:
                    drain.run(box)
                return drain.summary
            except ConnectionLost as exc:
                failures = 1 if drain.done > done_before else failures + 1
                done_before = drain.done
                if failures > options.reconnect_attempts:
                    raise
                pause = min(cfg.retry_initial_seconds * 2 ** (failures - 1), 60)
                drain.summary.reconnects += 1
                log.warning("%s; reconnecting in %ds", exc, pause)
                options.sleep(pause)
    finally:
        drain.close()
