"""The IMAP adapter against a real Dovecot: TLS modes, errors, PEEK, MOVE and its fallback, IDLE."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from monitor.config import MailboxConfig, Secret, config_from_dict
from monitor.errors import ConfigError, MailboxError
from monitor.ingest.mailbox import ConnectionLost, Mailbox
from tests.servers.dovecot import NO_MOVE_CAPABILITIES, Dovecot
from tests.servers.net import closed_port

MSG = b"From: a@example.org\r\nSubject: hi\r\nMessage-ID: <m%d@example.org>\r\n\r\nbody %d\r\n"


def box_config(server: Dovecot, user: str, **kw: object) -> MailboxConfig:
    values: dict[str, object] = {
        "host": server.host,
        "port": server.tls_port,
        "tls": "implicit",
        "ca_file": server.ca_file,
        "username": user,
        "password": Secret(server.users[user]),
        "timeout_seconds": 10,
    }
    values.update(kw)
    return MailboxConfig(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["implicit", "starttls", "none"])
def test_connects_in_every_tls_mode(imap: Dovecot, mode: str) -> None:
    user = imap.add_user()
    port = imap.tls_port if mode == "implicit" else imap.port
    with Mailbox.connect(box_config(imap, user, tls=mode, port=port), label="t") as box:
        assert box.select("INBOX").uidvalidity > 0


def test_wrong_password_is_a_clear_error_not_a_retry() -> None:
    # Its own server: Dovecot delays the next login from an IP after a failed one.
    with Dovecot() as server:
        cfg = box_config(server, "bounces", password=Secret("wrong"))
        with pytest.raises(MailboxError, match="login refused") as info:
            Mailbox.connect(cfg, label="bounces")
    assert not isinstance(info.value, ConnectionLost)
    assert "AUTHENTICATIONFAILED" in str(info.value) and "wrong" not in str(info.value)


def test_untrusted_certificate_is_refused(imap: Dovecot) -> None:
    user = imap.add_user()
    with pytest.raises(MailboxError, match="TLS certificate not trusted"):
        Mailbox.connect(box_config(imap, user, ca_file=None), label="t")


def test_verify_tls_false_accepts_a_self_signed_server(imap: Dovecot) -> None:
    user = imap.add_user()
    cfg = box_config(imap, user, ca_file=None, verify_tls=False)
    with Mailbox.connect(cfg, label="t") as box:
        box.select("INBOX")


def test_tls_handshake_failure_is_a_clear_error(imap: Dovecot) -> None:
    user = imap.add_user()
    cfg = box_config(imap, user, port=imap.port)  # implicit TLS against the plain port
    with pytest.raises(MailboxError, match="TLS handshake failed") as info:
        Mailbox.connect(cfg, label="t")
    assert not isinstance(info.value, ConnectionLost)


_RESOLVE_IN_NETNS = """
import sys
from monitor.config import MailboxConfig, Secret
from monitor.errors import MailboxError
from monitor.ingest.mailbox import Mailbox
cfg = MailboxConfig(host="imap.deliverwatch-test.invalid", port=993, tls="implicit",
                    username="u", password=Secret("p"), timeout_seconds=5)
try:
    Mailbox.connect(cfg, label="t")
except MailboxError as exc:
    print(exc)
    sys.exit(0)
