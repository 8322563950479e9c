"""DANE for outbound delivery (RFC 7672, issue 16 point 5) against a real validating resolver:
a private Unbound (``tests.servers.unbound``) whose trust anchor is the DS of a zone signed on
the loopback DNS server (``tests.servers.signed``). A matching DANE-EE TLSA record gets the
mail over TLS; a wrong digest or a sink without STARTTLS gets nothing (4.7.5); the same TLSA
record in an unsigned zone is ignored (opportunistic TLS as before). RFC 7672 2.2.2: an MX
host whose address is insecure (a CNAME into the unsigned zone) gets no DANE, one whose
address is bogus is not used; a secure CNAME's target is the first TLSA base domain."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from monitor.enums import MessageState
from monitor.store.shaping_repo import tls_outcomes
from tests.monitor.relay.delivery_kit import (
    T0,
    Clock,
    enqueue,
    final,
    message,
    rows,
    running,
    settings,
    until,
)
from tests.servers.https import HTTPSServer, Response, _cert
from tests.servers.signed import SignedDNSServer, SignedZone
from tests.servers.smtp import SmtpSink, free_port
from tests.servers.unbound import Unbound


@dataclass
class Rig:
    dns: SignedDNSServer
    resolver: Unbound
    pair: Path  # the sinks' certificate and key (PEM)
    ta_pair: Path  # a leaf for mx.ta.dest.example issued by a CA, the CA, the key


def _pair(folder: Path) -> tuple[Path, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sink.test")])
    cert = _cert("sink.test", key, name, key, ca=False, names=["sink.test"])
    spki = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pair = folder / "sink.pem"
    pair.write_bytes(cert.public_bytes(serialization.Encoding.PEM)
                     + key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))  # fmt: skip
    return pair, hashlib.sha256(spki).hexdigest()


def _ta_pair(folder: Path) -> tuple[Path, str]:
    """A chain (leaf naming mx.ta.dest.example, then its CA) and the CA's SHA-256."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dane test CA")])
    ca = _cert("dane test CA", ca_key, ca_name, ca_key, ca=True, names=[])
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = _cert("mx", key, ca_name, ca_key, ca=False, names=["mx.ta.dest.example"])
    pair = folder / "ta.pem"
    pair.write_bytes(leaf.public_bytes(serialization.Encoding.PEM)
                     + ca.public_bytes(serialization.Encoding.PEM)
                     + key.private_bytes(serialization.Encoding.PEM,
                                         serialization.PrivateFormat.PKCS8,
                                         serialization.NoEncryption()))  # fmt: skip
    return pair, hashlib.sha256(ca.public_bytes(serialization.Encoding.DER)).hexdigest()


def _domain(name: str, tlsa: str) -> list[tuple[str, str, str]]:
    """MX ``mx.<name>`` at 127.0.0.2 with one TLSA record (names relative to the zone)."""
    return [(name, "MX", f"10 mx.{name}"), (f"mx.{name}", "A", "127.0.0.2"),
            (f"_25._tcp.mx.{name}", "TLSA", tlsa)]  # fmt: skip


