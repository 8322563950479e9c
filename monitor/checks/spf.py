"""SPF ``check_host()`` (RFC 7208 sections 4-6) over an injected async :class:`Lookup`.

Written here rather than taken from pyspf: pyspf is synchronous (it would block the daemon's
event loop), reads DNS through module-global state, reports no lookup counts or warnings,
and, served by our loopback nameserver, fails one test of the RFC 7208 suite
(``ptr-cname-loop``: a CNAME loop while validating a PTR name must be skipped, RFC 7208 5.5,
not turned into temperror). This evaluator passes the whole suite (tests/monitor/checks).

Record syntax lives in :mod:`parsers.dnsrec.spf`; this module only walks records, counts
DNS-querying terms (limit 10) and void lookups (limit 2) per RFC 7208 4.6.4, and collects
the warnings a sender wants to hear about its own record.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from enum import StrEnum

from monitor.checks.resolver import DnsAnswer, Lookup
from parsers.dnsrec.spf import (
    MacroContext,
    Mechanism,
    MechanismKind,
    SpfRecord,
    expand_macros,
    is_spf_record,
    parse_spf,
    validate_macro_string,
)
from parsers.errors import ParseError

__all__ = ["SpfOutcome", "SpfResult", "SpfWarning", "check_host", "check_identity"]

LOOKUP_LIMIT = 10  # RFC 7208 4.6.4
VOID_LIMIT = 2  # RFC 7208 4.6.4 (SHOULD, default 2)
MX_ADDRESS_LIMIT = 10  # RFC 7208 4.6.4
PTR_NAME_LIMIT = 10  # RFC 7208 4.6.4
RECORD_SIZE_WARN = 450  # RFC 7208 3.4: keep answers within 512 octets over UDP

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


@dataclass(frozen=True, slots=True, kw_only=True)
class SpfOutcome:
    """check_host() result for one (ip, domain) plus what was learnt on the way."""

    result: SpfResult
    domain: str
    ip: str
    record: str | None = None
    mechanism: str | None = None  # the directive that matched, if any
    explanation: str | None = None  # from exp= (RFC 7208 6.2); None = receiver default
    lookups: int = 0
    void_lookups: int = 0
    warnings: tuple[SpfWarning, ...] = ()
    problem: str | None = None


class _Abort(Exception):
    def __init__(self, result: SpfResult, problem: str, warning: SpfWarning | None) -> None:
        super().__init__(problem)
        self.result = result
        self.problem = problem
        self.warning = warning


@dataclass(slots=True)
class _Run:
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
            raise _Abort(
                SpfResult.PERMERROR,
                "more than 10 DNS-querying terms",
                SpfWarning.LOOKUP_LIMIT_EXCEEDED,
            )

    def count_void(self, answer: DnsAnswer) -> None:
        if answer.void:
            self.voids += 1
            if self.voids > VOID_LIMIT:
                raise _Abort(
                    SpfResult.PERMERROR,
                    "more than 2 void lookups",
                    SpfWarning.VOID_LOOKUP_LIMIT_EXCEEDED,
                )

    def need(self, answer: DnsAnswer) -> DnsAnswer:
        """RFC 7208 section 5: a DNS error in a mechanism makes the whole check temperror."""
        if answer.failed:
            raise _Abort(
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


def _context(run: _Run, domain: str, validated: str = "unknown") -> MacroContext:
    return MacroContext(
        sender=run.sender, domain=domain, ip=run.ip, helo=run.helo, validated=validated
    )


async def _validated_names(run: _Run, target: str | None) -> list[str]:
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


async def _expand(run: _Run, spec: str, domain: str, *, exp: bool = False) -> str:
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


async def _match_mx(run: _Run, mech: Mechanism, target: str) -> bool:
    answer = run.need(await run.lookup.query(target, "MX"))
    run.count_void(answer)
    hosts = [rec.split(" ", 1)[1] for rec in answer.records]
    if len(hosts) > MX_ADDRESS_LIMIT:
        raise _Abort(
            SpfResult.PERMERROR, f"{target} has more than 10 MX hosts", SpfWarning.MX_OVER_10_HOSTS
        )
    for host in hosts:
        if host == ".":
            continue  # null MX, RFC 7505
        addrs = run.need(await run.addresses(host))
        if any(_in(mech, run.ip, a) for a in addrs.records):
            return True
    return False


async def _match(run: _Run, mech: Mechanism, domain: str) -> bool:
    """Does ``mech`` match? Raises :class:`_Abort` for temperror/permerror."""
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
    target = await _expand(run, mech.domain_spec, domain) if mech.domain_spec else domain
    if kind is MechanismKind.INCLUDE:
        return await _include(run, target)
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


async def _include(run: _Run, target: str) -> bool:
    """RFC 7208 5.2: pass matches; fail/softfail/neutral do not; none is permerror."""
    if target.lower() in run.stack:
        raise _Abort(SpfResult.PERMERROR, f"include loop through {target}", SpfWarning.INCLUDE_LOOP)
    result = await _evaluate(run, target, nested=True)
    if result is SpfResult.NONE:
        raise _Abort(
            SpfResult.PERMERROR,
            f"include:{target} has no SPF record",
            SpfWarning.INCLUDE_TARGET_NO_SPF,
        )
    if result in (SpfResult.TEMPERROR, SpfResult.PERMERROR):
        raise _Abort(result, f"include:{target} gave {result}", None)
    return result is SpfResult.PASS


async def _fetch(run: _Run, domain: str) -> SpfRecord | None:
    """RFC 7208 4.4/4.5: fetch TXT, select the v=spf1 record, parse it."""
    if not valid_domain(domain):
        return None
    answer = await run.lookup.query(domain, "TXT")
    if answer.failed:
        raise _Abort(
            SpfResult.TEMPERROR, f"{domain} TXT: {answer.status}", SpfWarning.TEMPORARY_ERROR
        )
    found = [txt for txt in answer.records if is_spf_record(txt)]
    if len(found) > 1:
        raise _Abort(
            SpfResult.PERMERROR,
            f"{domain} publishes {len(found)} SPF records",
            SpfWarning.MULTIPLE_SPF_RECORDS,
        )
    if not found:
        return None
    try:
        return parse_spf(found[0])
    except ParseError as exc:
        raise _Abort(SpfResult.PERMERROR, f"{domain}: {exc}", SpfWarning.SYNTAX_ERROR) from exc


async def _explain(run: _Run, record: SpfRecord, domain: str) -> str | None:
    """RFC 7208 6.2: any problem with the explanation just means "no explanation"."""
    if record.exp is None:
        return None
    try:
        target = await _expand(run, record.exp, domain)
        answer = await run.lookup.query(target, "TXT")
        if answer.failed or len(answer.records) != 1 or not answer.records[0].isascii():
            return None
        validate_macro_string(answer.records[0], exp=True)
        return await _expand(run, answer.records[0], domain, exp=True)
    except ParseError:
        return None


async def _evaluate(run: _Run, domain: str, *, nested: bool) -> SpfResult:
    record = await _fetch(run, domain)
    if record is None:
        return SpfResult.NONE
    run.stack.append(domain.lower())
    try:
        for mech in record.mechanisms:
            if await _match(run, mech, domain):
                if not nested:
                    run.matched = mech.text
                result = SpfResult(mech.qualifier.value)
                if result is SpfResult.FAIL and not nested:
                    run.explanation = await _explain(run, record, domain)
                return result
        if record.redirect is None:
            return SpfResult.NEUTRAL
        run.count_term()
        target = await _expand(run, record.redirect, domain)
        if target.lower() in run.stack:
            raise _Abort(
                SpfResult.PERMERROR, f"redirect loop through {target}", SpfWarning.INCLUDE_LOOP
            )
        result = await _evaluate(run, target, nested=nested)
        if result is SpfResult.NONE:
            raise _Abort(
                SpfResult.PERMERROR,
                f"redirect={target} has no SPF record",
                SpfWarning.INCLUDE_TARGET_NO_SPF,
            )
        return result
    finally:
        run.stack.pop()


def _record_warnings(record: SpfRecord | None, raw_size: int) -> list[SpfWarning]:
    """Warnings read off the sender's own record, whatever the client IP."""
    if record is None:
        return []
    found: list[SpfWarning] = []
    kinds = {m.kind for m in record.mechanisms}
    for mech in record.mechanisms:
        if mech.kind is MechanismKind.ALL:
            if mech.qualifier.value == "pass":
                found.append(SpfWarning.PASS_ALL)
            elif mech.qualifier.value == "neutral":
                found.append(SpfWarning.NEUTRAL_ALL)
    if MechanismKind.PTR in kinds:
        found.append(SpfWarning.PTR_MECHANISM_USED)
    if MechanismKind.ALL in kinds and record.redirect is not None:
        found.append(SpfWarning.REDIRECT_IGNORED_ALL_PRESENT)
    if raw_size > RECORD_SIZE_WARN:
        found.append(SpfWarning.RECORD_OVER_450_BYTES)
    return found


