"""``deliverwatch web`` as a process: serves until SIGTERM, then exits 0."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import Store, write_config
from tests.servers.net import closed_port

BIN = Path(sys.executable).parent / "deliverwatch"


def test_web_command_serves_and_stops_cleanly(store: Store, tmp_path: Path) -> None:
    port = closed_port()
    config = write_config(
        tmp_path / "config.toml",
        store.url,
        f'[web]\nlisten = "127.0.0.1:{port}"\ntoken_key = "k-0123456789abcdef"\n',
    )
    proc = subprocess.Popen([str(BIN), "--config", str(config), "web"], stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, "web did not start"
                time.sleep(0.1)
        assert health.json() == {"status": "ok", "database": "ok"}
        bad = httpx.get(f"http://127.0.0.1:{port}/u/forged", timeout=5)
        assert bad.status_code == 400
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert b"forged" not in err  # tokens in paths are not logged


def test_web_command_refuses_a_bad_listen_address(store: Store, tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path / "config.toml", store.url)
    result = cli("--config", config, "web", "--listen", "nowhere")
    assert result.code != 0 and "HOST:PORT" in result.err
