"""``deliverwatch report daily|json``, the reports folder and its index, mailing, the daemon job."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.app import App
from monitor.config import load_config
from monitor.daemon.jobs import job_specs
from monitor.report.daily import daily_report_job
from tests.builders.events import build_month
from tests.conftest import write_config
from tests.servers.smtp import SmtpSink, free_port

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def test_daily_into_folder_with_index_and_json(cli, store, tmp_path: Path) -> None:
    build_month(store.factory)
    out = tmp_path / "reports"
    cfg = write_config(
        tmp_path / "config.toml", store.url,
        f'[daemon]\ntimezone = "Europe/Berlin"\n\n[report]\noutput_dir = "{out}"\n',
    )  # fmt: skip
    r = cli("--config", cfg, "report", "daily", "--date", "2026-03-31")
    assert r.code == 0, r.err
    page = out / "report-2026-03-31.html"
    assert page.exists() and f"wrote {page}" in r.err
    data = json.loads(page.with_suffix(".json").read_text())
    assert data["totals"]["sent"] == 2000 and data["day"] == "2026-03-31"
    index = (out / "index.html").read_text()
    assert 'href="report-2026-03-31.html"' in index and "CRITICAL" in index
    r = cli("--config", cfg, "report", "json", "--date", "2026-03-31")
    assert r.code == 0 and json.loads(r.out)["totals"]["complaints"] == 4
    single = tmp_path / "one.html"
    r = cli("--config", cfg, "report", "daily", "--date", "2026-03-31", "--out", single)
    assert r.code == 0 and single.read_text().startswith("<!doctype html>")
    r = cli("--config", cfg, "report", "daily", "--date", "31/03/2026")
    assert r.code == 2 and "YYYY-MM-DD" in r.err


@sqlite_only
def test_keep_prunes_old_reports(cli, store, tmp_path: Path) -> None:
    out = tmp_path / "reports"
    cfg = write_config(
        tmp_path / "c.toml", store.url, f'[report]\noutput_dir = "{out}"\nkeep = 2\n'
    )
    for day in ("2026-03-01", "2026-03-02", "2026-03-03"):
        assert cli("--config", cfg, "report", "daily", "--date", day).code == 0
    assert sorted(p.name for p in out.glob("report-*.html")) == [
        "report-2026-03-02.html", "report-2026-03-03.html",
    ]  # fmt: skip
    index = (out / "index.html").read_text()
    assert "2026-03-03" in index and "2026-03-01" not in index
    assert "UNKNOWN" in index  # an empty database: nothing can be judged


@sqlite_only
def test_report_is_mailed_through_the_configured_smtp_server(cli, store, tmp_path: Path) -> None:
    build_month(store.factory)
    with SmtpSink() as sink:
        port = sink.port
        cfg = write_config(
            tmp_path / "c.toml", store.url,
            f'[daemon]\ntimezone = "Europe/Berlin"\n\n[report]\noutput_dir = "{tmp_path / "r"}"\n\n'
            f'[report.email]\nto = ["ops@example.com", "cto@example.com"]\n'
            f'sender = "dw@example.com"\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\n'
            "starttls = false\n",
        )  # fmt: skip
        r = cli("--config", cfg, "report", "daily", "--date", "2026-03-31", "--email")
        assert r.code == 0, r.err
    [received] = sink.messages
    msg = received.message
    assert received.mail_from == "dw@example.com"
    assert received.rcpt_tos == ["ops@example.com", "cto@example.com"]
    assert msg["Subject"] == "Deliverability report 2026-03-31: CRITICAL"
    parts = {p.get_content_type(): p for p in msg.walk() if not p.is_multipart()}
    assert "[CRITICAL] Complaint rate" in parts["text/plain"].get_payload(decode=True).decode()
    attachments = [p for p in msg.walk() if p.get_filename() == "report-2026-03-31.html"]
    assert len(attachments) == 1
    assert b"&lt;script&gt;" in attachments[0].get_payload(decode=True)


@sqlite_only
def test_unreachable_smtp_server_is_a_clear_error(cli, store, tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path / "c.toml", store.url,
        f'[report]\noutput_dir = "{tmp_path / "r"}"\n\n[report.email]\nto = ["ops@example.com"]\n'
        f'smtp_host = "127.0.0.1"\nsmtp_port = {free_port()}\nstarttls = false\n',
    )  # fmt: skip
    r = cli("--config", cfg, "report", "daily", "--date", "2026-03-31", "--email")
    assert r.code == 2 and "could not email the report via 127.0.0.1" in r.err
    assert (tmp_path / "r" / "report-2026-03-31.html").exists()  # written before mailing


@sqlite_only
def test_daemon_schedules_the_daily_report_for_yesterday(store, tmp_path: Path) -> None:
    build_month(store.factory)
    cfg_path = write_config(
        tmp_path / "c.toml", store.url,
        f'[daemon]\ntimezone = "Europe/Berlin"\n\n[report]\noutput_dir = "{tmp_path / "r"}"\n'
        'daily_at = "06:15"\n',
    )  # fmt: skip
    app = App.from_config(load_config(cfg_path))
    spec = next(s for s in job_specs(app) if s.id == "daily-report")
    assert "hour='6', minute='15', timezone='Europe/Berlin'" in repr(spec.trigger)
    at = datetime(2026, 4, 1, 4, 15, tzinfo=UTC)  # 06:15 in Berlin on 1 April
    summary = daily_report_job(**{**spec.kwargs, "now": lambda: at})
    assert summary.startswith("wrote ") and (tmp_path / "r" / "report-2026-03-31.html").exists()
    disabled = write_config(tmp_path / "d.toml", store.url, "[report]\nenabled = false\n")
    ids = [s.id for s in job_specs(App.from_config(load_config(disabled)))]
    assert "daily-report" not in ids
    app.close()
