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
    assert "<script>" not in html and "&lt;script&gt;alert(1)" in html
    assert (out / "index.html").exists()


def test_demo_can_keep_its_database(cli, tmp_path: Path) -> None:
    r = cli("demo", "--out", tmp_path / "d", "--days", "7", "--sends-per-day", "100", "--keep-db")
    assert r.code == 0
    kept = Path(r.out.split("database kept at ")[1].split()[0])
    assert kept.exists()
    kept.unlink()
