"""Hostile text, files and values at the command line (issue 11), each command run as
``python -m monitor`` in a child limited to 1 GiB, on SQLite and PostgreSQL where a
database is involved: a clear outcome, no traceback, nothing lost.

* terminal controls from mail reach no terminal raw (``parse --format table``, ``events
  list``, the suppression and allowlist listings); JSON Lines and CSV keep the exact data;
* ``suppression import`` of broken rows imports the rest and names each broken line; a
  UTF-16 file is refused before anything is imported;
* ``parse DIR`` with a FIFO in it finishes;
* extreme option values are usage errors (exit 2);
* the daemon on an unreachable PostgreSQL says so in one line;
* secrets: a webhook URL is masked, an unset mailbox password stops only what logs in.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from monitor.cli.logsetup import TextFormatter
from monitor.cli.term import cell
from monitor.enums import ListScope, SuppressionReason
from monitor.store.models import Event, Suppression
from reports.visible import terminal_text, visible_text
from tests.builders.hostile import CONTROLS, control_dsn
from tests.conftest import write_config
from tests.hostile.limited import deliverwatch

CTL = "".join(CONTROLS)
#: Characters that must never reach a terminal from data: C0 (tab and newline included,
#: where they are data), DEL, C1, bidi overrides, isolates and marks, line separators.
RAW = [*(chr(c) for c in range(0x20)), "\x7f", *(chr(c) for c in range(0x80, 0xA0))]
RAW += ["\u061c", "\u200e", "\u200f", *map(chr, range(0x202A, 0x202F))]
RAW += [*map(chr, range(0x2066, 0x206A)), "\u2028", "\u2029"]
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def _no_raw_controls(text: str) -> None:
    body = text.replace("\n", "")  # the lines the command itself ends
    found = sorted({f"U+{ord(c):04X}" for c in body if c in RAW})
    assert not found, f"raw control characters reached the terminal: {found}"


# --------------------------------------------------------------------------- escaping


def test_every_control_is_marked_and_nothing_else_changes() -> None:
    for char in RAW:
        assert terminal_text(f"a{char}b") == f"a[U+{ord(char):04X}]b"
    plain = "Ünïcödé 名前 <tag> [bold]x[/bold] 100 % \\ ok"
    assert terminal_text(plain) == plain
    assert visible_text("a\tb\nc\x1bd\x9be") == "a\tb\nc[U+001B]d[U+009B]e"  # HTML keeps space
    assert terminal_text(None) == ""
    # a byte that was not UTF-8 (surrogateescape) cannot be printed: it is marked too
    assert terminal_text("a\udcffb") == visible_text("a\udcffb") == "a[U+DCFF]b"


def test_rich_cells_are_not_markup_and_are_cut_before_marking() -> None:
    assert (
        cell("[link=https://evil.example]x[/link]").plain == "[link=https://evil.example]x[/link]"
    )
    assert cell("\x1b" * 10, 3).plain == "[U+001B]" * 3


def test_the_text_log_marks_controls_but_keeps_tracebacks() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "subject %s", (CTL,), None)
    line = TextFormatter("%(message)s").format(record)
    _no_raw_controls(line)
    assert "[U+001B]]0;pwned[U+0007]" in line
    assert record.getMessage() == f"subject {CTL}"  # other handlers see the message as it was


def test_parse_table_marks_controls_and_jsonl_keeps_them(tmp_path: Path) -> None:
    mail = tmp_path / "bounce\x1b]0;file-name\x07.eml"  # a hostile file name, too
    mail.write_bytes(control_dsn())
    table = deliverwatch("parse", "--format", "table", tmp_path)
    assert table.code == 0 and table.clean, table.err
    _no_raw_controls(table.out)
    assert "[U+001B]" in table.out and "user@isp.example" in table.out
    lines = deliverwatch("parse", mail)
    record = json.loads(lines.out)
    assert record["subject"] == f"Undelivered{CTL}"  # exact data in the machine format
    assert CTL in record["recipients"][0]["diagnostic"]


def _seed_hostile(store) -> None:
    with store.factory() as s, s.begin():
        s.execute(
            insert(Event),
            [
                {
                    "kind": "bounced", "address": "u\u202e@isp.example", "campaign": CTL,
                    "recipient_domain": "isp.example", "trust": "verified", "source": "test",
                    "occurred_at": T0, "ingested_at": T0, "dedupe_key": "k1", "hard": True,
                    "diagnostic": f"550 unknown{CTL}",
                }
            ],
        )  # fmt: skip
        s.add(
            Suppression(scope=ListScope.ADDRESS, value="evil\u202egnp@isp.example", note=CTL,
                        reason=SuppressionReason.COMPLAINT, created_at=T0, updated_at=T0)
        )  # fmt: skip


def test_events_and_suppression_listings_mark_controls(store, config_file: Path) -> None:
    _seed_hostile(store)
    for args in (
        ("events", "list"),
        ("suppression", "list"),
        ("suppression", "check", "evil\u202egnp@isp.example"),
    ):
        r = deliverwatch("--config", config_file, *args)
        assert r.code in (0, 1) and r.clean, r.err
        _no_raw_controls(r.out + r.err)
        assert "[U+202E]" in r.out
    r = deliverwatch("--config", config_file, "events", "export", "--format", "jsonl")
    assert json.loads(r.out)["diagnostic"] == f"550 unknown{CTL}"


# --------------------------------------------------------------------------- imports

BROKEN_CSV = b"".join(
    [
        b"email,reason,expires_at,note\n",
        b"first@x.example,,,ok\n",
        b'long-field@x.example,,,"' + b"n" * 200_000 + b'"\n',  # over the csv module's limit
        b"after-field@x.example,,,ok\n",
        b"caf\xe9@x.example,,,cp1252 address\n",
        b"dash@x.example,,,cp1252 \x96 note\n",
        b"nul@x.example,,,a NUL\x00byte\n",
        b"long-line@x.example,,," + b"z" * (2 << 20) + b"\n",  # longer than MAX_LINE
        b"last@x.example,,,ok\n",
    ]
)
BROKEN_JSONL = b"".join(
    [
        b'{"address": "j1@x.example"}\n',
        b'{"address": "nul@x.example", "note": "a\\u0000b"}\n',
        b'{"address": "caf\xe9@x.example"}\n',
        b'{"address": "j2@x.example"}\n',
    ]
)


def _values(store) -> set[str]:
    with store.session() as s:
        return set(s.scalars(select(Suppression.value)))


def test_import_rejects_each_broken_row_and_imports_the_rest(
    store, config_file: Path, tmp_path: Path
) -> None:
    f = tmp_path / "broken.csv"
    f.write_bytes(BROKEN_CSV)
    r = deliverwatch("--config", config_file, "suppression", "import", f)
    assert r.code == 0 and r.clean, r.err
    assert "added: 3" in r.out and "rejected: 5" in r.out
    assert _values(store) == {"first@x.example", "after-field@x.example", "last@x.example"}
    for line, why in [
        (3, "field larger than field limit"),
        (5, "byte 0xE9 is not UTF-8"),
        (6, "byte 0x96 is not UTF-8"),
        (7, "contains a NUL byte"),
        (8, "line longer than 1,048,576 characters"),
    ]:
        assert f"line {line}: " in r.err and why in r.err
    j = tmp_path / "broken.jsonl"
    j.write_bytes(BROKEN_JSONL)
    r = deliverwatch("--config", config_file, "suppression", "import", "--format", "jsonl", j)
    assert r.code == 0 and r.clean and "added: 2" in r.out and "rejected: 2" in r.out, r.err
    assert "line 2: contains a NUL byte" in r.err and "line 3: byte 0xE9" in r.err


def _sent(store) -> set[str]:
    from monitor.store.models import SentMessage

    with store.session() as s:
        return set(s.scalars(select(SentMessage.recipient)))


def test_sends_import_rejects_each_broken_row_and_imports_the_rest(
    store, config_file: Path, tmp_path: Path
) -> None:
    """The send-log half of issue 11, point 6: the same rows, the same outcome."""
    f = tmp_path / "broken-sends.csv"
    f.write_bytes(BROKEN_CSV.replace(b"email,", b"recipient,", 1))
    r = deliverwatch("--config", config_file, "sends", "import", f)
    assert r.code == 0 and r.clean, r.err
    assert r.out.startswith("added 3, already known 0, rejected 5"), r.out
    assert _sent(store) == {"first@x.example", "after-field@x.example", "last@x.example"}
    for line, why in [
        (3, "field larger than field limit"),
        (5, "byte 0xE9 is not UTF-8"),
        (6, "byte 0x96 is not UTF-8"),
        (7, "contains a NUL byte"),
        (8, "line longer than 1,048,576 characters"),
    ]:
        assert f"line {line}: " in r.out and why in r.out, (line, r.out)
    j = tmp_path / "broken-sends.jsonl"
    j.write_bytes(BROKEN_JSONL.replace(b'"address"', b'"recipient"'))
    r = deliverwatch("--config", config_file, "sends", "import", j)
    assert r.code == 0 and r.clean and r.out.startswith("added 2,"), r.out + r.err
    assert "line 2: contains a NUL byte" in r.out and "line 3: byte 0xE9" in r.out
    u = tmp_path / "u16.csv"
    u.write_bytes("recipient\nu16@x.example\n".encode("utf-16"))
    r = deliverwatch("--config", config_file, "sends", "import", u)
    assert r.code == 2 and "looks like UTF-16" in r.err and "u16@x.example" not in _sent(store)
    r = deliverwatch("--config", config_file, "sends", "import", "--encoding", "utf-16", u)
    assert r.code == 0 and "u16@x.example" in _sent(store)


def test_an_undeclared_utf16_file_is_refused_before_any_row(
    store, config_file: Path, tmp_path: Path
) -> None:
    for name, data in (
        ("bom.csv", "email\nu16@x.example\n".encode("utf-16")),
        ("nobom.csv", "email\nu16@x.example\n".encode("utf-16-le")),
    ):
        f = tmp_path / name
        f.write_bytes(data)
        r = deliverwatch("--config", config_file, "suppression", "import", f)
        assert r.code == 2 and r.clean and len(r.err.strip().splitlines()) == 1, r.err
        assert "looks like UTF-16" in r.err and _values(store) == set()
    r = deliverwatch(
        "--config",
        config_file,
        "suppression",
        "import",
        "--encoding",
        "utf-16",
        tmp_path / "bom.csv",
    )
    assert r.code == 0 and _values(store) == {"u16@x.example"}


# --------------------------------------------------------------------------- FIFO


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_parse_dir_skips_a_fifo_instead_of_blocking(tmp_path: Path, jobs: str) -> None:
    (tmp_path / "sub").mkdir()
    os.mkfifo(tmp_path / "a-fifo.eml")
    os.mkfifo(tmp_path / "sub" / "mbox")  # an mbox by name is opened another way
    (tmp_path / "b.eml").write_bytes(control_dsn())
    r = deliverwatch("parse", "--jobs", jobs, tmp_path, timeout=60)
    assert r.code == 0 and r.clean, r.err
    records = {Path(rec["file"]).name: rec for rec in map(json.loads, r.out.splitlines())}
    assert records["a-fifo.eml"]["error"] == "skipped: a FIFO, not a regular file"
    assert records["mbox"]["error"] == "skipped: a FIFO, not a regular file"
    assert records["b.eml"]["kind"] == "bounce"


# --------------------------------------------------------------------------- extreme values


@pytest.fixture(scope="module")
def sqlite_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite database for the option checks (they never reach it)."""
    where = tmp_path_factory.mktemp("extreme")
    config = write_config(where / "c.toml", f"sqlite:///{where / 'dw.db'}")
    assert deliverwatch("--config", config, "db", "upgrade").code == 0
    return config


