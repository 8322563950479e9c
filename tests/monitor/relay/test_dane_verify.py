"""Matching a server's certificate chain against TLSA records (RFC 7672 3.1, RFC 6698 2.1):
DANE-EE by certificate or key, full or digest, blind to names and dates; DANE-TA by a
certificate of the chain that issued the leaf, which must name the MX host or the domain;
PKIX usages are unusable for SMTP."""

from __future__ import annotations

import datetime
import hashlib

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from monitor.relay.delivery.dane import Tlsa, usable, verify_chain

NOW = datetime.datetime(2026, 12, 3, 12, 0, tzinfo=datetime.UTC)
NAMES = ["mx.dest.example", "dest.example"]


def cert(subject: str, key: ec.EllipticCurvePrivateKey, *, issuer: str | None = None,
         signer: ec.EllipticCurvePrivateKey | None = None, names: tuple[str, ...] = (),
         ca: bool = False, days: tuple[int, int] = (-1, 30)) -> x509.Certificate:  # fmt: skip
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer or subject)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW + datetime.timedelta(days=days[0]))
        .not_valid_after(NOW + datetime.timedelta(days=days[1]))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
        )
    return builder.sign(signer or key, hashes.SHA256())


def der(c: x509.Certificate) -> bytes:
    return c.public_bytes(serialization.Encoding.DER)


def spki(c: x509.Certificate) -> bytes:
    return c.public_key().public_bytes(serialization.Encoding.DER,
                                       serialization.PublicFormat.SubjectPublicKeyInfo)  # fmt: skip


KEY = ec.generate_private_key(ec.SECP256R1())
LEAF = cert("elsewhere", KEY, names=("other.example",), days=(-400, -10))  # expired, wrong name
CA_KEY = ec.generate_private_key(ec.SECP256R1())
CA = cert("test CA", CA_KEY, ca=True)
ISSUED = cert("mx", ec.generate_private_key(ec.SECP256R1()), issuer="test CA", signer=CA_KEY,
              names=("mx.dest.example",))  # fmt: skip


def test_dane_ee_matches_by_certificate_or_key_full_or_digest() -> None:
    for selector, selected in ((0, der(LEAF)), (1, spki(LEAF))):
        for mtype, data in ((0, selected), (1, hashlib.sha256(selected).digest()),
                            (2, hashlib.sha512(selected).digest())):  # fmt: skip
            record = Tlsa(3, selector, mtype, data)
            assert verify_chain([record], [der(LEAF)], NAMES, NOW) is None, record


def test_dane_ee_mismatch_is_refused() -> None:
    record = Tlsa(3, 1, 1, bytes(32))
    why = verify_chain([record], [der(LEAF)], NAMES, NOW)
    assert why is not None and "matches none" in why
    assert verify_chain([record], [], NAMES, NOW) == "no certificate"


def test_pkix_usages_are_unusable_for_smtp() -> None:
    pkix = [Tlsa(u, 1, 1, hashlib.sha256(spki(LEAF)).digest()) for u in (0, 1)]
    assert usable(pkix) == ()
    assert usable([Tlsa(3, 1, 9, b"x"), Tlsa(3, 2, 1, b"x")]) == ()
    assert verify_chain(pkix, [der(LEAF)], NAMES, NOW) is not None


def test_dane_ta_accepts_a_leaf_issued_by_the_anchor_naming_the_mx() -> None:
    record = Tlsa(2, 0, 1, hashlib.sha256(der(CA)).digest())
    assert verify_chain([record], [der(ISSUED), der(CA)], NAMES, NOW) is None
    by_key = Tlsa(2, 1, 2, hashlib.sha512(spki(CA)).digest())
    assert verify_chain([by_key], [der(ISSUED), der(CA)], NAMES, NOW) is None


def test_dane_ta_checks_names_issuer_and_dates() -> None:
    record = Tlsa(2, 0, 1, hashlib.sha256(der(CA)).digest())
    chain = [der(ISSUED), der(CA)]
    why = verify_chain([record], chain, ["mx.other.example", "other.example"], NOW)
    assert why is not None and "names none" in why
    stranger = cert("mx", KEY, issuer="test CA", signer=KEY, names=("mx.dest.example",))
    assert verify_chain([record], [der(stranger), der(CA)], NAMES, NOW) is not None
    late = NOW + datetime.timedelta(days=60)
    assert verify_chain([record], chain, NAMES, late) is not None
    assert verify_chain([record], [der(ISSUED)], NAMES, NOW) is not None  # anchor not sent


def test_wildcard_names_cover_one_label() -> None:
    wild = cert("mx", ec.generate_private_key(ec.SECP256R1()), issuer="test CA", signer=CA_KEY,
                names=("*.dest.example",))  # fmt: skip
    record = Tlsa(2, 0, 1, hashlib.sha256(der(CA)).digest())
    assert verify_chain([record], [der(wild), der(CA)], NAMES, NOW) is None
    assert verify_chain([record], [der(wild), der(CA)], ["a.mx.dest.example"], NOW) is not None


def test_tlsa_presentation_form() -> None:
    assert Tlsa.parse("3 1 1 AB CD") == Tlsa(3, 1, 1, b"\xab\xcd")
