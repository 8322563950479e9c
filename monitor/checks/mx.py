"""MX sanity of a sending / bounce domain: can mail (bounces, complaints, replies) reach it?

RFC 5321 5.1 (implicit MX when there is none), RFC 7505 (null MX ``0 .`` means "accepts no
mail" and must stand alone), RFC 2181 10.3 (an MX must not point at a CNAME), and every
exchange needs an address.
"""

from __future__ import annotations

import asyncio
import ipaddress

from monitor.checks.resolver import DnsStatus, Lookup
from monitor.checks.result import AuthResult, CheckKind, Status

__all__ = ["check_mx"]

FAILING = frozenset(
    {
        "domain_missing",
        "no_mx_no_address",
        "null_mx_with_other_mx",
        "mx_target_is_cname",
        "mx_host_no_address",
        "mx_is_ip_literal",
    }
)


async def _host_findings(lookup: Lookup, host: str) -> tuple[list[str], bool]:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [f"mx_is_ip_literal:{host}"], False
    a, aaaa = await asyncio.gather(lookup.query(host, "A"), lookup.query(host, "AAAA"))
    findings = []
    if a.canonical or aaaa.canonical:
        findings.append(f"mx_target_is_cname:{host}")
    if not a.records and not aaaa.records and not (a.failed or aaaa.failed):
        findings.append(f"mx_host_no_address:{host}")
    return findings, a.failed and aaaa.failed


async def check_mx(lookup: Lookup, domain: str) -> AuthResult:
    """Check the MX RRset of ``domain``."""
    answer = await lookup.query(domain, "MX")
    if answer.failed:
        return AuthResult(
            kind=CheckKind.MX,
            subject=domain,
            status=Status.UNKNOWN,
            findings=(f"dns_{answer.status}",),
        )
    if answer.status is DnsStatus.NXDOMAIN:
        return AuthResult(
            kind=CheckKind.MX, subject=domain, status=Status.FAIL, findings=("domain_missing",)
        )
    hosts = [r.split(" ", 1)[1] for r in answer.records]
    findings: list[str] = []
    unknown = False
    if not hosts:
        addr = await lookup.query(domain, "A")
        findings.append("no_mx_implicit_a" if addr.records else "no_mx_no_address")
    elif "." in hosts:
        findings.append("null_mx_with_other_mx" if len(hosts) > 1 else "null_mx")
    else:
        for found, failed in await asyncio.gather(*(_host_findings(lookup, h) for h in hosts)):
            findings += found
            unknown |= failed
    codes = {f.split(":", 1)[0] for f in findings}
    status = Status.FAIL if codes & FAILING else Status.WARN if findings else Status.PASS
    if unknown and status is Status.PASS:
        status = Status.UNKNOWN
    fix = (
        f"publish MX {domain} -> a host with A/AAAA records (not a CNAME)"
        if status is Status.FAIL
        else None
    )
    return AuthResult(
        kind=CheckKind.MX,
        subject=domain,
        status=status,
        findings=tuple(findings),
        record=" ".join(sorted(answer.records)),
        fix=fix,
    )
