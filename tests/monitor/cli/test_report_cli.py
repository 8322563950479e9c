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
    assert summary.counts == {"reports": 1, "mailed_to": 0}
    disabled = write_config(tmp_path / "d.toml", store.url, "[report]\nenabled = false\n")
    ids = [s.id for s in job_specs(App.from_config(load_config(disabled)))]
    assert "daily-report" not in ids
    app.close()


@sqlite_only
def test_report_has_the_bulk_sender_and_content_check_sections(cli, store, tmp_path: Path) -> None:
    """A held campaign (with findings from an email: escaped) and the requirement lines."""
    import datetime as dt

    from monitor.enums import CheckCategory, CheckStatus
    from monitor.store import content, queue
    from monitor.store.models import CheckState

    now = datetime.now(UTC)
    with store.session() as s, s.begin():
        batch = [queue.QueuedMessage(
            queue_id="HELD1", submitted_by="app", envelope_sender="n@sender.example", body=b"x",
            received_at=now, expires_at=now + dt.timedelta(days=1), campaign="<b>spring</b>",
            recipients=(queue.QueuedRecipient(address="a@example.org"),),
        )]  # fmt: skip
        content.admit(s, batch, queue.enqueue(s, batch), sample_every=10, now=now)
        (job,) = content.claim_scans(s, now=now, lease_until=now, limit=1)
        findings = content.ScanFindings(hold=True, verdict="hold", virus="Eicar<script>",
                                        reason="virus Eicar<script> (clamd)")  # fmt: skip
        content.finish_scan(s, job.id, findings, now=now)
        s.add(
            CheckState(
                category=CheckCategory.AUTH,
                subject="_dmarc.sender.example",
                key="dmarc",
                status=CheckStatus.OK,
                since=now,
                last_checked_at=now,
            )
        )
    out = tmp_path / "reports"
    cfg = write_config(
        tmp_path / "config.toml", store.url,
        f'[report]\noutput_dir = "{out}"\n\n[sending]\nenvelope_domain = "sender.example"\n'
        'from_domains = ["sender.example"]\n\n[relay.content]\nclamd = "/run/none.sock"\n',
    )  # fmt: skip
    r = cli("--config", cfg, "report", "json", "--date", str(now.date()))
    assert r.code == 0, r.err
    data = json.loads(r.out)
    lines = {(x["key"], x["subject"]): x["status"] for x in data["compliance"]}
    assert lines[("dmarc", "sender.example")] == "pass"
    assert lines[("alignment", "sender.example")] == "pass"  # the envelope domain aligns
    assert lines[("dkim", "sender.example")] == "fail"  # no key configured
    assert lines[("complaints", "7 days")] == "unmeasured"
    assert data["content"]["scans"] == {"hold": 1}
    assert data["content"]["holds"][0]["campaign"] == "<b>spring</b>"
    (verdict,) = [v for v in data["verdicts"] if v["key"] == "content-check"]
    assert verdict["level"] == "critical" and "1 recipient(s) waiting" in verdict["value"]
    r = cli("--config", cfg, "report", "daily", "--date", str(now.date()))
    html = (out / f"report-{now.date()}.html").read_text()
    assert 'id="compliance"' in html and 'id="content-check"' in html
    assert "&lt;b&gt;spring&lt;/b&gt;" in html and "<b>spring" not in html
    assert "Eicar&lt;script&gt;" in html and "Eicar<script>" not in html
