"""The daemon records every job run, logs a failure at ERROR with its cause, runs the checks
once at start (not an interval later), and serves ``/metrics`` on its loopback port."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select

from monitor.app import App
from monitor.config import load_config
from monitor.daemon.run import run_daemon
from monitor.daemon.scheduler import JobSpec
from monitor.errors import JobFailed
from monitor.store.models import JobRun
from tests.conftest import write_config


def _stop_after(seconds: float) -> None:
    def stop() -> None:
        time.sleep(seconds)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop, daemon=True).start()


def test_runs_are_recorded_failures_logged_at_error_checks_run_at_start(
    store, tmp_path: Path, caplog
) -> None:
    config = write_config(tmp_path / "config.toml", store.url, "[daemon]\nexport_formats = []\n")
    app = App.from_config(load_config(config))
    ran = threading.Event()

    def hourly_check() -> dict[str, int]:
        ran.set()
        return {"listed": 0, "checked": 4}

    def broken_poll() -> str:
        raise JobFailed("mailbox bounces: LOGIN failed (wrong password)")

    specs = [
        JobSpec("check-blocklists", hourly_check, IntervalTrigger(hours=1), run_at_start=True),
        JobSpec("poll-bounces", broken_poll, IntervalTrigger(seconds=0.3)),
    ]
    caplog.set_level(logging.INFO)
    _stop_after(2.0)
    try:
        assert run_daemon(app, specs=specs) == 0
    finally:
        app.close()
    assert ran.is_set()  # an hourly job, run within the two seconds the daemon lived
    with store.session() as s:
        runs = s.scalars(select(JobRun).order_by(JobRun.id)).all()
    checks = [r for r in runs if r.job == "check-blocklists"]
    assert len(checks) == 1 and checks[0].outcome == "ok"
    assert checks[0].counts == {"listed": 0, "checked": 4}
    assert checks[0].summary == "listed 0, checked 4" and checks[0].finished_at is not None
    polls = [r for r in runs if r.job == "poll-bounces"]
    assert polls and all(r.outcome == "failed" for r in polls)
    assert polls[0].error == "mailbox bounces: LOGIN failed (wrong password)"
    failed = [r for r in caplog.records if "job poll-bounces failed" in r.getMessage()]
    assert failed and all(r.levelno == logging.ERROR for r in failed)
    assert "LOGIN failed (wrong password)" in failed[0].getMessage()
    assert not any("job poll-bounces done" in r.getMessage() for r in caplog.records)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_daemon_serves_metrics_on_its_loopback_port(store, tmp_path: Path) -> None:
    port = _free_port()
    config = write_config(
        tmp_path / "config.toml",
        store.url,
        "[daemon]\nexport_formats = []\n\n"
        f'[metrics]\nlisten = "127.0.0.1:{port}"\ncache_seconds = 0\n',
    )
    log = tmp_path / "daemon.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "daemon"],
            stdout=subprocess.DEVNULL,
            stderr=fh,
        )
    try:
        deadline = time.monotonic() + 120  # a cold start on a loaded machine is slow
        body = ""
        while time.monotonic() < deadline:
            try:
                body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            if 'deliverwatch_job_runs_total{job="alert-rules",outcome="ok"} 1.0' in body:
                break  # the alert rules ran at start
            time.sleep(0.2)
        assert "deliverwatch_database_up 1.0" in body, log.read_text()
        assert 'deliverwatch_job_runs_total{job="alert-rules",outcome="ok"} 1.0' in body
        assert 'deliverwatch_job_last_run_timestamp_seconds{job="alert-rules"}' in body
        proc.terminate()
        assert proc.wait(timeout=15) == 0
        with httpx.Client() as client:
            try:
                client.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
                raise AssertionError("the metrics listener outlived the daemon")
            except httpx.TransportError:
                pass
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_checks_and_rules_are_scheduled_to_run_at_start(store, tmp_path: Path) -> None:
    from monitor.daemon.jobs import job_specs

    config = write_config(tmp_path / "config.toml", store.url, '[retention]\nprune_at = "04:10"\n')
    app = App.from_config(load_config(config))
    try:
        specs = {s.id: s for s in job_specs(app)}
    finally:
        app.close()
    at_start = sorted(i for i, s in specs.items() if s.run_at_start)
    assert at_start == ["alert-rules", "check-auth", "check-blocklists"]
    assert "hour='4', minute='10'" in repr(specs["retention"].trigger)
    assert specs["retention"].kwargs["policy"].events_days == 400
