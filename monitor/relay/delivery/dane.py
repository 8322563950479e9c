"""DANE for outbound SMTP (RFC 7672; TLSA records RFC 6698, their names RFC 7218).

DANE is only as good as the DNSSEC under it, and this relay does not validate DNSSEC itself:
it asks a configured validating resolver (``[relay] dane_resolver``, e.g. a local Unbound)
and believes an answer only when it carries the AD bit. Per destination (RFC 7672 2.2):

* the MX RRset must be secure (AD), else a forged MX name could bring its own TLSA records:
  DANE does not apply and the destination is served as without it (2.2.1); an MX lookup
  that fails at the validating resolver (SERVFAIL: bogus, or no answer) defers the
  destination (2.1: a lookup failure is temporary, never a reason to go without DANE);
* per MX host, its address records first (2.2.2): DANE applies only to a host whose A and
  AAAA answers are secure, since an attacker who can forge the addresses can send us to
  his own server whatever TLSA records sit at the name. Insecure (an unsigned zone, or a
  CNAME from a signed zone into one) -> no TLSA lookup, the host gets opportunistic TLS;
  failed (SERVFAIL: bogus or unreachable) or secure with no address at all -> that host
  is not used now, like a failed TLSA lookup below;
* then the TLSA base domains (2.2.2): when the secure address answer came through CNAMEs,
  the fully expanded name first, then the MX host name; else the MX host name alone. At
  each ``_25._tcp.<base>``: secure with usable records -> TLS is mandatory and the
  certificate must match one of them (``dane``); secure but none usable -> TLS is
  mandatory, unauthenticated (RFC 7672 2.2, Postfix's "encrypt"); absent or insecure -> the
  next base, and after the last DANE does not apply; a lookup that fails (SERVFAIL: bogus
  or unreachable) -> that host is not used now (deferred, 4.7.5) rather than downgraded
  (2.2). The base that answered is the TLS SNI name (8.1) and a name a DANE-TA certificate
  may carry, beside the MX host name and the destination domain (3.2.2).

Usable records (RFC 7672 3.1): DANE-TA(2) and DANE-EE(3), selector Cert(0) or SPKI(1),
matching Full(0), SHA2-256(1), SHA2-512(2). PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP
(3.1.3). DANE-EE matches the server's own certificate and ignores its names and dates
(3.1.1); DANE-TA matches a certificate of the chain the server sent, and the leaf must be
issued (through that chain) by it and carry the TLSA base domain, the MX host or the
destination domain as a DNS name (3.1.2, 3.2.2), within its validity dates.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization

from monitor.config.values import nameserver_address

__all__ = ["DaneCache", "DaneHost", "Tlsa", "usable", "verify_chain"]

#: Longest a DNSSEC answer is believed here (its TTL otherwise), and a failed lookup.
MAX_CACHE_SECONDS = 3600.0
FAILED_SECONDS = 30.0

DANE_TA, DANE_EE = 2, 3


@dataclass(frozen=True, slots=True)
class Tlsa:
    usage: int
    selector: int
    mtype: int
    data: bytes

    @classmethod
    def parse(cls, text: str) -> Tlsa:
        """From presentation form, ``"3 1 1 ab12..."``."""
        usage, selector, mtype, *hexes = text.split()
        return cls(int(usage), int(selector), int(mtype), bytes.fromhex("".join(hexes)))


def usable(records: Sequence[Tlsa]) -> tuple[Tlsa, ...]:
    """The records an SMTP client may use (module docstring)."""
    return tuple(
        r for r in records
        if r.usage in (DANE_TA, DANE_EE) and r.selector in (0, 1) and r.mtype in (0, 1, 2)
    )  # fmt: skip


def _matches(record: Tlsa, cert: x509.Certificate) -> bool:
    if record.selector == 0:
        selected = cert.public_bytes(serialization.Encoding.DER)
    else:
        selected = cert.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    if record.mtype == 1:
        selected = hashlib.sha256(selected).digest()
    elif record.mtype == 2:
        selected = hashlib.sha512(selected).digest()
    return hmac.compare_digest(selected, record.data)


def _names(cert: x509.Certificate) -> list[str]:
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [n.lower().rstrip(".") for n in ext.value.get_values_for_type(x509.DNSName)]


def _name_ok(pattern: str, name: str) -> bool:
    """RFC 6125 matching: exact, or a wildcard for the whole leftmost label."""
    if pattern == name:
        return True
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return False


def verify_chain(
    records: Sequence[Tlsa], chain: Sequence[bytes], names: Sequence[str], now: datetime
) -> str | None:
    """None when the server's ``chain`` (DER, leaf first) matches a usable record, else
    why not (module docstring). ``names``: the TLSA base domain, the MX host and the
    destination domain (``DaneHost.names``)."""
    if not chain:
        return "no certificate"
    try:
        certs = [x509.load_der_x509_certificate(der) for der in chain]
    except ValueError:
        return "a certificate that cannot be read"
    leaf = certs[0]
    records = usable(records)
    if any(r.usage == DANE_EE and _matches(r, leaf) for r in records):
        return None  # DANE-EE: the key is the authority; names and dates are not looked at
    anchors = [r for r in records if r.usage == DANE_TA]
    if not anchors:
        return "the certificate matches none of the TLSA records"
    wanted = {n.lower().rstrip(".") for n in names}
    if not any(_name_ok(p, n) for p in _names(leaf) for n in wanted):
        return f"the certificate names none of {', '.join(sorted(wanted))}"
    for index, cert in enumerate(certs):
        if not any(_matches(r, cert) for r in anchors):
            continue
        if _issued(certs[: index + 1], now):
            return None
    return "no certificate of the chain matches a DANE-TA record and issued the server's"


def _issued(path: list[x509.Certificate], now: datetime) -> bool:
    """Each certificate issued by the next and within its dates (the last is the anchor)."""
    for cert in path[:-1]:
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            return False
    for child, parent in itertools.pairwise(path):
        try:
            child.verify_directly_issued_by(parent)
        except (ValueError, TypeError, InvalidSignature):
            return False
    return True


@dataclass(frozen=True, slots=True)
class DaneHost:
    """What DANE asks of one MX host: ``records`` to match (empty: encrypt only), or
    ``failure`` (a lookup failed; do not use the host now)."""

    host: str
    records: tuple[Tlsa, ...] = ()
    failure: str = ""
    domain: str = ""  # the destination (a name DANE-TA certificates may carry)
    base: str = ""  # the TLSA base domain: the host or its CNAME-expanded name (2.2.2)

    @property
    def server_name(self) -> str:
        """The name sent as SNI (RFC 7672 8.1: the TLSA base domain)."""
        return self.base or self.host

    @property
    def names(self) -> list[str]:
        """The names a DANE-TA certificate may carry (RFC 7672 3.2.2)."""
        return list(dict.fromkeys(n for n in (self.base, self.host, self.domain) if n))


@dataclass(frozen=True, slots=True)
class _Answer:
    status: str  # "secure", "insecure", "failed"
    records: tuple[str, ...]
    ttl: float
    canonical: str = ""  # the end of the answer's CNAME chain (the name asked when none)


class DaneCache:
    """DNSSEC-validated MX and TLSA answers from one resolver, cached (module docstring)."""

    def __init__(self, resolver: str, *, timeout: float, clock: Callable[[], float]) -> None:
        self.host, self.port = nameserver_address(resolver)  # checked at config load
        self.timeout = timeout
        self.clock = clock
        self._cache: dict[tuple[str, str], tuple[float, _Answer]] = {}

    async def hosts(self, domain: str, mx_hosts: Sequence[str]) -> dict[str, DaneHost] | str:
        """The MX hosts of ``domain`` DANE applies to (none when the MX RRset is insecure),
        or why the destination must wait (the MX lookup failed)."""
        mx = await self._query(domain.lower().rstrip("."), "MX")
        if mx.status == "failed":
            return f"MX lookup of {domain} failed at the validating resolver"
        if mx.status != "secure":
            return {}
        found = await asyncio.gather(*(self._host(h, domain) for h in mx_hosts))
        return {h.host: h for h in found if h is not None}

    async def _host(self, host: str, domain: str) -> DaneHost | None:
        """What DANE asks of ``host`` (module docstring; RFC 7672 2.2.2): None when it does
        not apply, because the host's addresses are insecure or no TLSA base has secure
        records."""
        name = host.lower().rstrip(".")
        a, aaaa = await asyncio.gather(self._query(name, "A"), self._query(name, "AAAA"))
        if "failed" in (a.status, aaaa.status):
            return DaneHost(host, failure="address lookup failed (DNSSEC bogus or no answer)",
                            domain=domain)  # fmt: skip
        if a.status != "secure" or aaaa.status != "secure":
            return None  # forgeable addresses: TLSA records are not even looked up
        if not a.records and not aaaa.records:
            return DaneHost(host, failure="no address at the validating resolver",
                            domain=domain)  # fmt: skip
        expanded = (a if a.records else aaaa).canonical or name
        for base in dict.fromkeys((expanded, name)):
            answer = await self._query(f"_25._tcp.{base}", "TLSA")
            if answer.status == "failed":
                return DaneHost(host, failure="TLSA lookup failed (DNSSEC bogus or no answer)",
                                domain=domain, base=base)  # fmt: skip
            if answer.status == "secure" and answer.records:
                return DaneHost(host, _records(answer.records), domain=domain, base=base)
        return None

    async def _query(self, name: str, rdtype: str) -> _Answer:
        key = (name, rdtype)
        now = self.clock()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        answer = await self._ask(name, rdtype)
        keep = FAILED_SECONDS if answer.status == "failed" else answer.ttl
        self._cache[key] = (now + min(keep, MAX_CACHE_SECONDS), answer)
        return answer

    async def _ask(self, name: str, rdtype: str) -> _Answer:
        """One query with DO and AD set (RFC 6840 5.7: the AD bit is then reported)."""
        query = dns.message.make_query(name, rdtype, want_dnssec=True)
        query.flags |= dns.flags.AD
        try:
            response = await dns.asyncquery.udp(query, self.host, port=self.port,
                                                timeout=self.timeout)  # fmt: skip
            if response.flags & dns.flags.TC:
                response = await dns.asyncquery.tcp(query, self.host, port=self.port,
                                                    timeout=self.timeout)  # fmt: skip
        except (dns.exception.DNSException, OSError):
            return _Answer("failed", (), 0.0)
        rcode = response.rcode()
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            return _Answer("failed", (), 0.0)
        secure = bool(response.flags & dns.flags.AD)
        wanted = dns.rdatatype.from_text(rdtype)
        records = tuple(
            rd.to_text() for rrset in response.answer if rrset.rdtype == wanted for rd in rrset
        )
        ttls = [rrset.ttl for rrset in response.answer] or [60]
        return _Answer("secure" if secure else "insecure", records, float(min(ttls)),
                       _canonical(response))  # fmt: skip


def _records(texts: Sequence[str]) -> tuple[Tlsa, ...]:
    """The usable records among ``texts`` (one that does not parse is left out)."""
    records: list[Tlsa] = []
    for text in texts:
        try:
            records.append(Tlsa.parse(text))
        except ValueError:
            continue
    return usable(records)


def _canonical(response: dns.message.Message) -> str:
    """Where the CNAMEs of the answer section lead from the name asked (RFC 1034 3.6.2),
    lower case without the final dot; a loop or an over-long chain stops where it is."""
    aliases = {
        rrset.name: rrset[0].target
        for rrset in response.answer
        if rrset.rdtype == dns.rdatatype.CNAME and len(rrset)
    }
    name = response.question[0].name if response.question else dns.name.root
    for _ in range(len(aliases)):
        if name not in aliases:
            break
        name = aliases[name]
    return name.to_text(omit_final_dot=True).lower()


def now_utc() -> datetime:
    return datetime.now(UTC)
