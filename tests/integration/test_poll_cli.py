"""``deliverwatch poll``, ``reprocess --failed`` and ``sends import`` through the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.store.models import Event, Suppression
from tests.conftest import write_config
from tests.integration.rig import FAILED, PROCESSED, Rig
from tests.integration.samples import dsn, garbage
from tests.servers.dovecot import Dovecot


def mailbox_toml(server: Dovecot, user: str, name: str = "bounces", **extra: object) -> str:
    lines = [
        f"[mailboxes.{name}]",
        f'host = "{server.host}"',
        f"port = {server.tls_port}",
        f'ca_file = "{server.ca_file}"',
        f'username = "{user}"',
        f'password = "{server.users[user]}"',
        "batch_size = 2",
        "parse_workers = 0",
        "retry_initial_seconds = 1",
    ]
    lines += [f"{k} = {_toml(v)}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return f'"{value}"' if isinstance(value, str) else str(value)


@pytest.fixture
def setup(imap: Dovecot, store, tmp_path: Path) -> tuple[Rig, Path]:
    rig = Rig(imap, store, imap.add_user())
    config = write_config(tmp_path / "config.toml", store.url, mailbox_toml(imap, rig.user))
    return rig, config


def test_poll_once_prints_a_summary_and_exits_0_with_failed_mail(setup, cli) -> None:
    rig, config = setup
    rig.sent("a@example.org", message_id="newsletter-1@sender.example")
    rig.append(dsn("a@example.org"), dsn("b@example.org"), garbage())
    done = cli("--config", config, "poll", "--once")
    assert done.code == 0, done.err
    assert "bounces: fetched 3, bounces 2, complaints 0, reports 0, failed 1, suppressed 1" in (
        done.out
    )
    assert "failed UID 3: not a bounce, complaint, report or auto-reply" in done.out
    assert "1 unverified events" in done.out
    assert (rig.count(), rig.count(PROCESSED), rig.count(FAILED)) == (0, 2, 1)
    again = cli("--config", config, "poll", "--once", "--mailbox", "bounces")
    assert again.code == 0 and "fetched 0" in again.out


def test_poll_dry_run_stores_and_moves_nothing(setup, cli) -> None:
    rig, config = setup
    rig.append(dsn("a@example.org"))
    done = cli("--config", config, "poll", "--dry-run")
    assert done.code == 0 and done.out.startswith("dry run, nothing stored: bounces: fetched 1")
    assert rig.count() == 1 and rig.n(Event) == 0


def test_reprocess_failed(setup, cli) -> None:
    rig, config = setup
    rig.append(garbage())
    assert cli("--config", config, "poll", "--once").code == 0
    usage = cli("--config", config, "reprocess")
    assert usage.code == 2 and "--failed" in usage.err
    done = cli("--config", config, "reprocess", "--failed")
    assert done.code == 0 and "fetched 1" in done.out and "failed 1" in done.out
    assert rig.count(FAILED) == 1  # still unreadable: it stays, its reason refreshed
    listed = cli("--config", config, "reprocess", "--failed", "--list")
    assert listed.code == 0 and "1 failed messages" in listed.err
    assert listed.out.count("\n") == 1 and "  bounces  " in listed.out
    assert "not a bounce, complaint, report or auto-reply" in listed.out
    other = cli("--config", config, "reprocess", "--failed", "--list", "--mailbox", "nope")
    assert other.code == 0 and "0 failed messages" in other.err


def test_unknown_or_missing_mailboxes_are_usage_errors(setup, cli, store, tmp_path) -> None:
    _rig, config = setup
    unknown = cli("--config", config, "poll", "--once", "--mailbox", "nope")
    assert unknown.code == 2 and "unknown mailbox 'nope' (configured: bounces)" in unknown.err
    bare = write_config(tmp_path / "bare.toml", store.url)
    none = cli("--config", bare, "poll", "--once")
    assert none.code == 2 and "no [mailboxes.<name>]" in none.err


def test_a_failing_mailbox_exits_2_and_the_others_are_still_polled(
    imap: Dovecot, store, tmp_path: Path, cli
) -> None:
    rig = Rig(imap, store, imap.add_user())
    rig.append(dsn("a@example.org"))
    broken = mailbox_toml(imap, "bounces", name="broken").replace(
        f'password = "{imap.users["bounces"]}"', 'password = "wrong-password"'
    )
    config = write_config(
        tmp_path / "config.toml", store.url, broken + mailbox_toml(imap, rig.user, name="good")
    )
    done = cli("--config", config, "poll", "--once")
    assert done.code == 2
    assert f"error: broken ({imap.host}:" in done.err
    assert "login" in done.err
    assert "good: fetched 1" in done.out and rig.count() == 0


def test_sends_import_then_bounces_verify(setup, cli, tmp_path: Path) -> None:
    rig, config = setup
    log = tmp_path / "sends.csv"
    log.write_text(
        "message_id,recipient,campaign,sent_at\n"
        "<newsletter-1@sender.example>,known@example.org,spring,2026-01-01T00:00:00Z\n"
        "x,broken,,\n"
    )
    done = cli("--config", config, "sends", "import", log)
    assert done.code == 0 and "added 1, already known 0, rejected 1" in done.out
    assert "line 3:" in done.out
    assert "added 0, already known 1" in cli("--config", config, "sends", "import", log).out
    rig.append(dsn("known@example.org"), dsn("stranger@example.org"))
    assert cli("--config", config, "poll", "--once").code == 0
    assert [s.value for s in rig.rows(Suppression)] == ["known@example.org"]
    jsonl = tmp_path / "sends.jsonl"
    jsonl.write_text('{"recipient": "j@example.org", "message_id": "j1@x"}\n')
    assert "added 1" in cli("--config", config, "sends", "import", jsonl).out
