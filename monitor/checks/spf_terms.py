"""SPF term evaluation (RFC 7208 sections 4.6.4, 5 and 7): the state of one check_host()
run, the DNS-lookup and void-lookup limits, macro expansion with ``%{p}`` validation, and
the matching of every mechanism that does not recurse.

:mod:`monitor.checks.spf` drives the evaluation (record fetch, include and redirect
recursion, explanations, warnings); the two are apart only to keep each module small.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum

from monitor.checks.resolver import DnsAnswer, Lookup
from monitor.errors import CheckError
from parsers.dnsrec.spf import MacroContext, Mechanism, MechanismKind, expand_macros

__all__ = [
    "LOOKUP_LIMIT",
    "VOID_LIMIT",
    "Abort",
    "Run",
    "SpfResult",
    "SpfWarning",
    "expand",
    "match_term",
    "valid_domain",
]

LOOKUP_LIMIT = 10  # RFC 7208 4.6.4
VOID_LIMIT = 2  # RFC 7208 4.6.4 (SHOULD, default 2)
MX_ADDRESS_LIMIT = 10  # RFC 7208 4.6.4
PTR_NAME_LIMIT = 10  # RFC 7208 4.6.4

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class SpfResult(StrEnum):
    """RFC 7208 section 2.6 results."""

    PASS = "pass"  # noqa: S105 - an SPF result, not a password
    FAIL = "fail"
    SOFTFAIL = "softfail"
    NEUTRAL = "neutral"
    NONE = "none"
    TEMPERROR = "temperror"
    PERMERROR = "permerror"


class SpfWarning(StrEnum):
    """What a record owner should fix; the values are the codes of dns_auth_vectors.json."""

    NO_SPF_RECORD = "no_spf_record"
    MULTIPLE_SPF_RECORDS = "multiple_spf_records"
    SYNTAX_ERROR = "syntax_error"
    PASS_ALL = "pass_all"  # noqa: S105 - a warning code, not a password
    NEUTRAL_ALL = "neutral_all"
    PTR_MECHANISM_USED = "ptr_mechanism_used"
    LOOKUP_LIMIT_EXCEEDED = "lookup_limit_exceeded"
    VOID_LOOKUP_LIMIT_EXCEEDED = "void_lookup_limit_exceeded"
    VOID_LOOKUPS_PRESENT = "void_lookups_present"
    INCLUDE_TARGET_NO_SPF = "include_target_no_spf"
    INCLUDE_LOOP = "include_loop"
    REDIRECT_IGNORED_ALL_PRESENT = "redirect_ignored_all_present"
    MX_OVER_10_HOSTS = "mx_over_10_hosts"
    RECORD_OVER_450_BYTES = "record_over_450_bytes"
    TEMPORARY_ERROR = "temporary_error"


class Abort(CheckError):
    """Ends a check_host() run with ``result`` (temperror/permerror) and a warning."""

    def __init__(self, result: SpfResult, problem: str, warning: SpfWarning | None) -> None:
        super().__init__(problem)
        self.result = result
        self.problem = problem
        self.warning = warning


@dataclass(slots=True)
class Run:
    """The state of one check_host() run, includes and redirects included."""

    lookup: Lookup
    ip: IP
    sender: str
    helo: str
    lookups: int = 0
    voids: int = 0
    warnings: list[SpfWarning] = field(default_factory=list)
    stack: list[str] = field(default_factory=list)
    explanation: str | None = None
    matched: str | None = None

    def warn(self, warning: SpfWarning) -> None:
        if warning not in self.warnings:
            self.warnings.append(warning)

    def count_term(self) -> None:
        self.lookups += 1
        if self.lookups > LOOKUP_LIMIT:
            raise Abort(
                SpfResult.PERMERROR,
                "more than 10 DNS-querying terms",
                SpfWarning.LOOKUP_LIMIT_EXCEEDED,
            )

    def count_void(self, answer: DnsAnswer) -> None:
        if answer.void:
            self.voids += 1
            if self.voids > VOID_LIMIT:
                raise Abort(
                    SpfResult.PERMERROR,
                    "more than 2 void lookups",
                    SpfWarning.VOID_LOOKUP_LIMIT_EXCEEDED,
                )

    def need(self, answer: DnsAnswer) -> DnsAnswer:
        """RFC 7208 section 5: a DNS error in a mechanism makes the whole check temperror."""
        if answer.failed:
            raise Abort(
                SpfResult.TEMPERROR,
                f"{answer.name} {answer.rdtype}: {answer.status}",
                SpfWarning.TEMPORARY_ERROR,
            )
        return answer

    async def addresses(self, name: str) -> DnsAnswer:
        return await self.lookup.query(name, "A" if self.ip.version == 4 else "AAAA")


def valid_domain(domain: str) -> bool:
    """RFC 7208 4.3: a multi-label name with 1-63 octet labels, not a literal."""
    name = domain.removesuffix(".")
    labels = name.split(".")
    if len(labels) < 2 or len(name) > 253 or name.startswith("["):
        return False
    return all(0 < len(label) <= 63 for label in labels)


def _context(run: Run, domain: str, validated: str = "unknown") -> MacroContext:
    return MacroContext(
        sender=run.sender, domain=domain, ip=run.ip, helo=run.helo, validated=validated
    )


async def _validated_names(run: Run, target: str | None) -> list[str]:
    """PTR names of the client that resolve back to it (RFC 7208 5.5); errors skip a name."""
    answer = await run.lookup.query(ipaddress.ip_address(run.ip).reverse_pointer, "PTR")
    names: list[str] = []
    for name in answer.records[:PTR_NAME_LIMIT]:
        if target is not None and not _within(name, target):
            continue
        addrs = await run.addresses(name)
        if not addrs.failed and any(ipaddress.ip_address(a) == run.ip for a in addrs.records):
            names.append(name)
    return names


def _within(name: str, target: str) -> bool:
    name, target = name.lower().rstrip("."), target.lower().rstrip(".")
    return name == target or name.endswith("." + target)


async def expand(run: Run, spec: str, domain: str, *, exp: bool = False) -> str:
    """Macro-expand, resolving ``%{p}`` only when the text uses it (RFC 7208 7.3)."""
    validated = "unknown"
    if "%{p" in spec.lower():
        names = await _validated_names(run, None)
        ranked = sorted(names, key=lambda n: (n.lower() != domain.lower(), not _within(n, domain)))
        validated = ranked[0] if ranked else "unknown"
    return expand_macros(spec, _context(run, domain, validated), exp=exp)


def _in(mech: Mechanism, ip: IP, text: str) -> bool:
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return False
    if addr.version != ip.version:
        return False
    prefix = mech.cidr4 if ip.version == 4 else mech.cidr6
    return ip in ipaddress.ip_network(f"{addr}/{prefix}", strict=False)


async def _match_mx(run: Run, mech: Mechanism, target: str) -> bool:
    answer = run.need(await run.lookup.query(target, "MX"))
    run.count_void(answer)
    hosts = [rec.split(" ", 1)[1] for rec in answer.records]
    if len(hosts) > MX_ADDRESS_LIMIT:
        raise Abort(
            SpfResult.PERMERROR, f"{target} has more than 10 MX hosts", SpfWarning.MX_OVER_10_HOSTS
        )
    for host in hosts:
        if host == ".":
            continue  # null MX, RFC 7505
        addrs = run.need(await run.addresses(host))
        if any(_in(mech, run.ip, a) for a in addrs.records):
            return True
    return False


Include = Callable[["Run", str], Awaitable[bool]]


async def match_term(run: Run, mech: Mechanism, domain: str, include: Include) -> bool:
    """Does ``mech`` match? Raises :class:`Abort` for temperror/permerror.

    ``include`` evaluates an ``include:`` target (RFC 7208 5.2); it is the driver's, since
    it recurses into check_host().
    """
    kind = mech.kind
    if kind is MechanismKind.ALL:
        return True
    if kind in (MechanismKind.IP4, MechanismKind.IP6):
        return (
            mech.network is not None
            and run.ip.version == mech.network.version
            and run.ip in mech.network
        )
    run.count_term()
    target = await expand(run, mech.domain_spec, domain) if mech.domain_spec else domain
    if kind is MechanismKind.INCLUDE:
        return await include(run, target)
    if not valid_domain(target):
        return False  # RFC 7208 4.8: results undefined; an unusable name cannot match
    if kind is MechanismKind.A:
        answer = run.need(await run.addresses(target))
        run.count_void(answer)
        return any(_in(mech, run.ip, a) for a in answer.records)
    if kind is MechanismKind.MX:
        return await _match_mx(run, mech, target)
    if kind is MechanismKind.PTR:
        run.warn(SpfWarning.PTR_MECHANISM_USED)
        return bool(await _validated_names(run, target))
    answer = run.need(await run.lookup.query(target, "A"))  # exists: always A (5.7)
    run.count_void(answer)
    return bool(answer.records)
