"""The scheduled side of ingestion: one ``MailboxPoller`` job per configured mailbox.

A poll that fails (wrong password, TLS refused, host unknown, server down, database down or
locked) logs one clear line, records the error on the mailbox's cursor, raises ``JobFailed``
(the daemon records the run as failed; a run inside the back-off is ``JobSkipped``), and
makes the job skip its next runs with a doubling back-off (``retry_initial_seconds`` up to
``retry_max_seconds``): a bad password retried every five minutes gets accounts locked, and
a server that is down needs no hammering. The other jobs of the daemon run on meanwhile;
the first success resets the back-off. Transient faults inside a poll (a dropped
connection, a server restart) are retried by ``drain_mailbox`` itself.

With ``idle = true`` a run drains the folder, then waits with IMAP IDLE (RFC 2177) on a
second connection and drains again whenever the server announces new mail, until the run's
time (``poll_every_seconds``) is up or the daemon stops; a dropped IDLE connection is
re-opened after a pause.
"""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from monitor.config import MailboxConfig
from monitor.errors import JobFailed, JobSkipped, MonitorError
from monitor.events import EventContext
from monitor.ingest.drain import IngestOptions, PollSummary, drain_mailbox
from monitor.ingest.mailbox import ConnectionLost, Mailbox
from monitor.jobresult import JobResult
from monitor.store.db import session_scope
from monitor.store.ingest_repo import touch_cursor

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

__all__ = ["IDLE_MARGIN_SECONDS", "MailboxPoller", "default_workers"]

log = logging.getLogger(__name__)

#: An IDLE run ends this much before the next scheduled run, so runs never overlap.
IDLE_MARGIN_SECONDS = 5


def default_workers(cfg: MailboxConfig) -> int:
    """Parse workers for big backlogs: ``parse_workers``, or one less than the CPUs."""
    if cfg.parse_workers >= 0:
        return cfg.parse_workers
    return max(0, (os.cpu_count() or 1) - 1)


class MailboxPoller:
    """A callable job: poll one mailbox, honouring the back-off after failures."""

    def __init__(
        self,
        name: str,
        cfg: MailboxConfig,
        *,
        factory: sessionmaker[Session],
        ctx: EventContext,
        now: Callable[[], datetime],
        sleep: Callable[[float], None] = time.sleep,
        options: IngestOptions | None = None,
    ) -> None:
        self.name, self.cfg, self.factory, self.ctx = name, cfg, factory, ctx
        self.now, self.sleep = now, sleep
        self.options = options or IngestOptions(workers=default_workers(cfg), sleep=sleep)
        self.failures = 0
        self.retry_at: datetime | None = None
        self.last: PollSummary | None = None
        self._tally: Counter[str] = Counter()

    def __call__(self, stopping: Callable[[], bool] = lambda: False) -> JobResult:
        started = self.now()
        if self.retry_at is not None and started < self.retry_at:
            raise JobSkipped(f"{self.name}: backing off until {self.retry_at:%H:%M:%S}Z")
        self._tally = Counter()
        try:
            self.last = self._drain()
            line = self.last.line()
            if self.cfg.idle:
                line = self._idle(stopping, time.monotonic() + self._idle_budget())
        except MonitorError as exc:
            raise self._failed(exc) from exc
        if self.failures:
            log.info("mailbox %s: polling works again after %d failures", self.name, self.failures)
        self.failures, self.retry_at = 0, None
        return JobResult(line, self._tally)

    def _drain(self) -> PollSummary:
        """One drain; its counts add to the run's (an IDLE run drains several times)."""
        summary = drain_mailbox(
            self.name,
            self.cfg,
            factory=self.factory,
            ctx=self.ctx,
            now=self.now,
            options=self.options,
        )
        self._tally.update(summary.counts())
        self._tally["drains"] += 1
        return summary

    def _failed(self, exc: MonitorError) -> JobFailed:
        self.failures += 1
        delay = min(
            self.cfg.retry_initial_seconds * 2 ** (self.failures - 1), self.cfg.retry_max_seconds
        )
        self.retry_at = self.now() + timedelta(seconds=delay)
        log.error(
            "mailbox %s: %s; failure %d in a row, next attempt in %ds",
            self.name,
            exc,
            self.failures,
            delay,
        )
        try:
            with session_scope(self.factory, "recording the poll error") as session:
                touch_cursor(
                    session,
                    self.name,
                    uidvalidity=None,
                    last_uid=None,
                    now=self.now(),
                    error=str(exc),
                )
        except MonitorError:
            pass  # the database may be what failed; the log line above says it all
        return JobFailed(f"mailbox {self.name}: {exc} (failure {self.failures} in a row)")

    def _idle_budget(self) -> float:
        return max(1.0, self.cfg.poll_every_seconds - IDLE_MARGIN_SECONDS)

    def _idle(self, stopping: Callable[[], bool], deadline: float) -> str:
        """IDLE on the folder until ``deadline``; drain whenever new mail is announced."""
        drains = 1
        pause = float(self.cfg.retry_initial_seconds)
        while not stopping() and time.monotonic() < deadline:
            try:
                with Mailbox.connect(self.cfg, label=self.name) as box:
                    # From SELECT on the server announces new mail to this session; what
                    # came before (since the last drain) is in its EXISTS count.
                    if box.select(self.cfg.folder).exists:
                        self.last = self._drain()
                        drains += 1
                    pause = float(self.cfg.retry_initial_seconds)
                    while not stopping() and time.monotonic() < deadline:
                        remaining = deadline - time.monotonic()
                        if box.wait_for_mail(remaining, stopping=stopping):
                            self.last = self._drain()
                            drains += 1
            except ConnectionLost as exc:
                log.warning("mailbox %s: IDLE connection lost (%s); reconnecting", self.name, exc)
                self._pause(min(pause, max(0.0, deadline - time.monotonic())), stopping)
                pause = min(pause * 2, float(self.cfg.retry_max_seconds))
        summary = self.last.line() if self.last else self.name
        return f"{summary} (IDLE, {drains} drains)"

    def _pause(self, seconds: float, stopping: Callable[[], bool]) -> None:
        end = time.monotonic() + seconds
        while not stopping() and time.monotonic() < end:
            self.sleep(min(1.0, end - time.monotonic()))
