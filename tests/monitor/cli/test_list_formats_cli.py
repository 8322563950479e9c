"""Issue 14.8-10: the list commands are scriptable (``--format table|csv|jsonl``, tables
never cut when piped, counts that match the rows), ``suppression check`` takes a whole list,
imports that take nothing fail, and binary output is never written to a terminal."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from monitor.store.models import Event

LONG = "a.very.long.local.part.that.goes.on." + "x" * 24 + "@" + "sub." * 20 + "example.com"


def test_suppression_list_formats(cli, config_file: Path) -> None:
    assert cli("--config", config_file, "suppression", "add", LONG, "--note", "n,1").code == 0
    assert cli("--config", config_file, "suppression", "add", "b@example.com").code == 0
    r = cli("--config", config_file, "suppression", "list")  # piped: not a terminal
    assert r.code == 0 and LONG in r.out and "…" not in r.out
    assert "2 entries shown" in r.out

    r = cli("--config", config_file, "suppression", "list", "--format", "csv", "--limit", "1")
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert r.code == 0 and len(rows) == 1 and rows[0]["value"] == "b@example.com"
    assert "1 of 2 entries shown" in r.err  # counts on stderr: stdout stays data

    r = cli("--config", config_file, "suppression", "list", "--format", "jsonl")
    items = [json.loads(line) for line in r.out.splitlines()]
    assert [i["value"] for i in items] == ["b@example.com", LONG]
    assert items[1]["note"] == "n,1" and items[1]["reason"] == "manual"
    assert "2 entries shown" in r.err


def test_allowlist_list_formats(cli, config_file: Path) -> None:
    assert cli("--config", config_file, "allowlist", "add", LONG, "@example.org").code == 0
    r = cli("--config", config_file, "allowlist", "list")
    assert r.code == 0 and LONG in r.out and "…" not in r.out and "2 entries" in r.out
    r = cli("--config", config_file, "allowlist", "list", "--format", "csv")
    assert {row["value"] for row in csv.DictReader(io.StringIO(r.out))} == {LONG, "example.org"}
    r = cli("--config", config_file, "allowlist", "list", "--format", "jsonl")
    assert len(r.out.splitlines()) == 2 and "2 entries" in r.err


def test_events_list_formats(cli, store, config_file: Path) -> None:
    at = datetime(2026, 3, 10, tzinfo=UTC)
    with store.session() as s:
        s.execute(
            insert(Event),
            [
                {"kind": "bounced", "address": LONG if i == 0 else f"u{i}@example.com",
                 "recipient_domain": "example.com", "trust": "verified", "source": "test",
                 "occurred_at": at, "ingested_at": at, "dedupe_key": f"k{i}",
                 "diagnostic": "550 5.1.1 " + "no such user " * 30}
                for i in range(3)
            ],
        )  # fmt: skip
        s.commit()
    r = cli("--config", config_file, "events", "list")
    assert r.code == 0 and LONG in r.out and "…" not in r.out and "3 events shown" in r.err
    r = cli("--config", config_file, "events", "list", "--format", "csv", "--limit", "2")
    assert len(list(csv.DictReader(io.StringIO(r.out)))) == 2 and "2 events shown" in r.err
    r = cli("--config", config_file, "events", "list", "--format", "jsonl")
    items = [json.loads(line) for line in r.out.splitlines()]
    assert len(items) == 3 and LONG in {i["address"] for i in items}


def test_suppression_check_many(cli, config_file: Path, tmp_path: Path) -> None:
    assert cli("--config", config_file, "suppression", "add", "bad@example.com").code == 0
    assert cli("--config", config_file, "suppression", "add", "@blocked.example").code == 0
    r = cli("--config", config_file, "suppression", "check", "ok@example.com", "Bad@Example.com")
    assert r.code == 1 and r.out.splitlines() == [
        "ok@example.com: ok to send - not suppressed",
        r.out.splitlines()[1],
    ]
    assert r.out.splitlines()[1].startswith("bad@example.com: SUPPRESSED")
    listing = tmp_path / "list.txt"
    listing.write_text("a@example.com\n\nx@blocked.example\nnot an address\nb@example.com\n")
    r = cli("--config", config_file, "suppression", "check", "--file", listing)
    lines = r.out.splitlines()
    assert r.code == 1 and len(lines) == 4
    assert lines[1].startswith("x@blocked.example: SUPPRESSED")
    assert lines[2].startswith("not an address: INVALID")
    r = cli("--config", config_file, "suppression", "check", "-", stdin="c@example.com\n")
    assert r.code == 0 and r.out == "c@example.com: ok to send - not suppressed\n"
    # the way to clean a list: only the addresses that may be mailed, bare
    r = cli("--config", config_file, "suppression", "check", "--file", listing, "--only", "ok")
    assert r.out.splitlines() == ["a@example.com", "b@example.com"]


def test_import_refusals_and_inferred_format(cli, config_file: Path, tmp_path: Path) -> None:
    no_column = tmp_path / "list.csv"
    no_column.write_text("name,reason\nBob,complaint\n")
    r = cli("--config", config_file, "suppression", "import", no_column)
    assert r.code != 0 and "address" in r.err
    all_bad = tmp_path / "bad.csv"
    all_bad.write_text("email\nnot-an-address\nalso bad\n")
    r = cli("--config", config_file, "suppression", "import", all_bad)
    assert r.code != 0 and "nothing imported" in r.err
    jsonl = tmp_path / "list.jsonl"
    jsonl.write_text('{"email": "j@example.com", "reason": "complaint"}\n')
    r = cli("--config", config_file, "suppression", "import", jsonl)  # no --format
    assert r.code == 0 and "added: 1" in r.out
    sends = tmp_path / "sends.csv"
    sends.write_text("message_id,campaign\n<a@b>,x\n")
    r = cli("--config", config_file, "sends", "import", sends)
    assert r.code != 0 and "nothing imported" in r.err


def _on_a_terminal(*args: str) -> tuple[int, bytes]:
    """Run deliverwatch with stdout and stderr on a pseudo-terminal."""
    main, child = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", *args], stdout=child, stderr=child,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    os.close(child)
    out = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(main)
    return proc.wait(timeout=60), out


@pytest.mark.parametrize("group", ["suppression", "events"])
def test_parquet_is_not_written_to_a_terminal(config_file: Path, group: str) -> None:
    code, out = _on_a_terminal("--config", str(config_file), group, "export", "--format", "parquet")
    assert code == 2 and b"PAR1" not in out and b"terminal" in out, out
