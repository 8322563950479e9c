"""DKIM key checks: is the key for each configured (domain, selector) published, well formed,
strong enough (RFC 8301), not in test mode or revoked, and the one we sign with?

The signing key is read from its PEM file and compared as DER SubjectPublicKeyInfo with the
published key, so a rotated key that was never published (or the reverse) is caught before
receivers start failing signatures.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from monitor.checks.resolver import Lookup
from monitor.checks.result import AuthResult, CheckKind, Status
from monitor.errors import CheckError
from parsers.dnsrec.dkim import parse_dkim_key

__all__ = ["check_dkim", "public_key_der"]

WARNINGS_ONLY = frozenset({"testing_mode_t_y", "sha1_only_deprecated", "rsa_key_below_2048"})


def public_key_der(pem_path: str | Path) -> bytes:
    """SubjectPublicKeyInfo DER of the private key in ``pem_path`` (unencrypted PEM)."""
    try:
        key = serialization.load_pem_private_key(Path(pem_path).read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise CheckError(f"cannot read DKIM signing key {pem_path}: {exc}") from exc
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _fix(domain: str, selector: str, signing: bytes | None) -> str:
    import base64

    if signing is None:
        return f'publish TXT {selector}._domainkey.{domain} "v=DKIM1; k=rsa; p=<public key>"'
    return (
        f"publish TXT {selector}._domainkey.{domain} "
        f'"v=DKIM1; k=rsa; p={base64.b64encode(signing).decode()}"'
    )


async def check_dkim(
    lookup: Lookup, domain: str, selector: str, signing_key: bytes | None = None
) -> AuthResult:
    """Check one selector; ``signing_key`` is :func:`public_key_der` of our private key."""
    name = f"{selector}._domainkey.{domain}"
    answer = await lookup.query(name, "TXT")
    if answer.failed:
        return AuthResult(
            kind=CheckKind.DKIM,
            subject=name,
            status=Status.UNKNOWN,
            findings=(f"dns_{answer.status}",),
        )
    records = [r for r in answer.records if r.strip()]
    if not records:
        return AuthResult(
            kind=CheckKind.DKIM,
            subject=name,
            status=Status.FAIL,
            findings=("record_missing",),
            fix=_fix(domain, selector, signing_key),
        )
    if len(records) > 1:
        return AuthResult(
            kind=CheckKind.DKIM,
            subject=name,
            status=Status.FAIL,
            findings=("multiple_key_records",),
            record=" | ".join(records),
        )
    key = parse_dkim_key(records[0])
    findings = [*key.errors, *key.warnings]
    if (
        signing_key is not None
        and key.public_key_der is not None
        and key.public_key_der != signing_key
    ):
        findings.append("key_mismatch")
    status = Status.PASS
    if key.errors or "key_mismatch" in findings:
        status = Status.FAIL
    elif findings:
        status = Status.WARN
    details = {"key_type": key.key_type or "", "key_bits": str(key.key_bits or "")}
    if key.public_key_der is not None:
        details["fingerprint"] = hashlib.sha256(key.public_key_der).hexdigest()
    fix = _fix(domain, selector, signing_key) if status is Status.FAIL else None
    return AuthResult(
        kind=CheckKind.DKIM,
        subject=name,
        status=status,
        findings=tuple(findings),
        record=records[0],
        fix=fix,
        details=details,
    )
