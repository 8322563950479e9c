"""What the delivery tests share: a controllable clock, settings with short timeouts, queued
messages, the engine running in the test's event loop, and readers of the resulting rows."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from sqlalchemy import select

from monitor.events import EventContext
from monitor.relay.delivery import DeliveryEngine, DeliverySettings
from monitor.store import queue as q
from monitor.store.models import Event, RelayMessage, SentMessage, Suppression
from tests.servers.dns import DNSServer

T0 = dt.datetime(2026, 4, 1, 12, 0, tzinfo=dt.UTC)
SENDER = "news@sender.example"
BODY = (
    b"From: News <news@sender.example>\r\nTo: you@dest.example\r\nSubject: spring\r\n"
    b"Message-ID: <m1@sender.example>\r\n\r\nHello.\r\n.starts with a dot\r\n"
)


class Clock:
    """The engine's clock: fixed until a test moves it."""

    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def publish(server: DNSServer, domain: str, *hosts: tuple[int, str, str]) -> None:
    """MX records of ``domain``: (preference, host, IPv4 address) each."""
    for pref, host, address in hosts:
        server.zone.add(domain, "MX", [pref, host])
        server.zone.add(host, "A", address)


def settings(dns: DNSServer, port: int, **overrides: Any) -> DeliverySettings:
    values: dict[str, Any] = {
        "hostname": "relay.sender.example",
        "port": port,
        "nameservers": (dns.address,),
        "dns_timeout": 1.0,
        "connect_timeout": 1.0,
        "command_timeout": 2.0,
        "retry_initial": 60.0,
        "retry_max": 600.0,
        "poll_seconds": 0.05,
        "idle_seconds": 2.0,
        "stop_grace_seconds": 3.0,
        "lease_seconds": 60.0,
    }
    values.update(overrides)
    return DeliverySettings(**values)


def message(
    queue_id: str,
    *rcpts: str,
    sender: str = SENDER,
    body: bytes = BODY,
    notify: str | None = None,
    orcpt: str | None = None,
    lifetime: dt.timedelta = dt.timedelta(days=5),
    received: dt.datetime = T0,
    **extra: Any,
) -> q.QueuedMessage:
    return q.QueuedMessage(
        queue_id=queue_id,
        submitted_by="app",
        envelope_sender=sender,
        body=body,
        received_at=received,
        expires_at=received + lifetime,
        recipients=tuple(q.QueuedRecipient(address=r, notify=notify, orcpt=orcpt) for r in rcpts),
        header_from=sender or None,
        message_id=f"{queue_id}@sender.example",
        campaign="spring",
        **extra,
    )


def enqueue(store: Any, *messages: q.QueuedMessage) -> list[list[int]]:
    with store.session() as s, s.begin():
        return q.enqueue(s, list(messages))


@contextlib.asynccontextmanager
async def running(
    store: Any,
    config: DeliverySettings,
    clock: Clock,
    ctx: EventContext | None = None,
    owner: str = "test:1",
) -> AsyncIterator[DeliveryEngine]:
    """The engine running in this event loop; stopped (and awaited) on the way out."""
    engine = DeliveryEngine(factory=store.factory, settings=config, ctx=ctx or EventContext(),
                            clock=clock, owner=owner)  # fmt: skip
    stopping = asyncio.Event()
    task = asyncio.create_task(engine.run(stopping))
    try:
        yield engine
    finally:
        stopping.set()
        await asyncio.wait_for(task, 20)


async def until(done: Callable[[], bool], timeout: float = 10.0) -> float:
    """Wait for ``done()``; the seconds it took (fails the test after ``timeout``)."""
    start = time.monotonic()
    while not done():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


def rows(store: Any) -> dict[str, SentMessage]:
    """Recipient -> its queue row (the last one when a recipient appears twice)."""
    with store.session() as s:
        return {r.recipient: r for r in s.scalars(select(SentMessage).order_by(SentMessage.id))}


def state(store: Any, recipient: str) -> str | None:
    row = rows(store).get(recipient)
    return row.state.value if row is not None else None


def final(store: Any, *recipients: str) -> Callable[[], bool]:
    """A ``done`` predicate: every recipient has left the queue's pending states."""

    def check() -> bool:
        found = rows(store)
        return all(
            r in found and found[r].state.value not in ("queued", "sending") for r in recipients
        )

    return check


def events(store: Any) -> list[Event]:
    with store.session() as s:
        return list(s.scalars(select(Event).order_by(Event.id)))


def suppressed(store: Any) -> set[str]:
    with store.session() as s:
        return set(s.scalars(select(Suppression.value)))


def relay_messages(store: Any) -> list[RelayMessage]:
    with store.session() as s:
        return list(s.scalars(select(RelayMessage).order_by(RelayMessage.id)))


def body_of(store: Any, relay_message_id: int) -> bytes | None:
    with store.session() as s:
        return q.message_bodies(s, [relay_message_id]).get(relay_message_id)
