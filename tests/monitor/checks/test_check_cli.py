"""``deliverwatch check ...`` end to end against the loopback nameserver: output and exit status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli import main
from tests.servers.dns import DNSServer, Zone

DATA = Path(__file__).resolve().parents[2] / "data" / "dns"
IP = "192.0.2.10"


def _bl_zone(answer: list[object] | None) -> Zone:
    data: dict[str, list[object]] = {"2.0.0.127.bl.spamcop.net": [{"A": "127.0.0.2"}]}
    if answer is not None:
        data["10.2.0.192.bl.spamcop.net"] = answer
    return Zone().update(data)


@pytest.mark.parametrize(
    ("answer", "code", "status"),
    [
        (None, 0, "not_listed"),
        ([{"A": "127.0.0.2"}, {"TXT": "see https://www.spamcop.net/"}], 1, "listed"),
        (["SERVFAIL"], 2, "unknown"),
    ],
)
def test_blocklists_exit_status(
    capsys: pytest.CaptureFixture[str], answer: list[object] | None, code: int, status: str
) -> None:
    with DNSServer(_bl_zone(answer)) as server:
        rc = main(
            [
                "check",
                "blocklists",
                "--ip",
                IP,
                "--zone",
                "bl.spamcop.net",
                "--nameserver",
                server.address,
                "--format",
                "json",
                "--timeout",
                "0.5",
            ]
        )
    out = json.loads(capsys.readouterr().out)
    assert rc == code
    assert [r["status"] for r in out["results"]] == [status]


def test_blocklists_table_says_where_to_delist(capsys: pytest.CaptureFixture[str]) -> None:
    with DNSServer(_bl_zone([{"A": "127.0.0.2"}])) as server:
        rc = main(
            [
                "check",
                "blocklists",
                "--ip",
                IP,
                "--zone",
                "bl.spamcop.net",
                "--nameserver",
                server.address,
            ]
        )
    assert rc == 1
    out = capsys.readouterr().out
    assert "listed" in out and "https://www.spamcop.net/bl.shtml" in out


def _auth_zone() -> Zone:
    zone = Zone.from_file(DATA / "example.com.zone", "example.com.")
    zone.update(Zone.load_json(DATA / "reverse.json"))
    return zone.update(
        {
            "example.com": [{"TXT": "v=spf1 ip4:192.0.2.10 -all"}],
            "_dmarc.example.com": [{"TXT": "v=DMARC1; p=reject; rua=mailto:dmarc@example.com"}],
        }
    )


def test_auth_reports_weak_records_with_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    with DNSServer(_auth_zone()) as server:
        rc = main(
            [
                "check",
                "auth",
                "--domain",
                "example.com",
                "--ip",
                IP,
                "--helo",
                "mail.example.com",
                "--selector",
                "s1",
                "--nameserver",
                server.address,
                "--format",
                "json",
                "--timeout",
                "0.5",
            ]
        )
    results = {(r["kind"], r["subject"]): r for r in json.loads(capsys.readouterr().out)["results"]}
    assert rc == 1  # the DKIM selector s1 is not published
    assert results[("spf", f"example.com [{IP}]")]["status"] == "pass"
    assert results[("dmarc", "_dmarc.example.com")]["status"] == "pass"
    assert results[("ptr", IP)]["status"] == "pass"
    assert results[("dkim", "s1._domainkey.example.com")]["findings"] == ["record_missing"]
    assert results[("mta-sts", "_mta-sts.example.com")]["status"] == "fail"  # no HTTPS here


def test_auth_unauthorised_ip_fails(capsys: pytest.CaptureFixture[str]) -> None:
    with DNSServer(_auth_zone()) as server:
        rc = main(
            [
                "check",
                "auth",
                "--domain",
                "example.com",
                "--ip",
                "198.51.100.1",
                "--nameserver",
                server.address,
                "--format",
                "table",
                "--timeout",
                "0.5",
            ]
        )
    assert rc == 1
    assert "ip4:198.51.100.1" in capsys.readouterr().out
