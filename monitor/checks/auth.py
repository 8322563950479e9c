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
from dataclasses import dataclass, field
from pathlib import Path

from monitor.checks.dkim import check_dkim, public_key_der
from monitor.checks.dmarc import check_dmarc
from monitor.checks.mtasts import check_mta_sts
from monitor.checks.mx import check_mx
from monitor.checks.ptr import check_ptr
from monitor.checks.resolver import Lookup
from monitor.checks.result import AuthResult, CheckKind, Status
from monitor.checks.spf import SpfOutcome, SpfResult, check_host
from monitor.checks.tlsrpt import check_tlsrpt
from parsers.dnsrec.dmarc import DmarcSpec

__all__ = ["AuthPlan", "check_spf", "run_auth_checks"]

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


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthPlan:
    """What one authentication run checks, from ``[sending]`` or from CLI flags.

    SPF is evaluated for every (sending IP, ``spf_domains`` domain) pair, since receivers
    evaluate it for the MAIL FROM domain (RFC 7208 2.4); DMARC for each From domain
    (RFC 7489 3.1), with alignment against the envelope and DKIM signing domains; MX,
    MTA-STS and TLS-RPT for every domain mail is sent or bounced as; PTR/FCrDNS for every IP
    with the HELO name it announces.
    """

    spf_domains: tuple[str, ...] = ()
    from_domains: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    helo: Mapping[str, str] = field(default_factory=dict)  # IP -> HELO name
    dkim: tuple[tuple[str, str], ...] = ()  # (domain, selector)
    #: PEM private keys we sign with, by (domain, selector); read at each run, so a key
    #: rotated on disk is compared with DNS from the next run on.
    signing_key_files: Mapping[tuple[str, str], Path] = field(default_factory=dict)
    dmarc_spec: DmarcSpec = DmarcSpec.RFC7489

    @property
    def mail_domains(self) -> tuple[str, ...]:
        """Envelope and From domains, once each: MX, MTA-STS and TLS-RPT are checked here."""
        return tuple(dict.fromkeys([*self.spf_domains, *self.from_domains]))

    @property
    def empty(self) -> bool:
        return not (self.mail_domains or self.ips or self.dkim)

    @classmethod
    def for_domains(
        cls,
        domains: Sequence[str],
        *,
        ips: Sequence[str] = (),
        helo: str | None = None,
        selectors: Sequence[str] = (),
        dmarc_spec: DmarcSpec = DmarcSpec.RFC7489,
    ) -> AuthPlan:
        """The CLI's ad-hoc plan: each domain is both envelope and From domain, every
        selector is checked under every domain, every IP announces ``helo``."""
        return cls(
            spf_domains=tuple(domains),
            from_domains=tuple(domains),
            ips=tuple(ips),
            helo={ip: helo for ip in ips} if helo else {},
            dkim=tuple((d, s) for d in domains for s in selectors),
            dmarc_spec=dmarc_spec,
        )


async def run_auth_checks(
    lookup: Lookup,
    plan: AuthPlan,
    *,
    sts_context: ssl.SSLContext | None = None,
    sts_port: int = 443,
) -> list[AuthResult]:
    """All checks of ``plan``, concurrently; results come back in a stable order.

    Raises :class:`~monitor.errors.CheckError` when a signing key file cannot be read.
    """
    keys = {k: public_key_der(path) for k, path in plan.signing_key_files.items()}
    signing_domains = list(dict.fromkeys(d for d, _ in plan.dkim))
    jobs = []
    for domain in plan.spf_domains:
        jobs += [check_spf(lookup, domain, ip) for ip in plan.ips] or [check_spf(lookup, domain)]
    jobs += [check_dkim(lookup, d, s, keys.get((d, s))) for d, s in plan.dkim]
    jobs += [
        check_dmarc(
            lookup,
            domain,
            spec=plan.dmarc_spec,
            envelope_domains=plan.spf_domains or [domain],
            signing_domains=signing_domains,
        )
        for domain in plan.from_domains
    ]
    for domain in plan.mail_domains:
        jobs += [
            check_mx(lookup, domain),
            check_tlsrpt(lookup, domain),
            check_mta_sts(lookup, domain, context=sts_context, port=sts_port),
        ]
    jobs += [check_ptr(lookup, ip, plan.helo.get(ip)) for ip in plan.ips]
    return list(await asyncio.gather(*jobs))
