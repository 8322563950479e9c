"""The daemon: starts, logs next runs, refuses a twin, stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from apscheduler.triggers.interval import IntervalTrigger

from monitor.app import App
from monitor.config import load_config
from monitor.daemon.run import run_daemon
from monitor.daemon.scheduler import JobSpec
from tests.conftest import write_config

CLI = [sys.executable, "-m", "monitor"]


class Daemon:
    """A ``deliverwatch daemon`` subprocess whose stderr goes to a file we can poll."""

    def __init__(self, config: Path, log: Path, *options: str) -> None:
        self.log = log
        with log.open("wb") as fh:
            self.proc = subprocess.Popen(
                [*CLI, "--config", str(config), *options, "daemon"],
                stdout=subprocess.DEVNULL,
                stderr=fh,
            )

    def wait_for(self, needle: str, timeout: float = 20) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text()
            if needle in text:
                return text
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.kill()
        pytest.fail(f"daemon never logged {needle!r}; got:\n{self.log.read_text()}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_daemon_starts_refuses_twin_and_stops_on_signal(store, tmp_path: Path, sig) -> None:
    config = write_config(
        tmp_path / "config.toml",
        store.url,
        '[daemon]\nexport_dir = "exports"\nexport_formats = ["csv", "jsonl"]\n',
    )
    daemon = Daemon(config, tmp_path / "daemon.log")
    try:
        text = daemon.wait_for("daemon started")
        assert (tmp_path / "var" / "deliverwatch.pid").read_text().strip() == str(daemon.proc.pid)
        assert "scheduled job expire-suppressions; next run" in text
        assert "scheduled job export-suppressions; next run" in text

        twin = subprocess.run(
            [*CLI, "--config", str(config), "daemon"], capture_output=True, text=True, timeout=30
        )
        assert twin.returncode == 2
        assert "another deliverwatch daemon" in twin.stderr and "already running" in twin.stderr

        t0 = time.monotonic()
        daemon.proc.send_signal(sig)
        assert daemon.proc.wait(timeout=10) == 0
        assert time.monotonic() - t0 < 10
        assert "daemon stopped" in daemon.log.read_text()
        assert not (tmp_path / "var" / "deliverwatch.pid").exists()
    finally:
        daemon.kill()
    # the lock went with the process: a new daemon can start
    again = Daemon(config, tmp_path / "again.log")
    try:
        again.wait_for("daemon started")
        again.proc.terminate()
        assert again.proc.wait(timeout=10) == 0
    finally:
        again.kill()


def test_shutdown_waits_for_a_running_job(store, tmp_path: Path) -> None:
    """SIGTERM while a job runs: the job finishes, then the daemon returns 0."""
    config = write_config(tmp_path / "config.toml", store.url, "[daemon]\nexport_formats = []\n")
    app = App.from_config(load_config(config))
    started, finished = threading.Event(), threading.Event()

    def slow_job() -> str:
        started.set()
        time.sleep(1.5)
        finished.set()
        return "slow job done"

    spec = JobSpec("slow", slow_job, IntervalTrigger(seconds=0.2))

    def stop_when_running() -> None:
        started.wait(10)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=stop_when_running, daemon=True).start()
    try:
        assert run_daemon(app, specs=[spec]) == 0
    finally:
        app.close()
    assert finished.is_set()


def test_failing_job_does_not_stop_the_daemon(store, tmp_path: Path, caplog) -> None:
    config = write_config(tmp_path / "config.toml", store.url, "[daemon]\nexport_formats = []\n")
    app = App.from_config(load_config(config))
    calls: list[int] = []

    def broken() -> str:
        calls.append(1)
        if len(calls) >= 3:
            threading.Thread(target=lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
        raise RuntimeError("boom")

    try:
        assert run_daemon(app, specs=[JobSpec("broken", broken, IntervalTrigger(seconds=0.1))]) == 0
    finally:
        app.close()
    assert len(calls) >= 3
    assert "job broken failed" in caplog.text and "boom" in caplog.text


def test_sighup_reloads_the_config_and_a_bad_one_keeps_the_old(store, tmp_path: Path) -> None:
    """Issue 17.7: SIGHUP reads the file again and reschedules; a broken file is refused
    with an ERROR line and the daemon goes on with what it had."""
    config = write_config(tmp_path / "config.toml", store.url, "[daemon]\nexport_formats = []\n")
    daemon = Daemon(config, tmp_path / "daemon.log", "--log-format", "json")
    try:
        text = daemon.wait_for("daemon started", timeout=90)
        assert "scheduled job export-suppressions" not in text
        write_config(
            config,
            store.url,
            '[daemon]\nexport_dir = "exports"\nexport_formats = ["csv"]\n'
            'export_at = "03:17"\nexpire_every_minutes = 7\n',
        )
        daemon.proc.send_signal(signal.SIGHUP)
        text = daemon.wait_for("config reloaded from", timeout=60)
        assert "scheduled job export-suppressions; next run" in text
        assert "T03:17:00" in text.split("config reloaded from")[0].rsplit("daemon started", 1)[1]

        config.write_text("[daemon\nbroken = ", encoding="utf-8")
        daemon.proc.send_signal(signal.SIGHUP)
        text = daemon.wait_for("config reload failed, keeping the running config", timeout=60)
        assert '"level": "ERROR"' in text and "is not valid TOML" in text
        write_config(config, store.url, '[daemon]\ntimezone = "Mars/Olympus"\n')
        daemon.proc.send_signal(signal.SIGHUP)
        daemon.wait_for("unknown time zone", timeout=60)
        assert text.count("config reloaded from") == 1
        assert daemon.proc.poll() is None  # still running, on the last good config

        daemon.proc.send_signal(signal.SIGTERM)
        assert daemon.proc.wait(timeout=15) == 0
        lines = daemon.log.read_text().splitlines()
        assert lines and all(json.loads(line)["msg"] for line in lines)  # --log-format json
    finally:
        daemon.kill()
