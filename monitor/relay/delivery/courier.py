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
import dataclasses
import ipaddress
import itertools
import logging
import ssl
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from monitor.relay.compose import Composer
from monitor.relay.delivery.dane import DaneCache, DaneHost, now_utc, verify_chain
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
from monitor.relay.delivery.shaping import Group, Shaper
from monitor.relay.delivery.sts import StsCache
from monitor.store.queue import Due
from monitor.store.shaping_repo import WAITING_PREFIX
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
    #: Its destination group once routed (traffic shaping), which caps its agents too.
    group: str | None = None
    #: Transactional jobs at the head of ``jobs`` (they go ahead of bulk ones).
    urgent: int = 0

    def add(self, job: Job, *, urgent: bool = False) -> None:
        """Queue ``job``: a transactional one behind the others at the head, ahead of bulk."""
        if urgent:
            self.jobs.insert(self.urgent, job)
            self.urgent += 1
        else:
            self.jobs.append(job)

    def take(self) -> Job:
        self.urgent = max(0, self.urgent - 1)
        return self.jobs.popleft()


@dataclass
class _Lane:
    """One agent's connection, if it has one (so the boundary can close whatever it holds)."""

    conn: Connection | None = None
    #: The source pool of the job in hand (traffic shaping) and its addresses.
    pool: str = ""
    sources: tuple[str, ...] = ()
    #: The destination's MTA-STS policy is ``enforce``: verified TLS or nothing.
    secure: bool = False
    #: MX hosts of the destination under DANE (``dane``), which takes precedence over
    #: MTA-STS (RFC 8461 2).
    dane: dict[str, DaneHost] = field(default_factory=dict)
    #: The last connection was refused at the greeting or EHLO with a reply that made its
    #: group back off: the job is deferred, the destination is not suspended (its group is).
    backed_off: bool = False


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
        shaper: Shaper | None = None,
        sts: StsCache | None = None,
        dane: DaneCache | None = None,
    ) -> None:
        self.settings = settings
        self.composer = composer
        self.mx = mx
        self.pool = pool
        self.record = record
        self.seconds = seconds
        self.shaper = shaper
        self.sts = sts
        self.dane = dane
        #: A context that checks the MX certificate and name (MTA-STS ``enforce``).
        self.verified_tls = ssl.create_default_context()
        if settings.tls_ca_file:
            self.verified_tls.load_verify_locations(cafile=settings.tls_ca_file)
        #: Connections by (destination, policy, outcome): the TLS seen per destination.
        self.tls_outcomes: Counter[tuple[str, str, str]] = Counter()
        self.active = 0  # connections held by agents (the pool holds the idle ones)
        self.tls = opportunistic_tls()
        self._sources = {
            version: itertools.cycle([ip for ip in settings.source_ips if _family(ip) == version])
            for version in (4, 6)
            if any(_family(ip) == version for ip in settings.source_ips)
        }
        self._by_family = {
            version: [ip for ip in settings.source_ips if _family(ip) == version]
            for version in (4, 6)
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
                await self._guarded(dest, dest.take(), lane)
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
        secured = await self._secure_route(dest, job, route, lane)
        if secured is None:
            return
        route = secured
        group = self._shape(dest, job, route, lane)
        for envelope, dues in self._envelopes(job, group):
            replies = await self._transaction(route, envelope, lane, group)
            conn = lane.conn
            rest = [d for d in job.dues if d.id not in job.done]
            if replies[0].verdict is Verdict.WAITING:  # shaping: back to the queue for now
                self._record(job, rest, replies[:1])
                return
            if conn is None:  # no MX could be reached
                self._record(job, rest, replies)
                if not lane.backed_off:  # else its group waits (shaping), not the domain
                    self._suspend(dest, replies[0])
                lane.backed_off = False
                return
            self._record(job, dues, replies, conn)
            limit = self.settings.messages_per_connection
            backed_off = False
            if group is not None and self.shaper is not None:
                limit = self.shaper.per_connection(group, limit)
                backed_off = self.shaper.observe(group, conn.source_ip, replies)
            if backed_off or not conn.usable or conn.transactions >= limit:
                self._detach(lane)
                await conn.quit()

    async def _secure_route(
        self, dest: Destination, job: Job, route: Route, lane: _Lane
    ) -> Route | None:
        """The route MTA-STS allows (``sts``): in ``enforce`` mode only the listed MX hosts,
        over verified TLS (``lane.secure``); None when none is listed (the job is deferred).
        DANE comes first: when it applies to an MX host of a secure MX RRset, MTA-STS is not
        looked at (RFC 8461 2) and those hosts get DANE-verified TLS (``lane.dane``)."""
        lane.secure = False
        lane.dane = {}
        if self.dane is not None:
            found = await self.dane.hosts(dest.domain, [h.name for h in route.hosts])
            if isinstance(found, str):
                self.tls_outcomes[(dest.domain, "dane", "dns-failed")] += 1
                reply = Reply.deferred(f"4.7.5 DANE: {found}", command="DNS")
                self._record(job, job.dues, [reply])
                return None
            lane.dane = found
            if lane.dane:
                return route
        if self.sts is None:
            return route
        sts = await self.sts.policy(dest.domain)
        if not sts.enforce or sts.policy is None:
            return route
        hosts = tuple(h for h in route.hosts if sts.policy.matches(h.name))
        if not hosts:
            listed = ", ".join(sts.policy.mx)
            text = f"4.7.5 MTA-STS: no MX host of {dest.domain} matches its policy ({listed})"
            self.tls_outcomes[(dest.domain, "sts-enforce", "no-mx")] += 1
            self._record(job, job.dues, [Reply.deferred(text, command="DNS")])
            return None
        lane.secure = True
        return dataclasses.replace(route, hosts=hosts)

    def _shape(self, dest: Destination, job: Job, route: Route, lane: _Lane) -> Group | None:
        """The destination's group and the job's source pool (None: shaping is off)."""
        if self.shaper is None:
            return None
        group = self.shaper.group(dest.domain, [h.name for h in route.hosts])
        dest.group = group.key
        first = job.dues[0]
        lane.pool, sources = self.shaper.pool_for(
            campaign=first.campaign, user=first.submitted_by,
            sender=first.envelope_sender or first.header_from or "",
            sources=self.settings.source_ips,
        )  # fmt: skip
        lane.sources = tuple(sources)
        held = lane.conn
        if held is not None and held.source_ip not in (*sources, None):
            self._detach(lane)
            self.pool.give(held)  # another pool's: left for its mail
        return group

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
            job = dest.take()
            self._record(job, job.dues, [dest.suspended_by])

    def _envelopes(self, job: Job, group: Group | None) -> Iterator[tuple[Envelope, list[Due]]]:
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
        if group is not None and self.shaper is not None:
            step = self.shaper.per_message(group, step)
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

    async def _transaction(
        self, route: Route, envelope: Envelope, lane: _Lane, group: Group | None
    ) -> list[Reply]:
        """Run ``envelope`` on the lane's connection or a new one to ``route``; [why] with
        no connection left on the lane when no MX could be reached, or [a WAITING verdict]
        when traffic shaping sends the job back to the queue. A reused connection found
        closed before MAIL was answered is replaced once."""
        shaper = self.shaper if group is not None else None
        for fresh in (False, True):
            conn = lane.conn
            if (
                conn is not None
                and group is not None
                and shaper is not None
                and shaper.suspension(group, conn.source_ip) is not None
            ):
                self._detach(lane)  # its source is backing off: try another source
                await conn.quit()
                conn = None
            if conn is None or not conn.usable:
                if conn is not None:
                    self._detach(lane)
                    conn.close()
                conn, failure = await self._connect(route, reuse=not fresh, group=group, lane=lane)
                if conn is None:
                    return [failure]
                self._attach(lane, conn)
            if group is not None and shaper is not None:
                delay, taken = shaper.reserve(group, conn.source_ip)
                if not taken:
                    return [self._waiting(group, conn.source_ip, delay, "rate cap")]
                if delay > 0:
                    await asyncio.sleep(delay)
            reused = conn.transactions > 0
            replies = await conn.deliver(envelope)
            stale = not conn.usable and all(r.command in ("RSET", "MAIL") for r in replies)
            if fresh or not (stale and reused):
                return replies
        raise AssertionError("unreachable")  # pragma: no cover

    def _waiting(self, group: Group, source: str | None, after: float, why: str) -> Reply:
        """Back to the queue for ``after`` seconds, saying why (``deliverwatch queue``)."""
        where = f" from {source}" if source else ""
        if self.shaper is not None:
            suspended = self.shaper.suspension(group, source)
            if suspended is not None:
                return Reply.waiting(f"{WAITING_PREFIX}{suspended[1]}", after=suspended[0])
        return Reply.waiting(f"{WAITING_PREFIX}{why} of {group.key}{where}", after=after)

    async def _connect(
        self, route: Route, *, reuse: bool, group: Group | None = None, lane: _Lane | None = None
    ) -> tuple[Connection | None, Reply]:
        addresses = [(h.name, a) for h in route.hosts for a in h.addresses if self._usable(a)]
        addresses = addresses[: self.settings.max_mx_addresses]
        failure = Reply.deferred(f"4.4.4 no usable address for any MX host of {route.domain}")
        key = self._key(group, lane)
        secure = lane is not None and lane.secure
        dane = lane.dane if lane is not None else {}
        if reuse:
            pooled = await self._pooled(addresses, key, group)
            if pooled is not None:
                return pooled, failure
        sessions = 0
        for host, address in addresses:
            while self.active + len(self.pool) >= self.settings.max_connections:
                if not await self.pool.evict():
                    break
            source = await self._source(address, group, lane)
            if isinstance(source, Reply):
                return None, source
            try:
                conn = await self._dial(host, address, source, group, secure=secure,
                                        dane=dane.get(host))  # fmt: skip
            except ConnectFailure as exc:
                failure = exc.reply
                sessions += exc.greeted
                if failure.command == "STARTTLS":
                    self._note_tls(route.domain, secure, "tls-failed", dane=host in dane)
                if (
                    exc.server is not None
                    and group is not None
                    and self.shaper is not None
                    and self.shaper.observe(group, source, [exc.server])
                ):  # refused at the banner or EHLO for our pace or reputation
                    if lane is not None:
                        lane.backed_off = True
                    return None, failure
                if sessions >= self.settings.max_mx_sessions:
                    break
                continue
            conn.group = key
            self._note_tls(route.domain, secure, "tls" if conn.tls else "plain",
                           dane=host in dane)  # fmt: skip
            return conn, failure
        return None, failure

    async def _pooled(
        self, addresses: list[tuple[str, str]], key: str, group: Group | None
    ) -> Connection | None:
        """An idle connection kept for ``key`` to one of ``addresses`` whose source is not
        backing off."""
        for _, address in addresses:
            pooled = self.pool.take((address, self.settings.port, key))
            if pooled is None:
                continue
            if (
                group is not None
                and self.shaper is not None
                and self.shaper.suspension(group, pooled.source_ip) is not None
            ):
                await pooled.quit()
                continue
            return pooled
        return None

    def _note_tls(self, domain: str, secure: bool, outcome: str, *, dane: bool = False) -> None:
        policy = "dane" if dane else "sts-enforce" if secure else "opportunistic"
        self.tls_outcomes[(domain, policy, outcome)] += 1

    def take_tls_outcomes(self) -> Counter[tuple[str, str, str]]:
        """The TLS outcomes since the last call (the engine stores them)."""
        out, self.tls_outcomes = self.tls_outcomes, Counter()
        return out

    @staticmethod
    def _key(group: Group | None, lane: _Lane | None) -> str:
        """What an idle connection is kept for: its group, pool and TLS level."""
        key = group.key if group is not None else ""
        if group is not None and lane is not None and lane.pool:
            key = f"{key}/{lane.pool}"  # a pool's connections serve only its mail
        if lane is not None and lane.secure:
            key = f"{key}/sts"  # verified connections only for MTA-STS destinations
        if lane is not None and lane.dane:
            # verified against one destination's TLSA records: reused for it alone
            key = f"{key}/dane:{next(iter(lane.dane.values())).domain}"
        return key

    async def _source(
        self, address: str, group: Group | None, lane: _Lane | None = None
    ) -> str | Reply | None:
        """The source address for a new connection to ``address``: in turn when shaping
        is off; else the least busy one with room under the group's cap, waiting up to
        ``max_wait`` for one (idle connections of the group are closed first), or the
        WAITING verdict that sends the job back to the queue."""
        family = _family(address)
        if group is None or self.shaper is None:
            return next(self._sources[family]) if self._sources else None
        shaper = self.shaper
        candidates: list[str | None] = list(self._by_family[family]) or [None]
        if lane is not None and self.settings.source_ips:
            candidates = [ip for ip in lane.sources if _family(ip) == family]
            if not candidates:
                text = f"{WAITING_PREFIX}no usable source address in pool {lane.pool or 'default'}"
                return Reply.waiting(text, after=shaper.settings.max_wait)
        deadline = asyncio.get_running_loop().time() + shaper.settings.max_wait
        while True:
            picked = shaper.pick_source(group, candidates)
            if picked is not False:
                assert not isinstance(picked, bool)
                return picked
            suspended = [shaper.suspension(group, c) for c in candidates]
            if all(s is not None for s in suspended):
                left = min(s[0] for s in suspended if s is not None)
                return self._waiting(group, candidates[0], left, "back-off")
            if await self.pool.evict(group.key):
                continue
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0 or not await shaper.wait_room(group, left):
                return self._waiting(group, None, 1.0, "connection cap")

    async def _dial(
        self,
        host: str,
        address: str,
        source: str | None,
        group: Group | None = None,
        *,
        secure: bool = False,
        dane: DaneHost | None = None,
    ) -> Connection:
        shaper = self.shaper if group is not None else None
        if group is not None and shaper is not None:
            shaper.opened(group, source)  # counted before the wait: the slot is taken
        try:
            conn = await self._open(host, address, source, secure=secure, dane=dane)
        except BaseException:
            if group is not None and shaper is not None:
                shaper.closed(group, source)
            raise
        if group is not None and shaper is not None:
            conn.on_close = lambda: shaper.closed(group, source)
        return conn

    async def _open(
        self,
        host: str,
        address: str,
        source: str | None,
        *,
        secure: bool = False,
        dane: DaneHost | None = None,
    ) -> Connection:
        s = self.settings
        if dane is not None:
            return await self._open_dane(host, address, source, dane)
        dial = Dial(mx=host, address=address, port=s.port, source_ip=source,
                    helo=s.helo_for(source), connect_timeout=s.connect_timeout,
                    command_timeout=s.command_timeout,
                    tls=self.verified_tls if secure else self.tls)  # fmt: skip
        if secure:  # MTA-STS enforce: a verified TLS session or no delivery (RFC 8461 4.2)
            conn = await open_connection(dial)
            if not conn.tls:
                conn.close()
                text = (f"4.7.5 MTA-STS: {host}[{address}] did not offer STARTTLS, which the "
                        "policy of the destination requires")  # fmt: skip
                raise ConnectFailure(Reply.deferred(text, command="STARTTLS", mx=host),
                                     greeted=True)  # fmt: skip
            return conn
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

    async def _open_dane(
        self, host: str, address: str, source: str | None, dane: DaneHost
    ) -> Connection:
        """TLS or nothing, and a certificate matching the host's TLSA records (RFC 7672
        2.2, 3.1; ``monitor.relay.delivery.dane``); every refusal is a 4.7.5 deferral."""
        where = f"{host}[{address}]"

        def refuse(why: str, *, greeted: bool = True) -> ConnectFailure:
            text = f"4.7.5 DANE: {why}"
            return ConnectFailure(Reply.deferred(text, command="STARTTLS", mx=host),
                                  greeted=greeted)  # fmt: skip

        if dane.failure:
            raise refuse(f"{dane.failure} for {host}", greeted=False)
        s = self.settings
        dial = Dial(mx=host, address=address, port=s.port, source_ip=source,
                    helo=s.helo_for(source), connect_timeout=s.connect_timeout,
                    command_timeout=s.command_timeout, tls=self.tls,
                    server_name=dane.server_name)  # fmt: skip
        conn = await open_connection(dial)  # a failed handshake is not retried in plain text
        if not conn.tls:
            conn.close()
            raise refuse(f"{where} did not offer STARTTLS, which its TLSA records require")
        if dane.records:
            why = verify_chain(dane.records, _peer_chain(conn), dane.names, now_utc())
            if why is not None:
                conn.close()
                raise refuse(f"certificate of {where} not accepted: {why}")
        return conn

    def _usable(self, address: str) -> bool:
        """An address we can reach from a configured source (any, when none is)."""
        return not self._sources or _family(address) in self._sources


def _peer_chain(conn: Connection) -> list[bytes]:
    """The certificates the server sent, leaf first (DER). The standard library gives the
    whole unverified chain only through its ``_ssl`` object before Python 3.13; without it
    the leaf alone is used (enough for DANE-EE)."""
    obj = conn.smtp.get_transport_info("ssl_object")
    if not isinstance(obj, ssl.SSLObject):
        return []
    inner = getattr(obj, "_sslobj", None)
    chain = getattr(inner, "get_unverified_chain", None)
    if chain is not None:
        found = chain() or []
        return [c.public_bytes(ssl._ssl.ENCODING_DER) for c in found]  # type: ignore[attr-defined]
    leaf = obj.getpeercert(binary_form=True)
    return [leaf] if leaf else []
