"""``deliverwatch queue ...``, ``relay passwd`` and ``send``/``relay`` as processes."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from monitor.enums import MessageState
from monitor.relay.passwords import verify_password
from monitor.store import queue as q
from monitor.store.models import SentMessage
from tests.conftest import REPO, write_config
from tests.servers.smtp import free_port

NOW = dt.datetime.now(dt.UTC)


def seed(store: Any) -> None:
    with store.session() as s, s.begin():
        q.enqueue(
            s,
            [
                q.QueuedMessage(
                    queue_id=qid,
                    submitted_by="app",
                    envelope_sender="news@sender.example",
                    body=b"Subject: x\r\n\r\nx\r\n",
                    received_at=NOW - dt.timedelta(hours=age),
                    expires_at=NOW + dt.timedelta(days=5),
                    recipients=tuple(q.QueuedRecipient(address=r) for r in rcpts),
                    campaign=campaign,
                )
                for qid, rcpts, campaign, age in (
                    ("AAAA", ("a@x.example", "b@y.example"), "spring", 3),
                    ("BBBB", ("c@x.example",), "autumn", 0),
                )
            ],
        )


def states(store: Any) -> dict[str, MessageState]:
    with store.session() as s:
        return {r.recipient: r.state for r in s.scalars(select(SentMessage))}


def test_queue_commands(cli: Any, store: Any, config_file: Path) -> None:
    seed(store)
    r = cli("--config", config_file, "queue")
    assert r.code == 0 and "3 recipient(s) pending: queued 3" in r.out
    r = cli("--config", config_file, "queue", "list", "--format", "json")
    rows = [json.loads(line) for line in r.out.splitlines()]
    assert [x["id"] for x in rows] == ["AAAA.1", "AAAA.2", "BBBB.1"]
    r = cli("--config", config_file, "queue", "list", "--domain", "x.example")
    assert "a@x.example" in r.out and "c@x.example" in r.out and "b@y.example" not in r.out
    assert "2 recipient(s) shown" in r.err
    r = cli("--config", config_file, "queue", "hold", "--campaign", "spring", "--reason", "check")
    assert r.code == 0 and "hold: 2 recipient(s)" in r.out
    assert states(store)["a@x.example"] is MessageState.HELD
    r = cli("--config", config_file, "queue", "show", "AAAA", "--format", "json")
    shown = json.loads(r.out)
    assert shown["hold_reason"] == "check" and len(shown["recipients"]) == 2
    r = cli("--config", config_file, "queue", "release", "--id", "AAAA.1")
    assert "release: 1 recipient(s)" in r.out
    assert states(store)["a@x.example"] is MessageState.DEFERRED
    r = cli("--config", config_file, "queue", "retry", "--older", "1h")
    assert "retry: 1 recipient(s)" in r.out  # a@x (deferred, old); b@y is held
    r = cli("--config", config_file, "queue", "delete", "--id", "BBBB")
    assert "delete: 1 recipient(s)" in r.out and "c@x.example" not in states(store)
    r = cli("--config", config_file, "queue", "delete")
    assert r.code == 2 and "say what to delete" in r.err
    r = cli("--config", config_file, "queue", "show", "NOPE")
    assert r.code == 1


def test_queue_shows_and_releases_a_campaign_held_by_the_content_check(
    cli: Any, store: Any, config_file: Path
) -> None:
    from monitor.store import content

    seed(store)
    with store.session() as s, s.begin():
        rows = list(s.scalars(select(SentMessage).order_by(SentMessage.id)))
        batch = [q.QueuedMessage(queue_id=x, submitted_by="app", envelope_sender="n@s.example",
                                 body=b"x", received_at=NOW, expires_at=NOW, campaign="spring",
                                 recipients=(q.QueuedRecipient(address="d@x.example"),))
                 for x in ("CCCC",)]  # fmt: skip
        content.admit(s, batch, q.enqueue(s, batch), sample_every=10, now=NOW)
        (job,) = content.claim_scans(s, now=NOW, lease_until=NOW, limit=1)
        findings = content.ScanFindings(
            hold=True, verdict="hold", spam_score=999.0, spam_rules=("GTUBE",),
            reason="spam score 999 > 5",
        )  # fmt: skip
        assert content.finish_scan(s, job.id, findings, now=NOW) == 3  # AAAA's two and CCCC
        assert len(rows) == 3
    r = cli("--config", config_file, "queue")
    assert "campaign spring HELD" in r.out and "spam score 999 > 5" in r.out
    r = cli("--config", config_file, "queue", "campaigns", "--format", "json")
    (held,) = [json.loads(line) for line in r.out.splitlines()]
    assert r.code == 1 and held["campaign"] == "spring" and held["held_recipients"] == 3
    r = cli("--config", config_file, "queue", "show", "CCCC", "--format", "json")
    (scan,) = json.loads(r.out)["content_scans"]
    assert scan["verdict"] == "hold" and scan["spam_rules"] == "GTUBE"
    assert "content check of CCCC" in json.loads(r.out)["hold_reason"]
    r = cli("--config", config_file, "queue", "release", "--campaign", "spring")
    assert "content hold lifted" in r.out and "release: 3 recipient(s)" in r.out
    assert states(store)["d@x.example"] is MessageState.DEFERRED
    r = cli("--config", config_file, "queue", "campaigns")
    assert r.code == 0


def _children(pid: int) -> list[int]:
    """Live children of ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def test_relay_passwd_prints_a_hash_that_verifies(cli: Any) -> None:
    r = cli("relay", "passwd", "app", stdin="long enough password\n")
    assert r.code == 0 and "[relay.users.app]" in r.out
    stored = r.out.split('password_hash = "', 1)[1].split('"', 1)[0]
    assert verify_password(stored, "long enough password")
    r = cli("relay", "passwd", "app", stdin="short\n")
    assert r.code == 2


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_relay_process_takes_mail_from_send_and_stops_cleanly(
    cli: Any, store: Any, tmp_path: Path
) -> None:
    """``deliverwatch relay`` as its own process (generated TLS pair, pid file), fed by
    ``deliverwatch send``; SIGTERM ends it with status 0; a second relay is refused."""
    r = cli("relay", "passwd", "app", stdin="long enough password\n")
    hashed = r.out.split('password_hash = "', 1)[1].split('"', 1)[0]
    port = free_port()
    config = write_config(
        tmp_path / "c.toml",
        store.url,
        f'[relay]\nlisten = ["127.0.0.1:{port}"]\ndata_dir = "{tmp_path / "relay"}"\n'
        f'hostname = "relay.test"\n\n[relay.users.app]\npassword_hash = "{hashed}"\n'
        'domains = ["sender.example"]\nallow_unsigned = true\n',
    )
    env = {**os.environ, "DELIVERWATCH_RELAY_PASSWORD": "long enough password"}
    log = (tmp_path / "relay.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "relay"],
        cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while b"relay started" not in (tmp_path / "relay.log").read_bytes():
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        assert (tmp_path / "relay" / "relay.pid").read_text().strip() == str(proc.pid)
        twin = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(config), "relay"],
            cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert twin.returncode == 2 and "already running" in twin.stderr
        sent = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(config), "send",
             "--to", "someone@example.org", "--campaign", "smoke"],
            cwd=REPO, capture_output=True, text=True, timeout=60, check=False, env=env,
        )  # fmt: skip
        assert sent.returncode == 0 and "queued as" in sent.stdout, sent.stdout + sent.stderr
        # a delivery process that dies is started again (issue 13.6)
        [child] = _children(proc.pid)
        os.kill(child, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while not (set(_children(proc.pid)) - {child}):
            assert time.monotonic() < deadline, "the delivery process was not restarted"
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    text = (tmp_path / "relay.log").read_text()
    assert "relay stopped" in text and "Traceback" not in text
    assert f"delivery process {child} exited" in text
    assert "someone@example.org" in states(store)


def test_queue_summary_shows_shaping_back_offs_and_what_waits(
    cli: Any, store: Any, config_file: Path
) -> None:
    from monitor.store.shaping_repo import WAITING_PREFIX, BackoffRow, record_backoff

    seed(store)
    # the clock read now, not at import: under xdist this test can run many minutes after
    # the module's NOW, when a 10-minute suspension from NOW is already over
    now = dt.datetime.now(dt.UTC)
    with store.session() as s, s.begin():
        record_backoff(s, BackoffRow("gmail", "192.0.2.7", now, now + dt.timedelta(minutes=10),
                                     now + dt.timedelta(minutes=40), 0.5,
                                     "421 4.7.28 rate limited"))  # fmt: skip
        record_backoff(s, BackoffRow("yahoo", "", now - dt.timedelta(days=1),
                                     now - dt.timedelta(hours=23), now - dt.timedelta(hours=22),
                                     0.5, "421 4.7.0 [TSS04]"))  # over: not shown  # fmt: skip
        for row in s.scalars(select(SentMessage).where(SentMessage.recipient != "c@x.example")):
            row.state = MessageState.DEFERRED
            row.last_reply = f"{WAITING_PREFIX}back-off for gmail from 192.0.2.7: 421 4.7.28 x"
    r = cli("--config", config_file, "queue")
    assert r.code == 0, r.err
    assert "back-off: gmail from 192.0.2.7: suspended until" in r.out and "4.7.28" in r.out
    assert "yahoo" not in r.out
    assert "deferred: back-off for gmail from 192.0.2.7: 2 recipient(s) waiting" in r.out
