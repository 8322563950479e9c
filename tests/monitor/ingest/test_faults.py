"""Faults: the poller dies, Dovecot dies, connections drop, the database is locked or down.

After each, the mailbox must be consistent (nothing lost, nothing moved before its result
was committed) and a re-run must count nothing twice, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event, select, text

from monitor.errors import JobFailed, JobSkipped, StoreError
from monitor.ingest.drain import Hooks, IngestOptions
from monitor.ingest.poller import MailboxPoller
from monitor.store.db import make_engine, make_session_factory
from monitor.store.models import DmarcReport, MailboxCursor, Suppression
from tests.builders.reports import aggregate_xml, attachment_mail, gz
from tests.conftest import REPO
from tests.integration.rig import FAILED, PROCESSED, VERP_KEY, Rig, utcnow
from tests.integration.samples import dsn
from tests.servers.dovecot import Dovecot

N = 12  # messages per test; batches of 5 make three batches


def load(rig: Rig, n: int = N) -> list[str]:
    """``n`` hard bounces of addresses we sent to: each must give one event, one suppression."""
    rig.cfg_overrides["batch_size"] = 5
    addresses = [f"r{i}@example.org" for i in range(n)]
    for i, address in enumerate(addresses):
        rig.sent(address, message_id=f"m{i}@sender.example")
    rig.append(*(dsn(a, message_id=f"<m{i}@sender.example>") for i, a in enumerate(addresses)))
    return addresses


def assert_counted_once(rig: Rig, addresses: list[str]) -> None:
    events = rig.events()
    assert sorted(e.address or "" for e in events) == sorted(addresses)
    assert rig.n(Suppression) == len(addresses)
    ids = {e.id for e in events}
    assert {s.source_event_id for s in rig.rows(Suppression)} == ids
    assert (rig.count(), rig.count(PROCESSED)) == (0, len(addresses))


def test_poller_killed_between_commit_and_move_counts_nothing_twice(imap: Dovecot, store) -> None:
    rig = Rig(imap, store, imap.add_user())
    addresses = load(rig)
    args = {
        "host": imap.host,
        "port": imap.tls_port,
        "ca_file": str(imap.ca_file),
        "user": rig.user,
        "password": imap.users[rig.user],
        "batch_size": 5,
        "db": store.url,
        "key": VERP_KEY.decode(),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "tests.integration.killed_poller", json.dumps(args)],
        cwd=REPO,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    assert rig.count() == N  # committed, never moved
    assert len(rig.events()) == 5 and rig.n(Suppression) == 5
    assert {i.moved for i in rig.ledger()} == {False}
    summary = rig.poll()
    assert (summary.recovered, summary.processed, summary.effects.bounces) == (5, N - 5, N - 5)
    assert_counted_once(rig, addresses)


def test_changed_uidvalidity_after_a_crash_does_not_recount(own_imap: Dovecot, store) -> None:
    rig = Rig(own_imap, store, own_imap.add_user())
    addresses = load(rig)

    def crash(_uids: list[int]) -> None:
        raise KeyboardInterrupt  # the process stops right after the commit

    with pytest.raises(KeyboardInterrupt):
        rig.poll(hooks=Hooks(after_commit=crash))
    assert rig.count() == N and len(rig.events()) == 5
    with own_imap.client(rig.user) as c:
        old = c.select_folder("INBOX")[b"UIDVALIDITY"]
    own_imap.crash()
    for path in own_imap.maildir(rig.user).glob("dovecot*"):  # uidlist and indexes
        path.unlink()
    time.sleep(1.1)  # UIDVALIDITY is a timestamp: make sure the new one differs
    own_imap.start()
    with own_imap.client(rig.user) as c:
        assert c.select_folder("INBOX")[b"UIDVALIDITY"] != old
    summary = rig.poll()
    assert (summary.duplicates, summary.processed, summary.recovered) == (5, N - 5, 0)
    assert_counted_once(rig, addresses)


def test_dovecot_killed_and_restarted_mid_batch(own_imap: Dovecot, store) -> None:
    rig = Rig(own_imap, store, own_imap.add_user())
    addresses = load(rig)
    restarted = []

    def kill_server(_uids: list[int]) -> None:
        if not restarted:
            own_imap.crash()
            timer = threading.Timer(0.5, own_imap.start)
            timer.start()
            restarted.append(timer)

    summary = rig.poll(hooks=Hooks(after_fetch=kill_server))
    restarted[0].join()
    assert summary.reconnects >= 1
    assert_counted_once(rig, addresses)


@pytest.mark.parametrize("moment", ["before_fetch", "after_commit"])
def test_connection_dropped_during_fetch_or_move(imap: Dovecot, store, moment: str) -> None:
    rig = Rig(imap, store, imap.add_user())
    addresses = load(rig)
    kicked: list[bool] = []

    def kick(_uids: list[int]) -> None:
        if len(kicked) < 2:  # twice: the retry count resets once a batch completes
            kicked.append(imap.kick(rig.user))

    summary = rig.poll(hooks=Hooks(**{moment: kick}), sleep=lambda _s: None)
    assert kicked == [True, True] and summary.reconnects == 2
    assert_counted_once(rig, addresses)
    if moment == "after_commit":
        assert summary.recovered > 0  # committed before the drop, moved after it


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # SQLite's write lock
def test_sqlite_locked_aborts_the_batch_and_moves_nothing(imap: Dovecot, store) -> None:
    rig = Rig(imap, store, imap.add_user())
    addresses = load(rig)
    engine = make_engine(store.url)

    @event.listens_for(engine, "connect")
    def short_wait(dbapi_conn, _record) -> None:  # after make_engine's 30 s busy timeout
        dbapi_conn.execute("PRAGMA busy_timeout=200")

    holder = sqlite3.connect(store.engine.url.database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        with pytest.raises(StoreError, match="database is locked"):
            rig.poll(factory=make_session_factory(engine))
        assert (rig.count(), rig.count(PROCESSED), rig.count(FAILED)) == (N, 0, 0)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert not rig.events()
    rig.poll(factory=make_session_factory(engine))
    engine.dispose()
    assert_counted_once(rig, addresses)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgresql_row_lock_times_out_cleanly(imap: Dovecot, store) -> None:
    rig = Rig(imap, store, imap.add_user())
    addresses = load(rig, 3)
    rig.poll()  # creates the cursor row
    rig.append(dsn("late@example.org"))
    rig.sent("late@example.org", message_id="newsletter-1@sender.example")
    engine = make_engine(store.url + "%20-clock_timeout%3D300")
    with store.engine.connect() as other:
        other.execute(text("SELECT 1 FROM mailbox_cursors FOR UPDATE"))  # a poller mid-batch
        with pytest.raises(StoreError, match="lock"):
            rig.poll(factory=make_session_factory(engine))
        assert rig.count() == 1
        other.rollback()
    rig.poll(factory=make_session_factory(engine))
    engine.dispose()
    assert_counted_once(rig, [*addresses, "late@example.org"])


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)  # SQLite: the lock above
def test_postgresql_down_moves_nothing(imap: Dovecot, store) -> None:
    rig = Rig(imap, store, imap.add_user())
    load(rig, 3)
    down = make_engine("postgresql+psycopg://postgres@127.0.0.1:9/test?connect_timeout=2")
    with pytest.raises(StoreError, match="connection"):
        rig.poll(factory=make_session_factory(down))
    down.dispose()
    assert (rig.count(), rig.count(PROCESSED), rig.count(FAILED)) == (3, 0, 0)
    rig.poll()
    assert rig.count(PROCESSED) == 3


def test_a_message_the_database_refuses_fails_alone(imap: Dovecot, store) -> None:
    """The per-item boundary: one report's numbers overflow BIGINT, the batch still commits."""
    rig = Rig(imap, store, imap.add_user())
    huge = aggregate_xml(1).replace(b"<count>1</count>", b"<count>99999999999999999999999</count>")
    assert huge != aggregate_xml(1)
    rig.sent("gone@example.org", message_id="newsletter-1@sender.example")
    rig.append(
        attachment_mail("application/gzip", gz(huge), "r.xml.gz"),
        dsn("gone@example.org"),
    )
    summary = rig.poll()
    assert (summary.processed, summary.failed) == (1, 1)
    assert summary.failures[0][1].startswith("database refused it")
    assert "out of range" in summary.failures[0][1] or "too large" in summary.failures[0][1]
    assert (rig.count(PROCESSED), rig.count(FAILED)) == (1, 1)
    assert rig.n(DmarcReport) == 0 and rig.suppression("gone@example.org") is not None


