"""Carrying claimed mail to one destination domain: route, connection, transactions.

The engine groups claimed recipients into :class:`Job` s (one message, one domain) and
queues them on their :class:`Destination`; up to ``max_connections_per_domain`` agents per
destination (:meth:`Courier.agent`) take jobs in turn, each over one connection that it
keeps for the next job (up to ``messages_per_connection`` transactions) and gives to the
idle pool when the destination runs dry. So a slow or dead MX only ever occupies its own
destination's agents.

Per job: the MX route (``mx``; a failed lookup fails every recipient alike), a connection
(an idle one to any of the route's addresses first, then new ones in MX order, the next
address on a connection failure or a greeting that is not 220, at most
``max_mx_addresses`` addresses and ``max_mx_sessions`` greeted sessions; a failed STARTTLS
handshake is retried once in plain text), then the transactions: with VERP one per
recipient, each with its own signed return path (``parsers.verp``, the token names the
``sent_messages`` row), otherwise one per ``recipients_per_transaction`` recipients with the
submitter's envelope sender. When no MX can be reached, or the lookup failed temporarily, the
destination is suspended for ``retry_initial`` seconds and everything queued for it is
deferred at once (Postfix's "delivery temporarily suspended"), instead of every message
waiting out the same timeouts.

Every job runs under a boundary: an exception nobody expected is logged with its traceback
and the job's recipients are held with the reason, never retried in a loop.
"""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from monitor.relay.compose import Composer
from monitor.relay.delivery.mx import MxResolver, Route
from monitor.relay.delivery.pool import ConnectionPool
from monitor.relay.delivery.record import Attempt
from monitor.relay.delivery.result import Reply, Verdict
from monitor.relay.delivery.session import (
    ConnectFailure,
    Connection,
    Dial,
    Envelope,
    Recipient,
    TlsFailure,
    open_connection,
    opportunistic_tls,
    prepare_body,
)
from monitor.relay.delivery.settings import DeliverySettings
from monitor.store.queue import Due
from parsers.verp import encode

__all__ = ["Courier", "Destination", "Job", "needs_smtputf8"]

log = logging.getLogger(__name__)


@dataclass
class Job:
    """Claimed recipients of one message at one domain, with the message."""

    message_id: int
    domain: str
    dues: list[Due]
    body: bytes | None
    done: set[int] = field(default_factory=set)  # recipients whose attempt is recorded


@dataclass
class Destination:
    domain: str
    jobs: deque[Job] = field(default_factory=deque)
    agents: int = 0
    suspended_until: float = 0.0
    suspended_by: Reply | None = None


@dataclass
class _Lane:
    """One agent's connection, if it has one (so the boundary can close whatever it holds)."""

    conn: Connection | None = None


def needs_smtputf8(due: Due, body: bytes) -> bool:
    """Whether the message cannot travel without SMTPUTF8 (RFC 6531 3.4): submitted with
    it and carrying a non-ASCII address or header; an ASCII message goes without, as
    Postfix does."""
    if not due.smtputf8:
        return False
    if not due.envelope_sender.isascii() or not due.recipient.isascii():
        return True
    head = body.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    return not head.isascii()


def _family(address: str) -> int:
    return ipaddress.ip_address(address).version


