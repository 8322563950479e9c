"""SNDS CSV and Postmaster Tools trafficStats, in the documented shapes."""

from __future__ import annotations

import json
from datetime import date

import pytest

from parsers.errors import ParseError
from parsers.feeds import parse_snds_csv, parse_traffic_stats

SNDS = (
    b"192.0.2.10,12/2/2026 12:00 AM,12/2/2026 11:59 PM,10250,10200,10310,GREEN,< 0.1%,"
    b",,0,mail.sender.example,bounce@sender.example,\r\n"
    b'192.0.2.11,12/2/2026 12:00 AM,12/2/2026 11:59 PM,"1,204",1190,1204,RED,0.9%,'
    b"12/2/2026 3:00 AM,12/2/2026 4:00 PM,7,mx2.sender.example,news@sender.example,\r\n"
    b"no data for this period\r\n"
    b"2001:db8::25,12/1/2026 1:00 AM,12/1/2026 10:00 PM,50,50,50,YELLOW,0.3%\r\n"
)

TRAFFIC = {
    "name": "domains/sender.example/trafficStats/20261202",
    "userReportedSpamRatio": 0.0021,
    "ipReputations": [
        {"reputation": "HIGH", "ipCount": "2", "sampleIps": ["192.0.2.10"]},
        {"reputation": "LOW", "ipCount": "1"},
    ],
    "domainReputation": "MEDIUM",
    "spammyFeedbackLoops": [],
    "spfSuccessRatio": 1,
    "dkimSuccessRatio": 0.998,
    "dmarcSuccessRatio": 0.997,
    "outboundEncryptionRatio": 0.99,
    "inboundEncryptionRatio": 1.0,
    "deliveryErrors": [{"errorClass": "TEMPORARY_ERROR", "errorType": "RATE_LIMIT_EXCEEDED",
                        "errorRatio": 0.012}],
}  # fmt: skip


def test_snds_lines_in_the_documented_column_order() -> None:
    good, red, v6 = parse_snds_csv(SNDS)
    assert (good.ip, good.day, good.recipients, good.filter_result) == (
        "192.0.2.10",
        date(2026, 12, 2),
        10310,
        "GREEN",
    )
    assert good.complaint_rate == pytest.approx(0.001) and good.complaint_rate_text == "< 0.1%"
    assert (good.trap_hits, good.sample_helo) == (0, "mail.sender.example")
    assert (red.rcpt_commands, red.filter_result, red.trap_hits) == (1204, "RED", 7)
    assert red.complaint_rate == pytest.approx(0.009)
    assert red.sample_mail_from == "news@sender.example"
    # trailing columns missing: still a row
    assert (v6.ip, v6.day, v6.filter_result, v6.trap_hits) == ("2001:db8::25", date(2026, 12, 1),
                                                               "YELLOW", 0)  # fmt: skip


def test_snds_noise_is_skipped() -> None:
    assert parse_snds_csv(b"") == ()
    assert parse_snds_csv(b"<html>error</html>\n") == ()
    assert parse_snds_csv(b"x,y,z,1,2,3,GREEN,0.1%\n") == ()  # no IP, no date


def test_traffic_stats_fields() -> None:
    day = parse_traffic_stats(json.dumps(TRAFFIC).encode(), domain="sender.example",
                              day=date(2026, 12, 2))  # fmt: skip
    assert day.spam_rate == pytest.approx(0.0021)
    assert day.domain_reputation == "MEDIUM"
    assert day.ip_reputations == (("HIGH", 2), ("LOW", 1))
    assert (day.spf_rate, day.dkim_rate, day.dmarc_rate) == (1.0, 0.998, 0.997)
    assert (day.inbound_encryption_rate, day.outbound_encryption_rate) == (1.0, 0.99)
    assert day.delivery_errors == (("TEMPORARY_ERROR", "RATE_LIMIT_EXCEEDED", 0.012),)


def test_traffic_stats_with_little_data_and_bad_values() -> None:
    day = parse_traffic_stats(
        b'{"name": "x", "userReportedSpamRatio": 7, "domainReputation": "GREAT"}',
        domain="d",
        day=date(2026, 1, 1),
    )
    assert day.spam_rate is None and day.domain_reputation is None and day.ip_reputations == ()
    with pytest.raises(ParseError):
        parse_traffic_stats(b"[1]", domain="d", day=date(2026, 1, 1))
    with pytest.raises(ParseError):
        parse_traffic_stats(b"<html>", domain="d", day=date(2026, 1, 1))
