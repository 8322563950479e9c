"""The content check before sending: a sample of each campaign through spamd and clamd.

**Where it happens, and why.** The decision is made at intake, in the transaction whose
commit precedes the 250 (``monitor.store.content.admit``): the sampled message's recipients,
and all mail of a campaign not judged yet, are stored in state ``scanning``, which the
delivery scheduler does not claim. The scan itself runs after the 250, in this task of the
relay process: the submitting client never waits seconds for SpamAssassin (Postfix's
after-queue ``content_filter``, not a before-queue proxy filter), a scanner that is slow or
down cannot stall submission, and the verdict still comes before any delivery, because
delivery only ever sees recipients the scanner has let go. Doing it in the delivery
scheduler instead would have put a multi-second network call between a claim and its
delivery, with leases running out under it, and in every delivery process at once.

The event loop never blocks: spamd and clamd are spoken to over asyncio streams
(``monitor.relay.scanners``), database work runs in a thread. Scans are leased rows, so a
relay killed mid-scan leaves them to the next start. Semantics follow Amavis: spam over
``score_limit`` or any virus holds (Amavis' ``D_DISCARD``/quarantine is here a hold the
operator can release); a scanner that gives no verdict passes the message with a note
(``on_scanner_error = "open"``) or holds the campaign (``"closed"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

from monitor.config import ContentConfig
from monitor.config.content import scanner_address
from monitor.errors import MonitorError
from monitor.relay.scanners import ClamdClient, ScannerError, SpamdClient
from monitor.store import content as repo
from monitor.store.db import store_errors
from monitor.store.queue import QueuedMessage

__all__ = ["ContentScanner", "judge"]

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Scans in flight at once (spamd's default --max-children is 5).
CONCURRENCY = 4
#: A claimed scan not finished in this long is claimed again (a dead relay's).
LEASE_SECONDS = 300.0
#: spamd gets the first 500 KB, as spamc sends by default (``spamc -s``): SpamAssassin's
#: rules are about text and headers, and its time grows with the size.
SPAMD_MAX_BYTES = 500 * 1024


def judge(
    cfg: ContentConfig,
    *,
    spam: tuple[float, tuple[str, ...]] | None,
    virus: str | None,
    errors: list[str],
) -> repo.ScanFindings:
    """The verdict on one message from what the scanners said (module docstring)."""
    score, rules = spam if spam is not None else (None, ())
    found: list[str] = []
    if virus:
        found.append(f"virus {virus} (clamd)")
    if score is not None and score > cfg.score_limit:
        found.append(f"spam score {score:g} > {cfg.score_limit:g} ({', '.join(rules[:12])})")
    if errors and cfg.on_scanner_error == "closed":
        found.append("not scanned, on_scanner_error = closed: " + "; ".join(errors))
    verdict = "hold" if found else ("pass-unscanned" if errors else "pass")
    return repo.ScanFindings(
        hold=bool(found), verdict=verdict, spam_score=score, spam_rules=rules, virus=virus,
        errors=tuple(errors), reason="; ".join(found),
    )  # fmt: skip


class ContentScanner:
    """Scans what ``admit`` queued; started by the relay service beside its listeners."""

    def __init__(
        self,
        cfg: ContentConfig,
        factory: sessionmaker[Session],
        *,
        clock: Callable[[], datetime],
        on_released: Callable[[], None] = lambda: None,
        poll_seconds: float = 5.0,
    ) -> None:
        self.cfg = cfg
        self.factory = factory
        self.clock = clock
        self.on_released = on_released  # recipients became deliverable: wake delivery
        self.poll_seconds = poll_seconds
        self.spamd = (
            SpamdClient(
                scanner_address(cfg.spamd), user=cfg.spamd_user, timeout=cfg.timeout_seconds
            )
            if cfg.spamd
            else None
        )
        self.clamd = (
            ClamdClient(scanner_address(cfg.clamd), timeout=cfg.timeout_seconds)
            if cfg.clamd
            else None
        )
        self.counts: dict[str, int] = {}
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._db = ThreadPoolExecutor(1, thread_name_prefix="content-db")

    # -- at intake (the intake's writer thread, inside its transaction) ------------------

    def admit(self, session: Session, messages: list[QueuedMessage],
              ids: list[list[int]]) -> int:  # fmt: skip
        return repo.admit(session, messages, ids, sample_every=self.cfg.sample_every,
                          now=self.clock())  # fmt: skip

    def wake(self) -> None:
        """Scans were queued (safe from any thread)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    # -- the task ------------------------------------------------------------------------

    async def _in_db(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._db, fn)

    async def run(self, stopping: asyncio.Event) -> None:
        self._loop = asyncio.get_running_loop()
        watcher = asyncio.create_task(self._stop_watch(stopping))
        try:
            while not stopping.is_set():
                self._wake.clear()
                try:
                    jobs = await self._in_db(self._claim)
                except MonitorError as exc:
                    log.warning("content check: cannot read the scans to do: %s", exc)
                    jobs = []
                if jobs:
                    await asyncio.gather(*(self._one(job) for job in jobs))
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_seconds)
        finally:
            watcher.cancel()
            self._db.shutdown(wait=True)

    async def _stop_watch(self, stopping: asyncio.Event) -> None:
        await stopping.wait()
        self._wake.set()

    def _claim(self) -> list[repo.ScanJob]:
        now = self.clock()
        with store_errors("claiming content scans"), self.factory() as session:
            session.begin()
            jobs = repo.claim_scans(session, now=now, limit=CONCURRENCY,
                                    lease_until=now + timedelta(seconds=LEASE_SECONDS))  # fmt: skip
            session.commit()
        return jobs

    async def _one(self, job: repo.ScanJob) -> None:
        try:
            findings = await self.scan(job.body or b"")
            moved = await self._in_db(lambda: self._finish(job.id, findings))
        except MonitorError as exc:  # the lease runs out, the scan is done again
            log.warning("content check of %s: cannot store the verdict: %s", job.queue_id, exc)
            return
        except Exception:  # a bug must not stop the scanner: this scan's lease runs out
            log.exception("content check of %s failed; it is tried again in %.0f s",
                          job.queue_id, LEASE_SECONDS)  # fmt: skip
            return
        self.counts[findings.verdict] = self.counts.get(findings.verdict, 0) + 1
        if findings.hold:
            log.warning("content check: campaign %r held (%s): %s", job.campaign, job.queue_id,
                        findings.reason)  # fmt: skip
        elif findings.errors:
            log.warning("content check of %s: passed unscanned (on_scanner_error = open): %s",
                        job.queue_id, "; ".join(findings.errors))  # fmt: skip
        if moved and not findings.hold:
            self.on_released()

    def _finish(self, scan_id: int, findings: repo.ScanFindings) -> int:
        with store_errors("storing a content verdict"), self.factory() as session:
            session.begin()
            moved = repo.finish_scan(session, scan_id, findings, now=self.clock())
            session.commit()
        return moved

    async def scan(self, body: bytes) -> repo.ScanFindings:
        """Both scanners at once on ``body`` (cut to ``max_scan_bytes``; spamd gets the first
        ``SPAMD_MAX_BYTES``)."""
        sample = body[: self.cfg.max_scan_bytes]
        head = sample[:SPAMD_MAX_BYTES]
        errors: list[str] = []
        spam: tuple[float, tuple[str, ...]] | None = None
        virus: str | None = None

        async def spam_check() -> None:
            nonlocal spam
            if self.spamd is not None:
                try:
                    result = await self.spamd.check(head)
                except ScannerError as exc:
                    errors.append(str(exc))
                else:
                    spam = (result.score, result.rules)

        async def virus_check() -> None:
            nonlocal virus
            if self.clamd is not None:
                try:
                    virus = (await self.clamd.scan(sample)).virus
                except ScannerError as exc:
                    errors.append(str(exc))

        await asyncio.gather(spam_check(), virus_check())
        return judge(self.cfg, spam=spam, virus=virus, errors=errors)
