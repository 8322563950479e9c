"""Every figure and verdict of the daily report against hand-computed values."""

from __future__ import annotations

import pytest

from reports.model import DailyReport
from tests.builders.events import HOSTILE_CAMPAIGN, HOSTILE_FROM, HOSTILE_ORG, build_month
from tests.reports.conftest import report_of


def by_key(rows):
    return {r.key: r for r in rows}


def test_day_totals_and_rates(month: DailyReport) -> None:
    t = month.totals
    assert (t.sent, t.delivered, t.deferred) == (2000, 1940, 5)
    assert (t.bounced, t.hard_bounced, t.soft_bounced) == (60, 20, 40)
    assert (t.complaints, t.unsubscribes, t.auto_replies, t.opens, t.clicks) == (4, 3, 4, 300, 40)
    assert t.bounce_rate == pytest.approx(3.0)
    assert t.hard_bounce_rate == pytest.approx(1.0)
    assert t.complaint_rate == pytest.approx(100 * 4 / 1940, abs=1e-4)
    assert t.unsubscribe_rate == pytest.approx(100 * 3 / 1940, abs=1e-4)
    assert month.volume_known


def test_previous_thirty_days_and_local_days_across_dst(month: DailyReport) -> None:
    p = month.previous
    assert (p.sent, p.delivered, p.soft_bounced, p.hard_bounced, p.complaints) == (
        3000,
        2970,
        30,
        0,
        1,
    )
    assert p.complaint_rate == pytest.approx(100 / 2970, abs=1e-4)
    assert (
        month.days[0] == "2026-03-01" and month.days[-1] == "2026-03-31" and len(month.days) == 31
    )
    gmail = {p.day: p for p in month.trend if p.group == "gmail"}
    # 00:30 local on 29 March is 23:30 UTC on the 28th: it belongs to the 29th
    assert gmail["2026-03-29"].complaints == 1 and gmail["2026-03-28"].complaints == 0
    assert gmail["2026-03-31"].complaints == 3  # one at 00:30 local = 22:30 UTC on the 30th
    assert gmail["2026-03-30"].complaints == 0
    assert gmail["2026-03-31"].delivered == 1080  # the 00:30 delivery of 1 April is not in
    assert gmail["2026-03-15"].sent == 100 and gmail["2026-03-15"].bounce_rate == pytest.approx(1.0)
    apple = {p.day: p for p in month.trend if p.group == "apple"}
    assert apple["2026-03-31"].sent == 0 and apple["2026-03-31"].bounce_rate is None


def test_provider_groups_by_domain_and_mx(month: DailyReport) -> None:
    g = by_key(month.by_provider)
    assert list(g) == ["gmail", "microsoft", "yahoo", "apple", "other"]
    assert (g["gmail"].sent, g["gmail"].delivered, g["gmail"].complaints) == (1100, 1080, 3)
    assert g["gmail"].label == "Gmail"  # company.example joined Gmail through its MX
    assert g["microsoft"].bounce_rate == pytest.approx(6.0)
    assert g["yahoo"].hard_bounce_rate == pytest.approx(5.0)
    assert g["yahoo"].complaint_rate == pytest.approx(100 / 190, abs=1e-4)
    assert (g["apple"].sent, g["apple"].bounce_rate, g["apple"].complaint_rate) == (0, None, None)
    assert (g["other"].sent, g["other"].auto_replies) == (200, 4)


def test_domain_ip_and_campaign_breakdowns(month: DailyReport) -> None:
    d = by_key(month.by_domain)
    assert [f.key for f in month.by_domain][:2] == ["gmail.com", "outlook.com"]
    assert d["company.example"].sent == 100
    assert "victim.example" not in d  # only unverified (forged) bounces: not counted as ours
    ips = by_key(month.by_ip)
    assert (ips["192.0.2.1"].sent, ips["192.0.2.2"].sent, ips["192.0.2.3"].sent) == (1100, 500, 400)
    assert ips["192.0.2.2"].bounce_rate == pytest.approx(6.0)
    c = by_key(month.by_campaign)
    assert c["spring-sale"].sent == 1100 and c["newsletter"].sent == 700
    assert c[HOSTILE_CAMPAIGN].complaint_rate == pytest.approx(100 / 190, abs=1e-4)


