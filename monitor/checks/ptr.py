"""PTR / forward-confirmed reverse DNS (FCrDNS) of each sending IP, and HELO agreement.

Large receivers reject or junk mail from IPs without a PTR that resolves back to the same
address (RFC 8499 "forward-confirmed reverse DNS"; Gmail's and Yahoo's sender requirements),
and compare the HELO name with it (RFC 5321 4.1.4 lets them). A missing PTR is a failure;
a PTR that does not resolve back, or a HELO that is not one of the confirmed names, too.
"""

from __future__ import annotations

import ipaddress

from monitor.checks.resolver import Lookup
from monitor.checks.result import AuthResult, CheckKind, Status

__all__ = ["check_ptr"]


async def check_ptr(lookup: Lookup, ip: str, helo: str | None = None) -> AuthResult:
    """Check the PTR of ``ip`` and, when given, that ``helo`` is a confirmed name."""
    addr = ipaddress.ip_address(ip)
    ptr = await lookup.query(addr.reverse_pointer, "PTR")
    if ptr.failed:
        return AuthResult(
            kind=CheckKind.PTR, subject=ip, status=Status.UNKNOWN, findings=(f"dns_{ptr.status}",)
        )
    if not ptr.records:
        return AuthResult(
            kind=CheckKind.PTR,
            subject=ip,
            status=Status.FAIL,
            findings=("ptr_missing",),
            fix=f"ask the owner of {ip} to set its PTR to your HELO name",
        )
    findings: list[str] = []
    confirmed: list[str] = []
    unknown = False
    for name in ptr.records:
        forward = await lookup.query(name, "A" if addr.version == 4 else "AAAA")
        unknown |= forward.failed
        if any(ipaddress.ip_address(a) == addr for a in forward.records):
            confirmed.append(name.lower())
    if len(ptr.records) > 1:
        findings.append("multiple_ptr")
    if not confirmed:
        findings.append("fcrdns_failed")
    if helo and helo.lower().rstrip(".") not in confirmed:
        findings.append("helo_mismatch")
    status = Status.PASS
    if "fcrdns_failed" in findings or "helo_mismatch" in findings:
        status = Status.UNKNOWN if unknown else Status.FAIL
    elif findings:
        status = Status.WARN
    fix = None
    if status is Status.FAIL:
        name = helo or ptr.records[0]
        fix = f"set PTR {addr.reverse_pointer} -> {name} and A/AAAA {name} -> {ip}"
    return AuthResult(
        kind=CheckKind.PTR,
        subject=ip,
        status=status,
        findings=tuple(findings),
        record=" ".join(sorted(ptr.records)),
        fix=fix,
        details={"confirmed": " ".join(confirmed), "helo": helo or ""},
    )