@pytest.fixture(scope="session")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    folder = tmp_path_factory.mktemp("dane")
    pair, digest = _pair(folder)
    ta_pair, ta_digest = _ta_pair(folder)
    signed = SignedZone("dest.example", [
        *_domain("good", f"3 1 1 {digest}"),
        *_domain("wrong", f"3 1 1 {'00' * 32}"),
        *_domain("plain", f"3 1 1 {digest}"),
        *_domain("pkix", f"1 1 1 {digest}"),
        *_domain("ta", f"2 0 1 {ta_digest}"),
        *_domain("sts", f"3 1 1 {digest}"),
        ("_mta-sts.sts", "TXT", '"v=STSv1; id=1"'), ("mta-sts.sts", "A", "127.0.0.1"),
        ("bogustlsa", "MX", "10 mx.bogustlsa"), ("mx.bogustlsa", "A", "127.0.0.2"),
        ("mx.bogusmx", "A", "127.0.0.2"),
        # RFC 7672 2.2.2: hosts whose addresses are not secure, or that are CNAMEs
        ("alias", "MX", "10 mx.alias"), ("mx.alias", "CNAME", "mx.alias.insecure.example."),
        ("_25._tcp.mx.alias", "TLSA", f"3 1 1 {'00' * 32}"),
        ("bogusaddr", "MX", "10 mx.bogusaddr"),
        ("_25._tcp.mx.bogusaddr", "TLSA", f"3 1 1 {digest}"),
        ("second", "MX", "10 mx1.second"), ("second", "MX", "20 mx2.second"),
        ("_25._tcp.mx1.second", "TLSA", f"3 1 1 {digest}"),
        ("mx2.second", "A", "127.0.0.2"), ("_25._tcp.mx2.second", "TLSA", f"3 1 1 {digest}"),
        ("cname", "MX", "10 mx.cname"), ("mx.cname", "CNAME", "mx.target.cname"),
        ("mx.target.cname", "A", "127.0.0.2"),
        ("_25._tcp.mx.target.cname", "TLSA", f"3 1 1 {digest}"),
        ("_25._tcp.mx.cname", "TLSA", f"3 1 1 {'00' * 32}"),
        ("fallback", "MX", "10 mx.fallback"), ("mx.fallback", "CNAME", "mx.target.fallback"),
        ("mx.target.fallback", "A", "127.0.0.2"),
        ("_25._tcp.mx.fallback", "TLSA", f"3 1 1 {'00' * 32}"),
        ("tacname", "MX", "10 mx.tacname"), ("mx.tacname", "CNAME", "mx.ta"),
    ], unsigned=[
        ("_25._tcp.mx.bogustlsa", "TLSA", f"3 1 1 {digest}"),
        ("bogusmx", "MX", "10 mx.bogusmx"),
        ("mx.bogusaddr", "A", "127.0.0.2"),
        ("mx1.second", "A", "127.0.0.3"),
    ])  # fmt: skip
    unsigned = SignedZone("insecure.example", [
        *_domain("any", f"3 1 1 {'00' * 32}"),
        ("mx.alias", "A", "127.0.0.2"),
    ], signed=False)  # fmt: skip
    with SignedDNSServer([signed, unsigned]) as dns:
        where = f"127.0.0.1@{dns.port}"
        stubs = {"dest.example": where, "insecure.example": where}
        with Unbound(folder, stubs=stubs, anchors=[signed.ds]) as resolver:
            yield Rig(dns, resolver, pair, ta_pair)


def deliver(store: Any, rig: Rig, domain: str, *, tls: bool, pair: Path | None = None,
            port: int | None = None, sni: list[str | None] | None = None,
            **more: Any) -> tuple[Any, SmtpSink]:  # fmt: skip
    port = port or free_port("127.0.0.1")
    recipient = f"ann@{domain}"
    enqueue(store, message("AAA", recipient))
    config = settings(rig.dns, port, dane_resolver=rig.resolver.address, **more)
    context = None
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(pair or rig.pair)
        if sni is not None:  # the names the relay asks for (RFC 6066 3)
            context.sni_callback = lambda _obj, name, _ctx: sni.append(name)

    async def go() -> None:
        async with running(store, config, Clock()):
            await until(final(store, recipient), 15)

    with SmtpSink("127.0.0.2", port, tls_context=context) as mx:
        asyncio.run(go())
    return rows(store)[recipient], mx


def outcomes(store: Any) -> set[tuple[str, str, str]]:
    with store.session() as session:
        return {(d, p, o) for d, p, o, _ in tls_outcomes(session, T0.date())}