def test_unreachable_mailbox_backs_off_and_records_the_error(
    imap: Dovecot, store, caplog: pytest.LogCaptureFixture
) -> None:
    """The daemon's job: a mailbox that is down is retried later, ever less often."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    rig = Rig(imap, store, imap.add_user())
    cfg = dataclasses.replace(rig.cfg, port=closed_port, retry_initial_seconds=5)
    clock = [utcnow()]
    slept: list[float] = []
    poller = MailboxPoller(
        "bounces",
        cfg,
        factory=store.factory,
        ctx=rig.ctx(),
        now=lambda: clock[0],
        options=IngestOptions(sleep=slept.append, reconnect_attempts=2),
    )
    with pytest.raises(JobFailed) as failed:
        poller()
    first = str(failed.value)
    assert "bounces" in first and "refused" in first and poller.failures == 1
    assert slept == [5, 10]  # the in-run reconnects, doubling
    assert poller.retry_at == clock[0] + dt.timedelta(seconds=5)
    assert "mailbox bounces:" in caplog.text and "next attempt in 5s" in caplog.text
    with pytest.raises(JobSkipped, match="backing off"):
        poller()
    assert len(slept) == 2  # no attempt inside the pause
    clock[0] += dt.timedelta(seconds=6)
    with pytest.raises(JobFailed, match="failure 2 in a row"):
        poller()
    assert poller.failures == 2
    assert poller.retry_at == clock[0] + dt.timedelta(seconds=10)  # doubled
    with store.session() as s:
        cursor = s.scalar(select(MailboxCursor).where(MailboxCursor.mailbox == "bounces"))
    assert cursor is not None and "refused" in (cursor.last_error or "")
    poller.cfg = dataclasses.replace(cfg, port=imap.tls_port)  # the server is back
    clock[0] += dt.timedelta(seconds=11)
    assert "fetched 0" in poller() and poller.failures == 0 and poller.retry_at is None


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; its new parent reaps it


def test_parse_workers_exit_when_the_poller_is_killed(imap: Dovecot, store) -> None:
    """Issue 11, point 7: after ``kill -9`` of a poll, its forkserver and parse workers
    (~75 MB each) must not live on."""
    rig = Rig(imap, store, imap.add_user())
    load(rig)
    args = {
        "host": imap.host,
        "port": imap.tls_port,
        "ca_file": str(imap.ca_file),
        "user": rig.user,
        "password": imap.users[rig.user],
        "batch_size": 5,
        "db": store.url,
        "key": VERP_KEY.decode(),
        "hang": True,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.integration.killed_poller", json.dumps(args)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"READY"
        helpers = _descendants(proc.pid)
        assert len(helpers) >= 3  # the forkserver and two parse workers
        proc.kill()
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_running(p) for p in helpers):
            time.sleep(0.05)
        assert not [p for p in helpers if _running(p)]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    assert rig.count() == N  # killed before any commit: everything is still there
