"""At least once, never lost: a relay process killed with SIGKILL in the middle of delivering
leaves leased rows; the next relay on the host gives them back at start and delivers every
message (a few twice at most: those whose end of data was answered but not yet recorded)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from monitor.enums import MessageState
from tests.monitor.relay.delivery_kit import (
    Clock,
    enqueue,
    message,
    publish,
    rows,
    running,
    settings,
    until,
)
from tests.servers.smtp import SmtpSink

REPO = Path(__file__).resolve().parents[3]
CHILD = """
import asyncio, datetime as dt, socket, sys
from monitor.events import EventContext
from monitor.relay.delivery import DeliveryEngine, DeliverySettings
from monitor.store.db import make_engine, make_session_factory
url, nameserver, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
settings = DeliverySettings(hostname="relay.sender.example", port=port, nameservers=(nameserver,),
                            connect_timeout=2, command_timeout=5, poll_seconds=0.05,
                            max_connections_per_domain=4)
engine = DeliveryEngine(factory=make_session_factory(make_engine(url)), settings=settings,
                        ctx=EventContext(), clock=lambda: dt.datetime.now(dt.UTC),
                        owner=f"{socket.gethostname()}:{__import__('os').getpid()}")
asyncio.run(engine.run(asyncio.Event()))
"""
N = 60


def test_a_killed_relays_mail_is_delivered_after_restart(store, dns, port) -> None:
    publish(dns, "dest.example", (10, "mx1.dest.example", "127.0.0.2"))
    recipients = [f"r{i}@dest.example" for i in range(N)]
    now = Clock(dt.datetime.now(dt.UTC))
    enqueue(store, *(message(f"K{i:03d}", r, received=now.now) for i, r in enumerate(recipients)))

    def slow(stage: str, address: str | None, n: int) -> str | None:
        if stage == "DATA":
            time.sleep(0.03)  # the sink is slow: the kill finds deliveries in flight
        return None

    with SmtpSink("127.0.0.2", port, reply=slow) as sink:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        child = subprocess.Popen([sys.executable, "-c", CHILD, store.url, dns.address, str(port)],
                                 env=env, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            deadline = time.monotonic() + 30
            while len(sink.messages) < N // 3 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert len(sink.messages) >= N // 3, "the child relay delivered nothing"
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        leased = {r.recipient for r in rows(store).values() if r.state is MessageState.SENDING}
        assert leased, "the kill came too late to leave leased rows"

        def delivered() -> bool:  # given-back rows are "deferred" until delivered again
            return {r.state for r in rows(store).values()} == {MessageState.DELIVERED}

        async def restart() -> None:
            owner = f"{socket.gethostname()}:{os.getpid()}"
            async with running(store, settings(dns, port), now, owner=owner):
                await until(delivered, 30)

        asyncio.run(restart())
    assert {r.state for r in rows(store).values()} == {MessageState.DELIVERED}
    got = [rcpt for m in sink.messages for rcpt in m.rcpt_tos]
    assert sorted(set(got)) == sorted(recipients)  # none lost
    twice = {r for r in got if got.count(r) > 1}
    assert twice <= leased and all(got.count(r) == 2 for r in twice)  # only what was in hand