class Courier:
    """Delivers the jobs of destinations (module docstring)."""

    def __init__(
        self,
        settings: DeliverySettings,
        *,
        mx: MxResolver,
        pool: ConnectionPool,
        record: Callable[[list[Attempt]], None],
        seconds: Callable[[], float],
        composer: Composer | None = None,
    ) -> None:
        self.settings = settings
        self.composer = composer
        self.mx = mx
        self.pool = pool
        self.record = record
        self.seconds = seconds
        self.active = 0  # connections held by agents (the pool holds the idle ones)
        self.tls = opportunistic_tls()
        self._sources = {
            version: itertools.cycle([ip for ip in settings.source_ips if _family(ip) == version])
            for version in (4, 6)
            if any(_family(ip) == version for ip in settings.source_ips)
        }

    # -- agents ----------------------------------------------------------------------

    async def agent(
        self, dest: Destination, stopping: asyncio.Event, starved: Callable[[], bool]
    ) -> None:
        """Take ``dest``'s jobs one by one until none is left, or stopping, or (after
        ``messages_per_connection`` jobs) other destinations wait for a connection."""
        lane = _Lane()
        served = 0
        try:
            while dest.jobs and not stopping.is_set():
                await self._guarded(dest, dest.jobs.popleft(), lane)
                served += 1
                if served % self.settings.messages_per_connection == 0 and starved():
                    break
        finally:
            conn = self._detach(lane)
            if conn is not None and conn.dirty:  # cancelled in a transaction: just close
                conn.close()
            elif conn is not None and stopping.is_set():
                await conn.quit()
            elif conn is not None:
                self.pool.give(conn)

    def _attach(self, lane: _Lane, conn: Connection) -> Connection:
        lane.conn = conn
        self.active += 1
        return conn

    def _detach(self, lane: _Lane) -> Connection | None:
        conn, lane.conn = lane.conn, None
        if conn is not None:
            self.active -= 1
        return conn

    async def _guarded(self, dest: Destination, job: Job, lane: _Lane) -> None:
        """The per-job boundary (module docstring)."""
        try:
            await self._deliver(dest, job, lane)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("delivering message %s to %s failed; holding it",
                          job.dues[0].queue_id.split(".")[0], job.domain)  # fmt: skip
            conn = self._detach(lane)
            if conn is not None:
                conn.close()  # in an unknown state
            reply = Reply(None, f"internal error: {type(exc).__name__}: {exc}",
                          local=Verdict.HELD)  # fmt: skip
            self._record(job, [d for d in job.dues if d.id not in job.done], [reply])

    def _record(self, job: Job, dues: list[Due], replies: list[Reply],
                conn: Connection | None = None) -> None:  # fmt: skip
        """Hand the attempts to the writer (one reply for all when only one is given)."""
        if not dues:
            return
        if len(replies) == 1 and len(dues) > 1:
            replies = replies * len(dues)
        remote_dsn = conn is not None and conn.supports("dsn")
        source = conn.source_ip if conn is not None else None
        tls = conn.tls if conn is not None else None
        attempts = [
            Attempt(due, reply, source, remote_dsn, job.body, tls)
            for due, reply in zip(dues, replies, strict=True)
        ]
        job.done.update(d.id for d in dues)
        if log.isEnabledFor(logging.DEBUG):  # addresses at DEBUG only (STYLE.md 5)
            for a in attempts:
                d, r = a.due, a.reply
                log.debug("%s: to=<%s>, relay=%s, from %s, %s (%s)", d.queue_id, d.recipient,
                          r.mx or "none", source or "-", r.verdict.value, r)  # fmt: skip
        self.record(attempts)

    # -- one job -----------------------------------------------------------------------

    async def _deliver(self, dest: Destination, job: Job, lane: _Lane) -> None:
        if job.body is None:
            why = Reply(None, "message body missing while recipients are pending",
                        local=Verdict.HELD)  # fmt: skip
            self._record(job, job.dues, [why])
            return
        if dest.suspended_by is not None and self.seconds() < dest.suspended_until:
            self._record(job, job.dues, [dest.suspended_by])
            return
        route = await self.mx.route(dest.domain)
        if route.failure is not None:
            self._record(job, job.dues, [route.failure])
            if route.failure.verdict is Verdict.DEFERRED:
                self._suspend(dest, route.failure)
            return
        for envelope, dues in self._envelopes(job):
            replies = await self._transaction(route, envelope, lane)
            conn = lane.conn
            if conn is None:  # no MX could be reached
                self._record(job, [d for d in job.dues if d.id not in job.done], replies)
                self._suspend(dest, replies[0])
                return
            self._record(job, dues, replies, conn)
            if not conn.usable or conn.transactions >= self.settings.messages_per_connection:
                self._detach(lane)
                await conn.quit()

    def _suspend(self, dest: Destination, cause: Reply) -> None:
        """Defer everything queued for ``dest`` now, and what comes in the next
        ``retry_initial`` seconds, with the reason that stopped it."""
        status, _, text = cause.text.partition(" ")
        if not status[:1].isdigit():
            status, text = "4.4.1", cause.text
        dest.suspended_by = Reply.deferred(f"4{status[1:]} delivery temporarily suspended: {text}",
                                           command=cause.command, mx=cause.mx)  # fmt: skip
        dest.suspended_until = self.seconds() + self.settings.retry_initial
        log.info("delivery to %s suspended for %.0f s: %s", dest.domain,
                 self.settings.retry_initial, cause)  # fmt: skip
        while dest.jobs:
            job = dest.jobs.popleft()
            self._record(job, job.dues, [dest.suspended_by])

    def _envelopes(self, job: Job) -> Iterator[tuple[Envelope, list[Due]]]:
        """The transactions of a job: one per recipient when each gets a copy of its own
        (its List-Unsubscribe and tracking tokens, ``monitor.relay.compose``) or its own
        VERP return path; otherwise up to ``recipients_per_transaction`` recipients each.
        Copies are composed one at a time, as their transaction comes (a job of 1,000
        recipients must not hold the event loop for 1,000 signatures at once)."""
        first = job.dues[0]
        assert job.body is not None
        composer, plan = self.composer, None
        shared = job.body
        if composer is not None:
            plan = composer.plan(job.body, first)
            if not plan.personal:
                shared, plan = composer.compose(plan, None), None
        s = self.settings
        verp = bool(s.verp and s.verp_key and first.envelope_sender)
        data = b"" if plan is not None else prepare_body(shared)  # once for every transaction
        if plan is not None or verp:
            for due in job.dues:
                if composer is not None and plan is not None:
                    body = composer.compose(plan, due)
                    prepared = prepare_body(body)
                else:
                    body, prepared = shared, data
                sender = self._verp(due) if verp else first.envelope_sender
                yield self._envelope(sender, [due], body, prepared), [due]
            return
        step = s.recipients_per_transaction
        for start in range(0, len(job.dues), step):
            dues = job.dues[start : start + step]
            yield self._envelope(first.envelope_sender, dues, shared, data), dues

    def _verp(self, due: Due) -> str:
        s = self.settings
        assert s.verp_key is not None
        return encode(key=s.verp_key, message_id=due.id, recipient=due.recipient,
                      bounce_domain=s.envelope_domain, local_part=s.verp_local_part)  # fmt: skip

    def _envelope(self, sender: str, dues: list[Due], body: bytes, data: bytes) -> Envelope:
        first = dues[0]
        return Envelope(sender, tuple(self._recipient(d) for d in dues), data,
                        len(body), smtputf8=any(needs_smtputf8(d, body) for d in dues),
                        body_8bit=first.body_8bit, ret=first.dsn_ret,
                        envid=first.dsn_envid)  # fmt: skip

    @staticmethod
    def _recipient(due: Due) -> Recipient:
        return Recipient(due.recipient, due.notify, due.orcpt)

    # -- connections -------------------------------------------------------------------

    async def _transaction(self, route: Route, envelope: Envelope, lane: _Lane) -> list[Reply]:
        """Run ``envelope`` on the lane's connection or a new one to ``route``; [why] with
        no connection left on the lane when no MX could be reached. A reused connection
        found closed before MAIL was answered is replaced once."""
        for fresh in (False, True):
            conn = lane.conn
            if conn is None or not conn.usable:
                if conn is not None:
                    self._detach(lane)
                conn, failure = await self._connect(route, reuse=not fresh)
                if conn is None:
                    return [failure]
                self._attach(lane, conn)
            reused = conn.transactions > 0
            replies = await conn.deliver(envelope)
            stale = not conn.usable and all(r.command in ("RSET", "MAIL") for r in replies)
            if fresh or not (stale and reused):
                return replies
        raise AssertionError("unreachable")  # pragma: no cover

    async def _connect(self, route: Route, *, reuse: bool) -> tuple[Connection | None, Reply]:
        addresses = [(h.name, a) for h in route.hosts for a in h.addresses if self._usable(a)]
        addresses = addresses[: self.settings.max_mx_addresses]
        failure = Reply.deferred(f"4.4.4 no usable address for any MX host of {route.domain}")
        if reuse:
            for _, address in addresses:
                pooled = self.pool.take((address, self.settings.port))
                if pooled is not None:
                    return pooled, failure
        sessions = 0
        for host, address in addresses:
            while self.active + len(self.pool) >= self.settings.max_connections:
                if not await self.pool.evict():
                    break
            try:
                return await self._dial(host, address), failure
            except ConnectFailure as exc:
                failure = exc.reply
                sessions += exc.greeted
                if sessions >= self.settings.max_mx_sessions:
                    break
        return None, failure

    async def _dial(self, host: str, address: str) -> Connection:
        source = next(self._sources[_family(address)]) if self._sources else None
        s = self.settings
        dial = Dial(mx=host, address=address, port=s.port, source_ip=source,
                    helo=s.helo_for(source), connect_timeout=s.connect_timeout,
                    command_timeout=s.command_timeout, tls=self.tls)  # fmt: skip
        try:
            return await open_connection(dial)
        except TlsFailure as exc:
            log.info("%s; trying %s[%s] again without TLS", exc.reply.text, host, address)
            return await open_connection(
                Dial(
                    mx=host,
                    address=address,
                    port=s.port,
                    source_ip=source,
                    helo=dial.helo,
                    connect_timeout=s.connect_timeout,
                    command_timeout=s.command_timeout,
                    tls=None,
                )
            )

    def _usable(self, address: str) -> bool:
        """An address we can reach from a configured source (any, when none is)."""
        return not self._sources or _family(address) in self._sources
