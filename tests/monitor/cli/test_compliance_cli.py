"""``deliverwatch check compliance`` (issue 15, point 6) against the loopback nameserver, a
real web service for the one-click probe, and facts in the store, with a good setup and a
broken one."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from monitor.checks import compliance
from monitor.checks.auth import AuthPlan
from monitor.enums import CheckCategory, CheckStatus, EventKind, Trust
from monitor.store.models import CheckState, Event, TlsReportRow
from tests.conftest import Store, write_config
from tests.monitor.web.conftest import Clock, make_settings
from tests.servers.dns import DNSServer, Zone
from tests.servers.smtp import free_port
from tests.servers.web import WebServer

IP = "192.0.2.10"
NOW = dt.datetime.now(dt.UTC)


def _key(path: Path) -> str:
    """A 2048-bit RSA key written to ``path``; the p= of its DKIM record."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))  # fmt: skip
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return base64.b64encode(der).decode()


def _zone(p: str, *, good: bool) -> Zone:
    zone = Zone().update({
        "sender.example": [{"TXT": f"v=spf1 ip4:{IP if good else '198.51.100.7'} -all"}],
        "bounce.other.example": [{"TXT": f"v=spf1 ip4:{IP} -all"}],
        "s1._domainkey.sender.example": [{"TXT": f"v=DKIM1; k=rsa; p={p}"}],
        "10.2.0.192.in-addr.arpa": [{"PTR": "mta.sender.example" if good else "x.isp.example"}],
        "mta.sender.example": [{"A": IP}],
    })  # fmt: skip
    if good:
        zone.update(
            {
                "_dmarc.sender.example": [
                    {"TXT": "v=DMARC1; p=reject; rua=mailto:dmarc@sender.example"}
                ]
            }
        )
    return zone


def _config(tmp_path: Path, store: Store, key: Path, public_url: str, *, good: bool) -> Path:
    envelope = "sender.example" if good else "bounce.other.example"
    return write_config(
        tmp_path / "config.toml",
        store.url,
        f"""
[sending]
ips = ["{IP}"]
envelope_domain = "{envelope}"
from_domains = ["sender.example"]
[sending.helo]
"{IP}" = "mta.sender.example"
[sending.dkim."sender.example"]
selectors = ["s1"]
key_file = "{key}"
[web]
public_url = "{public_url}"
""",
    )


def _facts(store: Store, *, complaints: int, delivered: int, tls_failures: int) -> None:
    with store.session() as s, s.begin():
        s.add(
            CheckState(
                category=CheckCategory.AUTH,
                subject="sender.example",
                key="one-click",
                status=CheckStatus.OK if not tls_failures else CheckStatus.FAIL,
                since=NOW,
                last_checked_at=NOW,
                detail=None if not tls_failures else "list_unsubscribe_post_missing",
            )
        )
        s.add(
            TlsReportRow(
                organization_name="Google Inc.",
                report_id="r1",
                start_datetime=NOW - dt.timedelta(days=2),
                total_successful_sessions=500,
                total_failure_sessions=tls_failures,
            )
        )
        for n in range(complaints + delivered):
            kind = EventKind.COMPLAINED if n < complaints else EventKind.DELIVERED
            plain = kind is EventKind.DELIVERED and n < complaints + tls_failures
            s.add(Event(kind=kind, address=f"r{n}@gmail.com", recipient_domain="gmail.com",
                        trust=Trust.LOCAL, source="relay", details={"tls": not plain},
                        occurred_at=NOW - dt.timedelta(days=1), dedupe_key=f"k{n}"))  # fmt: skip


def _run(cli: Any, config: Path, server: DNSServer, *args: str) -> tuple[int, dict[str, Any]]:
    result = cli("--config", config, "check", "compliance", "--nameserver", server.address,
                 "--timeout", "1", "--format", "json", *args)  # fmt: skip
    out = json.loads(result.out)
    assert out["exit"] == result.code
    return result.code, {r["key"] + " " + r["subject"]: r for r in out["requirements"]}