def test_bounce_reasons_and_diagnostics(month: DailyReport) -> None:
    reasons = {r.reason: (r.side, r.hard, r.soft, r.total) for r in month.reasons}
    assert reasons == {
        "blocked": ("sender", 0, 30, 30),
        "userunknown": ("recipient", 20, 0, 20),
        "mailboxfull": ("recipient", 0, 10, 10),
    }
    top = [(d.count, d.reason, d.hard) for d in month.diagnostics]
    assert top == [(30, "blocked", False), (10, "mailboxfull", False),
                   (10, "userunknown", True), (10, "userunknown", True)]  # fmt: skip
    gmail_unknown = [d for d in month.diagnostics if d.diagnostic.startswith("550-5.1.1")]
    assert gmail_unknown[0].diagnostic.startswith("550-5.1.1 <address> The email account")


def test_complaining_campaigns_and_unverified(month: DailyReport) -> None:
    rows = [
        (c.campaign, c.complaints, c.delivered, c.complaints_window)
        for c in month.complaining_campaigns
    ]
    assert rows == [
        ("spring-sale", 2 + 1, 1080, 3),
        (HOSTILE_CAMPAIGN, 1, 190, 1),
        ("march-digest", 0, 0, 1),
    ]
    u = month.unverified
    assert (u.bounces_day, u.complaints_day, u.bounces_window, u.complaints_window) == (7, 2, 7, 2)
    assert u.diagnostics[0].count == 7


def test_suppression_growth(month: DailyReport) -> None:
    s = month.suppressions
    assert s.totals == {
        "complaint": 4,
        "hard-bounce": 20,
        "import": 1,
        "manual": 5,
        "unsubscribe": 3,
    }
    assert s.added_day == {
        "complaint": 4,
        "hard-bounce": 20,
        "import": 0,
        "manual": 0,
        "unsubscribe": 3,
    }
    assert s.counts["manual"][9] == 5 and sum(s.counts["manual"]) == 5  # 10 March
    assert sum(s.counts["import"]) == 0  # created before the window


def test_blocklist_auth_and_dmarc_sections(month: DailyReport) -> None:
    assert [(b.subject, b.status) for b in month.blocklists] == [
        ("192.0.2.2", "listed"),
        ("192.0.2.1", "ok"),
    ]
    assert month.blocklists[0].since == "2026-03-30 10:00 UTC"
    h = month.blocklist_history
    assert [(x.subject, x.bad_days, x.first_bad, x.last_bad, x.current) for x in h] == [
        ("192.0.2.2", 2, "2026-03-30", "2026-03-31", "listed")
    ]
    assert [(a.key, a.status) for a in month.auth] == [
        ("dkim", "fail"),
        ("dmarc", "warn"),
        ("ptr", "ok"),
        ("spf", "ok"),
    ]
    d = month.dmarc
    assert d is not None
    assert (d.messages, d.passed) == (160, 150) and d.pass_rate == pytest.approx(93.75)
    assert (d.own_messages, d.own_pass_rate) == (150, 100.0)
    assert [
        (f.source_ip, f.messages, f.spf_failed, f.dkim_failed, f.dmarc_failed) for f in d.failing
    ] == [
        ("192.0.2.2", 50, True, False, False),
        ("203.0.113.9", 10, True, True, True),
    ]
    assert d.failing[1].header_from == HOSTILE_FROM and not d.failing[1].own
    assert [(r.org_name, r.reports, r.messages) for r in d.reporters] == [(HOSTILE_ORG, 1, 160)]


def test_verdicts(month: DailyReport) -> None:
    v = {x.key: x for x in month.verdicts}
    assert [x.key for x in month.verdicts] == [
        "complaint-rate", "hard-bounce-rate", "blocklists", "authentication",
        "sender-blocks", "dmarc-alignment", "one-click", "ptr",
    ]  # fmt: skip
    assert v["complaint-rate"].level == "critical"
    assert v["complaint-rate"].value == "0.21 % overall; Yahoo/AOL 0.53 %"
    assert v["hard-bounce-rate"].level == "critical"
    assert v["hard-bounce-rate"].value == "1.00 % overall; Yahoo/AOL 5.00 %"
    assert v["sender-blocks"].level == "warning" and v["sender-blocks"].value == "1.50 % overall"
    assert v["blocklists"].level == "critical" and "zen.spamhaus.org" in v["blocklists"].value
    assert (
        v["authentication"].level == "critical"
        and "DKIM news.example: fail" in v["authentication"].value
    )
    assert v["dmarc-alignment"].level == "ok" and v["dmarc-alignment"].value.startswith("100.00 %")
    assert v["one-click"].level == "ok" and v["ptr"].level == "ok"
    assert all(x.action for x in month.verdicts)