sys.exit("connected?!")
"""


def test_unresolvable_host_is_a_clear_error() -> None:
    """A DNS failure, produced without sending a query anywhere: the poller runs in a fresh
    network namespace (only a downed loopback), so the system resolver cannot be reached
    and getaddrinfo fails at once — tests never talk to a non-loopback address."""
    if shutil.which("unshare") is None:
        pytest.fail("util-linux unshare is required for the DNS-failure test")
    proc = subprocess.run(
        ["unshare", "--net", sys.executable, "-c", _RESOLVE_IN_NETNS],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "cannot resolve host" in proc.stdout
    assert "imap.deliverwatch-test.invalid" in proc.stdout


def test_closed_port_is_connection_lost(imap: Dovecot) -> None:
    with pytest.raises(ConnectionLost, match="refused"):
        Mailbox.connect(box_config(imap, "bounces", port=closed_port()), label="t")


def test_plain_text_only_for_loopback_hosts() -> None:
    with pytest.raises(ValueError, match="only allowed for loopback"):
        MailboxConfig(host="imap.example.com", tls="none", username="u")
    MailboxConfig(host="::1", tls="none", username="u")
    MailboxConfig(host="localhost", tls="none", username="u")
    with pytest.raises(ConfigError, match=r"mailboxes\.b: tls"):
        config_from_dict(
            {"mailboxes": {"b": {"host": "10.0.0.1", "tls": "none", "username": "u"}}},
            base_dir=Path("/tmp"),
        )


def test_fetch_peeks_and_move_leaves_nothing_behind(imap: Dovecot) -> None:
    user = imap.add_user()
    imap.append([MSG % (i, i) for i in range(5)], user=user)
    with Mailbox.connect(box_config(imap, user), label="t") as box:
        box.ensure_folder("done")
        assert not box.ensure_folder("done")
        box.select("INBOX")
        uids = box.pending_uids()
        sizes = box.sizes(uids)
        assert set(sizes) == set(uids) and all(s > 0 for s in sizes.values())
        got = box.fetch(uids[:3])
        assert [m.uid for m in got] == uids[:3]
        assert got[0].raw.startswith(b"From: a@example.org") and got[0].internal_date
        assert b"Subject: hi" in box.header(uids[0])
        box.move(uids[:3], "done")
    assert all(b"\\Seen" not in f for f in imap.flags("INBOX", user).values())
    assert imap.count("INBOX", user) == 2
    assert imap.count("done", user) == 3
    assert all(b"\\Seen" not in f for f in imap.flags("done", user).values())


def test_move_falls_back_to_copy_delete_uid_expunge() -> None:
    with Dovecot(capabilities=NO_MOVE_CAPABILITIES) as server:
        user = server.add_user()
        server.append([MSG % (i, i) for i in range(4)], user=user)
        with server.client(user) as other:  # someone else's \\Deleted message must survive
            other.select_folder("INBOX")
            other.add_flags([4], [b"\\Deleted"])
        with Mailbox.connect(box_config(server, user), label="t") as box:
            assert not box.has("MOVE")
            box.ensure_folder("done")
            box.select("INBOX")
            box.move([1, 2], "done")
        assert server.count("done", user) == 2
        assert server.uids("INBOX", user) == [3]
        assert len(server.flags("INBOX", user)) == 2  # UID EXPUNGE spared UID 4


def test_idle_wakes_up_on_new_mail_and_times_out(imap: Dovecot) -> None:
    user = imap.add_user()
    with Mailbox.connect(box_config(imap, user), label="t") as box:
        box.select("INBOX")
        t0 = time.monotonic()
        assert box.wait_for_mail(0.6) is False
        assert time.monotonic() - t0 < 3
        timer = threading.Timer(0.3, lambda: imap.append([MSG % (1, 1)], user=user))
        timer.start()
        try:
            assert box.wait_for_mail(20) is True
        finally:
            timer.join()
        assert box.wait_for_mail(20, stopping=lambda: True) is False
        assert box.pending_uids() == [1]


def test_idle_reports_a_dropped_connection(imap: Dovecot) -> None:
    user = imap.add_user()
    with Mailbox.connect(box_config(imap, user), label="t") as box:
        box.select("INBOX")
        timer = threading.Timer(0.3, lambda: imap.kick(user))
        timer.start()
        try:
            with pytest.raises(ConnectionLost):
                box.wait_for_mail(20)
        finally:
            timer.join()


@pytest.mark.parametrize("mode", ["implicit", "starttls", "none"])
def test_idle_announces_mail_that_came_between_select_and_idle(imap: Dovecot, mode: str) -> None:
    """Mail delivered after SELECT but before IDLE: Dovecot announces it with IDLE's own
    continuation ("+ idling" and "* 1 EXISTS" in one TLS record), so imaplib's buffered
    read takes both lines and a poll of the socket never fires. It must be announced at
    once, not at the server's next keep-alive (minutes) or the next scheduled run."""
    user = imap.add_user()
    port = imap.tls_port if mode == "implicit" else imap.port
    with Mailbox.connect(box_config(imap, user, tls=mode, port=port), label="t") as box:
        assert box.select("INBOX").exists == 0
        imap.append([MSG % (1, 1)], user=user)
        t0 = time.monotonic()
        assert box.wait_for_mail(8) is True
        assert time.monotonic() - t0 < 5
        assert box.pending_uids() == [1]