def test_a_matching_dane_ee_record_gets_the_mail_over_tls(store, rig) -> None:
    row, mx = deliver(store, rig, "good.dest.example", tls=True)
    assert row.state is MessageState.DELIVERED
    assert [m.tls for m in mx.messages] == [True]
    assert outcomes(store) == {("good.dest.example", "dane", "tls")}


def test_a_wrong_tlsa_digest_defers_with_4_7_5(store, rig) -> None:
    row, mx = deliver(store, rig, "wrong.dest.example", tls=True)
    assert mx.messages == [] and row.state is MessageState.DEFERRED
    assert "4.7.5" in (row.last_reply or "") and "DANE" in (row.last_reply or "")
    assert outcomes(store) == {("wrong.dest.example", "dane", "tls-failed")}


def test_an_mx_without_starttls_under_dane_gets_nothing(store, rig) -> None:
    row, mx = deliver(store, rig, "plain.dest.example", tls=False)
    assert mx.messages == [] and row.state is MessageState.DEFERRED
    assert "4.7.5" in (row.last_reply or "") and "did not offer STARTTLS" in (row.last_reply or "")


def test_only_pkix_records_still_require_tls(store, rig) -> None:
    """RFC 7672 2.2/3.1.3: a secure RRset with no usable record means encryption without
    authentication: any certificate, but never plain text."""
    row, mx = deliver(store, rig, "pkix.dest.example", tls=True)
    assert row.state is MessageState.DELIVERED and [m.tls for m in mx.messages] == [True]


def test_tlsa_records_of_an_insecure_zone_are_ignored(store, rig) -> None:
    row, mx = deliver(store, rig, "any.insecure.example", tls=False)
    assert row.state is MessageState.DELIVERED and [m.tls for m in mx.messages] == [False]
    assert outcomes(store) == {("any.insecure.example", "opportunistic", "plain")}


def test_a_dane_ta_record_accepts_a_chain_from_its_anchor(store, rig) -> None:
    row, mx = deliver(store, rig, "ta.dest.example", tls=True, pair=rig.ta_pair)
    assert row.state is MessageState.DELIVERED and [m.tls for m in mx.messages] == [True]
    assert outcomes(store) == {("ta.dest.example", "dane", "tls")}


def test_a_dane_ta_record_refuses_a_certificate_from_elsewhere(store, rig) -> None:
    row, mx = deliver(store, rig, "ta.dest.example", tls=True)  # the self-signed sink pair
    assert mx.messages == [] and row.state is MessageState.DEFERRED
    assert "4.7.5 DANE" in (row.last_reply or "")


def test_dane_takes_precedence_over_mta_sts(store, rig) -> None:
    """RFC 8461 2: the MTA-STS policy (enforce, listing another MX) would defer the mail;
    with secure TLSA records DANE decides, and the policy is not even fetched."""
    body = b"version: STSv1\r\nmode: enforce\r\nmx: mx.elsewhere.example\r\nmax_age: 86400\r\n"
    with HTTPSServer({"/.well-known/mta-sts.txt": Response(body=body)},
                     ["mta-sts.sts.dest.example"]) as https:  # fmt: skip
        row, mx = deliver(store, rig, "sts.dest.example", tls=True, mta_sts=True,
                          mta_sts_port=https.port, tls_ca_file=str(https.ca_file))  # fmt: skip
    assert row.state is MessageState.DELIVERED and [m.tls for m in mx.messages] == [True]
    assert https.requests == []
    assert outcomes(store) == {("sts.dest.example", "dane", "tls")}


@pytest.mark.parametrize(("domain", "why"), [("bogustlsa", "TLSA lookup failed"),
                                             ("bogusmx", "MX lookup of")])  # fmt: skip
def test_a_bogus_answer_defers_rather_than_downgrades(store, rig, domain, why) -> None:
    """RFC 7672 2.1/2.2: records without valid signatures (SERVFAIL from the validating
    resolver) are a temporary failure, never a reason to deliver without DANE."""
    row, mx = deliver(store, rig, f"{domain}.dest.example", tls=True)
    assert mx.messages == [] and row.state is MessageState.DEFERRED
    assert "4.7.5 DANE" in (row.last_reply or "") and why in (row.last_reply or "")


