"""The providers' reputation feeds in the daily report, beside our own figures."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from monitor.store.db import session_scope
from monitor.store.feeds_repo import store_feed_days
from reports.render import render_daily, report_json
from tests.builders.events import DAY
from tests.reports.conftest import report_of


def test_feeds_stand_beside_our_figures(month_store) -> None:
    plain = report_of(month_store)
    assert plain.feeds == []  # nothing fetched: no section
    assert 'id="feeds"' not in render_daily(plain)
    gmail = next(f for f in plain.by_provider if f.key == "gmail")
    ip = plain.by_ip[0].key
    day = date.fromisoformat(str(DAY))
    with session_scope(month_store.factory) as s:
        store_feed_days(
            s,
            [
                ("postmaster", "sender.example", day,
                 {"spam_rate": 0.0031, "domain_reputation": "MEDIUM",
                  "ip_reputations": [["HIGH", 2]], "spf_rate": 1.0, "dkim_rate": 0.99,
                  "dmarc_rate": 0.98, "outbound_encryption_rate": 1.0,
                  "inbound_encryption_rate": None}),
                ("snds", ip, day,
                 {"filter_result": "YELLOW", "complaint_rate_text": "< 0.1%",
                  "recipients": 1234, "trap_hits": 2}),
                ("snds", "<script>x</script>", date(2020, 1, 1), {"filter_result": "RED"}),
            ],
            now=datetime.now(UTC),
        )  # fmt: skip
    report = report_of(month_store)
    pm, snds = report.feeds
    assert (pm.provider, pm.subject) == ("Google Postmaster Tools", "sender.example")
    theirs, ours = dict(pm.theirs), dict(pm.ours)
    assert theirs["Spam rate (user reported)"] == "0.31 %"
    assert theirs["Domain reputation"] == "MEDIUM" and theirs["IP reputation (IPs)"] == "HIGH 2"
    assert theirs["SPF / DKIM / DMARC pass"] == "100.00 % / 99.00 % / 98.00 %"
    assert ours["Gmail: complaint rate"] == (
        f"{gmail.complaint_rate:.2f} %" if gmail.complaint_rate is not None else "not available"
    )
    assert (snds.provider, snds.subject) == ("Microsoft SNDS", ip)
    assert dict(snds.theirs)["Filter result"] == "YELLOW"
    assert "This IP: delivered" in dict(snds.ours) and "Microsoft: complaint rate" in dict(
        snds.ours
    )
    html = render_daily(report)
    assert 'id="feeds"' in html and "Postmaster Tools" in html and "0.31 %" in html
    assert "<script>x</script>" not in html  # another day's row, and escaped anyway
    assert json.loads(report_json(report))["feeds"][0]["subject"] == "sender.example"
