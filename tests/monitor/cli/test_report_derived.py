"""Rates from the send log alone (issue 14.1): mail that leaves through the sender's own MTA.

With no relay there are no delivery events; the report must derive delivered = sent minus
bounced (expired counted among them), say so, and give complaint and bounce rates over it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from monitor.store.models import Event
from tests.conftest import write_config

AT = "2026-03-31T08:00:00Z"


def _send_log(path: Path) -> Path:
    lines = ["message_id,recipient,campaign,sent_at,result,reply"]
    for i in range(500):
        domain = "gmail.com" if i < 300 else "other.example"
        result, reply = "", ""
        if i < 10:
            result, reply = "bounced", "550 5.1.1 user unknown"
        elif i < 12:
            result, reply = "expired", "451 4.4.1 connection timed out"
        lines.append(f"m{i}@sender.example,r{i}@{domain},spring,{AT},{result},{reply}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _complaints(factory, n: int) -> None:
    at = datetime(2026, 3, 31, 12, tzinfo=UTC)
    rows = [
        {
            "kind": "complained",
            "address": f"r{100 + i}@gmail.com",
            "recipient_domain": "gmail.com",
            "occurred_at": at,
            "ingested_at": at,
            "dedupe_key": f"c:{i}",
            "trust": "verified",
            "source": "imap",
            "campaign": "spring",
        }
        for i in range(n)
    ]
    with factory() as session, session.begin():
        session.execute(insert(Event), rows)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_send_log_alone_gives_derived_delivered_and_rates(cli, store, tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "c.toml", store.url, '[daemon]\ntimezone = "UTC"\n')
    r = cli("--config", cfg, "sends", "import", _send_log(tmp_path / "sends.csv"))
    assert r.code == 0, r.err
    _complaints(store.factory, 2)
    r = cli("--config", cfg, "report", "json", "--date", "2026-03-31")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    t = data["totals"]
    assert (t["sent"], t["bounced"]) == (500, 12)
    assert t["delivered"] == 488 and t["delivered_derived"] == 488
    assert t["delivered_basis"] == "derived"
    assert t["complaint_rate"] == pytest.approx(100 * 2 / 488, abs=1e-4)
    assert t["bounce_rate"] == pytest.approx(100 * 12 / 500, abs=1e-4)
    gmail = next(f for f in data["by_provider"] if f["key"] == "gmail")
    assert gmail["delivered"] == 300 - 12 and gmail["delivered_basis"] == "derived"
    verdict = next(v for v in data["verdicts"] if v["key"] == "complaint-rate")
    assert "not available" not in verdict["value"] and "derived" in verdict["value"]
    assert verdict["level"] == "critical"  # 0.41 % of 488
    r = cli(
        "--config", cfg, "report", "daily", "--date", "2026-03-31", "--out", tmp_path / "r.html"
    )
    assert r.code == 0, r.err
    page = (tmp_path / "r.html").read_text()
    assert "derived from the send log" in page
    assert "No send volume is recorded" not in page


def test_delivery_events_are_never_replaced_by_a_derived_count() -> None:
    """A scope with delivery events keeps them; only a scope without any is derived."""
    from datetime import date

    from reports.aggregate import build_daily
    from reports.model import ReportInput, Thresholds

    day = "2026-03-31"
    inp = ReportInput(
        day=date(2026, 3, 31),
        timezone="UTC",
        generated_at=datetime(2026, 4, 1, tzinfo=UTC),
        days=("2026-03-30", day),
        event_trend=[
            (day, "gmail", "delivered", False, "local", 90),
            (day, "gmail", "bounced", True, "local", 5),
            (day, "other", "bounced", False, "verified", 4),
            (day, "other", "complained", False, "verified", 1),
        ],
        sent_trend=[(day, "gmail", 100), (day, "other", 50), ("2026-03-30", "other", 10)],
    )
    r = build_daily(inp, Thresholds())
    g = {f.key: f for f in r.by_provider}
    assert (g["gmail"].delivered, g["gmail"].delivered_derived) == (90, 0)
    assert g["gmail"].delivered_basis == "events"
    assert (g["other"].delivered, g["other"].delivered_derived) == (46, 46)
    assert g["other"].complaint_rate == pytest.approx(100 / 46, abs=1e-4)
    assert (r.totals.delivered, r.totals.delivered_derived) == (136, 46)
    assert r.totals.delivered_basis == "mixed"
    assert r.previous.delivered_derived == 10 and r.previous.delivered_basis == "derived"
    other = {p.day: p for p in r.trend if p.group == "other"}
    assert other[day].delivered == 46 and other[day].complaint_rate == pytest.approx(
        100 / 46, abs=1e-4
    )
