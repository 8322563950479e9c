"""MTA-STS for outbound delivery (RFC 8461, issue 16 point 5): the policy is fetched over HTTPS
from a loopback server through the loopback DNS server; in ``enforce`` mode an MX with a
certificate that does not verify, or without STARTTLS, gets nothing, one with a right
certificate gets the mail over TLS. DANE (RFC 7672) is tested in ``test_dane``."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from monitor.config import ReportConfig
from monitor.enums import MessageState
from monitor.report.daily import build_report
from monitor.store.shaping_repo import tls_outcomes
from reports.render import render_daily
from tests.monitor.relay.delivery_kit import (
    T0,
    Clock,
    enqueue,
    final,
    message,
    publish,
    rows,
    running,
    settings,
    until,
)
from tests.servers.dns import DNSServer
from tests.servers.https import HTTPSServer, Response, _cert
from tests.servers.smtp import SmtpSink, self_signed_context

POLICY_PATH = "/.well-known/mta-sts.txt"
MX = "mx.dest.example"


class MxAuthority:
    """A CA of our own and a server context for ``MX`` signed by it."""

    def __init__(self, folder: Path) -> None:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mx test CA")])
        ca = _cert("mx test CA", key, name, key, ca=True, names=[])
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        leaf = _cert(MX, leaf_key, name, key, ca=False, names=[MX])
        self.ca_pem = ca.public_bytes(serialization.Encoding.PEM)
        pair = folder / "mx.pem"
        pair.write_bytes(
            leaf.public_bytes(serialization.Encoding.PEM)
            + leaf_key.private_bytes(serialization.Encoding.PEM,
                                     serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption())
        )  # fmt: skip
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.load_cert_chain(pair)


def policy(mode: str, mx: str = MX) -> bytes:
    return f"version: STSv1\r\nmode: {mode}\r\nmx: {mx}\r\nmax_age: 86400\r\n".encode()


def deliver_with_policy(store: Any, dns: DNSServer, port: int, tmp_path: Path, body: bytes,
                        **sink: Any) -> tuple[Any, Any, HTTPSServer]:  # fmt: skip
    publish(dns, "dest.example", (10, MX, "127.0.0.2"))
    dns.zone.add("_mta-sts.dest.example", "TXT", "v=STSv1; id=20260401T000000")
    dns.zone.add("mta-sts.dest.example", "A", "127.0.0.1")
    enqueue(store, message("AAA", "ann@dest.example"))
    authority = MxAuthority(tmp_path)
    with HTTPSServer({POLICY_PATH: Response(body=body)}, ["mta-sts.dest.example"]) as https:
        bundle = tmp_path / "trust.pem"
        bundle.write_bytes(https.ca_file.read_bytes() + authority.ca_pem)
        config = settings(dns, port, mta_sts=True, mta_sts_port=https.port,
                          tls_ca_file=str(bundle))  # fmt: skip
        context = sink.pop("context", None)
        tls = authority.context if context == "right" else context

        async def go() -> None:
            async with running(store, config, Clock()):
                await until(final(store, "ann@dest.example"), 15)

        with SmtpSink("127.0.0.2", port, tls_context=tls, **sink) as mx:
            asyncio.run(go())
        return rows(store)["ann@dest.example"], mx, https


def test_enforce_refuses_an_mx_whose_certificate_does_not_verify(
    store, dns, port, tmp_path
) -> None:
    row, mx, https = deliver_with_policy(store, dns, port, tmp_path, policy("enforce"),
                                         context=self_signed_context("sink.test"))  # fmt: skip
    assert https.requests == [("mta-sts.dest.example", POLICY_PATH)]
    assert mx.messages == [] and row.state is MessageState.DEFERRED
    assert "4.7.5" in (row.last_reply or "") and "certificate" in (row.last_reply or "").lower()
    with store.session() as session:
        found = tls_outcomes(session, T0.date())
    assert found and {(d, p, o) for d, p, o, _ in found} == {
        ("dest.example", "sts-enforce", "tls-failed")
    }


def test_enforce_refuses_an_mx_without_starttls(store, dns, port, tmp_path) -> None:
    row, mx, _ = deliver_with_policy(store, dns, port, tmp_path, policy("enforce"))
    assert mx.messages == [] and row.state is MessageState.DEFERRED
    assert "did not offer STARTTLS" in (row.last_reply or "")


def test_enforce_delivers_over_tls_to_an_mx_with_a_right_certificate(
    store, dns, port, tmp_path
) -> None:
    row, mx, _ = deliver_with_policy(store, dns, port, tmp_path, policy("enforce"),
                                     context="right")  # fmt: skip
    assert row.state is MessageState.DELIVERED
    assert [m.tls for m in mx.messages] == [True]
    with store.session() as session:  # our own view of TLS, for the report
        assert tls_outcomes(session, T0.date()) == [("dest.example", "sts-enforce", "tls", 1)]
    report = build_report(store.factory, day=T0.date(), cfg=ReportConfig(), timezone="UTC",
                          now=T0)  # fmt: skip
    assert [(t.domain, t.policy, t.outcome) for t in report.relay_tls] == [
        ("dest.example", "sts-enforce", "tls")
    ]
    assert "TLS of the relay&#39;s connections" in render_daily(report) or (
        "TLS of the relay's connections" in render_daily(report)
    )


def test_enforce_uses_only_the_mx_hosts_the_policy_lists(store, dns, port, tmp_path) -> None:
    row, mx, _ = deliver_with_policy(store, dns, port, tmp_path,
                                     policy("enforce", mx="mx.elsewhere.example"),
                                     context="right")  # fmt: skip
    assert mx.messages == [] and row.state is MessageState.DEFERRED
    assert "no MX host of dest.example matches its policy" in (row.last_reply or "")


def test_testing_mode_still_delivers_opportunistically(store, dns, port, tmp_path) -> None:
    row, mx, _ = deliver_with_policy(store, dns, port, tmp_path, policy("testing"),
                                     context=self_signed_context("sink.test"))  # fmt: skip
    assert row.state is MessageState.DELIVERED and [m.tls for m in mx.messages] == [True]
