"""Two daemons and two relays share one PostgreSQL; one of each is killed (issue 17, point 6).

Everything runs as real processes: ``deliverwatch daemon`` twice and ``deliverwatch relay``
twice (each with its delivery process), each with a config of its own (own pid file, own
listener) on one database. Applications submit 2,000 messages over both relays (a client
whose relay dies submits to the other, as a load balancer would); a backlog of bounces and
DMARC reports waits in a real Dovecot mailbox both daemons poll. Midway the test SIGKILLs one
relay and its delivery process, and one daemon, by PID, and does not restart them.

Then: every accepted message reached the sink at least once (zero lost, duplicates
counted: the few a killed delivery process had in hand); every mailbox item became one
event or one stored report (nothing counted twice); and every singleton job finished once
per period, across both daemons' logs.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import smtplib
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy import func, select

from monitor.store.models import DmarcReport, Event, JobPeriod
from tests.builders.reports import aggregate_xml, attachment_mail, gz
from tests.conftest import REPO, Store, write_config
from tests.integration.rig import PROCESSED, Rig
from tests.integration.samples import dsn
from tests.integration.test_poll_cli import mailbox_toml
from tests.monitor.relay.conftest import HASH, PASSWORD
from tests.monitor.relay.delivery_kit import publish
from tests.servers.dns import DNSServer
from tests.servers.dovecot import Dovecot
from tests.servers.smtp import SmtpSink, free_port

MESSAGES = 2000
BOUNCES, REPORTS = 120, 8
pytestmark = [pytest.mark.slow, pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)]


@pytest.fixture
def dns() -> Iterator[DNSServer]:
    with DNSServer() as server:
        yield server


class Node:
    """One ``deliverwatch`` process logging to a file of its own."""

    def __init__(self, config: Path, log: Path, *args: str) -> None:
        self.log = log
        with log.open("wb") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "monitor", "--config", str(config), *args],
                cwd=REPO, stdout=fh, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, needle: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text():
            assert self.proc.poll() is None, self.text()[-3000:]
            assert time.monotonic() < deadline, f"never logged {needle!r}:\n{self.text()[-3000:]}"
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL this process and its children (the relay's delivery process), by PID."""
        for pid in [*_children(self.proc.pid), self.proc.pid]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> int:
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9


def _children(pid: int) -> list[int]:
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


