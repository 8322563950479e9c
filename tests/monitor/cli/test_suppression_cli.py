"""Every ``deliverwatch suppression`` / ``allowlist`` command, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.enums import ListScope, SuppressionReason
from monitor.store.models import Suppression


def rows(store) -> dict[str, tuple[str, str, str | None]]:
    with store.session() as s:
        return {r.value: (r.scope.value, r.reason.value, r.note) for r in s.query(Suppression)}


def test_add_check_remove_roundtrip(cli, config_file: Path, store) -> None:
    r = cli("--config", config_file, "suppression", "add", " Bob@Example.COM ", "--note", "asked")
    assert r.code == 0 and "added: bob@example.com" in r.out
    assert rows(store) == {"bob@example.com": ("address", "manual", "asked")}

    r = cli("--config", config_file, "suppression", "check", "BOB@example.com")
    assert r.code == 1 and "SUPPRESSED" in r.out and "manual" in r.out and "asked" in r.out

    r = cli(
        "--config", config_file, "suppression", "add", "bob@example.com", "--reason", "complaint"
    )
    assert r.code == 0 and "updated" in r.out
    assert rows(store)["bob@example.com"][1] == "complaint"

    r = cli("--config", config_file, "suppression", "remove", "bob@example.com")
    assert r.code == 0 and r.out == "removed: bob@example.com\n"
    r = cli("--config", config_file, "suppression", "check", "bob@example.com")
    assert r.code == 0 and "ok to send" in r.out
    r = cli("--config", config_file, "suppression", "remove", "bob@example.com")
    assert r.code == 1 and "not on the list" in r.err


def test_idna_domains_and_invalid_addresses(cli, config_file: Path, store) -> None:
    r = cli("--config", config_file, "suppression", "add", "Ünï@Bücher.Example")
    assert r.code == 0
    assert "ünï@xn--bcher-kva.example" in rows(store)
    assert (
        cli("--config", config_file, "suppression", "check", "ÜNÏ@xn--bcher-kva.example").code == 1
    )
    r = cli("--config", config_file, "suppression", "add", "not-an-address")
    assert r.code == 2 and "not an email address" in r.err


def test_case_sensitive_local_parts_when_configured(cli, store, tmp_path: Path) -> None:
    from tests.conftest import write_config

    f = write_config(
        tmp_path / "c.toml", store.url, "[suppression]\nlowercase_local_part = false\n"
    )
    cli("--config", f, "suppression", "add", "Bob@EXAMPLE.com")
    assert "Bob@example.com" in rows(store)
    assert cli("--config", f, "suppression", "check", "bob@example.com").code == 0


def test_domain_entries_and_allowlist_precedence(cli, config_file: Path) -> None:
    c = ("--config", config_file)
    assert cli(*c, "suppression", "add", "@spam.example").code == 0
    assert cli(*c, "suppression", "add", "--domain", "Other.Example").code == 0
    r = cli(*c, "suppression", "check", "anyone@SPAM.example")
    assert r.code == 1 and "domain spam.example" in r.out
    assert cli(*c, "suppression", "check", "x@other.example").code == 1
    assert cli(*c, "suppression", "check", "x@sub.spam.example").code == 0  # exact domain only

    # an allowlisted address wins over its domain's suppression ...
    assert cli(*c, "allowlist", "add", "ceo@spam.example").code == 0
    r = cli(*c, "suppression", "check", "ceo@spam.example")
    assert r.code == 0 and "allowlisted" in r.out and "despite" in r.out
    # ... and an allowlisted domain wins over an address suppression
    assert cli(*c, "suppression", "add", "bob@partner.example", "--reason", "complaint").code == 0
    assert cli(*c, "allowlist", "add", "--domain", "partner.example").code == 0
    assert cli(*c, "suppression", "check", "bob@partner.example").code == 0
    r = cli(*c, "allowlist", "list", "--format", "csv")
    listed = {(row["value"], row["scope"]) for row in csv.DictReader(io.StringIO(r.out))}
    assert listed == {("ceo@spam.example", "address"), ("partner.example", "domain")}
    r = cli(*c, "allowlist", "remove", "--domain", "partner.example")
    assert r.code == 0 and r.out == "removed: partner.example\n"
    assert cli(*c, "suppression", "check", "bob@partner.example").code == 1
    r = cli(*c, "allowlist", "remove", "nobody@x.example", "ceo@spam.example")
    assert r.code == 1 and r.out == "removed: ceo@spam.example\n"
    assert r.err == "not on the allowlist: nobody@x.example\n"


def test_expiry(cli, config_file: Path, store) -> None:
    c = ("--config", config_file)
    assert cli(*c, "suppression", "add", "t@example.com", "--expires", "30d").code == 0
    with store.session() as s:
        exp = s.query(Suppression).one().expires_at
    assert exp is not None and timedelta(days=29) < exp - datetime.now(UTC) <= timedelta(days=30)
    r = cli(*c, "suppression", "check", "t@example.com")
    assert r.code == 1 and "until" in r.out
    r = cli(*c, "suppression", "add", "p@example.com", "--expires", "2001-01-01")
    assert r.code == 2 and "in the past" in r.err
    r = cli(*c, "suppression", "add", "p@example.com", "--expires", "soon")
    assert r.code == 2 and "expected YYYY-MM-DD" in r.err


def test_expired_entries_do_not_suppress_and_are_swept(store) -> None:
    from monitor.suppression import verdict_for
    from monitor.suppression.jobs import expire_suppressions

    now = datetime(2026, 6, 1, tzinfo=UTC)
    with store.session() as s, s.begin():
        s.add(
            Suppression(
                scope=ListScope.ADDRESS,
                value="old@example.com",
                reason=SuppressionReason.SOFT_BOUNCE,
                created_at=now - timedelta(days=9),
                expires_at=now - timedelta(seconds=1),
            )
        )
        s.add(
            Suppression(
                scope=ListScope.ADDRESS,
                value="new@example.com",
                reason=SuppressionReason.SOFT_BOUNCE,
                created_at=now,
                expires_at=now + timedelta(days=1),
            )
        )
    with store.session() as s:
        assert not verdict_for(s, "old@example.com", now=now).suppressed
        assert verdict_for(s, "new@example.com", now=now).suppressed
    expired = expire_suppressions(factory=store.factory, now=lambda: now)
    assert expired == "1 expired suppressions removed" and expired.counts == {"removed": 1}
    assert set(rows(store)) == {"new@example.com"}


def test_list_shows_entries_and_summary(cli, config_file: Path) -> None:
    c = ("--config", config_file)
    cli(*c, "suppression", "add", "a@example.com", "--reason", "complaint")
    cli(*c, "suppression", "add", "b@example.com", "--reason", "unsubscribe")
    cli(*c, "suppression", "add", "@d.example")
    r = cli(*c, "suppression", "list")
    assert r.code == 0 and "a@example.com" in r.out and "d.example" in r.out
    whole = "whole list: 3 entries (complaint: 1, manual: 1, unsubscribe: 1)"
    assert "3 entries shown; " + whole in r.out
    r = cli(*c, "suppression", "list", "--reason", "complaint")
    assert "a@example.com" in r.out and "b@example.com" not in r.out
    # the footer counts what the filtered table shows (issue 11), then the whole list
    assert "1 matching entries shown; " + whole in r.out
    r = cli(*c, "suppression", "list", "--domains")
    assert "d.example" in r.out and "a@example.com" not in r.out
    assert "1 matching entries shown;" in r.out
    r = cli(*c, "suppression", "list", "--contains", "example.com", "--limit", "1")
    assert "1 of 2 matching entries shown (rows 1-1);" in r.out
    r = cli(*c, "suppression", "list", "--contains", "nowhere")
    assert "no matching entries shown (of 0);" in r.out


MALFORMED = """\
Email,Reason,expires_at,note
good@example.com,complaint,,from ESP
not-an-address,,,
bad@example.com,frobnicated,,
,,,
date@example.com,,next tuesday,
old@example.com,,2001-01-01,
"dup@example.com",unsubscribe,,
dup@example.com,hard-bounce,2099-01-01,
@blocked.example,manual,,whole domain
x@@y,,,
"""


def test_import_reports_rejects_with_line_numbers_and_is_idempotent(
    cli, config_file: Path, store, tmp_path: Path
) -> None:
    f = tmp_path / "list.csv"
    f.write_text(MALFORMED, encoding="utf-8")
    r = cli("--config", config_file, "suppression", "import", f)
    assert r.code == 0, r.err
    assert "added: 3  updated: 0  unchanged: 0  rejected: 5" in r.out
    assert "line 3: not an email address: 'not-an-address'" in r.err
    assert "line 4: unknown reason 'frobnicated'" in r.err
    assert "line 6: not a date/time: 'next tuesday'" in r.err
    assert "line 7: expires_at is in the past" in r.err
    assert "line 11:" in r.err
    got = rows(store)
    assert got["good@example.com"] == ("address", "complaint", "from ESP")
    assert got["dup@example.com"][1] == "hard-bounce"  # the later row of the file wins
    assert got["blocked.example"] == ("domain", "manual", "whole domain")

    r = cli("--config", config_file, "suppression", "import", f)
    assert "added: 0  updated: 0  unchanged: 3  rejected: 5" in r.out
    assert rows(store) == got


def test_import_never_downgrades_a_reason(cli, config_file: Path, store, tmp_path: Path) -> None:
    cli("--config", config_file, "suppression", "add", "c@example.com", "--reason", "complaint")
    f = tmp_path / "plain.csv"
    f.write_text("email\nc@example.com\nn@example.com\n")
    r = cli("--config", config_file, "suppression", "import", f)
    assert "added: 1  updated: 0  unchanged: 1" in r.out
    assert rows(store)["c@example.com"][1] == "complaint"
    assert rows(store)["n@example.com"][1] == "import"
    f.write_text("email,reason\nc@example.com,unsubscribe\n")
    assert "updated: 1" in cli("--config", config_file, "suppression", "import", f).out


def test_import_without_address_column(cli, config_file: Path, tmp_path: Path) -> None:
    f = tmp_path / "bad.csv"
    f.write_text("name,phone\nBob,123\n")
    r = cli("--config", config_file, "suppression", "import", f)
    assert r.code == 1 and "rejected: 1" in r.out and "no header row" in r.err
    assert "nothing imported" in r.err


def test_import_jsonl_from_stdin(cli, config_file: Path, store) -> None:
    data = "\n".join(
        [
            json.dumps({"address": "j@example.com", "reason": "unsubscribe", "note": "form"}),
            "{not json",
            json.dumps(["a list"]),
            json.dumps({"email": "k@example.com", "expires_at": "2099-12-31T00:00:00Z"}),
            json.dumps({"address": "m@example.com", "note": {"x": 1}}),
        ]
    )
    r = cli("--config", config_file, "suppression", "import", "-", "--format", "jsonl", stdin=data)
    assert "added: 2  updated: 0  unchanged: 0  rejected: 3" in r.out
    assert "line 2: invalid JSON" in r.err and "line 3: expected a JSON object" in r.err
    assert "line 5: 'note' must be a string" in r.err
    assert rows(store)["k@example.com"][1] == "import"


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_import_roundtrip(cli, config_file: Path, store, tmp_path: Path, fmt: str) -> None:
    c = ("--config", config_file)
    cli(
        *c, "suppression", "add", "a@example.com", "--reason", "complaint", "--note", 'q"uote,comma'
    )
    cli(*c, "suppression", "add", "b@example.com", "--expires", "2099-01-01")
    cli(*c, "suppression", "add", "@dom.example", "--reason", "hard-bounce")
    out = tmp_path / f"export.{fmt}"
    r = cli(*c, "suppression", "export", "--format", fmt, "--out", out)
    assert r.code == 0 and "exported 3 entries" in r.err
    text = out.read_text()
    # times in ISO 8601 UTC as the database formats them; absent ones empty
    assert "2099-01-01T00:00:00Z" in text and re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text)
    if fmt == "csv":
        assert re.search(
            r"^a@example\.com,address,complaint,[0-9T:Z-]{20},,\"q\"\"uote,comma\"$", text, re.M
        )
    before = rows(store)
    with store.session() as s, s.begin():
        s.query(Suppression).delete()
    r = cli(*c, "suppression", "import", out, "--format", fmt)
    assert "added: 3" in r.out and "rejected: 0" in r.out
    assert rows(store) == before


def test_export_shapes_for_esps(cli, config_file: Path) -> None:
    c = ("--config", config_file)
    cli(*c, "suppression", "add", "a@example.com", "--reason", "complaint")
    cli(*c, "suppression", "add", "b@example.com", "--reason", "hard-bounce")
    cli(*c, "suppression", "add", "@dom.example")
    sg = cli(*c, "suppression", "export", "--format", "sendgrid").out
    table = list(csv.DictReader(io.StringIO(sg)))
    assert [r["email"] for r in table] == ["a@example.com", "b@example.com"]
    assert table[0]["reason"] == "complaint" and table[0]["created"].isdigit()
    mc = cli(*c, "suppression", "export", "--format", "mailchimp").out
    assert mc.splitlines()[0] == "Email Address,Reason,Suppressed At"
    ses = cli(*c, "suppression", "export", "--format", "ses").out
    assert ses.splitlines() == ["a@example.com,COMPLAINT", "b@example.com,BOUNCE"]


@pytest.mark.parametrize(
    ("fmt", "text", "reason"),
    [
        ("sendgrid", "email,created,reason\na@example.com,1700000000,550 no such user\n", "import"),
        (
            "mailchimp",
            "Email Address,First Name,UNSUB_TIME\na@example.com,Al,2024-01-01\n",
            "import",
        ),
        ("ses", "a@example.com,COMPLAINT\n", "complaint"),
        ("ses", "EmailAddress,Reason\na@example.com,BOUNCE\n", "hard-bounce"),
    ],
)
def test_import_esp_shapes(
    cli, config_file: Path, store, tmp_path: Path, fmt, text, reason
) -> None:
    f = tmp_path / "esp.csv"
    f.write_text(text)
    r = cli("--config", config_file, "suppression", "import", f, "--format", fmt)
    assert "added: 1" in r.out and "rejected: 0" in r.out, r.out + r.err
    assert rows(store)["a@example.com"][1] == reason


def test_import_default_reason_option(cli, config_file: Path, store, tmp_path: Path) -> None:
    f = tmp_path / "unsubs.csv"
    f.write_text("Email Address\nu@example.com\n")
    cli(
        "--config",
        config_file,
        "suppression",
        "import",
        f,
        "--format",
        "mailchimp",
        "--reason",
        "unsubscribe",
    )
    assert rows(store)["u@example.com"][1] == "unsubscribe"


def test_export_filters(cli, config_file: Path, store) -> None:
    c = ("--config", config_file)
    cli(*c, "suppression", "add", "a@example.com", "--reason", "complaint")
    cli(*c, "suppression", "add", "b@example.com", "--reason", "unsubscribe")
    out = cli(*c, "suppression", "export", "--format", "jsonl", "--reason", "complaint").out
    assert [json.loads(x)["address"] for x in out.splitlines()] == ["a@example.com"]
    out = cli(*c, "suppression", "export", "--since", "2099-01-01").out
    assert out.splitlines() == ["address,scope,reason,created_at,expires_at,note"]


def test_commands_refuse_an_unmigrated_database(cli, tmp_path: Path) -> None:
    from tests.conftest import write_config

    f = write_config(tmp_path / "c.toml", f"sqlite:///{tmp_path / 'empty.db'}")
    r = cli("--config", f, "suppression", "list")
    assert r.code == 2 and "run `deliverwatch db upgrade`" in r.err
    assert cli("--config", f, "db", "current").code == 1
    assert cli("--config", f, "db", "upgrade").code == 0
    assert cli("--config", f, "db", "current").code == 0
    assert cli("--config", f, "suppression", "list").code == 0


def test_nightly_export_job_writes_and_prunes(store, tmp_path: Path) -> None:
    from monitor.store.db import session_scope
    from monitor.store.suppressions import add_suppression
    from monitor.suppression.jobs import export_suppression_files

    day = datetime(2026, 3, 1, 2, 30, tzinfo=UTC)
    with session_scope(store.factory) as s:
        add_suppression(
            s,
            scope=ListScope.ADDRESS,
            value="a@example.com",
            reason=SuppressionReason.COMPLAINT,
            now=day,
        )
    for i in range(4):
        export_suppression_files(
            factory=store.factory,
            now=lambda i=i: day + timedelta(days=i),
            export_dir=tmp_path / "exp",
            formats=("csv", "ses"),
            keep=2,
        )
    names = sorted(p.name for p in (tmp_path / "exp").iterdir())
    assert names == [
        "suppressions-20260303.csv",
        "suppressions-20260303.ses.csv",
        "suppressions-20260304.csv",
        "suppressions-20260304.ses.csv",
    ]
    text = (tmp_path / "exp" / "suppressions-20260304.csv").read_text()
    assert "a@example.com,address,complaint,2026-03-01T02:30:00Z,," in text
