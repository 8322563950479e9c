"""Issue 14.6: no Python traceback reaches a user. Unknown revision, unreachable database,
locked SQLite file, read-only file system: one line saying what and where, exit status 2."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import write_config
from tests.servers.smtp import free_port


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("error: "), err
    return lines[0]


@pytest.fixture
def sqlite_config(tmp_path: Path, cli) -> Path:
    config = write_config(tmp_path / "config.toml", f"sqlite:///{tmp_path / 'dw.db'}")
    assert cli("--config", config, "db", "upgrade").code == 0
    return config


def test_unknown_revision(cli, sqlite_config: Path, tmp_path: Path) -> None:
    r = cli("--config", sqlite_config, "db", "upgrade", "--revision", "9999")
    line = _one_line(r.err)
    assert r.code == 2 and "9999" in line and str(tmp_path / "dw.db") in line


def test_unknown_revision_in_a_real_process(sqlite_config: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(sqlite_config), "db", "upgrade",
         "--revision", "9999"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2
    _one_line(proc.stderr)


def test_unreachable_database(cli, tmp_path: Path) -> None:
    port = free_port()
    config = write_config(
        tmp_path / "config.toml", f"postgresql+psycopg://dw@127.0.0.1:{port}/nowhere"
    )
    for args in (("db", "upgrade"), ("suppression", "list"), ("events", "list")):
        r = cli("--config", config, *args)
        line = _one_line(r.err)
        assert r.code == 2 and f"127.0.0.1:{port}" in line, line


def test_locked_sqlite_file(cli, tmp_path: Path) -> None:
    db = tmp_path / "dw.db"
    config = write_config(tmp_path / "config.toml", f"sqlite:///{db}")
    assert cli("--config", config, "db", "upgrade").code == 0
    with config.open("a", encoding="utf-8") as fh:
        fh.write("busy_timeout_seconds = 0.2\n")  # [database] is the file's only table
    holder = sqlite3.connect(db, isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        r = cli("--config", config, "suppression", "add", "bob@example.com")
    finally:
        holder.close()
    line = _one_line(r.err)
    assert r.code == 2 and "locked" in line and str(db) in line


@contextlib.contextmanager
def _read_only_dir(path: Path) -> Iterator[Path]:
    """A real read-only file system: a tmpfs remounted read-only (needs root)."""
    path.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(path)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (not root)")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


def test_read_only_file_system(cli, sqlite_config: Path, tmp_path: Path) -> None:
    with _read_only_dir(tmp_path / "ro") as ro:
        (ro / "reports").mkdir()
        db = ro / "dw.db"
        shutil.copy(tmp_path / "dw.db", db)
        subprocess.run(["mount", "-o", "remount,ro", str(ro)], check=True)
        out = ro / "list.csv"
        r = cli("--config", write_config(tmp_path / "c2.toml", f"sqlite:///{tmp_path / 'x.db'}"),
                "suppression", "export", "--out", out)  # fmt: skip
        line = _one_line(r.err)
        assert r.code == 2 and "Read-only file system" in line and str(ro) in line, line

        config = write_config(
            tmp_path / "c3.toml", f"sqlite:///{db}", f'[report]\noutput_dir = "{ro / "reports"}"\n'
        )
        for args in (("suppression", "add", "bob@example.com"), ("report", "daily")):
            r = cli("--config", config, *args)
            line = _one_line(r.err)
            assert r.code == 2 and str(ro) in line, line
