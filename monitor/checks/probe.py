"""Is the resolver answering at all? Asked before any check reads an answer as a fact.

A resolver that answers NXDOMAIN or SERVFAIL to every question (a captive portal, a broken
forwarder, a firewall that rewrites DNS) would otherwise make every record look absent: "no
SPF record", "domain missing", "DMARC weakened", and alerts to match. So each run first asks
names that must exist, the root zone's SOA and the NS of each checked name's top-level
domain; when none of them gets a NOERROR answer (records or NODATA), the run stops with
:class:`ResolverError` ("could not check: resolver X answers NXDOMAIN to everything"),
stores nothing and raises no alert. One working probe is enough: a resolver that answers
anything from the DNS tree is telling us about the names, not about itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from monitor.checks.resolver import DnsAnswer, DnsStatus, Lookup
from monitor.errors import CheckError

__all__ = ["ResolverError", "confirm_resolver", "probe_names"]

_REFUSALS = (DnsStatus.NXDOMAIN, DnsStatus.SERVFAIL, DnsStatus.REFUSED)


class ResolverError(CheckError):
    """The resolver fails every question, names that must exist included."""

    def __init__(self, resolver: str, detail: str) -> None:
        self.resolver = resolver
        self.detail = detail
        super().__init__(f"could not check: resolver {resolver} {detail}")


def probe_names(names: Iterable[str]) -> list[tuple[str, str]]:
    """The root SOA, then the NS of each name's top-level domain (once each)."""
    tlds = dict.fromkeys(n.rstrip(".").rsplit(".", 1)[-1].lower() for n in names if n.strip("."))
    return [(".", "SOA"), *((tld, "NS") for tld in tlds)]


def _detail(answers: list[DnsAnswer]) -> str:
    asked = ", ".join(f"{a.name} {a.rdtype}" for a in answers)
    statuses = {a.status for a in answers}
    if statuses == {DnsStatus.TIMEOUT}:
        return f"does not answer (no reply to {asked})"
    refused = [s for s in _REFUSALS if s in statuses]
    if refused and statuses <= {*_REFUSALS, DnsStatus.TIMEOUT}:
        words = " or ".join(s.value.upper() for s in refused)
        return f"answers {words} to everything ({asked}: names that must exist)"
    why = next((a.detail for a in answers if a.detail), "")
    return f"fails every query ({asked}{': ' + why if why else ''})"


async def confirm_resolver(lookup: Lookup, names: Iterable[str], resolver: str) -> None:
    """Raise :class:`ResolverError` unless some probe (see :func:`probe_names`) gets a
    NOERROR answer from ``lookup``."""
    probes = probe_names(names)
    answers = await asyncio.gather(*(lookup.query(n, t) for n, t in probes))
    if any(a.status in (DnsStatus.OK, DnsStatus.NODATA) for a in answers):
        return
    raise ResolverError(resolver, _detail(list(answers)))
