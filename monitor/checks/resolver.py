"""The one adapter between the checks and DNS: answers, never exceptions.

Every check asks DNS through :class:`Lookup` and gets a :class:`DnsAnswer` whose ``status``
separates what RFC 7208 4.4, RFC 7489 6.6.3 and RFC 5782 all need separated: a name that
does not exist (NXDOMAIN), a name without that type (NODATA, both "void" in RFC 7208 4.6.4
terms) and a lookup that did not complete (timeout, SERVFAIL, REFUSED, other errors) — the
last must never be read as "no record" or "not listed". No dnspython exception leaks past
this module (STYLE.md section 4).

Queries travel over :mod:`monitor.checks.transport` (a few reused UDP sockets, responses
matched by ID and question; TCP through dnspython when truncated), parsed by dnspython.
Concurrency is bounded by a semaphore so a blocklist run of 20,000 queries keeps at most
``concurrency`` in flight; the limit and the per-query timeout come from config.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

import dns.asyncquery
import dns.exception
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.resolver

from monitor.checks.transport import (
    TransportError,
    TransportTimeout,
    UdpPool,
    encode_name,
    plain_records,
    plain_ttl,
)
from monitor.config.checks import nameserver_address
from monitor.errors import CheckError

__all__ = [
    "DnsAnswer",
    "DnsClient",
    "DnsStatus",
    "Lookup",
    "parse_nameserver",
    "read_message",
    "read_wire",
    "system_nameservers",
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
    #: Seconds the answer may be cached: the smallest TTL of the chain, or for NXDOMAIN and
    #: NODATA the SOA's negative TTL (RFC 2308 5) when the server sent one; None: unknown.
    ttl: int | None = None

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


_RCODE_STATUS = {
    int(dns.rcode.SERVFAIL): DnsStatus.SERVFAIL,
    int(dns.rcode.REFUSED): DnsStatus.REFUSED,
}


def _rcode_failure(name: str, rdtype: str, rcode: int) -> DnsAnswer:
    status = _RCODE_STATUS.get(rcode, DnsStatus.ERROR)
    text = dns.rcode.to_text(dns.rcode.Rcode.make(rcode))
    return DnsAnswer(name=name, rdtype=rdtype, status=status, detail=text)


def _negative_ttl(message: dns.message.Message) -> int | None:
    """RFC 2308 5: a negative answer is cached for min(SOA TTL, SOA MINIMUM) of the SOA in
    its authority section; without one the caller picks a default."""
    for rrset in message.authority:
        if rrset.rdtype == dns.rdatatype.SOA and len(rrset):
            return min(int(rrset.ttl), int(rrset[0].minimum))
    return None


def read_message(name: str, rdtype: str, message: dns.message.Message) -> DnsAnswer:
    """A parsed response as a :class:`DnsAnswer`: the records of ``rdtype`` at the end of
    the CNAME chain (RFC 1034 3.6.2), NODATA when the chain ends without them."""
    rcode = message.rcode()
    if rcode == dns.rcode.NXDOMAIN:
        return DnsAnswer(
            name=name, rdtype=rdtype, status=DnsStatus.NXDOMAIN, ttl=_negative_ttl(message)
        )
    if rcode != dns.rcode.NOERROR:
        return _rcode_failure(name, rdtype, rcode)
    if not isinstance(message, dns.message.QueryMessage):
        return DnsAnswer(name=name, rdtype=rdtype, status=DnsStatus.ERROR, detail="not a query")
    try:
        chain = message.resolve_chaining()
    except dns.exception.DNSException as exc:  # CNAME chain too long
        return DnsAnswer(name=name, rdtype=rdtype, status=DnsStatus.ERROR, detail=str(exc))
    if chain.answer is None:
        return DnsAnswer(
            name=name, rdtype=rdtype, status=DnsStatus.NODATA, ttl=_negative_ttl(message)
        )
    qname = message.question[0].name
    return DnsAnswer(
        name=name,
        rdtype=rdtype,
        status=DnsStatus.OK,
        records=tuple(_text(rd, chain.answer.rdtype) for rd in chain.answer),
        ttl=chain.minimum_ttl,
        canonical=(
            None
            if chain.canonical_name == qname
            else chain.canonical_name.to_text(omit_final_dot=True)
        ),
    )


def read_wire(name: str, rdtype: str, wire: bytes, question_len: int) -> DnsAnswer:
    """A matched UDP response as a :class:`DnsAnswer` (TC is the caller's business).

    NXDOMAIN and NOERROR-without-answers are read off the header, and plain A and TXT
    answers off the answer section (:func:`~monitor.checks.transport.plain_records`): that
    is nearly every blocklist answer. Anything else is parsed by dnspython. The header rcode is the
    whole rcode here: the extended bits in OPT (RFC 6891 6.1.3) only carry BADVERS, which a
    version-0 query cannot provoke, and TSIG codes, which we never use.
    """
    rcode = wire[3] & 0x0F
    if rcode == dns.rcode.NXDOMAIN:
        return DnsAnswer(name=name, rdtype=rdtype, status=DnsStatus.NXDOMAIN)
    if rcode != dns.rcode.NOERROR:
        return _rcode_failure(name, rdtype, rcode)
    if wire[6:8] == b"\x00\x00":
        return DnsAnswer(name=name, rdtype=rdtype, status=DnsStatus.NODATA)
    plain = plain_records(wire, question_len, _RDTYPES.get(rdtype, 0))
    if plain:
        return DnsAnswer(
            name=name,
            rdtype=rdtype,
            status=DnsStatus.OK,
            records=plain,
            ttl=plain_ttl(wire, question_len),
        )
    try:
        message = dns.message.from_wire(wire)
    except dns.exception.DNSException as exc:
        return DnsAnswer(
            name=name, rdtype=rdtype, status=DnsStatus.ERROR, detail=f"malformed response: {exc}"
        )
    return read_message(name, rdtype, message)


_PRECEDENCE = (DnsStatus.TIMEOUT, DnsStatus.ERROR, DnsStatus.REFUSED, DnsStatus.SERVFAIL)


class DnsClient:
    """:class:`Lookup` over :class:`~monitor.checks.transport.UdpPool` sockets.

    Use as ``async with DnsClient(...) as client:`` — the sockets belong to the event loop
    that first used them and are closed on exit. Each query gets ``timeout`` seconds in
    all: two rounds over the nameservers (a timed-out server is asked again, RFC 1035 4.2.1
    leaves retransmission to the client), a server that answered SERVFAIL or REFUSED is not
    asked twice, and a truncated UDP answer is asked again over TCP (RFC 7766 5).
    """

    def __init__(
        self,
        nameservers: Sequence[str] | None = None,
        *,
        timeout: float = 5.0,
        concurrency: int = 100,
        sockets: int = 4,
    ) -> None:
        if concurrency < 1:
            raise CheckError("DNS concurrency must be at least 1")
        if timeout <= 0:
            raise CheckError("DNS timeout must be positive")
        self.servers = (
            [parse_nameserver(n) for n in nameservers] if nameservers else system_nameservers()
        )
        self.timeout = timeout
        self.concurrency = concurrency
        self.sockets = sockets
        self.queries = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pools: list[UdpPool] = []
        self._limit: asyncio.Semaphore | None = None

    async def __aenter__(self) -> DnsClient:
        self._bind()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the sockets (outstanding queries end as errors); a later query opens new
        ones, in whatever loop it runs."""
        for pool in self._pools:
            pool.close()
        self._limit = self._loop = None
        await asyncio.sleep(0)  # let the transports run connection_lost and close

    @property
    def label(self) -> str:
        """The resolvers asked, as the user names them (``127.0.0.1:5353``)."""
        return ", ".join(f"[{h}]:{p}" if ":" in h else f"{h}:{p}" for h, p in self.servers)

    @property
    def ignored(self) -> int:
        """Datagrams that matched no outstanding query (late, spoofed or garbled)."""
        return sum(p.ignored for p in self._pools)

    def _bind(self) -> asyncio.Semaphore:
        """Open the pools in the running loop on first use; refuse any other loop."""
        loop = asyncio.get_running_loop()
        if self._limit is None:
            self._loop = loop
            self._pools = [UdpPool(h, p, size=self.sockets) for h, p in self.servers]
            self._limit = asyncio.Semaphore(self.concurrency)
        elif self._loop is not loop:
            raise CheckError("a DnsClient serves one event loop; make one per asyncio.run()")
        return self._limit

    async def query(self, name: str, rdtype: str) -> DnsAnswer:
        """Resolve ``name``/``rdtype``; outcomes become :class:`DnsStatus` values."""
        self.queries += 1
        try:
            qname = encode_name(name)
            code = _RDTYPES.get(rdtype) or dns.rdatatype.from_text(rdtype)
        except (ValueError, dns.exception.DNSException) as exc:
            return DnsAnswer(
                name=name, rdtype=rdtype, status=DnsStatus.ERROR, detail=f"invalid query: {exc}"
            )
        async with self._bind():
            return await self._ask(name, rdtype, qname, code)

    async def _ask(self, name: str, rdtype: str, qname: bytes, code: int) -> DnsAnswer:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        attempt = self.timeout / (2 * len(self._pools))
        failed: DnsAnswer | None = None
        gave_up: set[int] = set()
        for index in [*range(len(self._pools))] * 2:
            remaining = deadline - loop.time()
            if index in gave_up or remaining <= 0:
                continue
            pool = self._pools[index]
            try:
                wire = await pool.exchange(qname, code, min(attempt, remaining))
            except TransportTimeout:
                answer = DnsAnswer(name=name, rdtype=rdtype, status=DnsStatus.TIMEOUT)
            except TransportError as exc:
                answer = DnsAnswer(
                    name=name, rdtype=rdtype, status=DnsStatus.ERROR, detail=str(exc)
                )
            else:
                if wire[2] & 0x02:  # TC: ask again over TCP
                    answer = await self._tcp(name, rdtype, pool, deadline - loop.time())
                else:
                    answer = read_wire(name, rdtype, wire, len(qname) + 4)
                if not answer.failed:
                    return answer
                if answer.status is not DnsStatus.TIMEOUT:
                    gave_up.add(index)
            if failed is None or _PRECEDENCE.index(answer.status) >= _PRECEDENCE.index(
                failed.status
            ):
                failed = answer
        return failed or DnsAnswer(name=name, rdtype=rdtype, status=DnsStatus.TIMEOUT)

    @staticmethod
    async def _tcp(name: str, rdtype: str, pool: UdpPool, timeout: float) -> DnsAnswer:
        query = dns.message.make_query(name.rstrip(".") + ".", rdtype)
        try:
            message = await dns.asyncquery.tcp(
                query, pool.host, timeout=max(timeout, 0.001), port=pool.port
            )
        except dns.exception.Timeout:
            return DnsAnswer(name=name, rdtype=rdtype, status=DnsStatus.TIMEOUT, detail="tcp")
        except (OSError, dns.exception.DNSException) as exc:
            return DnsAnswer(name=name, rdtype=rdtype, status=DnsStatus.ERROR, detail=f"tcp: {exc}")
        return read_message(name, rdtype, message)


_RDTYPES = {t: int(dns.rdatatype.from_text(t)) for t in ("A", "AAAA", "TXT", "MX", "PTR")}


def parse_nameserver(text: str) -> tuple[str, int]:
    """``IP``, ``IP:PORT``, ``[V6]:PORT`` or a bare IPv6 address -> (ip, port)
    (``monitor.config.checks.nameserver_address``, raising ``CheckError``)."""
    try:
        return nameserver_address(text)
    except ValueError as exc:
        raise CheckError(str(exc)) from None


def system_nameservers() -> list[tuple[str, int]]:
    """The nameservers of ``/etc/resolv.conf`` (read by dnspython)."""
    try:
        resolver = dns.resolver.Resolver()
    except dns.exception.DNSException as exc:
        raise CheckError(f"no usable system resolver: {exc}") from exc
    servers = [(str(ns), resolver.port) for ns in resolver.nameservers]
    if not servers:
        raise CheckError("no usable system resolver: /etc/resolv.conf lists no nameserver")
    return servers