def test_a_cname_into_an_unsigned_zone_is_not_dane(store, rig) -> None:
    """RFC 7672 2.2.2: the MX RRset is secure and a (wrong) TLSA record sits, signed, at the
    MX host's own name, but the host is a CNAME into an unsigned zone: its address is
    forgeable, so DANE does not apply and the TLSA records are not even asked for. The mail
    goes with opportunistic TLS, recorded as such."""
    row, mx = deliver(store, rig, "alias.dest.example", tls=True)
    assert row.state is MessageState.DELIVERED and [m.tls for m in mx.messages] == [True]
    assert outcomes(store) == {("alias.dest.example", "opportunistic", "tls")}


def test_a_bogus_address_defers_rather_than_downgrades(store, rig) -> None:
    """RFC 7672 2.2.2: the MX host's A record has no valid signature (SERVFAIL from the
    validating resolver). Its matching TLSA record is not used: the only host is not
    tried, the mail waits (4.7.5), as after a failed TLSA lookup."""
    row, mx = deliver(store, rig, "bogusaddr.dest.example", tls=True)
    assert mx.messages == [] and row.state is MessageState.DEFERRED
    assert "4.7.5 DANE: address lookup failed" in (row.last_reply or "")


def test_a_host_with_a_bogus_address_is_skipped_for_the_next(store, rig) -> None:
    """The first MX host (127.0.0.3) has a bogus address and a matching TLSA record: it is
    never connected to; the second, secure, gets the mail under DANE."""
    port = free_port("127.0.0.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(rig.pair)
    with SmtpSink("127.0.0.3", port, tls_context=context) as first:
        row, second = deliver(store, rig, "second.dest.example", tls=True, port=port)
    assert first.messages == []
    assert row.state is MessageState.DELIVERED and [m.tls for m in second.messages] == [True]
    assert ("second.dest.example", "dane", "tls") in outcomes(store)


def test_a_secure_cname_is_looked_up_at_its_target_first(store, rig) -> None:
    """RFC 7672 2.2.2: the MX host is a secure CNAME; the TLSA records of the expanded name
    (matching) come before those of the alias (a wrong digest, never looked at), and the
    expanded name is the one asked for in SNI."""
    sni: list[str | None] = []
    row, mx = deliver(store, rig, "cname.dest.example", tls=True, sni=sni)
    assert row.state is MessageState.DELIVERED and [m.tls for m in mx.messages] == [True]
    assert outcomes(store) == {("cname.dest.example", "dane", "tls")}
    assert sni == ["mx.target.cname.dest.example"]  # RFC 7672 8.1: the TLSA base domain


def test_a_secure_cname_without_tlsa_at_its_target_uses_the_alias(store, rig) -> None:
    """RFC 7672 2.2.2: no TLSA record at the expanded name, so the MX host name is the next
    TLSA base domain; its record (a wrong digest) applies."""
    row, mx = deliver(store, rig, "fallback.dest.example", tls=True)
    assert mx.messages == [] and row.state is MessageState.DEFERRED
    assert "4.7.5 DANE: certificate of mx.fallback.dest.example" in (row.last_reply or "")


def test_a_dane_ta_certificate_may_name_the_expanded_host(store, rig) -> None:
    """RFC 7672 3.2.2: through the CNAME mx.tacname -> mx.ta, the TLSA base domain is
    mx.ta.dest.example, the only name in the server's certificate: it is accepted."""
    row, mx = deliver(store, rig, "tacname.dest.example", tls=True, pair=rig.ta_pair)
    assert row.state is MessageState.DELIVERED and [m.tls for m in mx.messages] == [True]
    assert outcomes(store) == {("tacname.dest.example", "dane", "tls")}