def test_a_good_setup_passes_every_requirement(cli: Any, store: Store, tmp_path: Path) -> None:
    p = _key(tmp_path / "dkim.pem")
    _facts(store, complaints=1, delivered=2000, tls_failures=0)
    with WebServer(make_settings(store, Clock())) as web, DNSServer(_zone(p, good=True)) as dns:
        code, lines = _run(cli, _config(tmp_path, store, tmp_path / "dkim.pem", web.url,
                                        good=True), dns)  # fmt: skip
    assert code == 0, lines
    assert {x["status"] for x in lines.values()} == {"pass"}
    assert "SPF sender.example" in lines["alignment sender.example"]["detail"]
    assert "DKIM d=sender.example" in lines["alignment sender.example"]["detail"]
    tls = lines["tls big providers"]["detail"]
    assert "Gmail: 2000 of 2000 deliveries over TLS" in tls
    assert "Gmail TLS-RPT: 500 session(s) ok, 0 failed" in tls
    assert lines["complaints 7 days"]["detail"].startswith("0.050%")
    assert "HTTP 400" in lines[f"one-click-answers {web.url}/u/{compliance.PROBE_TOKEN}"]["detail"]


def test_a_broken_setup_fails_with_what_to_fix(cli: Any, store: Store, tmp_path: Path) -> None:
    _key(tmp_path / "dkim.pem")
    other = _key(tmp_path / "other.pem")  # the published key is not the one we sign with
    _facts(store, complaints=10, delivered=1000, tls_failures=3)
    down = f"http://127.0.0.1:{free_port()}"
    with DNSServer(_zone(other, good=False)) as dns:
        code, lines = _run(cli, _config(tmp_path, store, tmp_path / "dkim.pem", down,
                                        good=False), dns)  # fmt: skip
    assert code == 1
    failing = {k for k, x in lines.items() if x["status"] == "fail"}
    assert failing == {
        "spf bounce.other.example",  # passes for the IP, but...
        "dkim s1._domainkey.sender.example",
        "dmarc sender.example",
        "alignment sender.example",
        f"ptr {IP}",
        "tls big providers",
        "one-click sender.example",
        f"one-click-answers {down}/u/{compliance.PROBE_TOKEN}",
        "complaints 7 days",
    } - {"spf bounce.other.example"}
    assert lines["spf bounce.other.example"]["status"] == "pass"
    assert "_dmarc.sender.example" in lines["dmarc sender.example"]["fix"]
    assert "1.000%" in lines["complaints 7 days"]["detail"]
    assert "Gmail: 997 of 1000 deliveries over TLS" in lines["tls big providers"]["detail"]
    assert "plain text" in lines["tls big providers"]["fix"]
    assert all(x["fix"] for k, x in lines.items() if k in failing)


def test_dns_that_does_not_answer_is_unknown_not_failed(
    cli: Any, store: Store, tmp_path: Path
) -> None:
    p = _key(tmp_path / "dkim.pem")
    zone = _zone(p, good=True)
    zone.add_marker("_dmarc.sender.example", "SERVFAIL")
    with WebServer(make_settings(store, Clock())) as web, DNSServer(zone) as dns:
        code, lines = _run(cli, _config(tmp_path, store, tmp_path / "dkim.pem", web.url,
                                        good=True), dns)  # fmt: skip
    assert code == 2
    assert lines["dmarc sender.example"]["status"] == "unknown"
    # nothing measured yet in an empty store is not a failure
    assert lines["complaints 7 days"]["status"] == "unmeasured"
    assert lines["tls big providers"]["status"] == "unmeasured"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_stored_states_are_judged_like_live_results(store: Store) -> None:
    """The daily report's input: stored check states, converted and judged the same way."""
    plan = AuthPlan(spf_domains=("sender.example",), from_domains=("sender.example",),
                    ips=(IP,), dkim=(("sender.example", "s1"),))  # fmt: skip
    states = [
        ("spf", f"sender.example [{IP}]", "ok", None),
        ("dkim", "s1._domainkey.sender.example", "ok", None),
        ("dmarc", "_dmarc.sender.example", "fail", "record_missing"),
        ("ptr", IP, "ok", None),
        ("one-click", "sender.example", "ok", None),
    ]
    lines = compliance.judge(compliance.from_states(states), plan, one_click={}, tls={},
                             complaints=(0, 0), probe=None)  # fmt: skip
    by = {x.key: x for x in lines}
    assert by["spf"].status == by["dkim"].status == by["ptr"].status == "pass"
    assert by["dmarc"].status == "fail" and by["alignment"].status == "fail"
    assert by["one-click-answers"].status == "fail"  # no public_url: no link at all
    assert compliance.exit_status(lines) == 1
