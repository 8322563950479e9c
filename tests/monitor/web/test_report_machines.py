"""Machines' opens and clicks are counted apart and kept out of the open and click rates of
the daily report (people's unique opens / delivered)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from monitor.config import ReportConfig
from monitor.enums import EventKind, Trust
from monitor.events import EventContext, Observation, event_key, record_events
from monitor.report.daily import build_report
from reports.render import render_daily
from tests.builders.events import DAY, TZ
from tests.conftest import Store


def test_machine_opens_and_clicks_are_apart_from_peoples(store: Store) -> None:
    at = datetime.combine(DAY, time(12), tzinfo=ZoneInfo(TZ))
    facts = (
        [(EventKind.DELIVERED, "undefined")] * 10
        + [(EventKind.OPENED, "undefined")] * 3
        + [(EventKind.OPENED, "machine")] * 4
        + [(EventKind.CLICKED, "undefined")] * 1
        + [(EventKind.CLICKED, "machine")] * 2
    )
    groups = [
        [
            Observation(
                kind=kind,
                key=event_key("r", i),
                source="web",
                occurred_at=at + timedelta(seconds=i),
                recipient=f"u{i}@gmail.com",
                trust=Trust.LOCAL,
                reason=reason,
                campaign="spring",
            )
        ]
        for i, (kind, reason) in enumerate(facts)
    ]
    record_events(store.factory, groups, EventContext(), now=at)
    report = build_report(
        store.factory, day=DAY, cfg=ReportConfig(), timezone=TZ, now=at + timedelta(days=1)
    )
    for figures in (report.totals, report.by_campaign[0]):
        assert (figures.delivered, figures.opens, figures.machine_opens) == (10, 3, 4)
        assert (figures.clicks, figures.machine_clicks) == (1, 2)
        assert figures.open_rate == 30.0 and figures.click_rate == 10.0
    assert [(p.key, p.opens, p.machine_opens) for p in report.by_provider if p.delivered] == [
        ("gmail", 3, 4)
    ]
    html = render_daily(report)
    assert "Machine opens" in html and "Open rate" in html
