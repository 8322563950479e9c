"""TLS-RPT record check (``_smtp._tls.<domain>``, RFC 8460 3).

Optional, so a missing record is a warning: without it we never hear that a receiver failed
to negotiate TLS with us (or found our MTA-STS policy broken).
"""

from __future__ import annotations

from monitor.checks.resolver import Lookup
from monitor.checks.result import AuthResult, CheckKind, Status
from parsers.dnsrec.sts import parse_tlsrpt

__all__ = ["check_tlsrpt"]


async def check_tlsrpt(lookup: Lookup, domain: str) -> AuthResult:
    """Check the TLS-RPT record of ``domain``."""
    name = f"_smtp._tls.{domain}"
    answer = await lookup.query(name, "TXT")
    if answer.failed:
        return AuthResult(
            kind=CheckKind.TLS_RPT,
            subject=name,
            status=Status.UNKNOWN,
            findings=(f"dns_{answer.status}",),
        )
    records = [t for t in answer.records if t.startswith("v=TLSRPTv1")]
    fix = f'publish TXT {name} "v=TLSRPTv1; rua=mailto:tlsrpt@{domain}"'
    if not records:
        return AuthResult(
            kind=CheckKind.TLS_RPT,
            subject=name,
            status=Status.WARN,
            findings=("record_missing",),
            fix=fix,
        )
    if len(records) > 1:  # RFC 8460 3: more than one record means no policy
        return AuthResult(
            kind=CheckKind.TLS_RPT,
            subject=name,
            status=Status.FAIL,
            findings=("multiple_records",),
            record=" | ".join(records),
            fix=fix,
        )
    record = parse_tlsrpt(records[0])
    return AuthResult(
        kind=CheckKind.TLS_RPT,
        subject=name,
        status=Status.FAIL if record.errors else Status.PASS,
        findings=record.errors,
        record=record.text,
        fix=fix if record.errors else None,
    )