def _message(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"] = "news@sender.example", f"r{n}@dest.example"
    msg["Subject"], msg["Message-ID"] = f"load {n}", f"<load-{n}@sender.example>"
    msg.set_content("x" * 400)
    return msg.as_bytes()


def _number(content: bytes) -> int:
    start = content.index(b"<load-") + 6
    return int(content[start : content.index(b"@", start)])


def _submit(
    ports: list[int], numbers: list[int], accepted: set[int], stop: threading.Event
) -> None:
    """Each message until accepted; a relay that fails is left for the next one."""
    pending, client, turn = list(numbers), None, 0
    while pending and not stop.is_set():
        try:
            if client is None:
                client = smtplib.SMTP("127.0.0.1", ports[turn % len(ports)], timeout=20)
                client.login("app", PASSWORD)
            n = pending[0]
            client.sendmail("news@sender.example", [f"r{n}@dest.example"], _message(n))
            accepted.add(n)
            pending.pop(0)
        except (OSError, smtplib.SMTPException):
            if client is not None:
                client.close()
            client, turn = None, turn + 1
            time.sleep(0.05)
    if client is not None:
        try:
            client.quit()
        except (OSError, smtplib.SMTPException):
            client.close()


def _config(tmp: Path, name: str, store: Store, common: str, relay: str, port: int) -> Path:
    text = common + (
        f'\n[daemon]\npid_file = "{tmp / name / "daemon.pid"}"\nexpire_every_minutes = 1\n'
        'export_formats = []\n\n'
        f'[relay]\nlisten = ["127.0.0.1:{port}"]\nplain_auth_on_loopback = true\n'
        f'data_dir = "{tmp / name / "relay"}"\nhostname = "relay-{name}.test"\n{relay}'
    )  # fmt: skip
    return write_config(tmp / f"{name}.toml", store.url, text)


def _backlog(rig: Rig, first: int, count: int) -> None:
    rig.append(*(dsn(f"gone{i}@example.org") for i in range(first, first + count)))


def _reports(rig: Rig, first: int, count: int) -> None:
    rig.append(
        *(
            attachment_mail("application/gzip", gz(aggregate_xml(2, org=f"ISP {i}")), "r.xml.gz")
            for i in range(first, first + count)
        )
    )


def test_two_daemons_and_two_relays_lose_nothing_when_one_of_each_dies(
    store: Store, dns: DNSServer, imap: Dovecot, tmp_path: Path
) -> None:
    out_port, ports = free_port(), [free_port(), free_port()]
    publish(dns, "dest.example", (10, "mx.dest.example", "127.0.0.2"))
    rig = Rig(imap, store, imap.add_user())
    _backlog(rig, 0, BOUNCES // 2)
    _reports(rig, 0, REPORTS // 2)
    common = (
        f'[checks]\nnameservers = ["{dns.address}"]\nblocklist_every_minutes = 0\nauth_at = ""\n\n'
        + mailbox_toml(imap, rig.user, poll_every_seconds=1)
        + "\n[web]\nwebhook_every_seconds = 2.0\n"
        '\n[web.webhooks.ops]\nurl = "http://127.0.0.1:9/hook"\n'
        'secret = "sixteen-characters-at-least"\nevents = ["blocklist"]\n'
        f'\n[relay.users.app]\npassword_hash = "{HASH}"\ndomains = ["sender.example"]\n'
        "allow_unsigned = true\n"  # no DKIM key here: sharing the queue is the point
    )  # fmt: skip
    relay = (
        f"outbound_port = {out_port}\nretry_initial_seconds = 1.0\nretry_max_seconds = 2.0\n"
        "connect_timeout_seconds = 2.0\ncommand_timeout_seconds = 5.0\nlease_seconds = 6.0\n"
    )
    configs = [
        _config(tmp_path, n, store, common, relay, p) for n, p in zip("ab", ports, strict=True)
    ]
    accepted: set[int] = set()
    stop = threading.Event()
    nodes: list[Node] = []
    with SmtpSink("127.0.0.2", out_port) as sink:
        try:
            relays = [Node(c, tmp_path / f"relay-{i}.log", "relay") for i, c in enumerate(configs)]
            daemons = [
                Node(c, tmp_path / f"daemon-{i}.log", "daemon") for i, c in enumerate(configs)
            ]
            nodes = relays + daemons
            for relay in relays:
                relay.wait_for("relay started")
            for daemon in daemons:
                daemon.wait_for("daemon started")
            clients = [
                threading.Thread(
                    target=_submit,
                    args=(
                        ports if i % 2 == 0 else ports[::-1],
                        list(range(i, MESSAGES, 4)),
                        accepted,
                        stop,
                    ),
                    daemon=True,
                )
                for i in range(4)
            ]
            t0 = time.monotonic()
            for thread in clients:
                thread.start()
            deadline = time.monotonic() + 300
            while len(sink.messages) < MESSAGES // 3:
                assert all(n.proc.poll() is None for n in nodes), "a node died by itself"
                assert time.monotonic() < deadline, "the relays deliver nothing"
                time.sleep(0.1)
            t_kill = time.monotonic()
            relays[0].kill()
            daemons[0].kill()
            _backlog(rig, BOUNCES // 2, BOUNCES - BOUNCES // 2)  # only the survivor polls it
            _reports(rig, REPORTS // 2, REPORTS - REPORTS // 2)
            for thread in clients:
                thread.join(timeout=300)
            t_submitted = time.monotonic()
            deadline = time.monotonic() + 240
            while time.monotonic() < deadline:  # the leases of the dead relay run out
                delivered = {_number(m.content) for m in sink.messages}
                done = rig.count(PROCESSED) == BOUNCES + REPORTS
                periods = _finished_periods(store, "expire-suppressions")
                if accepted <= delivered and done and periods:
                    break
                time.sleep(0.5)
            t_done = time.monotonic()
            print(f"\nkill after {t_kill - t0:.0f}s, all accepted after {t_submitted - t0:.0f}s, "
                  f"all delivered and polled after {t_done - t0:.0f}s")  # fmt: skip
        finally:
            stop.set()
            statuses = [n.stop() for n in nodes]
        counts = Counter(_number(m.content) for m in sink.messages)
    lost = sorted(accepted - set(counts))
    duplicates = sum(c - 1 for c in counts.values())
    logs = "".join(n.text() for n in nodes)
    finished = Counter(re.findall(r"job (\S+): finished period (\S+) on", logs))
    print(f"\ncluster: {len(accepted)} accepted, {len(counts)} delivered, {duplicates} "
          f"duplicates, {len(lost)} lost; {len(finished)} singleton periods")  # fmt: skip
    assert len(accepted) == MESSAGES
    assert lost == [], f"{len(lost)} accepted messages never delivered: {lost[:10]}"
    assert duplicates <= MESSAGES // 20
    assert statuses[1] == 0 and statuses[3] == 0  # the survivors stop cleanly
    # the mailbox: every item once, whichever daemon read it
    assert rig.count(PROCESSED) == BOUNCES + REPORTS and rig.count() == 0
    with store.session() as s:
        bounces = select(func.count()).where(Event.address.like("gone%"))
        assert s.scalar(bounces.select_from(Event)) == BOUNCES
        assert s.scalar(select(func.count()).select_from(DmarcReport)) == REPORTS
        rows = list(s.scalars(select(JobPeriod)))
    # singleton jobs: once per period (one "finished" per period across both daemons)
    assert finished and max(finished.values()) == 1, finished.most_common(3)
    jobs = {job for job, _ in finished}
    assert {"expire-suppressions", "deliver-webhooks"} <= jobs
    assert len({(r.job, r.period) for r in rows}) == len(rows)
    webhook_periods = [p for job, p in finished if job == "deliver-webhooks"]
    assert len(webhook_periods) >= 10  # two-second periods, before and after the kill
    survivor = daemons[1].text()
    assert "job deliver-webhooks: finished period" in survivor


def _finished_periods(store: Store, job: str) -> int:
    with store.session() as s:
        q = select(func.count()).where(JobPeriod.job == job, JobPeriod.finished_at.is_not(None))
        return int(s.scalar(q.select_from(JobPeriod)) or 0)