def test_thresholds_are_configurable(store) -> None:
    build_month(store.factory)
    from monitor.config import ReportThresholds

    relaxed = ReportThresholds(complaint_warn=0.6, complaint_critical=0.9, hard_bounce_warn=6.0,
                               hard_bounce_critical=9.0, sender_block_warn=2.0)  # fmt: skip
    v = {x.key: x.level for x in report_of(store, thresholds=relaxed).verdicts}
    assert (v["complaint-rate"], v["hard-bounce-rate"], v["sender-blocks"]) == ("ok", "ok", "ok")
    strict = ReportThresholds(min_volume=5_000)  # nothing has that much volume
    v = {x.key: x.level for x in report_of(store, thresholds=strict).verdicts}
    assert v["complaint-rate"] == "unknown"


def test_without_send_volume_rates_are_not_available(store) -> None:
    """Events but no sent messages (no relay, no send log): counts stand alone."""
    from monitor.store.models import SentMessage

    build_month(store.factory, with_checks=False)
    with store.factory() as s, s.begin():
        s.query(SentMessage).delete()
    r = report_of(store)
    assert not r.volume_known and r.totals.sent == 0
    assert (r.totals.bounce_rate, r.totals.hard_bounce_rate) == (None, None)
    assert r.totals.bounced == 60 and r.totals.complaint_rate is not None  # delivered is known
    v = {x.key: x for x in r.verdicts}
    assert (
        v["hard-bounce-rate"].level == "unknown" and "not available" in v["hard-bounce-rate"].value
    )
    assert v["blocklists"].level == "unknown" and v["dmarc-alignment"].level == "unknown"
    assert r.dmarc is None and r.blocklists == [] and r.auth == []


def test_empty_database_gives_a_report_of_unknowns(store) -> None:
    r = report_of(store)
    assert r.totals.sent == 0 and r.totals.complaint_rate is None
    assert {x.level for x in r.verdicts} == {"unknown"}


def test_top_n_cuts_tables_but_not_complaining_campaigns(month_store) -> None:
    r = report_of(month_store, top_n=2)
    assert [f.key for f in r.by_campaign] == ["spring-sale", "newsletter"]
    assert len(r.by_domain) == 2 and len(r.diagnostics) == 2
    assert [c.campaign for c in r.complaining_campaigns] == ["spring-sale", HOSTILE_CAMPAIGN]


@pytest.mark.parametrize(
    ("statuses", "level", "value"),
    [
        ({"sender.example": "ok"}, "ok", "present in our returned mail (sender.example)"),
        (
            {"sender.example": "fail", "news.example": "warn", "ok.example": "ok"},
            "critical",
            "news.example: not dkim covered; sender.example: list unsubscribe post missing",
        ),
        ({"news.example": "warn"}, "warning", "news.example: not dkim covered"),
    ],
)
def test_one_click_verdict_follows_the_enclosure_checks(
    store, statuses: dict[str, str], level: str, value: str
) -> None:
    """States as the ingester writes them (monitor.commit); the detail is the findings."""
    from monitor.enums import CheckCategory, CheckStatus
    from monitor.store.models import CheckState
    from tests.reports.conftest import NOW

    detail = {"ok": "pass", "fail": "list_unsubscribe_post_missing", "warn": "not_dkim_covered"}
    with store.session() as s, s.begin():
        for domain, status in statuses.items():
            s.add(
                CheckState(
                    category=CheckCategory.AUTH,
                    subject=domain,
                    key="one-click",
                    status=CheckStatus(status),
                    since=NOW,
                    last_checked_at=NOW,
                    detail=detail[status],
                )
            )
    v = {x.key: x for x in report_of(store).verdicts}["one-click"]
    assert (v.level, v.value) == (level, value)
    assert "List-Unsubscribe-Post" in v.action or level == "ok"


def test_one_click_rows_are_explained_and_escaped(store) -> None:
    from monitor.enums import CheckCategory, CheckStatus
    from monitor.store.models import CheckState
    from reports.render import render_daily
    from tests.reports.conftest import NOW

    with store.session() as s, s.begin():
        s.add(
            CheckState(
                category=CheckCategory.AUTH,
                subject="<b>x</b>.example",  # a From domain: it came from an email
                key="one-click",
                status=CheckStatus.FAIL,
                since=NOW,
                last_checked_at=NOW,
                detail="list_unsubscribe_missing",
            )
        )
    html = render_daily(report_of(store))
    assert "ONE-CLICK is not a DNS record" in html and ">ONE-CLICK</th>" in html
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;.example" in html
