"""The daemon polls each mailbox on its schedule (or IDLE), survives a broken one, stops cleanly."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.app import App
from monitor.config import load_config
from monitor.daemon.jobs import job_specs
from monitor.store.db import make_engine, make_session_factory, upgrade
from tests.conftest import Store, write_config
from tests.integration.rig import PROCESSED, Rig
from tests.integration.samples import dsn
from tests.integration.test_poll_cli import mailbox_toml
from tests.monitor.daemon.test_daemon import Daemon
from tests.servers.dovecot import Dovecot


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """SQLite only: scheduling does not depend on the backend (ingestion tests run on both)."""
    url = f"sqlite:///{tmp_path / 'daemon.db'}"
    engine = make_engine(url)
    upgrade(engine)
    try:
        yield Store(url, engine, make_session_factory(engine))
    finally:
        engine.dispose()


def wait_until(check, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_job_specs_schedule_one_poll_per_mailbox(imap: Dovecot, store, tmp_path: Path) -> None:
    extra = mailbox_toml(imap, "bounces", name="a", poll_every_seconds=60) + mailbox_toml(
        imap, "bounces", name="b", idle=True
    )
    app = App.from_config(load_config(write_config(tmp_path / "c.toml", store.url, extra)))
    specs = {s.id: s for s in job_specs(app)}
    assert specs["poll-a"].trigger.interval.total_seconds() == 60  # type: ignore[attr-defined]
    assert not specs["poll-a"].stoppable and specs["poll-b"].stoppable
    assert specs["poll-b"].trigger.interval.total_seconds() == 300  # type: ignore[attr-defined]
    app.close()


def test_daemon_polls_while_a_broken_mailbox_backs_off(
    imap: Dovecot, store, tmp_path: Path
) -> None:
    rig = Rig(imap, store, imap.add_user())
    rig.append(dsn("a@example.org"), dsn("b@example.org"))
    broken = mailbox_toml(imap, "bounces", name="broken", poll_every_seconds=1).replace(
        f'password = "{imap.users["bounces"]}"', 'password = "wrong-password"'
    )
    good = mailbox_toml(imap, rig.user, name="good", poll_every_seconds=1)
    config = write_config(tmp_path / "config.toml", store.url, broken + good)
    daemon = Daemon(config, tmp_path / "daemon.log")
    try:
        daemon.wait_for("good: fetched 2, bounces 2")
        rig.append(dsn("c@example.org"))
        text = daemon.wait_for("good: fetched 1, bounces 1")
        assert f"mailbox broken: broken ({imap.host}:" in text
        assert "login" in text
        assert "failure 1 in a row, next attempt in 1s" in text
        text = daemon.wait_for("failure 2 in a row, next attempt in 2s")
        assert "Traceback" not in text
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=15) == 0
    finally:
        daemon.kill()
    assert rig.count(PROCESSED) == 3 and len(rig.events()) == 3


def test_idle_mailbox_gets_new_mail_at_once_and_stops_promptly(
    imap: Dovecot, store, tmp_path: Path
) -> None:
    rig = Rig(imap, store, imap.add_user())
    extra = mailbox_toml(imap, rig.user, name="live", idle=True, poll_every_seconds=60)
    config = write_config(tmp_path / "config.toml", store.url, extra)
    daemon = Daemon(config, tmp_path / "daemon.log")
    try:
        daemon.wait_for("scheduled job poll-live")
        wait_until(lambda: _idling(imap, rig.user), timeout=20)
        t0 = time.monotonic()
        rig.append(dsn("idle@example.org"))
        wait_until(lambda: rig.count(PROCESSED) == 1, timeout=15)
        assert time.monotonic() - t0 < 10  # IDLE, not the 60-second interval
        t0 = time.monotonic()
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=20) == 0
        assert time.monotonic() - t0 < 10
    finally:
        daemon.kill()
    assert "daemon stopped" in (tmp_path / "daemon.log").read_text()
    assert [e.address for e in rig.events()] == ["idle@example.org"]


def _idling(server: Dovecot, user: str) -> bool:
    """True once Dovecot's log shows the user's session (the daemon's first drain ran)."""
    return f"Login: user=<{user}>" in server.log_path.read_text(errors="replace")


def test_database_file_deleted_under_the_daemon_keeps_the_mail(
    imap: Dovecot, store, tmp_path: Path
) -> None:
    """Issue 11, point 4: the SQLite file is deleted while the daemon runs. Nothing may be
    committed into the unlinked file, so the mail must stay in the inbox and the job must
    say why, loudly."""
    rig = Rig(imap, store, imap.add_user())
    rig.append(dsn("first@example.org"))
    extra = mailbox_toml(imap, rig.user, name="box", poll_every_seconds=1)
    config = write_config(tmp_path / "config.toml", store.url, extra)
    daemon = Daemon(config, tmp_path / "daemon.log")
    try:
        daemon.wait_for("box: fetched 1, bounces 1")
        db = Path(store.url.removeprefix("sqlite:///"))
        store.engine.dispose()
        db.unlink()
        rig.append(dsn("second@example.org"))
        # the job recorder's own WARNING ("run not recorded") may come first: wait for the job's
        text = daemon.wait_for(f"mailbox box: the database file {db} was deleted or replaced")
        said = [
            line for line in text.splitlines() if f"mailbox box: the database file {db}" in line
        ]
        assert said and all(" ERROR " in line for line in said)
        time.sleep(2)  # more poll attempts: each must fail the same way
        assert rig.count() == 1 and rig.count(PROCESSED) == 1
        assert "Traceback" not in daemon.log.read_text()
        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=15) == 0
    finally:
        daemon.kill()
