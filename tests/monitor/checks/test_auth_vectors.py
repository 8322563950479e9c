"""Every SPF, DMARC and DKIM vector of dns_auth_vectors.json, served by the loopback server."""

from __future__ import annotations

import json
from typing import Any

import pytest

from monitor.checks.dkim import check_dkim
from monitor.checks.dmarc import check_dmarc
from monitor.checks.result import Status
from monitor.checks.spf import check_identity
from parsers.dnsrec.dmarc import DmarcSpec
from tests.monitor.checks.helpers import ask
from tests.servers.dns import DNSServer, Zone
from tests.shared_paths import SHARED

SHARED_DATA = SHARED / "data"
VECTORS = json.loads((SHARED_DATA / "dns_auth_vectors.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("vector", VECTORS["spf"], ids=lambda v: v["id"])
def test_spf_vector(vector: dict[str, Any]) -> None:
    with DNSServer(Zone.from_testsuite(vector["zonedata"])) as server:
        outcome = ask(server, check_identity, vector["host"], vector["mailfrom"], vector["helo"])
    assert outcome.result.value == vector["result"], outcome
    assert {w.value for w in outcome.warnings} >= set(vector["warnings"]), outcome
    if "lookups" in vector:
        assert outcome.lookups == vector["lookups"], outcome


DMARC_CASES = [
    pytest.param(v, spec, id=f"{v['id']}-{spec.value}")
    for v in VECTORS["dmarc"]
    for spec in DmarcSpec
]


@pytest.mark.parametrize(("vector", "spec"), DMARC_CASES)
def test_dmarc_vector(vector: dict[str, Any], spec: DmarcSpec) -> None:
    expected = vector.get("expected_rfc9989") if spec is DmarcSpec.RFC9989 else None
    expected = expected or vector["expected"]
    zone = Zone().update(vector.get("zonedata", {}))
    if vector["record"] is not None:
        zone.add(f"_dmarc.{vector['domain']}", "TXT", vector["record"])
    with DNSServer(zone) as server:
        result = ask(server, check_dmarc, vector["domain"], spec=spec)
    if expected["valid"]:
        assert result.status in (Status.PASS, Status.WARN), result
    else:
        assert result.status is Status.FAIL, result
    if "error" in expected:
        assert expected["error"] in result.findings, result
    assert set(expected.get("warnings", [])) <= set(result.findings), result
    for key in ("policy_source", "effective_policy"):
        if key in expected:
            assert result.details[key] == expected[key], result


@pytest.mark.parametrize("vector", VECTORS["dkim"], ids=lambda v: v["id"])
def test_dkim_vector(vector: dict[str, Any]) -> None:
    zone = Zone().update(
        {f"{vector['selector']}._domainkey.{vector['domain']}": [{"TXT": vector["record"]}]}
    )
    with DNSServer(zone) as server:
        result = ask(server, check_dkim, vector["domain"], vector["selector"])
    expected = vector["expected"]
    assert (result.status is not Status.FAIL) is expected["valid"], result
    if "error" in expected:
        assert expected["error"] in result.findings
    if "key_bits" in expected:
        assert result.details["key_bits"] == str(expected["key_bits"])
    assert set(expected.get("warnings", [])) <= set(result.findings)
    if expected["valid"] and not expected.get("warnings"):
        assert result.status is Status.PASS, result
