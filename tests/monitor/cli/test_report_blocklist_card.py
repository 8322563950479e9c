"""The blocklist card links each list's removal page; the comparison column is a daily average
(issue 14.4)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.builders.events import build_month
from tests.conftest import write_config


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_listing_links_its_delist_page_and_before_is_a_daily_average(
    cli, store, tmp_path: Path
) -> None:
    build_month(store.factory)
    cfg = write_config(tmp_path / "c.toml", store.url, '[daemon]\ntimezone = "Europe/Berlin"\n')
    page = tmp_path / "r.html"
    r = cli("--config", cfg, "report", "daily", "--date", "2026-03-31", "--out", page)
    assert r.code == 0, r.err
    html = page.read_text()
    blocklists = html[html.index('id="blocklists"') : html.index('id="auth"')]
    listed = next(row for row in blocklists.split("<tr") if "LISTED" in row)
    assert 'href="https://check.spamhaus.org/"' in listed  # the catalogue's delist URL
    health = html[html.index('id="health"') : html.index('id="figures"')]
    assert "removal page" in health and "its page is in the table below" not in health
    # 30 days before: 3000 sent in total, shown as 100 a day and said so in the header
    figures = html[html.index('id="figures"') : html.index('id="trends"')]
    assert re.search(r"daily average", figures)
    sent_row = next(row for row in figures.split("<tr") if ">Sent<" in row)
    cells = re.findall(r'<td class="n">([^<]*)</td>', sent_row)
    assert cells == ["2\u2009000", "100"]
    r = cli("--config", cfg, "report", "json", "--date", "2026-03-31")
    data = json.loads(r.out)
    [row] = [b for b in data["blocklists"] if b["status"] == "listed"]
    assert row["delist_url"] == "https://check.spamhaus.org/"
