"""PTR/FCrDNS, MX, TLS-RPT and MTA-STS checks against loopback DNS (and HTTPS for MTA-STS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.checks.mtasts import POLICY_PATH, check_mta_sts
from monitor.checks.mx import check_mx
from monitor.checks.ptr import check_ptr
from monitor.checks.result import Status
from monitor.checks.tlsrpt import check_tlsrpt
from tests.monitor.checks.helpers import ask
from tests.servers.dns import DNSServer, Zone
from tests.servers.https import HTTPSServer, Response

DATA = Path(__file__).resolve().parents[2] / "data" / "dns"
POLICY = (
    b"version: STSv1\r\nmode: enforce\r\nmx: mx1.example.com\r\n"
    b"mx: *.mail.example.com\r\nmax_age: 604800\r\n"
)


def run(zone: Zone, coro: Any) -> Any:
    with DNSServer(zone) as server:
        return ask(server, coro)


@pytest.fixture(scope="module")
def zone() -> Zone:
    zone = Zone.from_file(DATA / "example.com.zone", "example.com.")
    return zone.update(Zone.load_json(DATA / "reverse.json"))


@pytest.mark.parametrize(
    ("ip", "helo", "status", "findings"),
    [
        ("192.0.2.10", "mail.example.com", Status.PASS, ()),
        ("192.0.2.10", "other.example.com", Status.FAIL, ("helo_mismatch",)),
        ("192.0.2.11", None, Status.FAIL, ("fcrdns_failed",)),
        ("192.0.2.12", None, Status.FAIL, ("ptr_missing",)),
        ("2001:db8::10", "mail.example.com", Status.PASS, ()),
    ],
)
def test_ptr(
    zone: Zone, ip: str, helo: str | None, status: Status, findings: tuple[str, ...]
) -> None:
    result = run(zone, lambda c: check_ptr(c, ip, helo))
    assert result.status is status, result
    assert result.findings == findings


@pytest.mark.parametrize(
    ("domain", "status", "finding"),
    [
        ("example.com", Status.PASS, None),
        ("nullmx.example.com", Status.WARN, "null_mx"),
        ("badnull.example.com", Status.FAIL, "null_mx_with_other_mx"),
        ("cname.example.com", Status.FAIL, "mx_target_is_cname:alias.example.com"),
        ("noaddr.example.com", Status.FAIL, "mx_host_no_address:ghost.example.com"),
        ("implicit.example.com", Status.WARN, "no_mx_implicit_a"),
        ("missing.example.com", Status.FAIL, "domain_missing"),
    ],
)
def test_mx(zone: Zone, domain: str, status: Status, finding: str | None) -> None:
    result = run(zone, lambda c: check_mx(c, domain))
    assert result.status is status, result
    if finding:
        assert finding in result.findings


def test_mx_servfail_is_unknown() -> None:
    result = run(Zone().update({"example.com": ["SERVFAIL"]}), lambda c: check_mx(c, "example.com"))
    assert result.status is Status.UNKNOWN


@pytest.mark.parametrize(
    ("domain", "status", "finding"),
    [
        ("example.com", Status.PASS, None),
        ("nullmx.example.com", Status.WARN, "record_missing"),
        ("badnull.example.com", Status.FAIL, "invalid_rua"),
    ],
)
def test_tlsrpt(zone: Zone, domain: str, status: Status, finding: str | None) -> None:
    result = run(zone, lambda c: check_tlsrpt(c, domain))
    assert result.status is status, result
    if finding:
        assert finding in result.findings


def _sts(zone: Zone, routes: dict[str, Response], names: list[str] | None = None) -> Any:
    with HTTPSServer(routes, names or ["mta-sts.example.com"]) as https:
        result = run(
            zone,
            lambda c: check_mta_sts(
                c, "example.com", context=https.client_context(), port=https.port, timeout=2
            ),
        )
        return result, https.requests


def test_mta_sts_valid_policy(zone: Zone) -> None:
    result, requests = _sts(zone, {POLICY_PATH: Response(body=POLICY)})
    assert result.status is Status.PASS, result
    assert result.details == {"id": "20260101T000000", "mode": "enforce"}
    assert requests == [("mta-sts.example.com", POLICY_PATH)]


def test_mta_sts_mx_outside_policy(zone: Zone) -> None:
    policy = POLICY.replace(b"mx: mx1.example.com\r\n", b"")
    result, _ = _sts(zone, {POLICY_PATH: Response(body=policy)})
    assert result.status is Status.FAIL
    assert "mx_not_in_policy:mx1.example.com" in result.findings


@pytest.mark.parametrize(
    ("response", "finding"),
    [
        (
            Response(301, b"", headers=(("Location", "https://elsewhere.example/"),)),
            "policy_redirect",
        ),
        (Response(404, b"nope"), "policy_http_error"),
        (Response(body=POLICY, content_type="text/html"), "policy_not_text_plain"),
        (Response(body=b"version: STSv1\nmode: enforce\nmax_age: 604800\n"), "missing_mx"),
    ],
)
def test_mta_sts_bad_policy(zone: Zone, response: Response, finding: str) -> None:
    result, _ = _sts(zone, {POLICY_PATH: response})
    assert result.status is Status.FAIL
    assert finding in result.findings


def test_mta_sts_certificate_for_wrong_name_is_refused(zone: Zone) -> None:
    result, _ = _sts(zone, {POLICY_PATH: Response(body=POLICY)}, ["www.example.org"])
    assert result.status is Status.FAIL
    assert "policy_certificate_invalid" in result.findings


def test_mta_sts_missing_record_is_a_warning() -> None:
    result = run(Zone(), lambda c: check_mta_sts(c, "example.com"))
    assert result.status is Status.WARN
    assert result.findings == ("record_missing",)
