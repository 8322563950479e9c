"""Issue 16.5: the report's TLS section sets the relay's own connections beside the receivers'
TLS-RPT reports, per policy domain and day, and says when they disagree (real rows on
SQLite and PostgreSQL; received reports parsed and stored as ingestion does)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

from monitor.config import ReportConfig
from monitor.enums import MessageState
from monitor.report.daily import build_report
from monitor.store.ingest_repo import store_tls
from monitor.store.models import SentMessage
from monitor.store.shaping_repo import add_tls_outcomes, tlsrpt_by_domain
from parsers.tlsrpt import parse_tls_report_json
from reports.render import render_daily, report_json

DAY = date(2026, 5, 4)
NOW = datetime(2026, 5, 5, 6, 0, tzinfo=UTC)
OUR_IP = "192.0.2.10"


def tlsrpt(org: str, report_id: str, day: date, policies: list[dict[str, Any]]) -> bytes:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return json.dumps({
        "organization-name": org,
        "date-range": {"start-datetime": start.isoformat().replace("+00:00", "Z"),
                       "end-datetime": (start + timedelta(seconds=86399)).isoformat()
                       .replace("+00:00", "Z")},
        "contact-info": "tls@example",
        "report-id": report_id,
        "policies": policies,
    }).encode()  # fmt: skip


def policy(domain: str, ok: int, failed: int, *details: tuple[str, str, int]) -> dict[str, Any]:
    return {
        "policy": {"policy-type": "sts", "policy-domain": domain,
                   "policy-string": ["version: STSv1", "mode: enforce"], "mx-host": ["mx.x"]},
        "summary": {"total-successful-session-count": ok,
                    "total-failure-session-count": failed},
        "failure-details": [
            {"result-type": t, "sending-mta-ip": ip, "receiving-mx-hostname": "mx.x",
             "failed-session-count": n} for t, ip, n in details
        ],
    }  # fmt: skip


def seed(store: Any) -> None:
    with store.session() as session, session.begin():
        add_tls_outcomes(session, {
            (DAY, "agree.example", "sts-enforce", "tls"): 40,
            (DAY, "agree.example", "opportunistic", "plain"): 2,
            (DAY, "unseen.example", "sts-enforce", "tls"): 10,
            (DAY, "unseen.example", "sts-enforce", "tls-failed"): 3,
            (DAY, "blamed.example", "opportunistic", "tls"): 7,
            (DAY, "quiet.example", "opportunistic", "tls"): 5,
            (DAY + timedelta(days=1), "agree.example", "sts-enforce", "tls-failed"): 9,
        })  # fmt: skip
        session.add(SentMessage(recipient="a@blamed.example", recipient_domain="blamed.example",
                                source_ip=OUR_IP, state=MessageState.DELIVERED,
                                sent_at=datetime(2026, 5, 4, 9, tzinfo=UTC)))  # fmt: skip
        reports = [
            tlsrpt("Google Inc.", "g-1", DAY, [
                policy("agree.example", 40, 0), policy("unseen.example", 13, 0),
                policy("blamed.example", 5, 2, ("certificate-expired", OUR_IP, 2)),
            ]),
            tlsrpt("<b>Evil & Co</b>", "e-1", DAY, [
                policy("agree.example", 1, 1, ("sts-policy-fetch-error", "198.51.100.9", 1)),
            ]),
            tlsrpt("Google Inc.", "g-0", DAY - timedelta(days=1),
                   [policy("quiet.example", 0, 4, ("starttls-not-supported", OUR_IP, 4))]),
        ]  # fmt: skip
        for i, raw in enumerate(reports):
            assert store_tls(session, parse_tls_report_json(raw), fallback_id=str(i),
                             source="test", now=NOW)  # fmt: skip


def test_tls_rpt_policies_of_the_day_are_read_per_domain(store: Any) -> None:
    seed(store)
    with store.session() as session:
        found = sorted(tlsrpt_by_domain(session, DAY))
    assert found == [
        ("<b>Evil & Co</b>", "agree.example", 1, 1,
         (("sts-policy-fetch-error", "198.51.100.9", 1),)),
        ("Google Inc.", "agree.example", 40, 0, ()),
        ("Google Inc.", "blamed.example", 5, 2, (("certificate-expired", OUR_IP, 2),)),
        ("Google Inc.", "unseen.example", 13, 0, ()),
    ]  # fmt: skip


def test_report_sets_our_view_beside_the_reports_with_verdicts(store: Any) -> None:
    seed(store)
    report = build_report(store.factory, day=DAY, cfg=ReportConfig(), timezone="UTC", now=NOW)
    rows = {c.domain: c for c in report.tls_comparison}
    assert sorted(rows) == ["agree.example", "blamed.example", "quiet.example", "unseen.example"]

    agree = rows["agree.example"]  # the next day's failures are not this day's
    assert agree.ours == (("opportunistic", 0, 2, 0), ("sts-enforce", 40, 0, 0))
    assert agree.reporters == ("<b>Evil & Co</b>", "Google Inc.")
    assert (agree.reported_successful, agree.reported_failed) == (41, 1)
    assert agree.failure_types == (("sts-policy-fetch-error", 1),)
    assert agree.reported_failed_from_us == 0  # not our address: no verdict
    assert agree.verdict is None

    unseen = rows["unseen.example"]
    assert unseen.ours == (("sts-enforce", 10, 0, 3),)
    assert unseen.verdict is not None and "saw 3 failed TLS connection(s)" in unseen.verdict

    blamed = rows["blamed.example"]
    assert blamed.reported_failed_from_us == 2
    assert blamed.verdict is not None and "2 failed session(s) from our sending" in blamed.verdict

    quiet = rows["quiet.example"]  # yesterday's report is not compared with today
    assert quiet.reporters == () and quiet.verdict is None

    html = render_daily(report)
    assert "Our TLS view beside received TLS-RPT reports" in html
    assert "<b>Evil" not in html and "&lt;b&gt;Evil &amp; Co&lt;/b&gt;" in html
    assert "sts-enforce: 10 / 0 / 3" in html
    assert "certificate-expired</bdi> 2" in html and "(2 from our addresses)" in html
    assert "unseen.example</bdi>: The relay saw 3 failed TLS" in html
    assert "no report" in html
    doc = json.loads(report_json(report))
    assert {c["domain"] for c in doc["tls_comparison"]} == set(rows)


def test_no_connection_and_no_report_says_so(store: Any) -> None:
    report = build_report(store.factory, day=DAY, cfg=ReportConfig(), timezone="UTC", now=NOW)
    assert report.tls_comparison == []
    assert "No relay connection and no TLS-RPT report" in render_daily(report)
