"""The report mail (issue 14.3): a compact HTML summary with the full report attached once,
and ``--email`` with no recipient says nothing was sent and fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.builders.events import build_month
from tests.conftest import write_config
from tests.servers.smtp import SmtpSink

sqlite_only = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@sqlite_only
def test_mail_is_a_compact_summary_with_the_report_attached_once(
    cli, store, tmp_path: Path
) -> None:
    build_month(store.factory)
    with SmtpSink() as sink:
        cfg = write_config(
            tmp_path / "c.toml", store.url,
            f'[daemon]\ntimezone = "Europe/Berlin"\n\n[report]\noutput_dir = "{tmp_path / "r"}"\n\n'
            f'[report.email]\nto = ["ops@example.com"]\nsender = "dw@example.com"\n'
            f'smtp_host = "127.0.0.1"\nsmtp_port = {sink.port}\nstarttls = false\n',
        )  # fmt: skip
        r = cli("--config", cfg, "report", "daily", "--date", "2026-03-31", "--email")
        assert r.code == 0, r.err
    [received] = sink.messages
    msg = received.message
    page = (tmp_path / "r" / "report-2026-03-31.html").read_bytes()
    assert len(received.content) < 100_000 + 1.5 * len(page)  # the page once (base64: 4/3)
    leaves = [p for p in msg.walk() if not p.is_multipart()]
    htmls = [p for p in leaves if p.get_content_type() == "text/html"]
    inline = [p for p in htmls if p.get_filename() is None]
    attached = [p for p in leaves if p.get_filename() == "report-2026-03-31.html"]
    assert len(inline) == 1 and len(attached) == 1  # the big page once, as the attachment
    body = inline[0].get_payload(decode=True)
    assert len(body) < 100_000
    text = body.decode()
    assert "<svg" not in text.lower()
    assert "CRITICAL" in text and "Complaint rate" in text  # the health cards
    assert "Sent" in text and "2\u2009000" in text  # the day's figures
    assert "attached" in text
    assert "&lt;script&gt;" in text or "<script" not in text  # escaped, never live markup
    full = attached[0].get_payload(decode=True)
    assert b"<svg" in full and len(full) > len(body)


@sqlite_only
def test_email_without_recipients_says_nothing_was_sent(cli, store, tmp_path: Path) -> None:
    cfg = write_config(
        tmp_path / "c.toml", store.url, f'[report]\noutput_dir = "{tmp_path / "r"}"\n'
    )
    r = cli("--config", cfg, "report", "daily", "--date", "2026-03-31", "--email")
    assert r.code != 0
    assert "nothing was sent" in r.err and "[report.email] to" in r.err
