"""SPF ``check_host()`` (RFC 7208 sections 4-6) over an injected async :class:`Lookup`.

Written here rather than taken from pyspf: pyspf is synchronous (it would block the daemon's
event loop), reads DNS through module-global state, reports no lookup counts or warnings,
and, served by our loopback nameserver, fails one test of the RFC 7208 suite
(``ptr-cname-loop``: a CNAME loop while validating a PTR name must be skipped, RFC 7208 5.5,
not turned into temperror). This evaluator passes the whole suite (tests/monitor/checks).

Record syntax lives in :mod:`parsers.dnsrec.spf`; this module drives the evaluation (record
selection, include and redirect recursion, explanations) and collects the warnings a sender
wants to hear about its own record; :mod:`monitor.checks.spf_terms` matches the other
mechanisms and counts DNS-querying terms (limit 10) and void lookups (limit 2) per RFC 7208
4.6.4.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from monitor.checks.resolver import Lookup
from monitor.checks.spf_terms import (
    VOID_LIMIT,
    Abort,
    Run,
    SpfResult,
    SpfWarning,
    expand,
    match_term,
    valid_domain,
)
from parsers.dnsrec.spf import (
    MechanismKind,
    SpfRecord,
    is_spf_record,
    parse_spf,
    validate_macro_string,
)
from parsers.errors import ParseError

__all__ = ["SpfOutcome", "SpfResult", "SpfWarning", "check_host", "check_identity"]

RECORD_SIZE_WARN = 450  # RFC 7208 3.4: keep answers within 512 octets over UDP


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


async def _include(run: Run, target: str) -> bool:
    """RFC 7208 5.2: pass matches; fail/softfail/neutral do not; none is permerror."""
    if target.lower() in run.stack:
        raise Abort(SpfResult.PERMERROR, f"include loop through {target}", SpfWarning.INCLUDE_LOOP)
    result = await _evaluate(run, target, nested=True)
    if result is SpfResult.NONE:
        raise Abort(
            SpfResult.PERMERROR,
            f"include:{target} has no SPF record",
            SpfWarning.INCLUDE_TARGET_NO_SPF,
        )
    if result in (SpfResult.TEMPERROR, SpfResult.PERMERROR):
        raise Abort(result, f"include:{target} gave {result}", None)
    return result is SpfResult.PASS


async def _fetch(run: Run, domain: str) -> SpfRecord | None:
    """RFC 7208 4.4/4.5: fetch TXT, select the v=spf1 record, parse it."""
    if not valid_domain(domain):
        return None
    answer = await run.lookup.query(domain, "TXT")
    if answer.failed:
        raise Abort(
            SpfResult.TEMPERROR, f"{domain} TXT: {answer.status}", SpfWarning.TEMPORARY_ERROR
        )
    found = [txt for txt in answer.records if is_spf_record(txt)]
    if len(found) > 1:
        raise Abort(
            SpfResult.PERMERROR,
            f"{domain} publishes {len(found)} SPF records",
            SpfWarning.MULTIPLE_SPF_RECORDS,
        )
    if not found:
        return None
    try:
        return parse_spf(found[0])
    except ParseError as exc:
        raise Abort(SpfResult.PERMERROR, f"{domain}: {exc}", SpfWarning.SYNTAX_ERROR) from exc


async def _explain(run: Run, record: SpfRecord, domain: str) -> str | None:
    """RFC 7208 6.2: any problem with the explanation just means "no explanation"."""
    if record.exp is None:
        return None
    try:
        target = await expand(run, record.exp, domain)
        answer = await run.lookup.query(target, "TXT")
        if answer.failed or len(answer.records) != 1 or not answer.records[0].isascii():
            return None
        validate_macro_string(answer.records[0], exp=True)
        return await expand(run, answer.records[0], domain, exp=True)
    except ParseError:
        return None


async def _evaluate(run: Run, domain: str, *, nested: bool) -> SpfResult:
    record = await _fetch(run, domain)
    if record is None:
        return SpfResult.NONE
    run.stack.append(domain.lower())
    try:
        for mech in record.mechanisms:
            if await match_term(run, mech, domain, _include):
                if not nested:
                    run.matched = mech.text
                result = SpfResult(mech.qualifier.value)
                if result is SpfResult.FAIL and not nested:
                    run.explanation = await _explain(run, record, domain)
                return result
        if record.redirect is None:
            return SpfResult.NEUTRAL
        run.count_term()
        target = await expand(run, record.redirect, domain)
        if target.lower() in run.stack:
            raise Abort(
                SpfResult.PERMERROR, f"redirect loop through {target}", SpfWarning.INCLUDE_LOOP
            )
        result = await _evaluate(run, target, nested=nested)
        if result is SpfResult.NONE:
            raise Abort(
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
    run = Run(lookup=lookup, ip=addr, sender=sender, helo=helo)
    record: SpfRecord | None = None
    try:
        result = await _evaluate(run, domain, nested=False)
        record = await _fetch(run, domain) if result is not SpfResult.NONE else None
        problem = None
    except Abort as abort:
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
