"""``deliverwatch parse``: files, directories, mbox, Maildir, jsonl/table, --jobs, --records."""

from __future__ import annotations

import json
import mailbox
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parents[1] / "data" / "bounces"
SAMPLE = DATA / "dsn-postfix-three-recipients.eml"
VACATION = DATA / "autoreply-fr.eml"
KEYS = {"file", "kind", "recipients", "original", "feedback", "dmarc", "tls", "error"}
RECIPIENT_KEYS = {
    "address",
    "action",
    "status",
    "reply_code",
    "reason",
    "hard",
    "diagnostic",
    "remote_mta",
}
ORIGINAL_KEYS = {
    "message_id",
    "from",
    "to",
    "subject",
    "date",
    "list_id",
    "feedback_id",
    "campaign",
    "verp_token",
}


def _lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_jsonl_has_the_documented_keys(cli: Any) -> None:
    result = cli("parse", "--format", "jsonl", SAMPLE)
    assert result.code == 0
    (record,) = _lines(result.out)
    assert set(record) >= KEYS
    assert record["file"] == str(SAMPLE)
    assert record["kind"] == "bounce"
    assert all(set(r) >= RECIPIENT_KEYS for r in record["recipients"])
    assert set(record["original"]) >= ORIGINAL_KEYS
    assert record["original"]["date"] == "2024-05-14T09:12:00Z"
    assert record["feedback"] is None and record["error"] is None


def test_directories_are_read_recursively(cli: Any, tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    shutil.copy(SAMPLE, tmp_path / "a" / "one.eml")
    shutil.copy(VACATION, tmp_path / "a" / "b" / "two.eml")
    (tmp_path / ".hidden").write_bytes(b"ignored")
    result = cli("parse", tmp_path)
    records = _lines(result.out)
    assert [Path(r["file"]).name for r in records] == ["one.eml", "two.eml"]
    assert [r["kind"] for r in records] == ["bounce", "auto-reply"]


def test_mbox_messages_are_named_path_colon_index(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "bounces.mbox"
    box = mailbox.mbox(path)
    for sample in (SAMPLE, VACATION):
        box.add(mailbox.mboxMessage(sample.read_bytes()))
    box.flush()
    box.close()
    records = _lines(cli("parse", path).out)
    assert [r["file"] for r in records] == [f"{path}:0", f"{path}:1"]
    assert [r["kind"] for r in records] == ["bounce", "auto-reply"]


def test_maildir_new_and_cur(cli: Any, tmp_path: Path) -> None:
    box = mailbox.Maildir(tmp_path / "Maildir")
    box.add(mailbox.MaildirMessage(SAMPLE.read_bytes()))
    records = _lines(cli("parse", tmp_path / "Maildir").out)
    assert len(records) == 1 and records[0]["kind"] == "bounce"


def test_single_message_with_mbox_envelope_line_keeps_its_name(cli: Any, tmp_path: Path) -> None:
    path = tmp_path / "one.eml"
    path.write_bytes(b"From MAILER-DAEMON  Fri Feb 13 02:47:49 2015\n" + SAMPLE.read_bytes())
    (record,) = _lines(cli("parse", path).out)
    assert record["file"] == str(path) and record["kind"] == "bounce"


def test_missing_path_is_reported_and_exit_status_is_one(cli: Any, tmp_path: Path) -> None:
    result = cli("parse", tmp_path / "nope.eml", SAMPLE)
    records = _lines(result.out)
    assert result.code == 1
    assert records[0]["kind"] == "unknown" and "no such file" in records[0]["error"]
    assert records[1]["kind"] == "bounce"


def test_table_format(cli: Any) -> None:
    result = cli("parse", "--format", "table", SAMPLE, VACATION)
    assert result.code == 0
    assert "alice@example.org" in result.out and "userunknown" in result.out
    assert "vacation" in result.out


def test_jobs_gives_the_same_output_in_the_same_order(tmp_path: Path) -> None:
    for index, sample in enumerate(sorted(DATA.glob("*.eml"))):
        shutil.copy(sample, tmp_path / f"{index:03d}.eml")
    command = [sys.executable, "-m", "monitor", "parse", "--format", "jsonl"]
    one = subprocess.run([*command, str(tmp_path)], capture_output=True, check=True)
    two = subprocess.run([*command, "--jobs", "2", str(tmp_path)], capture_output=True, check=True)
    assert one.stdout == two.stdout
    assert len(one.stdout.splitlines()) == len(list(DATA.glob("*.eml")))


def test_records_flag_is_accepted(cli: Any) -> None:
    assert cli("parse", "--records", SAMPLE).code == 0


@pytest.mark.parametrize("bad", [["--jobs", "0"], ["--format", "xml"], []])
def test_bad_arguments(cli: Any, bad: list[str]) -> None:
    assert cli("parse", *bad).code != 0