@pytest.mark.parametrize(
    "args",
    [
        ("events", "list", "--since", "99999999d"),
        ("events", "list", "--until", "9999-12-31"),
        ("events", "export", "--since", "9" * 30 + "d"),
        ("events", "list", "--limit", "9" * 20),
        ("events", "list", "--offset", "9" * 20),
        ("suppression", "add", "a@x.example", "--expires", "99999999d"),
        ("suppression", "add", "a@x.example", "--expires", "9999-12-31"),
        ("suppression", "list", "--limit", "9" * 20),
        ("suppression", "export", "--since", "0001-01-01"),
        ("report", "json", "--date", "9999-12-31"),
        ("report", "daily", "--date", "0001-01-01"),
        ("parse", "--jobs", "9" * 20, "x.eml"),
        ("check", "auth", "--no-store", "--domain", "x.example", "--concurrency", "9" * 20),
        ("check", "auth", "--no-store", "--domain", "x.example", "--timeout", "nan"),
    ],
    ids=lambda a: " ".join(a)[:40],
)
def test_extreme_values_are_usage_errors(args: tuple[str, ...], sqlite_config: Path) -> None:
    r = deliverwatch("--config", sqlite_config, *args)
    assert r.code == 2 and r.clean, r.err
    assert r.err.strip().splitlines()[-1].startswith("Error: Invalid value for")


