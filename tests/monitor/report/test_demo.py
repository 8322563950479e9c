"""``deliverwatch demo``: one command from nothing to a full report."""

from __future__ import annotations

import json
from pathlib import Path


def test_demo_writes_a_full_report_and_removes_its_database(cli, tmp_path: Path) -> None:
    out = tmp_path / "demo"
    r = cli(
        "demo", "--out", out, "--days", "10", "--sends-per-day", "400", "--timezone", "Europe/Paris"
    )
    assert r.code == 0, r.err
    assert "generated 4,000 sent messages" in r.out and "database kept" not in r.out
    [page] = out.glob("report-*.html")
    data = json.loads(page.with_suffix(".json").read_text())
    assert data["totals"]["sent"] == 400 and len(data["days"]) == 31
    levels = {v["key"]: v["level"] for v in data["verdicts"]}
    assert levels["blocklists"] == "critical" and levels["ptr"] == "critical"
    assert data["dmarc"]["reporters"] and data["unverified"]["bounces_window"] >= 10
    html = page.read_text()
    assert "<script" not in html and "alert(1)" not in html  # no test strings in a demo
    assert (out / "index.html").exists()


def test_demo_can_keep_its_database(cli, tmp_path: Path) -> None:
    r = cli("demo", "--out", tmp_path / "d", "--days", "7", "--sends-per-day", "100", "--keep-db")
    assert r.code == 0
    kept = Path(r.out.split("database kept at ")[1].split()[0])
    assert kept.exists()
    kept.unlink()


def _demo_rows(tracking: bool):
    from datetime import date

    from monitor.report.demo import seed_database
    from monitor.report.demodata import DemoPlan, generate

    plan = DemoPlan(last_day=date(2026, 3, 31), days=9, sends_per_day=1_500, tracking=tracking)
    return plan, [(t, r) for t, r in generate(plan)], seed_database


def test_demo_shows_only_what_a_real_sender_can_see(tmp_path: Path) -> None:
    """Issue 14.13: no per-message Gmail complaints (Gmail sends no ARF), no opens or clicks
    without tracking, and no test strings (markup, bidi overrides) anywhere in the data."""
    from sqlalchemy import select

    from monitor.report.demodata import EVENT_COLUMNS
    from monitor.store.db import make_engine, make_session_factory, upgrade
    from monitor.store.models import DmarcReport
    from reports.providers import load_providers

    plan, rows, seed_database = _demo_rows(tracking=False)
    events = [dict(zip(EVENT_COLUMNS, r, strict=True)) for t, r in rows if t == "events"]
    kinds = {e["kind"] for e in events}
    assert "opened" not in kinds and "clicked" not in kinds
    complaints = [e for e in events if e["kind"] == "complained"]
    assert complaints  # other providers' feedback loops still report
    gmail_mx = {"gmail-smtp-in.l.google.com", "aspmx.l.google.com"}
    groups = {d: g.id for g in load_providers().groups for d in g.domains}
    for c in complaints:
        assert groups.get(c["recipient_domain"]) != "gmail" and c["remote_mta"] not in gmail_mx, c
    hostile = ("<script", "onerror", "\u202e", '">')
    for t, r in rows:
        for v in r:
            assert not (isinstance(v, str) and any(h in v for h in hostile)), (t, r)
    engine = make_engine(f"sqlite:///{tmp_path / 'd.db'}")
    upgrade(engine)
    seed_database(engine, plan)
    with make_session_factory(engine)() as s:
        orgs = s.scalars(select(DmarcReport.org_name).distinct()).all()
    engine.dispose()
    assert orgs and not any(any(h in o for h in hostile) for o in orgs)
    _plan, tracked, _seed = _demo_rows(tracking=True)
    assert {"opened", "clicked"} <= {r[1] for t, r in tracked if t == "events"}
