"""DMARC checks: discovery, validation, strength, report destinations and alignment.

Discovery follows the spec asked for. RFC 7489 6.6.3 asks ``_dmarc.<From domain>`` and then
``_dmarc.<Organizational Domain>``, the latter taken from the Public Suffix List (the
``publicsuffixlist`` package, which bundles the list so no download happens at run time).
RFC 9989 4.10 replaces the PSL with a DNS tree walk: the From domain, then its parents
from at most 7 labels down to the top-level label, first valid record wins.

For the policy that applies to the From domain: the record's ``p`` when found at the domain
itself, else ``np`` when the domain does not exist (RFC 9091 / RFC 9989: NXDOMAIN), else
``sp``, else ``p``. Report URIs outside the policy's Organizational Domain must be authorised
by ``<policy-domain>._report._dmarc.<destination>`` (RFC 7489 7.1); destinations that cannot
receive mail (no MX and no address) are reported as well.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import cache

from publicsuffixlist import PublicSuffixList

from monitor.checks.resolver import DnsStatus, Lookup
from monitor.checks.result import AuthResult, CheckKind, Status
from parsers.dnsrec.dmarc import DmarcPolicy, DmarcSpec, parse_dmarc

__all__ = ["check_dmarc", "org_domain"]

MAX_WALK_LABELS = 7  # RFC 9989 4.10.1


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def org_domain(domain: str) -> str:
    """RFC 7489 3.2 Organizational Domain via the Public Suffix List."""
    domain = domain.lower().rstrip(".")
    return _psl().privatesuffix(domain) or domain


def _candidates(domain: str, spec: DmarcSpec) -> list[str]:
    domain = domain.lower().rstrip(".")
    if spec is DmarcSpec.RFC7489:
        org = org_domain(domain)
        return [domain] if org == domain else [domain, org]
    labels = domain.split(".")
    walk = [domain]
    for count in range(min(len(labels) - 1, MAX_WALK_LABELS), 0, -1):
        walk.append(".".join(labels[-count:]))
    return walk


async def _discover(
    lookup: Lookup, domain: str, spec: DmarcSpec
) -> tuple[str | None, DmarcPolicy | None, list[str], bool]:
    """(policy domain, policy, findings, incomplete) for the first candidate with a record."""
    for candidate in _candidates(domain, spec):
        answer = await lookup.query(f"_dmarc.{candidate}", "TXT")
        if answer.failed:
            return candidate, None, [f"dns_{answer.status}"], True
        dmarc = [t for t in answer.records if t.startswith("v=DMARC")]
        if len(dmarc) > 1:
            return candidate, None, ["multiple_dmarc_records"], False
        if dmarc:
            return candidate, parse_dmarc(dmarc[0], spec), [], False
        # Near misses are named rather than skipped: "p=reject; v=DMARC1" (not first) or an
        # SPF record published at _dmarc are what a domain owner needs to hear about.
        near = [
            t for t in answer.records if "v=dmarc" in t.lower() or t.lower().startswith("v=spf1")
        ]
        if near:
            return candidate, parse_dmarc(near[0], spec), [], False
    return None, None, ["record_missing"], False


async def _destination_findings(
    lookup: Lookup, policy_domain: str, policy: DmarcPolicy
) -> list[str]:
    findings: list[str] = []
    destinations = {u.domain for u in (*policy.rua, *policy.ruf) if u.domain}
    for dest in sorted(destinations - {policy_domain}):
        if org_domain(dest) != org_domain(policy_domain):
            auth = await lookup.query(f"{policy_domain}._report._dmarc.{dest}", "TXT")
            if not any(t.startswith("v=DMARC1") for t in auth.records):
                findings.append("external_report_destination_unverified")
        mx = await lookup.query(dest, "MX")
        if not mx.records and not mx.failed:
            addr = await lookup.query(dest, "A")
            if not addr.records and not addr.failed:
                findings.append("report_domain_no_mx")
    return findings


def _aligned(a: str, b: str, mode: str) -> bool:
    a, b = a.lower().rstrip("."), b.lower().rstrip(".")
    return a == b if mode == "s" else org_domain(a) == org_domain(b)


def _alignment(
    domain: str, policy: DmarcPolicy, envelope: Sequence[str], signing: Sequence[str]
) -> list[str]:
    """RFC 7489 3.1: configured envelope (SPF) and d= (DKIM) domains vs the From domain."""
    findings = [f"spf_not_aligned:{d}" for d in envelope if not _aligned(d, domain, policy.aspf)]
    findings += [f"dkim_not_aligned:{d}" for d in signing if not _aligned(d, domain, policy.adkim)]
    if signing and len(findings) == len(envelope) + len(signing) and envelope:
        findings.append("no_aligned_identifier")
    return findings


async def _effective(
    lookup: Lookup, domain: str, policy_domain: str, policy: DmarcPolicy
) -> str | None:
    if policy_domain == domain:
        return policy.p
    if policy.np is not None:
        exists = await lookup.query(domain, "A")
        if exists.status is DnsStatus.NXDOMAIN:
            return policy.np
    return policy.sp or policy.p


def _status(findings: list[str], policy: DmarcPolicy | None) -> Status:
    if policy is None or not policy.valid or "no_aligned_identifier" in findings:
        return Status.FAIL
    return Status.WARN if findings else Status.PASS


async def check_dmarc(
    lookup: Lookup,
    domain: str,
    *,
    spec: DmarcSpec = DmarcSpec.RFC7489,
    envelope_domains: Sequence[str] = (),
    signing_domains: Sequence[str] = (),
) -> AuthResult:
    """Check the DMARC policy that applies to mail From ``domain``."""
    domain = domain.lower().rstrip(".")
    subject = f"_dmarc.{domain}"
    policy_domain, policy, findings, incomplete = await _discover(lookup, domain, spec)
    if incomplete:
        return AuthResult(
            kind=CheckKind.DMARC, subject=subject, status=Status.UNKNOWN, findings=tuple(findings)
        )
    if policy is None or policy_domain is None:
        return AuthResult(
            kind=CheckKind.DMARC,
            subject=subject,
            status=Status.FAIL,
            findings=tuple(findings),
            fix=f"publish TXT _dmarc.{org_domain(domain)} "
            f'"v=DMARC1; p=none; rua=mailto:dmarc@{org_domain(domain)}"',
        )
    findings = [*policy.errors, *policy.warnings]
    effective = None
    if policy.valid:
        dest, effective = await asyncio.gather(
            _destination_findings(lookup, policy_domain, policy),
            _effective(lookup, domain, policy_domain, policy),
        )
        findings += dest
        findings += _alignment(domain, policy, envelope_domains, signing_domains)
    status = _status(findings, policy)
    fix = None
    if status is not Status.PASS:
        fix = (
            f'publish TXT _dmarc.{policy_domain} "v=DMARC1; p=reject; '
            f'rua=mailto:dmarc@{policy_domain}" once reports show all mail aligned'
        )
    return AuthResult(
        kind=CheckKind.DMARC,
        subject=subject,
        status=status,
        findings=tuple(dict.fromkeys(findings)),
        record=policy.text,
        fix=fix,
        details={
            "policy_source": policy_domain,
            "effective_policy": effective or "",
            "spec": spec.value,
            "p": policy.p or "",
            "pct": str(policy.pct),
        },
    )
