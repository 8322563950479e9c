"""DNSSEC-signed zones on the loopback DNS server, for a validating resolver to check.

:class:`SignedZone` builds a zone from records (dnspython's ``dns.zone``), signs it with a
fresh ECDSA P-256 key (``dns.dnssec.sign_zone``: DNSKEY, RRSIG on every RRset, an NSEC chain
for denial of existence) and gives the DS record a resolver takes as its trust anchor.
``unsigned`` records are signed with the rest (their names are in the NSEC chain) and then
lose their RRSIGs: "bogus" to a validator, which answers SERVFAIL. ``signed=False`` keeps a
zone unsigned (no DNSKEY, no DS): outside every trust anchor, so a validating resolver
answers for it without the AD bit ("insecure", RFC 4035 4.3).

:class:`SignedDNSServer` is :class:`tests.servers.dns.DNSServer` answering from such zones
the way an authoritative server does for a DNSSEC-aware client (RFC 4035 3.1): the RRSIGs of
every RRset when the query has the DO bit, and for NODATA the SOA with the NSEC of the name,
for NXDOMAIN the SOA with the NSEC covering the name and the one covering the wildcard; at
an alias, its CNAME and the chain onward through the zones it serves, each RRset with its
RRSIGs when its zone is signed. It is all a resolver such as Unbound needs to validate
answers below a trust anchor.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Sequence

import dns._features
import dns.dnssec
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone
from cryptography.hazmat.primitives.asymmetric import ec

from tests.servers.dns import DNSServer

__all__ = ["SignedDNSServer", "SignedZone"]

# dnspython 2.9 declares its DNSSEC signing for cryptography>=50 while the project pins <50;
# the parts used here (ECDSA P-256) work with 49: ``force`` is dnspython's own switch for a
# feature its metadata check gets wrong, and the module is reloaded if imported before.
dns._features.force("dnssec", True)
if not dns.dnssec._have_pyca:
    importlib.reload(dns.dnssec)

_DAY = 86_400
#: CNAMEs followed in one answer (a loop in a test zone ends there).
MAX_CHAIN = 8


class SignedZone:
    """One zone, signed unless ``signed=False`` (module docstring)."""

    def __init__(
        self,
        origin: str,
        records: list[tuple[str, str, str]],
        *,
        signed: bool = True,
        unsigned: Sequence[tuple[str, str, str]] = (),
    ) -> None:
        self.origin = dns.name.from_text(origin)
        self.signed = signed
        lines = [
            f"@ 300 IN SOA ns.{origin}. hostmaster.{origin}. 1 3600 600 86400 60",
            f"@ 300 IN NS ns.{origin}.",
            "ns 300 IN A 127.0.0.1",
        ]
        lines += [f"{name} 300 IN {rdtype} {text}" for name, rdtype, text in [*records, *unsigned]]
        self.zone = dns.zone.from_text("\n".join(lines), origin=self.origin, relativize=False)
        self.ds = ""
        if signed:
            key = ec.generate_private_key(ec.SECP256R1())
            dnskey = dns.dnssec.make_dnskey(key.public_key(), dns.dnssec.Algorithm.ECDSAP256SHA256,
                                            flags=257)  # fmt: skip
            now = int(time.time())
            dns.dnssec.sign_zone(self.zone, keys=[(key, dnskey)], inception=now - _DAY,
                                 expiration=now + 30 * _DAY)  # fmt: skip
            ds = dns.dnssec.make_ds(self.origin, dnskey, "SHA256")
            self.ds = f"{self.origin.to_text()} IN DS {ds.to_text()}"
            # in the NSEC chain but served without their RRSIG: bogus to a validator (an
            # NSEC chain without them would prove them absent to a resolver that caches it)
            for name, rdtype, _ in unsigned:
                node = self.zone.find_node(dns.name.from_text(name, self.origin))
                node.delete_rdataset(dns.rdataclass.IN, dns.rdatatype.RRSIG,
                                     covers=dns.rdatatype.from_text(rdtype))  # fmt: skip

    def rrsets(self, name: dns.name.Name, rdtype: int, dnssec: bool) -> list[dns.rrset.RRset]:
        """The RRset of ``name``/``rdtype`` with, when ``dnssec``, its RRSIGs."""
        node = self.zone.get_node(name)
        if node is None:
            return []
        found = node.get_rdataset(dns.rdataclass.IN, rdtype)
        if found is None:
            return []
        out = [_rrset(name, found)]
        sigs = node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.RRSIG, rdtype)
        if dnssec and sigs is not None:
            out.append(_rrset(name, sigs))
        return out

    def covering_nsec(self, name: dns.name.Name) -> dns.name.Name:
        """The owner of the NSEC whose span covers ``name`` (the last one before it)."""
        owners = sorted(
            n for n, node in self.zone.nodes.items()
            if node.get_rdataset(dns.rdataclass.IN, dns.rdatatype.NSEC) is not None
        )  # fmt: skip
        before = [n for n in owners if n < name]
        return before[-1] if before else owners[-1]


def _rrset(name: dns.name.Name, rdataset: object) -> dns.rrset.RRset:
    rrset = dns.rrset.RRset(name, dns.rdataclass.IN, rdataset.rdtype, rdataset.covers)  # type: ignore[attr-defined]
    rrset.update(rdataset)  # type: ignore[arg-type]
    return rrset


class SignedDNSServer(DNSServer):
    """Answers from :class:`SignedZone` s (module docstring)."""

    def __init__(self, zones: list[SignedZone]) -> None:
        super().__init__()
        self.zones = zones

    async def handle(self, request: dns.message.Message, via: str) -> dns.message.Message | None:
        response = dns.message.make_response(request)
        response.flags |= dns.flags.AA
        response.flags &= ~dns.flags.RA
        question = request.question[0]
        qname, qtype = question.name, question.rdtype
        zone = next((z for z in self.zones if qname.is_subdomain(z.origin)), None)
        if zone is None:
            response.set_rcode(dns.rcode.REFUSED)
            return response
        do = bool(request.ednsflags & dns.flags.DO)
        dnssec = zone.signed and do
        answer = self._chase(zone, qname, qtype, do)
        if answer:
            response.answer.extend(answer)
            return response
        response.authority.extend(zone.rrsets(zone.origin, dns.rdatatype.SOA, dnssec))
        if zone.zone.get_node(qname) is not None:  # NODATA: the name's own NSEC
            if dnssec:
                response.authority.extend(zone.rrsets(qname, dns.rdatatype.NSEC, True))
            return response
        response.set_rcode(dns.rcode.NXDOMAIN)
        if dnssec:
            wildcard = dns.name.from_text("*", zone.origin)
            owners = {zone.covering_nsec(qname), zone.covering_nsec(wildcard)}
            for owner in sorted(owners):
                response.authority.extend(zone.rrsets(owner, dns.rdatatype.NSEC, True))
        return response

    def _chase(
        self, zone: SignedZone, qname: dns.name.Name, qtype: int, do: bool
    ) -> list[dns.rrset.RRset]:
        """The RRset asked for or, at an alias, its CNAME (with its RRSIG when the zone is
        signed and ``do``) and the chain onward through the zones served here, as an
        authoritative server does (RFC 1034 4.3.2 step 3a, RFC 4035 3.1.1). A chain that
        leaves these zones or ends without data stops there: the resolver goes on alone."""
        found: list[dns.rrset.RRset] = []
        name = qname
        current: SignedZone | None = zone
        for _ in range(MAX_CHAIN):
            if current is None:
                break
            signed = current.signed and do
            answer = current.rrsets(name, qtype, signed)
            if answer or qtype == dns.rdatatype.CNAME:
                return found + answer
            alias = current.rrsets(name, dns.rdatatype.CNAME, signed)
            if not alias:
                break
            found += alias
            name = alias[0][0].target
            current = next((z for z in self.zones if name.is_subdomain(z.origin)), None)
        return found
