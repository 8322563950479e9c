"""Issue 14.11: long commands draw progress on a terminal (a real pseudo-terminal here) and
nothing extra when piped."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.monitor.cli.test_list_formats_cli import _on_a_terminal

COMMANDS = {
    "suppression export": (["suppression", "export", "--out", "{tmp}/s.csv"],
                           "exporting suppressions", "exported 1 entries to {tmp}/s.csv\n"),
    "events export": (["events", "export", "--out", "{tmp}/e.csv"],
                      "exporting events", "exported 0 events to {tmp}/e.csv\n"),
    "suppression import": (["suppression", "import", "{tmp}/in.csv"], "importing", ""),
    "report daily": (["report", "daily", "--out", "{tmp}/r.html"],
                     "reading the day", "wrote {tmp}/r.html\n"),
    "demo": (["demo", "--days", "7", "--sends-per-day", "100", "--out", "{tmp}/demo"],
             "generating events", ""),
}  # fmt: skip


def _args(config: Path, tmp: Path, name: str) -> tuple[list[str], str, str]:
    args, drawn, err = COMMANDS[name]
    (tmp / "in.csv").write_text("email\nbob@example.com\n")
    return (
        ["--config", str(config), *(a.format(tmp=tmp) for a in args)],
        drawn,
        err.format(tmp=tmp),
    )


@pytest.fixture
def seeded(cli, tmp_path: Path) -> Path:
    """SQLite only: drawing progress does not depend on the backend."""
    config = write_config(tmp_path / "config.toml", f"sqlite:///{tmp_path / 'dw.db'}")
    assert cli("--config", config, "db", "upgrade").code == 0
    assert cli("--config", config, "suppression", "add", "a@example.com").code == 0
    return config


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_progress_on_a_terminal(seeded: Path, tmp_path: Path, name: str) -> None:
    args, drawn, _err = _args(seeded, tmp_path, name)
    code, out = _on_a_terminal(*args)
    assert code == 0, out
    assert drawn.encode() in out and b"0:00:0" in out, out  # what, and the elapsed time


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_nothing_extra_when_piped(seeded: Path, tmp_path: Path, name: str) -> None:
    args, drawn, err = _args(seeded, tmp_path, name)
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", *args], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    assert drawn not in proc.stderr and "\x1b" not in proc.stderr + proc.stdout
    if err:
        assert proc.stderr == err
