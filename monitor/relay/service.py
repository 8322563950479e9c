"""The relay's parts on one event loop: listeners, the intake, the RCPT index, delivery.

``RelayService`` is what ``deliverwatch relay`` runs (``monitor.relay.process``) and what the
tests start in a thread: it opens the listeners (STARTTLS and implicit TLS), loads the
suppression index and keeps it fresh, and runs the delivery engine beside them. ``stop``
closes the listeners first (no new sessions), lets sessions in the middle of a transaction
finish (bounded), stops delivery after its in-flight transactions, then writes what the
intake still holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import warnings
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from monitor.config import ContentConfig, is_loopback_host
from monitor.errors import MonitorError, RelayError
from monitor.relay.content import ContentScanner
from monitor.relay.index import SuppressionIndex
from monitor.relay.intake import Intake
from monitor.relay.server import Handler, Submission, SubmissionSettings
from monitor.store import content as content_repo
from monitor.store.db import store_errors

__all__ = ["Deliverer", "Listener", "RelayService"]

log = logging.getLogger(__name__)

#: Seconds between looks at what other processes added to the suppression list.
REFRESH_SECONDS = 1.0
#: Seconds between full reloads of the index (drops removed entries).
RELOAD_SECONDS = 600.0
#: How long sessions in the middle of a transaction may take to finish when stopping.
GRACE_SECONDS = 15.0


class Deliverer(Protocol):
    """The delivery engine as the service drives it."""

    async def run(self, stopping: asyncio.Event) -> None: ...

    def wake(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Listener:
    host: str
    port: int
    implicit_tls: bool = False


class RelayService:
    """Listeners + intake + index (+ delivery): start, serve until ``stopping``, stop."""

    def __init__(
        self,
        *,
        factory: sessionmaker[Session],
        intake_factory: sessionmaker[Session],
        settings: SubmissionSettings,
        listeners: list[Listener],
        tls_context: ssl.SSLContext,
        plain_auth_on_loopback: bool,
        clock: Callable[[], datetime],
        deliverer: Deliverer | None = None,
        content: ContentConfig | None = None,
    ) -> None:
        self.factory = factory
        self.settings = settings
        self.listeners = listeners
        self.tls_context = tls_context
        self.plain_auth_on_loopback = plain_auth_on_loopback
        self.clock = clock
        self.deliverer = deliverer
        self.index = SuppressionIndex(factory)
        wake = deliverer.wake if deliverer is not None else (lambda: None)
        self.content = content if content is not None and content.enabled else None
        self.scanner = (
            ContentScanner(self.content, factory, clock=clock, on_released=wake)
            if self.content is not None
            else None
        )
        self.intake = Intake(
            intake_factory,
            admit=self.scanner.admit if self.scanner is not None else None,
            on_admitted=self.scanner.wake if self.scanner is not None else None,
        )
        self.handler = Handler(
            settings=settings,
            intake=self.intake,
            index=self.index,
            clock=clock,
            on_queued=deliverer.wake if deliverer is not None else (lambda: None),
        )
        self.servers: list[asyncio.Server] = []
        self.sessions: weakref.WeakSet[Submission] = weakref.WeakSet()
        self._tasks: list[asyncio.Task[None]] = []
        self._delivery_stop = asyncio.Event()
        self._index_pool = ThreadPoolExecutor(1, thread_name_prefix="relay-index")

    # ------------------------------------------------------------------ start

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            loaded = await loop.run_in_executor(None, self.index.load)
        except MonitorError as exc:
            raise RelayError(f"cannot load the suppression list: {exc}") from exc
        log.info("relay: suppression index holds %d entries", loaded)
        for listener in self.listeners:
            server = await self._listen(listener)
            self.servers.append(server)
            for sock in server.sockets:
                name = sock.getsockname()
                kind = "implicit TLS" if listener.implicit_tls else "STARTTLS"
                log.info("relay: listening on %s:%s (%s)", name[0], name[1], kind)
        self._tasks.append(asyncio.create_task(self._keep_index_fresh(), name="relay-index"))
        if self.scanner is not None:
            self._tasks.append(
                asyncio.create_task(self.scanner.run(self._delivery_stop), name="content")
            )
        else:
            await loop.run_in_executor(None, self._unblock_scanning)
        if self.deliverer is not None:
            self._tasks.append(
                asyncio.create_task(self.deliverer.run(self._delivery_stop), name="delivery")
            )

    def _unblock_scanning(self) -> None:
        """Content checking is off: nothing may wait for a scan that will never come."""
        with store_errors("queueing mail that waited for a content check"), self.factory() as s:
            s.begin()
            n = content_repo.unblock_scanning(s, now=self.clock())
            s.commit()
        if n:
            log.warning("relay: content check is off; %d recipient(s) waiting for it queued", n)

    async def _listen(self, listener: Listener) -> asyncio.Server:
        plain_ok = self.plain_auth_on_loopback and is_loopback_host(listener.host)

        def session() -> Submission:
            with warnings.catch_warnings():
                # aiosmtpd warns about AUTH without TLS: here only by explicit configuration
                # (plain_auth_on_loopback) on a loopback listener
                warnings.simplefilter("ignore", UserWarning)
                smtp = Submission(
                    self.handler,
                    hostname=self.settings.hostname,
                    ident="deliverwatch",
                    data_size_limit=self.settings.max_message_bytes,
                    enable_SMTPUTF8=True,
                    tls_context=None if listener.implicit_tls else self.tls_context,
                    auth_required=True,
                    auth_require_tls=not plain_ok,
                    implicit_tls=listener.implicit_tls,
                )
            self.sessions.add(smtp)
            return smtp

        try:
            return await asyncio.get_running_loop().create_server(
                session,
                listener.host,
                listener.port,
                ssl=self.tls_context if listener.implicit_tls else None,
                reuse_address=True,
            )
        except OSError as exc:
            raise RelayError(f"cannot listen on {listener.host}:{listener.port}: {exc}") from exc

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """(host, port) actually bound, per listener (port 0 in tests gets a free one)."""
        return [s.sockets[0].getsockname()[:2] for s in self.servers if s.sockets]

    async def _keep_index_fresh(self) -> None:
        loop = asyncio.get_running_loop()
        since_reload = 0.0
        while True:
            await asyncio.sleep(REFRESH_SECONDS)
            since_reload += REFRESH_SECONDS
            try:
                if since_reload >= RELOAD_SECONDS:
                    since_reload = 0.0
                    await loop.run_in_executor(self._index_pool, self.index.load)
                else:
                    await loop.run_in_executor(self._index_pool, self.index.refresh)
            except MonitorError as exc:  # keep the last index; the confirmations still ask
                log.warning("relay: could not refresh the suppression index: %s", exc)

    # ------------------------------------------------------------------ stop

    async def stop(self) -> None:
        """No new sessions, finish what is in flight, write what waits, stop delivery."""
        for server in self.servers:
            server.close()
        for server in self.servers:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(server.wait_closed(), 0.1)
        await self._drain_sessions()
        self._delivery_stop.set()
        for task in self._tasks:
            if task.get_name() in ("delivery", "content"):
                with contextlib.suppress(Exception):
                    await task
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        # a refresh cancelled above may still run in its thread, with a database
        # connection: wait for it, so no connection outlives the relay
        await asyncio.get_running_loop().run_in_executor(None, self._index_pool.shutdown)
        await asyncio.get_running_loop().run_in_executor(None, self.intake.close)
        i = self.intake
        if i.batches:
            log.info(
                "relay: queued %d messages in %d commits (%.1f per commit, %.1f ms each)",
                i.committed, i.batches, i.committed / i.batches, 1000 * i.write_seconds / i.batches,
            )  # fmt: skip

    async def _drain_sessions(self) -> None:
        """Let sessions finish the transaction they are in; then hang up on them."""
        deadline = asyncio.get_running_loop().time() + GRACE_SECONDS
        while asyncio.get_running_loop().time() < deadline:
            busy = [
                s
                for s in self.sessions
                if s.transport is not None and s.envelope is not None and s.envelope.mail_from
            ]
            if not busy:
                break
            await asyncio.sleep(0.05)
        for smtp in list(self.sessions):
            if smtp.transport is not None:
                with contextlib.suppress(Exception):
                    await smtp.push("421 4.3.2 Service shutting down")
                smtp.transport.close()
