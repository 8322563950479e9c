"""The delivery engine: claims due mail, hands it to per-destination agents, records results.

``DeliveryEngine.run(stopping)`` is what the relay process runs beside its listeners:

* the **scheduler** claims due recipients in batches (``queue.claim_due``, leased to this
  process) with their messages' bodies, in one database call, groups them into jobs (one
  message, one domain), queues each on its destination and starts agents (``courier``) up to
  ``max_connections_per_domain`` per destination and ``max_connections`` in all. It claims
  again at once while batches come back full and there is room (at most twice
  ``batch_size`` recipients in memory; a destination that already has many waiting is left
  out of the claim so one slow domain cannot fill the memory), otherwise every
  ``poll_seconds``, or at once on :meth:`wake` (new mail queued). Operator changes
  (``deliverwatch queue retry/release``) are seen at the next poll. The scheduler is
  supervised: a crash is logged and it starts again after a pause;
* the **writer** (``writer``) stores results in batches, queue state, events and DSNs in
  one transaction each;
* **chores**: idle connections are closed after ``idle_seconds``; leases of the rows in
  hand are renewed, so only a dead relay's rows are claimed again (at least once).

Database work runs in one thread of its own (claims and writes take turns, which is what
SQLite wants anyway); DNS is asynchronous; the event loop never blocks on either.

Stopping (``stopping`` set): no more claims; agents finish the transaction they are in and
take no new job (bounded by ``stop_grace_seconds``, then cancelled); results are written;
the leases of everything not attempted are given back (``queue.release_leases``) so it is
due again at once; idle connections get QUIT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import ssl
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from monitor.checks.resolver import DnsClient, Lookup
from monitor.errors import MonitorError, StoreError
from monitor.events import EventContext
from monitor.relay.compose import Composer
from monitor.relay.delivery.courier import Courier, Destination, Job
from monitor.relay.delivery.dane import DaneCache
from monitor.relay.delivery.mx import MxResolver
from monitor.relay.delivery.pool import ConnectionPool
from monitor.relay.delivery.record import Attempt, Batch
from monitor.relay.delivery.settings import DeliverySettings
from monitor.relay.delivery.shaping import Backoff, Shaper
from monitor.relay.delivery.sts import StsCache
from monitor.relay.delivery.writer import Writer
from monitor.store import queue
from monitor.store.db import store_errors
from monitor.store.queue import Due
from monitor.store.shaping_repo import (
    BackoffRow,
    add_tls_outcomes,
    add_warmup_counts,
    record_backoff,
    warmup_counts,
)

__all__ = ["DeliveryEngine"]

log = logging.getLogger(__name__)
T = TypeVar("T")
#: Seconds between looks at which campaigns have bulk mail due (fair claims).
CAMPAIGNS_EVERY = 2.0


class DeliveryEngine:
    """Outbound delivery for one relay process (module docstring)."""

    def __init__(
        self,
        *,
        factory: sessionmaker[Session],
        settings: DeliverySettings,
        ctx: EventContext,
        clock: Callable[[], datetime],
        owner: str,
        lookup: Lookup | None = None,
        rng: random.Random | None = None,
        composer: Composer | None = None,
    ) -> None:
        self.factory = factory
        self.composer = composer  # headers, tracking and DKIM of each copy (None: as stored)
        self.settings = settings
        self.ctx = ctx
        self.clock = clock
        self.owner = owner[:64]
        self.rng = rng or random.Random()
        #: Results stored so far by state (``delivered``, ``deferred``...), DSNs queued
        #: (``dsn``), transactions that stored them (``batches``), claims made (``claims``).
        self.counts: Counter[str] = Counter()
        self._lookup = lookup
        self._wake = asyncio.Event()
        self._tracked: set[int] = set()  # claimed here, result not yet stored
        self._dests: dict[str, Destination] = {}
        self._agents: set[asyncio.Task[None]] = set()
        self._starved = False
        self._db: ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool = ConnectionPool(settings.idle_seconds)
        self.shaper: Shaper | None = None
        if settings.shaping is not None:
            self.shaper = Shaper(settings.shaping, seconds=self._seconds,
                                 per_domain_connections=settings.max_connections_per_domain,
                                 on_backoff=self._backed_off)  # fmt: skip
        self._group_agents: Counter[str] = Counter()
        #: Back-off episodes begun by this process (also stored: ``queue.record_backoff``).
        self.backoffs: list[Backoff] = []
        self._chores_running: set[asyncio.Task[None]] = set()
        #: Fair claims (traffic shaping): campaigns with bulk mail due, and whose turn it is.
        self._fair = settings.shaping is not None
        self._campaigns: list[str | None] = []
        self._campaigns_at = 0.0
        self._turn = 0

    def wake(self) -> None:
        """New mail was queued: look at the queue now rather than at the next poll (safe to
        call from another thread, e.g. a database writer's)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                here = asyncio.get_running_loop()
            except RuntimeError:
                here = None
            if here is not loop:
                loop.call_soon_threadsafe(self._wake.set)
                return
        self._wake.set()

    def _seconds(self) -> float:
        return self.clock().timestamp()

    async def _in_db(self, fn: Callable[[], T]) -> T:
        if self._db is None:
            raise MonitorError("the delivery engine is not running")
        return await asyncio.get_running_loop().run_in_executor(self._db, fn)

    # -- life cycle ----------------------------------------------------------------------

    async def run(self, stopping: asyncio.Event) -> None:
        """Deliver until ``stopping`` is set, then stop cleanly (module docstring)."""
        s = self.settings
        self._loop = asyncio.get_running_loop()
        self._db = ThreadPoolExecutor(1, thread_name_prefix="delivery-db")
        dns: DnsClient | None = None
        try:
            lookup = self._lookup
            if lookup is None:
                lookup = dns = DnsClient(s.nameservers or None, timeout=s.dns_timeout)
            mx = MxResolver(lookup, clock=self._seconds, max_age=s.dns_cache_seconds,
                            max_entries=s.dns_cache_entries, rng=self.rng)  # fmt: skip
            sts = None
            if s.mta_sts:
                context = ssl.create_default_context()
                if s.tls_ca_file:
                    context.load_verify_locations(cafile=s.tls_ca_file)
                sts = StsCache(lookup, context=context, port=s.mta_sts_port,
                               timeout=s.dns_timeout * 2, clock=self._seconds)  # fmt: skip
            dane = None
            if s.dane_resolver:
                dane = DaneCache(s.dane_resolver, timeout=s.dns_timeout, clock=self._seconds)
            self._courier = Courier(s, mx=mx, pool=self._pool, record=self._record,
                                    seconds=self._seconds, composer=self.composer,
                                    shaper=self.shaper, sts=sts, dane=dane)  # fmt: skip
            self._writer = Writer(in_db=self._in_db, factory=self.factory, ctx=self.ctx,
                                  settings=s, clock=self.clock, committed=self._committed,
                                  rng=self.rng)  # fmt: skip
            await self._adopt_orphans()
            await self._load_warmup()
            await self._serve(stopping)
        finally:
            if dns is not None:
                await dns.aclose()
            self._db.shutdown(wait=True)
            self._db = self._loop = None

    async def _serve(self, stopping: asyncio.Event) -> None:
        writer = asyncio.create_task(self._writer.run(), name="delivery-writer")
        chores = asyncio.create_task(self._chores(stopping), name="delivery-chores")
        relay = asyncio.create_task(self._relay_stop(stopping))
        try:
            await self._supervise(stopping)
        finally:
            await self._shutdown(writer)
            for task in (chores, relay):
                task.cancel()
            await asyncio.gather(chores, relay, return_exceptions=True)

    async def _adopt_orphans(self) -> None:
        """Give back at once the leases of relays on this host that are gone (killed: their
        leases would only run out after ``lease_seconds``): at least once, without the wait.
        Owners are ``host:pid``; another host's relays are left to their leases."""
        host, _, mine = self.owner.rpartition(":")

        def adopt() -> list[str]:
            with store_errors("giving back leases of dead relays"), self.factory() as session:
                session.begin()
                dead = [o for o in queue.lease_owners(session) if _dead(o, host, mine)]
                for owner in dead:
                    queue.release_leases(session, owner)
                session.commit()
            return dead

        try:
            dead = await self._in_db(adopt)
        except StoreError as exc:
            log.warning("could not look for leases of dead relays: %s", exc)
            return
        for owner in dead:
            log.info("gave back the leases of %s, which is no longer running", owner)

    async def _relay_stop(self, stopping: asyncio.Event) -> None:
        await stopping.wait()
        self._wake.set()

    async def _supervise(self, stopping: asyncio.Event) -> None:
        pause = 0.5
        while not stopping.is_set():
            try:
                await self._schedule(stopping)
            except Exception:  # the scheduler's boundary: log, pause, start it again
                log.exception("the delivery scheduler crashed; restarting it in %.1f s", pause)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), pause)
                pause = min(pause * 2, 30.0)

    async def _shutdown(self, writer: asyncio.Task[None]) -> None:
        grace = self.settings.stop_grace_seconds
        if self._agents:
            _, late = await asyncio.wait(set(self._agents), timeout=grace)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        await self._writer.close(grace)
        await self._save_warmup()
        await self._save_tls()
        if self._chores_running:  # back-offs being recorded
            await asyncio.wait(set(self._chores_running), timeout=grace)
        await writer
        try:
            released = await self._in_db(self._release)
        except StoreError as exc:
            log.error("could not give back the leases of %s (%s): they run out in %.0f s",
                      self.owner, exc, self.settings.lease_seconds)  # fmt: skip
        else:
            if released:
                log.info("gave back %d recipients not attempted before stopping", released)
        self._tracked.clear()
        self._dests.clear()
        await self._pool.close_all()
        for _ in range(3):  # let the transports closed above run their connection_lost
            await asyncio.sleep(0)

    def _release(self) -> int:
        with store_errors("giving back leases"), self.factory() as session, session.begin():
            return queue.release_leases(session, self.owner)

    # -- scheduling ----------------------------------------------------------------------

    async def _schedule(self, stopping: asyncio.Event) -> None:
        while not stopping.is_set():
            self._wake.clear()
            more = await self._claim()
            self._dispatch(stopping)
            if more and not stopping.is_set():
                await asyncio.sleep(0)  # let the agents start before the next claim
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.settings.poll_seconds)

    def _room(self) -> tuple[int, list[str]]:
        """How many recipients may be claimed now, and the domains to leave out."""
        cap = max(100, 5 * self.settings.max_connections_per_domain)
        crowded = [d for d, dest in self._dests.items() if len(dest.jobs) >= cap]
        stuck = sum(len(j.dues) for d in crowded for j in self._dests[d].jobs)
        return 2 * self.settings.batch_size - (len(self._tracked) - stuck), crowded

    async def _claim(self) -> bool:
        """Claim a batch; True when it came back full (there may be more due). With
        traffic shaping, transactional mail is claimed even when memory is full of bulk."""
        room, skip = self._room()
        limit = min(room, self.settings.batch_size)
        if limit <= 0 and not self._fair:
            return False
        limit = max(limit, 0)
        now = self.clock()
        until = now + timedelta(seconds=self.settings.lease_seconds)
        try:
            dues, bodies = await self._in_db(lambda: self._claim_rows(now, until, limit, skip))
        except StoreError as exc:
            log.warning("cannot claim mail to deliver: %s", exc)
            return False
        self.counts["claims"] += 1
        self._accept(dues, bodies)
        return limit > 0 and len(dues) >= limit

    def _claim_rows(self, now: datetime, until: datetime, limit: int,
                    skip: list[str]) -> tuple[list[Due], dict[int, bytes | None]]:  # fmt: skip
        with store_errors("claiming mail to deliver"), self.factory() as session:
            session.begin()
            if self._fair:
                dues = self._claim_fair(session, now, until, limit, skip)
            else:
                dues = queue.claim_due(session, now=now, owner=self.owner, lease_until=until,
                                       limit=limit, skip_domains=skip)  # fmt: skip
            bodies = queue.message_bodies(session, {d.relay_message_id for d in dues})
            session.commit()
        return dues, bodies

    def _claim_fair(self, session: Session, now: datetime, until: datetime, limit: int,
                    skip: list[str]) -> list[Due]:  # fmt: skip
        """Transactional first, then bulk campaign by campaign in turn (``queue.claim_fair``);
        the campaigns with mail due are looked up at most every ``CAMPAIGNS_EVERY`` s."""
        if limit > 0 and time.monotonic() >= self._campaigns_at:
            self._campaigns = queue.due_campaigns(session, now=now)
            self._campaigns_at = time.monotonic() + CAMPAIGNS_EVERY
        turn = self._turn % len(self._campaigns) if self._campaigns else 0
        self._turn += 1
        order = self._campaigns[turn:] + self._campaigns[:turn]
        return queue.claim_fair(session, now=now, owner=self.owner, lease_until=until,
                                limit=limit, urgent_limit=min(self.settings.batch_size, 100),
                                campaigns=order, skip_domains=skip)  # fmt: skip

    def _accept(self, dues: list[Due], bodies: dict[int, bytes | None]) -> None:
        """Group claimed recipients into jobs (message x domain) on their destinations."""
        jobs: dict[tuple[int, str], Job] = {}
        for due in dues:
            if due.id in self._tracked:
                continue  # still in hand here (a lease renewal came too late): skip
            self._tracked.add(due.id)
            key = (due.relay_message_id, due.domain)
            job = jobs.get(key)
            if job is None:
                body = bodies.get(due.relay_message_id)
                job = jobs[key] = Job(due.relay_message_id, due.domain, [], body)
                dest = self._dests.get(due.domain)
                if dest is None:
                    dest = self._dests[due.domain] = Destination(due.domain)
                dest.add(job, urgent=self._fair and due.stream == queue.TRANSACTIONAL)
            job.dues.append(due)

    def _dispatch(self, stopping: asyncio.Event) -> None:
        """Start agents where jobs wait (module docstring); forget idle destinations."""
        if stopping.is_set():
            return
        s = self.settings
        starved = False
        now = self._seconds()
        for domain, dest in list(self._dests.items()):
            want = min(len(dest.jobs), s.max_connections_per_domain)
            room = self._group_room(dest)
            while dest.agents < want and len(self._agents) < s.max_connections and room > 0:
                self._spawn(dest, stopping)
                room -= 1
            starved = starved or (bool(dest.jobs) and dest.agents == 0)
            if not dest.jobs and not dest.agents and now >= dest.suspended_until:
                del self._dests[domain]
        self._starved = starved

    def _group_room(self, dest: Destination) -> int:
        """Agents the destination's group may still get: its connection caps over the
        source addresses (at least one while suspended, to send its jobs back to the
        queue), less the agents it has; one until its first route names the group."""
        unlimited = 1 << 30
        shaper = self.shaper
        if shaper is None:
            return unlimited
        group = shaper.known(dest.group) if dest.group else None
        if group is None:
            return 1 - dest.agents
        sources: list[str | None] = list(self.settings.source_ips) or [None]
        caps = [shaper.connection_cap(group, src) for src in sources]
        if any(c is None for c in caps):
            return unlimited
        total = max(1, sum(c for c in caps if c is not None))
        return total - self._group_agents[group.key]

    def _spawn(self, dest: Destination, stopping: asyncio.Event) -> None:
        dest.agents += 1
        group = dest.group or ""
        self._group_agents[group] += 1
        task = asyncio.create_task(self._agent(dest, stopping, group),
                                   name=f"deliver-{dest.domain}")  # fmt: skip
        self._agents.add(task)
        task.add_done_callback(self._agents.discard)

    async def _agent(self, dest: Destination, stopping: asyncio.Event, group: str) -> None:
        try:
            await self._courier.agent(dest, stopping, lambda: self._starved)
        except Exception:  # outside the per-job boundary: its jobs stay queued
            log.exception("a delivery agent for %s crashed; another takes over", dest.domain)
        finally:
            dest.agents -= 1
            self._group_agents[group] -= 1
            if self._group_agents[group] <= 0:
                del self._group_agents[group]
            self._dispatch(stopping)

    # -- results -------------------------------------------------------------------------

    def _backed_off(self, episode: Backoff) -> None:
        """A back-off began: counted, and stored for the queue summary and the report."""
        self.counts["backoffs"] += 1
        self.backoffs.append(episode)

        def when(seconds: float) -> datetime:
            return datetime.fromtimestamp(seconds, UTC)

        row = BackoffRow(episode.group, episode.source_ip, when(episode.started),
                         when(episode.until), when(episode.ramp_until), episode.factor,
                         episode.reply)  # fmt: skip

        def store() -> None:
            with store_errors("recording a back-off"), self.factory() as session:
                session.begin()
                record_backoff(session, row)
                session.commit()

        async def write() -> None:
            try:
                await self._in_db(store)
            except (StoreError, MonitorError) as exc:
                log.warning("could not record the back-off of %s: %s", episode.group, exc)

        task = asyncio.get_running_loop().create_task(write())
        self._chores_running.add(task)
        task.add_done_callback(self._chores_running.discard)

    def _record(self, attempts: list[Attempt]) -> None:
        self._writer.put(attempts)

    def _committed(self, attempts: Sequence[Attempt], batch: Batch | None) -> None:
        """A batch is stored (or, ``batch`` None, given up: its leases will run out)."""
        for a in attempts:
            self._tracked.discard(a.due.id)
        if batch is not None:
            self.counts["batches"] += 1
            self.counts.update(batch.counts)
            if batch.dsns:
                self.counts["dsn"] += len(batch.dsns)
                self.wake()  # deliver the notices now
        if len(self._tracked) < self.settings.batch_size:
            self.wake()

    # -- chores --------------------------------------------------------------------------

    async def _chores(self, stopping: asyncio.Event) -> None:
        renew_every = self.settings.lease_seconds / 3
        loop = asyncio.get_running_loop()
        next_renewal = loop.time() + renew_every
        while not stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), min(1.0, self.settings.idle_seconds))
            try:
                await self._pool.reap()
                await self._save_warmup()
                await self._save_tls()
                if loop.time() >= next_renewal and self._tracked:
                    next_renewal = loop.time() + renew_every
                    await self._renew()
            except Exception:  # chores must not die: the next round tries again
                log.exception("delivery chores failed")

    async def _load_warmup(self) -> None:
        """The day's warm-up tally from the database (a restart keeps its caps)."""
        shaper = self.shaper
        if shaper is None or not shaper.settings.warmup_start:
            return
        day = shaper.today()

        def load() -> list[tuple[Any, str, str, int]]:
            with store_errors("reading the warm-up tally"), self.factory() as session:
                return warmup_counts(session, day)

        try:
            shaper.seed_counts(await self._in_db(load))
        except StoreError as exc:
            log.warning("could not read the warm-up tally (%s); counting from zero", exc)

    async def _save_warmup(self) -> None:
        """Store the warm-up counts since the last call (given back on failure)."""
        shaper = self.shaper
        if shaper is None:
            return
        counts = shaper.take_counts()
        if not counts:
            return

        def save() -> None:
            with store_errors("storing the warm-up tally"), self.factory() as session:
                session.begin()
                add_warmup_counts(session, counts)
                session.commit()

        try:
            await self._in_db(save)
        except StoreError as exc:
            log.warning("could not store the warm-up tally (%s); trying again", exc)
            shaper.give_back_counts(counts)

    async def _save_tls(self) -> None:
        """Store the TLS outcomes per destination since the last call (report)."""
        courier = getattr(self, "_courier", None)
        if courier is None:
            return
        taken = courier.take_tls_outcomes()
        if not taken:
            return
        day = self.clock().date()
        counts = {(day, *key): n for key, n in taken.items()}

        def save() -> None:
            with store_errors("storing TLS outcomes"), self.factory() as session:
                session.begin()
                add_tls_outcomes(session, counts)
                session.commit()

        try:
            await self._in_db(save)
        except StoreError as exc:
            log.warning("could not store TLS outcomes (%s); trying again", exc)
            courier.tls_outcomes.update(taken)

    async def _renew(self) -> None:
        ids = sorted(self._tracked)
        until = self.clock() + timedelta(seconds=self.settings.lease_seconds)

        def renew() -> int:
            with store_errors("renewing leases"), self.factory() as session, session.begin():
                return queue.renew_leases(session, self.owner, ids, lease_until=until)

        await self._in_db(renew)


def _dead(owner: str, host: str, mine: str) -> bool:
    """``owner`` is a relay process on ``host`` (not this one) that no longer exists."""
    other_host, _, pid = owner.rpartition(":")
    if not host or other_host != host or pid == mine or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, but not ours to signal
        return False
    return False
