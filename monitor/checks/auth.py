"""Run every DNS-authentication check for a set of domains, IPs and DKIM selectors.

SPF is evaluated per (sending IP, domain) pair with check_host(). With no IP it is evaluated
for 192.0.2.0 (TEST-NET-1, RFC 5737), which no record should authorise: evaluation then walks
every term, so lookup-limit, void-lookup and syntax problems anywhere in the include tree
surface, and only those findings (not the fail itself) are reported.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping, Sequence

from monitor.checks.dkim import check_dkim
from monitor.checks.dmarc import check_dmarc
from monitor.checks.mtasts import check_mta_sts
from monitor.checks.mx import check_mx
from monitor.checks.ptr import check_ptr
from monitor.checks.resolver import Lookup
from monitor.checks.result import AuthResult, CheckKind, Status
from monitor.checks.spf import SpfOutcome, SpfResult, check_host
from monitor.checks.tlsrpt import check_tlsrpt
from parsers.dnsrec.dmarc import DmarcSpec

__all__ = ["check_spf", "run_auth_checks"]

PROBE_IP = "192.0.2.0"
_BAD = {SpfResult.FAIL, SpfResult.SOFTFAIL, SpfResult.NEUTRAL, SpfResult.NONE, SpfResult.PERMERROR}


def _spf_result(outcome: SpfOutcome, *, authorising: bool) -> AuthResult:
    findings = [w.value for w in outcome.warnings]
    if outcome.result is SpfResult.TEMPERROR:
        status = Status.UNKNOWN
    elif outcome.result is SpfResult.PERMERROR or outcome.result is SpfResult.NONE:
        status = Status.FAIL
    elif authorising and outcome.result in _BAD:
        status, findings = Status.FAIL, [f"ip_not_authorised:{outcome.result}", *findings]
    else:
        status = Status.WARN if findings else Status.PASS
    subject = f"{outcome.domain} [{outcome.ip}]" if authorising else outcome.domain
    fix = None
    if status is Status.FAIL:
        fix = (
            f"add ip{'6' if ':' in outcome.ip else '4'}:{outcome.ip} to the SPF record of "
            f"{outcome.domain}"
            if authorising and outcome.record
            else f'publish TXT {outcome.domain} "v=spf1 <your senders> -all" (one record, '
            "at most 10 DNS-querying terms)"
        )
    return AuthResult(
        kind=CheckKind.SPF,
        subject=subject,
        status=status,
        findings=tuple(findings),
        record=outcome.record,
        fix=fix,
        details={
            "result": outcome.result.value,
            "lookups": str(outcome.lookups),
            "void_lookups": str(outcome.void_lookups),
        },
    )


async def check_spf(lookup: Lookup, domain: str, ip: str | None = None) -> AuthResult:
    """SPF of ``domain`` for ``ip`` (must pass), or the record's health when ``ip`` is None."""
    outcome = await check_host(lookup, ip or PROBE_IP, domain, f"postmaster@{domain}")
    return _spf_result(outcome, authorising=ip is not None)


async def run_auth_checks(
    lookup: Lookup,
    *,
    domains: Sequence[str],
    ips: Sequence[str] = (),
    helo: str | None = None,
    selectors: Sequence[str] = (),
    signing_keys: Mapping[tuple[str, str], bytes] | None = None,
    dmarc_spec: DmarcSpec = DmarcSpec.RFC7489,
    envelope_domains: Sequence[str] = (),
    sts_context: ssl.SSLContext | None = None,
    sts_port: int = 443,
) -> list[AuthResult]:
    """All checks, concurrently; results come back in a stable order."""
    keys = signing_keys or {}
    jobs = []
    for domain in domains:
        jobs += [check_spf(lookup, domain, ip) for ip in ips] or [check_spf(lookup, domain)]
        jobs += [check_dkim(lookup, domain, s, keys.get((domain, s))) for s in selectors]
        jobs.append(
            check_dmarc(
                lookup,
                domain,
                spec=dmarc_spec,
                envelope_domains=envelope_domains or [domain],
                signing_domains=[domain] if selectors else [],
            )
        )
        jobs += [
            check_mx(lookup, domain),
            check_tlsrpt(lookup, domain),
            check_mta_sts(lookup, domain, context=sts_context, port=sts_port),
        ]
    jobs += [check_ptr(lookup, ip, helo) for ip in ips]
    return list(await asyncio.gather(*jobs))