def test_extreme_limits_on_both_backends(store, config_file: Path) -> None:
    r = deliverwatch("--config", config_file, "events", "list", "--limit", str(2**31 - 1))
    assert r.code == 0 and r.clean, r.err
    r = deliverwatch("--config", config_file, "events", "list", "--limit", str(2**31))
    assert r.code == 2 and "is not in the range" in r.err


# --------------------------------------------------------------------------- database, secrets


def test_daemon_on_an_unreachable_postgresql_is_one_line(tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.toml", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    r = deliverwatch("--config", config, "daemon", timeout=60)
    assert r.code == 2 and r.clean, r.err
    assert r.err.strip().splitlines() == [r.err.strip()]
    assert r.err.startswith("error: ") and "127.0.0.1" in r.err and "refused" in r.err


MAILBOX = """
[mailboxes.bounces]
host = "127.0.0.1"
port = 1
tls = "none"
username = "u"
password = "env:DW_HOSTILE_UNSET_PASSWORD"

[alerts]
webhook_url = "https://hooks.example.com/services/T000/B000/s3cr3tpath?token=t0k"
"""


def test_secrets_masked_and_read_only_where_used(
    store, config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DW_HOSTILE_UNSET_PASSWORD", raising=False)  # the children inherit it
    config = write_config(config_file, store.url, MAILBOX)
    r = deliverwatch("--config", config, "config", "check")
    assert r.code == 0 and r.clean, r.err
    assert "s3cr3tpath" not in r.out and "t0k" not in r.out
    assert 'webhook_url = "https://hooks.example.com/***"' in r.out
    missing = (
        "mailboxes.bounces.password: environment variable DW_HOSTILE_UNSET_PASSWORD is not set"
    )
    assert r.err.strip() == f"warning: {missing}"
    # commands that never log in work; those that do fail in one line naming the key
    assert deliverwatch("--config", config, "events", "list").code == 0
    assert deliverwatch("--config", config, "suppression", "list").code == 0
    for args in (("poll", "--once"), ("daemon",)):
        r = deliverwatch("--config", config, *args, timeout=60)
        assert r.code == 2 and r.clean, r.err
        assert r.err.strip() == f"error: {missing}"
