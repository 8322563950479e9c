"""Issue 14.7 at the command line, against the real Dovecot: the first poll says why its
events are unverified and what to do, and libraries' INFO chatter stays out of the log."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from monitor.cli.logsetup import configure
from tests.conftest import write_config
from tests.integration.samples import dsn
from tests.servers.dovecot import Dovecot


def _config(tmp_path: Path, store, imap: Dovecot, user: str, extra: str = "") -> Path:
    return write_config(
        tmp_path / "config.toml",
        store.url,
        f'[mailboxes.bounces]\nhost = "{imap.host}"\nport = {imap.tls_port}\n'
        f'ca_file = "{imap.ca_file}"\nusername = "{user}"\n'
        f'password = "{imap.users[user]}"\nparse_workers = 0\n{extra}',
    )


def test_first_poll_explains_unverified_events(cli, store, imap: Dovecot, tmp_path: Path) -> None:
    user = imap.add_user()
    imap.append([dsn("gone@example.org"), dsn("other@example.org")], user=user)
    config = _config(tmp_path, store, imap, user)
    r = cli("--config", config, "poll", "--once")
    assert r.code == 0, r.err
    assert "2 events are unverified" in r.out and "suppress nothing" in r.out
    assert "no send log" in r.out and "sends import" in r.out
    assert "verp_key" in r.out and 'trust = "any"' in r.out
    assert "Running detector" not in r.err and "flufl" not in r.err


@pytest.mark.parametrize("level", ["INFO", "WARNING", "DEBUG"])
def test_library_info_is_kept_below_debug(
    level: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))  # restored after the test
    monkeypatch.setattr(root, "level", root.level)
    # `deliverwatch parse` run in-process by an earlier test silences flufl.bounce for good
    flufl = logging.getLogger("flufl.bounce")
    monkeypatch.setattr(flufl, "level", logging.NOTSET)
    configure(level)
    logging.getLogger("flufl.bounce._scan").info("Running detector: %s", "Caiwireless")
    logging.getLogger("imapclient.imapclient").warning("server said something odd")
    logging.getLogger("monitor.ingest.drain").info("bounces: 2 messages")
    err = capsys.readouterr().err
    assert ("Running detector" in err) is (level == "DEBUG")
    assert "server said something odd" in err
    assert ("bounces: 2 messages" in err) is (level != "WARNING")
