"""Issue 14.5: every config value is validated at load, once, in ``monitor.config``, so
``config check`` rejects what the daemon and the commands would reject later (a bad time
zone, "6am", a host with a space, a database URL no backend takes...)."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.cli.root import main
from monitor.config import load_config, unavailable_inputs
from monitor.errors import ConfigError

#: (TOML text, the key path the error must name, a word the message must contain)
BAD = [
    # times of day (the daily schedules)
    ('[report]\ndaily_at = "6am"', "report.daily_at", "HH:MM"),
    ('[report]\ndaily_at = "24:00"', "report.daily_at", "HH:MM"),
    ('[daemon]\nexport_at = "2:30"', "daemon.export_at", "HH:MM"),
    ('[checks]\nauth_at = "4"', "checks.auth_at", "HH:MM"),
    ('[retention]\nprune_at = "3:30am"', "retention.prune_at", "HH:MM"),
    # time zones
    ('[daemon]\ntimezone = "Europe/Londn"', "daemon.timezone", "Europe/London"),
    ('[daemon]\ntimezone = ""', "daemon.timezone", "time zone"),
    ('[daemon]\ntimezone = "../etc/passwd"', "daemon.timezone", "time zone"),
    # durations and counts
    ("[daemon]\nexpire_every_minutes = 0", "daemon.expire_every_minutes", "at least 1"),
    ("[daemon]\nexport_keep = -1", "daemon.export_keep", "at least 0"),
    ("[report]\nkeep = -3", "report.keep", "at least 0"),
    ("[report.email]\ntimeout_seconds = 0", "report.email", "timeout_seconds"),
    # hosts and host:port
    ('[report.email]\nsmtp_host = "mail example.com"', "report.email.smtp_host", "host"),
    ('[alerts]\nsmtp_host = ""', "alerts.smtp_host", "host"),
    (
        '[mailboxes.b]\nhost = "imap..example.com"\nusername = "u"',
        "mailboxes.b.host",
        "host",
    ),
    ('[relay]\nhostname = "-mx.example.com"', "relay.hostname", "host"),
    ("[relay]\ndane = true", "relay", "dane_resolver"),
    ('[relay]\ndane = true\ndane_resolver = "resolver.example"', "relay", "dane_resolver"),
    ('[web]\nlisten = "127.0.0.1"', "web", "HOST:PORT"),
    ('[web]\nunsubscribe_domain = "a b"', "web.unsubscribe_domain", "host"),
    # addresses
    ('[report.email]\nto = ["ops"]', "report.email.to[0]", "address"),
    ('[report.email]\nsender = "not an address"', "report.email.sender", "address"),
    ('[alerts]\nemail_to = ["a@b.example", "x@"]', "alerts.email_to[1]", "address"),
    # URLs
    ('[web]\npublic_url = "example.com/dw"', "web", "URL"),
    ('[database]\nurl = "postgres://db.example.com/dw"', "database.url", "postgresql"),
    ('[database]\nurl = "mysql://db.example.com/dw"', "database.url", "sqlite"),
    ('[database]\nurl = "no url at all"', "database.url", "URL"),
    # enum-like strings
    ('[logging]\nlevel = "info"', "logging.level", "INFO"),
    ('[mailboxes.b]\nhost = "h"\nusername = "u"\nrole = "bounce"', "mailboxes.b.role", "bounces"),
]


@pytest.mark.parametrize(("text", "key", "word"), BAD, ids=[b[1] + ":" + b[0][-12:] for b in BAD])
def test_load_names_the_key_of_a_bad_value(tmp_path: Path, text: str, key: str, word: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert caught.value.path == key, str(caught.value)
    assert word in caught.value.problem, str(caught.value)


@pytest.mark.parametrize(("text", "key", "word"), BAD[:2] + BAD[4:5])
def test_config_check_refuses_what_the_daemon_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str, word: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text + "\n", encoding="utf-8")
    assert main(["--config", str(path), "config", "check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"config error: {key}: ") and word in err
    assert len(err.strip().splitlines()) == 1


def test_report_daily_with_a_bad_zone_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[daemon]\ntimezone = "Europe/Londn"\n', encoding="utf-8")
    assert main(["--config", str(path), "report", "daily"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.startswith("error: daemon.timezone: ")


GOOD = """
[daemon]
timezone = "America/New_York"
export_at = "23:59"
[report]
daily_at = "00:00"
[report.email]
to = ["ops@example.com", "Postmaster <pm@example.org>"]
sender = "Deliverwatch <dw@example.com>"
smtp_host = "[2001:db8::1]"
[alerts]
smtp_host = "192.0.2.1"
email_to = ["a@mail.example.com"]
[checks]
auth_at = ""
[relay]
hostname = "mx1.example.com"
[web]
public_url = "https://dw.example.com/"
unsubscribe_domain = "example.com"
[mailboxes.b]
host = "localhost"
username = "u"
"""


def test_good_values_load(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(GOOD, encoding="utf-8")
    cfg = load_config(path)
    assert cfg.daemon.timezone == "America/New_York" and cfg.report.daily_at == "00:00"
    assert unavailable_inputs(cfg) == []


def test_missing_input_files_are_named_by_config_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        '[mailboxes.b]\nhost = "h"\nusername = "u"\npassword = "p"\nca_file = "ca.pem"\n'
        '[sending.dkim."example.com"]\nselectors = ["s1"]\nkey_file = "keys/s1.pem"\n',
        encoding="utf-8",
    )
    cfg = load_config(path)
    problems = {e.path: e.problem for e in unavailable_inputs(cfg)}
    assert set(problems) == {"mailboxes.b.ca_file", "sending.dkim.example.com.key_file"}
    assert str(tmp_path / "ca.pem") in problems["mailboxes.b.ca_file"]
    assert main(["--config", str(path), "config", "check"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert sorted(err) == sorted(f"warning: {k}: {v}" for k, v in problems.items())


def test_output_folders_that_cannot_be_written_are_named(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    path = tmp_path / "config.toml"
    path.write_text(
        f'[report]\noutput_dir = "{blocker}/reports"\n'
        f'[daemon]\npid_file = "{blocker}/dw.pid"\nexport_dir = "not/yet/there"\n',
        encoding="utf-8",
    )
    problems = {e.path: e.problem for e in unavailable_inputs(load_config(path))}
    assert set(problems) == {"report.output_dir", "daemon.pid_file"}  # a new folder is fine
    assert problems["report.output_dir"] == f"{blocker} is not a folder"
