"""Where mail for a domain goes: its MX hosts in order, each with its addresses.

RFC 5321 5.1: MX records sorted by preference, hosts of equal preference in random order
(load spreading); no MX at all means the domain itself is the one host (the implicit MX).
RFC 7505: a lone MX ``0 .`` (null MX) says the domain accepts no mail, a permanent failure
(enhanced status 5.1.10). A domain that does not exist (NXDOMAIN) fails permanently (X.1.2,
RFC 3463 3.2 "bad destination system address"); a lookup that did not complete (SERVFAIL,
timeout) is temporary (X.4.3, "directory server failure").

Answers come from the project's DNS client (``monitor.checks.resolver``: asynchronous, never
raises, the ``[checks] nameservers``) and are cached for their TTL, bounded by
``max_age`` and by ``max_entries`` (least recently used first out). Failed lookups are not
cached: the engine suspends a destination whose lookup failed instead (``engine``).
Concurrent lookups of one name share one query.
"""

from __future__ import annotations

import asyncio
import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from monitor.checks.resolver import DnsAnswer, DnsStatus, Lookup
from monitor.relay.delivery.result import Reply

__all__ = ["MxHost", "MxResolver", "Route", "order_mx"]

#: Seconds a positive answer without a known TTL is kept, and a negative one (RFC 2308 5
#: asks for the SOA's value; the fast path of the client reads none).
DEFAULT_TTL = 300
NEGATIVE_TTL = 60
#: MX records looked at per domain (a domain with more is misconfigured or hostile).
MAX_MX_HOSTS = 10


@dataclass(frozen=True, slots=True)
class MxHost:
    name: str
    preference: int
    addresses: tuple[str, ...]  # IPv4 first, then IPv6


@dataclass(frozen=True, slots=True)
class Route:
    """The hosts to try, in order, or why the whole destination fails (``failure``)."""

    domain: str
    hosts: tuple[MxHost, ...] = ()
    failure: Reply | None = None
    implicit: bool = False  # no MX: the domain's own A/AAAA (RFC 5321 5.1)


def order_mx(records: list[tuple[int, str]], rng: random.Random) -> list[tuple[int, str]]:
    """Sort by preference; hosts of equal preference shuffled (RFC 5321 5.1)."""
    shuffled = list(records)
    rng.shuffle(shuffled)
    return sorted(shuffled, key=lambda r: r[0])  # sorted() is stable: the shuffle stays


def _name_error(name: str, rdtype: str, answer: DnsAnswer) -> str:
    """Postfix's wording for a failed lookup."""
    if answer.status is DnsStatus.NXDOMAIN:
        why = "Host not found"
    elif answer.status is DnsStatus.NODATA:
        why = "Host found but no data record of requested type"
    else:
        why = f"Host not found, try again ({answer.status.value})"
    return f"Host or domain name not found. Name service error for name={name} type={rdtype}: {why}"


class MxResolver:
    """``route(domain)`` with a bounded TTL cache (see the module docstring)."""

    def __init__(
        self,
        lookup: Lookup,
        *,
        clock: Callable[[], float],
        max_age: float = 3600.0,
        max_entries: int = 10_000,
        rng: random.Random | None = None,
    ) -> None:
        self.lookup = lookup
        self.clock = clock
        self.max_age = max_age
        self.max_entries = max_entries
        self.rng = rng or random.Random()
        self._cache: OrderedDict[tuple[str, str], tuple[float, DnsAnswer]] = OrderedDict()
        self._pending: dict[tuple[str, str], asyncio.Future[DnsAnswer]] = {}

    async def route(self, domain: str) -> Route:
        """The MX hosts of ``domain`` with their addresses, or the destination's failure."""
        domain = domain.lower().rstrip(".")
        mx = await self._query(domain, "MX")
        if mx.status is DnsStatus.NXDOMAIN:
            text = f"5.1.2 {_name_error(domain, 'MX', mx)}"
            return Route(domain, failure=Reply.bounced(text, command="DNS"))
        if mx.failed:
            text = f"4.4.3 {_name_error(domain, 'MX', mx)}"
            return Route(domain, failure=Reply.deferred(text, command="DNS"))
        records = [_mx_record(r) for r in mx.records[: MAX_MX_HOSTS * 4]]
        if any(host == "." for _, host in records):  # RFC 7505 3: a null MX stands alone
            text = f"5.1.10 Domain {domain} does not accept mail (nullMX)"
            return Route(domain, failure=Reply.bounced(text, command="DNS"))
        implicit = not records
        ordered = [(0, domain)] if implicit else order_mx(records, self.rng)[:MAX_MX_HOSTS]
        found = await asyncio.gather(*(self._addresses(host) for _, host in ordered))
        hosts = tuple(
            MxHost(host, pref, addrs)
            for (pref, host), (addrs, _) in zip(ordered, found, strict=True)
            if addrs
        )
        if hosts:
            return Route(domain, hosts=hosts, implicit=implicit)
        failures = [why for addrs, why in found if why is not None]
        temporary = [why for why in failures if why.startswith("4.")]
        text = (temporary or failures or [f"5.4.4 no address for {domain}"])[0]
        reply = (
            Reply.deferred(text, command="DNS") if temporary else Reply.bounced(text, command="DNS")
        )
        return Route(domain, failure=reply, implicit=implicit)

    async def _addresses(self, host: str) -> tuple[tuple[str, ...], str | None]:
        """A then AAAA addresses of ``host``; when there are none, why (with its status)."""
        a, aaaa = await asyncio.gather(self._query(host, "A"), self._query(host, "AAAA"))
        addresses = (*a.records, *aaaa.records)
        if addresses:
            return addresses, None
        for answer, rdtype in ((a, "A"), (aaaa, "AAAA")):
            if answer.failed:
                return (), f"4.4.3 {_name_error(host, rdtype, answer)}"
        worst = a if a.status is DnsStatus.NXDOMAIN else aaaa
        return (), f"5.4.4 {_name_error(host, 'A' if worst is a else 'AAAA', worst)}"

    async def _query(self, name: str, rdtype: str) -> DnsAnswer:
        key = (name.lower(), rdtype)
        hit = self._cache.get(key)
        now = self.clock()
        if hit is not None and hit[0] > now:
            self._cache.move_to_end(key)
            return hit[1]
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[DnsAnswer] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            answer = await self.lookup.query(name, rdtype)
            future.set_result(answer)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: a waiter may or may not exist
            raise
        finally:
            del self._pending[key]
        self._remember(key, answer)
        return answer

    def _remember(self, key: tuple[str, str], answer: DnsAnswer) -> None:
        if answer.failed:
            return
        default = DEFAULT_TTL if answer.status is DnsStatus.OK else NEGATIVE_TTL
        ttl = min(float(answer.ttl if answer.ttl is not None else default), self.max_age)
        if ttl <= 0:
            return
        self._cache[key] = (self.clock() + ttl, answer)
        self._cache.move_to_end(key)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)


def _mx_record(text: str) -> tuple[int, str]:
    """``"10 mx.example"`` (``monitor.checks.resolver`` form) -> (10, "mx.example");
    the root (null MX target) is ``"."``."""
    pref, _, host = text.partition(" ")
    return int(pref) if pref.isdigit() else 65535, host.lower().rstrip(".") or "."
