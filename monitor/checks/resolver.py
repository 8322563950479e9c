"""The one adapter between the checks and dnspython: answers, never exceptions.

Every check asks DNS through :class:`Lookup` and gets a :class:`DnsAnswer` whose ``status``
separates what RFC 7208 4.4, RFC 7489 6.6.3 and RFC 5782 all need separated: a name that
does not exist (NXDOMAIN), a name without that type (NODATA, both "void" in RFC 7208 4.6.4
terms) and a lookup that did not complete (timeout, SERVFAIL, REFUSED, other errors) — the
last must never be read as "no record" or "not listed". No dnspython exception leaks past
this module (STYLE.md section 4).

Concurrency is bounded by a semaphore so a blocklist run of 20,000 queries does not open
20,000 sockets at once; the limit and the per-query timeout come from config.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.message
import dns.name
import dns.nameserver
import dns.rcode
import dns.rdatatype
import dns.resolver

from monitor.errors import CheckError

__all__ = [
    "DnsAnswer",
    "DnsClient",
    "DnsStatus",
    "Lookup",
    "make_resolver",
    "parse_nameserver",
]


class DnsStatus(StrEnum):
    """How a query ended."""

    OK = "ok"
    NXDOMAIN = "nxdomain"
    NODATA = "nodata"
    TIMEOUT = "timeout"
    SERVFAIL = "servfail"
    REFUSED = "refused"
    ERROR = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class DnsAnswer:
    """Records in presentation form: A/AAAA addresses, ``"pref host"`` for MX, host names
    without the final dot for PTR/CNAME/NS, and TXT character-strings joined with no
    separator (RFC 7208 3.3, RFC 6376 3.6.2.2)."""

    name: str
    rdtype: str
    status: DnsStatus
    records: tuple[str, ...] = ()
    canonical: str | None = None  # set when the answer came through a CNAME
    detail: str = ""

    @property
    def void(self) -> bool:
        """NXDOMAIN or NODATA: a "void lookup" (RFC 7208 4.6.4)."""
        return self.status in (DnsStatus.NXDOMAIN, DnsStatus.NODATA)

    @property
    def failed(self) -> bool:
        """The lookup did not complete; the answer is unknown."""
        return self.status in (
            DnsStatus.TIMEOUT,
            DnsStatus.SERVFAIL,
            DnsStatus.REFUSED,
            DnsStatus.ERROR,
        )


class Lookup(Protocol):
    """What the checks need from DNS; :class:`DnsClient` is the real implementation."""

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Look ``name`` up; never raises for DNS outcomes."""
        ...


def _text(rdata: object, rdtype: int) -> str:
    if rdtype == dns.rdatatype.TXT:
        return b"".join(rdata.strings).decode("utf-8", "replace")  # type: ignore[attr-defined]
    if rdtype in (dns.rdatatype.A, dns.rdatatype.AAAA):
        return str(rdata.address)  # type: ignore[attr-defined]
    if rdtype == dns.rdatatype.MX:
        exchange: dns.name.Name = rdata.exchange  # type: ignore[attr-defined]
        host = "." if exchange == dns.name.root else exchange.to_text(omit_final_dot=True)
        return f"{rdata.preference} {host}"  # type: ignore[attr-defined]
    if rdtype in (dns.rdatatype.PTR, dns.rdatatype.CNAME, dns.rdatatype.NS):
        target: dns.name.Name = rdata.target  # type: ignore[attr-defined]
        return target.to_text(omit_final_dot=True)
    return str(rdata)


def _failure(exc: dns.resolver.NoNameservers) -> tuple[DnsStatus, str]:
    """Read the rcode the servers gave out of dnspython's aggregate error."""
    status = DnsStatus.ERROR
    for error in exc.kwargs.get("errors", []):
        response = error[4] if len(error) > 4 else None
        if isinstance(response, dns.message.Message):
            if response.rcode() == dns.rcode.SERVFAIL:
                status = DnsStatus.SERVFAIL
            elif response.rcode() == dns.rcode.REFUSED and status is DnsStatus.ERROR:
                status = DnsStatus.REFUSED
    return status, str(exc)


class DnsClient:
    """:class:`Lookup` over a dnspython async resolver with a concurrency limit."""

    def __init__(self, resolver: dns.asyncresolver.Resolver, *, concurrency: int = 100) -> None:
        if concurrency < 1:
            raise CheckError("DNS concurrency must be at least 1")
        self.resolver = resolver
        self._limit = asyncio.Semaphore(concurrency)
        self.queries = 0

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Resolve ``name``/``rdtype``; outcomes become :class:`DnsStatus` values."""
        self.queries += 1
        try:
            qname = dns.name.from_text(name.rstrip(".") + ".")
        except (dns.exception.DNSException, UnicodeError) as exc:
            return DnsAnswer(
                name=name, rdtype=rdtype, status=DnsStatus.ERROR, detail=f"invalid name: {exc}"
            )
        async with self._limit:
            try:
                answer = await self.resolver.resolve(qname, rdtype, search=False)
            except dns.resolver.NXDOMAIN:
                return DnsAnswer(name=name, rdtype=rdtype, status=DnsStatus.NXDOMAIN)
            except dns.resolver.NoAnswer:
                return DnsAnswer(name=name, rdtype=rdtype, status=DnsStatus.NODATA)
            except dns.exception.Timeout as exc:
                return DnsAnswer(
                    name=name, rdtype=rdtype, status=DnsStatus.TIMEOUT, detail=str(exc)
                )
            except dns.resolver.NoNameservers as exc:
                status, detail = _failure(exc)
                return DnsAnswer(name=name, rdtype=rdtype, status=status, detail=detail)
            except dns.exception.DNSException as exc:
                return DnsAnswer(
                    name=name,
                    rdtype=rdtype,
                    status=DnsStatus.ERROR,
                    detail=f"{type(exc).__name__}: {exc}",
                )
        code = dns.rdatatype.from_text(rdtype)
        records = tuple(_text(rd, code) for rd in answer)
        canonical = answer.canonical_name
        return DnsAnswer(
            name=name,
            rdtype=rdtype,
            status=DnsStatus.OK,
            records=records,
            canonical=None if canonical == qname else canonical.to_text(omit_final_dot=True),
        )


def parse_nameserver(text: str) -> tuple[str, int]:
    """``HOST``, ``HOST:PORT``, ``[V6]:PORT`` or a bare IPv6 address -> (host, port)."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "53"
    elif text.count(":") == 1:
        host, port = text.split(":")
    else:
        host, port = text, "53"
    if not port.isdigit() or not 0 < int(port) < 65536 or not host:
        raise CheckError(f"bad nameserver {text!r}: expected HOST[:PORT]")
    return host, int(port)


def make_resolver(
    nameservers: list[str] | None = None, *, timeout: float = 5.0
) -> dns.asyncresolver.Resolver:
    """A resolver for ``nameservers`` (``HOST[:PORT]`` each), or the system's when None.

    ``timeout`` bounds a whole lookup including retries (dnspython's ``lifetime``), so one
    slow zone cannot stall a run beyond it.
    """
    if nameservers:
        resolver = dns.asyncresolver.Resolver(configure=False)
        resolver.nameservers = [
            dns.nameserver.Do53Nameserver(host, port)
            for host, port in map(parse_nameserver, nameservers)
        ]
    else:
        try:
            resolver = dns.asyncresolver.Resolver()
        except dns.exception.DNSException as exc:
            raise CheckError(f"no usable system resolver: {exc}") from exc
    resolver.timeout = timeout
    resolver.lifetime = timeout
    resolver.cache = None
    return resolver