async def check_host(
    lookup: Lookup, ip: str, domain: str, sender: str, helo: str = ""
) -> SpfOutcome:
    """RFC 7208 4: the SPF result for ``ip`` sending as ``sender`` for ``domain``.

    ``sender`` without a local part gets ``postmaster`` (4.3). IPv4-mapped IPv6 clients are
    evaluated as IPv4 (section 5).
    """
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    domain = domain.removesuffix(".")
    local, _, sender_domain = sender.rpartition("@")
    sender = f"{local or 'postmaster'}@{sender_domain or domain}"
    run = _Run(lookup=lookup, ip=addr, sender=sender, helo=helo)
    record: SpfRecord | None = None
    try:
        result = await _evaluate(run, domain, nested=False)
        record = await _fetch(run, domain) if result is not SpfResult.NONE else None
        problem = None
    except _Abort as abort:
        result, problem = abort.result, abort.problem
        if abort.warning is not None:
            run.warn(abort.warning)
    if result is SpfResult.NONE:
        run.warn(SpfWarning.NO_SPF_RECORD)
    for warning in _record_warnings(record, len(record.text) if record else 0):
        run.warn(warning)
    if 0 < run.voids <= VOID_LIMIT:
        run.warn(SpfWarning.VOID_LOOKUPS_PRESENT)
    return SpfOutcome(
        result=result,
        domain=domain,
        ip=str(addr),
        record=record.text if record else None,
        mechanism=run.matched,
        explanation=run.explanation,
        lookups=run.lookups,
        void_lookups=run.voids,
        warnings=tuple(run.warnings),
        problem=problem,
    )


async def check_identity(lookup: Lookup, ip: str, mailfrom: str, helo: str) -> SpfOutcome:
    """Check MAIL FROM, or the HELO identity when MAIL FROM is empty (RFC 7208 2.3, 2.4)."""
    if mailfrom:
        local, at, domain = mailfrom.rpartition("@")
        if not at:
            domain, local = mailfrom, ""
        return await check_host(lookup, ip, domain, f"{local}@{domain}", helo)
    return await check_host(lookup, ip, helo, f"postmaster@{helo}", helo)
