"""Config loading: strict keys, typed values, secrets, file selection, masking."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from monitor.config import Secret, config_to_dict, load_config
from monitor.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "config.toml"
    p.write_text(text, encoding="utf-8")
    return p


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    return str(info.value)


def test_sample_config_loads_with_defaults() -> None:
    cfg = load_config(REPO / "config.toml")
    assert cfg.database.url.reveal() == f"sqlite:///{REPO / 'var' / 'deliverwatch.db'}"
    assert cfg.logging.format == "text"
    assert cfg.daemon.export_formats == ("csv",)
    assert cfg.daemon.export_dir == REPO / "var" / "exports"


def test_sample_config_documents_every_section() -> None:
    """Each top-level section the loader knows appears in the documented sample."""
    from monitor.config import Config

    data = tomllib.loads((REPO / "config.toml").read_text())
    import dataclasses

    known = {f.name for f in dataclasses.fields(Config) if not f.metadata.get("internal")}
    assert set(data) == known


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, ""))
    assert cfg.suppression.lowercase_local_part is True
    assert cfg.database.url.reveal() == f"sqlite:///{tmp_path / 'var' / 'deliverwatch.db'}"
    assert cfg.daemon.export_dir == tmp_path / "var" / "exports"  # defaults resolve too
    assert cfg.daemon.pid_file == tmp_path / "var" / "deliverwatch.pid"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[databse]\nurl = 'x'\n", "databse: unknown key"),
        ("[database]\nurll = 'x'\n", "database.urll: unknown key"),
        (
            "[daemon]\nexpire_every_minutes = 'x'\n",
            'daemon.expire_every_minutes: expected int, got "x"',
        ),
        (
            "[daemon]\nexpire_every_minutes = true\n",
            "daemon.expire_every_minutes: expected int, got True",
        ),
        (
            "[suppression]\nlowercase_local_part = 1\n",
            "suppression.lowercase_local_part: expected true or false",
        ),
        (
            "[logging]\nformat = 'xml'\n",
            'logging.format: expected one of "text", "json", got "xml"',
        ),
        (
            "[daemon]\nexport_formats = ['csv', 'pdf']\n",
            "daemon.export_formats[1]: expected one of",
        ),
        (
            "[daemon]\nexport_formats = 'csv'\n",
            'daemon.export_formats: expected an array, got "csv"',
        ),
        ("database = 3\n", "database: expected a table, got 3"),
        ("[database\n", "is not valid TOML"),
    ],
)
def test_bad_config_names_the_key_path(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in error_of(tmp_path, text)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_env_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DW_TEST_DB", "postgresql+psycopg://u:hunter2@db.example/x")
    cfg = load_config(write(tmp_path, "[database]\nurl = 'env:DW_TEST_DB'\n"))
    assert cfg.database.url.reveal().endswith("@db.example/x")
    assert "hunter2" not in repr(cfg)
    assert "hunter2" not in str(config_to_dict(cfg))
    assert config_to_dict(cfg)["database"]["url"] == "postgresql+psycopg://u:***@db.example/x"


def test_missing_env_secret_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DW_NOT_SET", raising=False)
    msg = error_of(tmp_path, "[database]\nurl = 'env:DW_NOT_SET'\n")
    assert msg == "database.url: environment variable DW_NOT_SET is not set"


def test_file_secret(tmp_path: Path) -> None:
    (tmp_path / "db.secret").write_text("sqlite:////tmp/x.db\n")
    cfg = load_config(write(tmp_path, "[database]\nurl = 'file:db.secret'\n"))
    assert cfg.database.url.reveal() == "sqlite:////tmp/x.db"
    assert cfg.database.url.source == f"file:{tmp_path / 'db.secret'}"
    assert "cannot read secret file" in error_of(tmp_path, "[database]\nurl = 'file:missing'\n")


def test_secret_never_prints_its_value() -> None:
    s = Secret("s3cret", "env:X")
    assert "s3cret" not in repr(s) and "s3cret" not in str(s) and "s3cret" not in f"{s}"


def test_config_check_masks_and_reports(tmp_path: Path, cli, monkeypatch) -> None:
    monkeypatch.setenv("DW_TEST_DB", "postgresql+psycopg://u:hunter2@db.example/x")
    f = write(tmp_path, "[database]\nurl = 'env:DW_TEST_DB'\n")
    r = cli("--config", f, "config", "check")
    assert r.code == 0
    assert "hunter2" not in r.out and "u:***@db.example" in r.out
    assert tomllib.loads(r.out.split("\n", 2)[2])["daemon"]["export_at"] == "02:30"


def test_config_check_error_exit_code(tmp_path: Path, cli) -> None:
    f = write(tmp_path, "[daemon]\nexport_keep = 'many'\n")
    r = cli("--config", f, "config", "check")
    assert r.code == 2
    assert 'daemon.export_keep: expected int, got "many"' in r.err


def test_env_var_selects_config(tmp_path: Path, cli, monkeypatch) -> None:
    f = write(tmp_path, "[logging]\nlevel = 'DEBUG'\n")
    monkeypatch.setenv("DELIVERWATCH_CONFIG", str(f))
    r = cli("config", "check")
    assert r.code == 0 and 'level = "DEBUG"' in r.out and str(f) in r.out


def test_option_beats_env_var(tmp_path: Path, cli, monkeypatch) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[nope]\n")
    good = write(tmp_path, "")
    monkeypatch.setenv("DELIVERWATCH_CONFIG", str(bad))
    assert cli("--config", good, "config", "check").code == 0
    assert cli("config", "check").code == 2


def test_relay_content_table(tmp_path: Path) -> None:
    text = '[relay.content]\nspamd = "127.0.0.1:783"\nclamd = "/run/c.ctl"\nsample_every = 10\n'
    cfg = load_config(write(tmp_path, text))
    c = cfg.relay.content
    assert c.enabled and c.sample_every == 10 and c.on_scanner_error == "open"
    assert not load_config(write(tmp_path, "")).relay.content.enabled
    for text, expected in (
        ('spamd = "localhost"', "relay.content: spamd: 'localhost': expected HOST:PORT"),
        ("sample_every = 0", "sample_every must be at least 1"),
        ('on_scanner_error = "maybe"', 'relay.content.on_scanner_error: expected one of "open"'),
    ):
        assert expected in error_of(tmp_path, f"[relay.content]\n{text}\n")
