"""The Gmail/Yahoo bulk-sender requirements (February 2024), judged against the live setup.

Each requirement is one line with a status and what to fix:

* **SPF** passes for every sending IP and **DKIM** keys are published and match the key we
  sign with (``monitor.checks.auth``); **DMARC** is published (``p=none`` is enough for
  Gmail and Yahoo) and the From domain **aligns** with the SPF or the DKIM domain;
* **PTR + FCrDNS** for every sending IP;
* **TLS** to the big providers: the relay's own deliveries to their domains over the last
  7 days (each delivered event records whether STARTTLS was used), and their TLS-RPT
  reports; "not measured" without either;
* **one-click unsubscribe** present on recent bulk mail (the stored RFC 8058 check of our
  own mail enclosed in bounces and complaints) and **answering** (an RFC 8058 POST with a
  token that names nothing, to ``[web] public_url``: a 4xx is the service answering and
  refusing it, which is all a probe may do without unsubscribing anyone);
* the **complaint rate** under 0.3 % over 7 days (Gmail's hard limit; above 0.1 % warns).

Statuses: ``pass``, ``fail``, ``unknown`` (the check could not complete, as for DNS) and
``unmeasured`` (no data yet: a fresh setup is not failing; it does not change the exit
status). The same function judges live DNS results (``deliverwatch check compliance``) and
stored check states (the daily report), so the two never disagree on what passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import httpx

from monitor.checks.auth import AuthPlan
from monitor.checks.result import ONE_CLICK_FIX, AuthResult, CheckKind, Status
from reports.providers import ProviderMap

__all__ = [
    "COMPLAINT_LIMIT",
    "ComplianceSetup",
    "ProbeResult",
    "Requirement",
    "by_provider",
    "exit_status",
    "from_states",
    "judge",
    "probe_one_click",
    "provider_domains",
]


@dataclass(frozen=True, slots=True)
class ComplianceSetup:
    """What the report's bulk-sender section judges: the configured plan and the one-click
    URL. Here, not in ``monitor.report.daily``, so the daemon can build its job arguments
    without importing pandas and matplotlib (idle RSS, issue 17)."""

    plan: AuthPlan
    public_url: str


#: Gmail's and Yahoo's limit (0.3 %); Gmail asks to stay under 0.1 %.
COMPLAINT_LIMIT, COMPLAINT_TARGET = 0.003, 0.001
PROBE_TOKEN = "compliance-probe-not-a-token"  # noqa: S105 - names nothing, by design


@dataclass(frozen=True, slots=True, kw_only=True)
class Requirement:
    key: str  # spf, dkim, dmarc, alignment, ptr, tls, one-click, one-click-answers, complaints
    subject: str
    status: str  # pass, fail, unknown, unmeasured
    detail: str
    fix: str = ""


@dataclass(frozen=True, slots=True)
class ProbeResult:
    url: str
    status: int | None  # HTTP status, None: no answer
    error: str | None = None


async def probe_one_click(public_url: str, *, timeout: float = 10.0) -> ProbeResult | None:
    """POST ``List-Unsubscribe=One-Click`` to the web service; None when no ``public_url``."""
    if not public_url:
        return None
    url = f"{public_url.rstrip('/')}/u/{PROBE_TOKEN}"
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            reply = await client.post(url, data={"List-Unsubscribe": "One-Click"})
    except httpx.HTTPError as exc:
        return ProbeResult(
            url, None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        )
    return ProbeResult(url, reply.status_code)


def _status(results: Sequence[AuthResult]) -> str:
    if not results:
        return "unknown"
    if any(r.status is Status.FAIL for r in results):
        return "fail"
    if any(r.status is Status.UNKNOWN for r in results):
        return "unknown"
    return "pass"


def _detail(results: Sequence[AuthResult]) -> str:
    return "; ".join(
        f"{r.subject}: {r.status.value}" + (f" ({', '.join(r.findings)})" if r.findings else "")
        for r in results
    )


def _fix(results: Sequence[AuthResult]) -> str:
    return " ".join(dict.fromkeys(r.fix for r in results if r.fix and r.status is Status.FAIL))


def _of(results: Sequence[AuthResult], kind: CheckKind) -> list[AuthResult]:
    return [r for r in results if r.kind is kind]


def judge(
    auth: Sequence[AuthResult],
    plan: AuthPlan,
    *,
    one_click: dict[str, tuple[str, str | None]] | None,
    tls: dict[str, tuple[int, int]] | None,
    complaints: tuple[int, int] | None,
    probe: ProbeResult | None,
    deliveries: dict[str, tuple[int, int]] | None = None,
) -> list[Requirement]:
    """The requirement lines (module docstring). ``None`` facts: the store could not be read
    (``unknown``); ``probe`` None: no ``[web] public_url``."""
    out: list[Requirement] = []
    spf = _of(auth, CheckKind.SPF)
    if not plan.ips:
        out.append(
            Requirement(
                key="spf",
                subject="-",
                status="unknown",
                detail="no sending IPs to check",
                fix="list the relay's IPs in [sending] ips",
            )
        )
    else:
        out.append(
            Requirement(
                key="spf",
                subject=", ".join(plan.spf_domains) or "-",
                status=_status(spf),
                detail=_detail(spf),
                fix=_fix(spf),
            )
        )
    dkim = _of(auth, CheckKind.DKIM)
    if not plan.dkim:
        out.append(
            Requirement(
                key="dkim",
                subject=", ".join(plan.from_domains) or "-",
                status="fail",
                detail="no DKIM key configured",
                fix="deliverwatch dkim keygen --domain D --selector S, publish "
                'the TXT record it prints, add [sending.dkim."D"]',
            )
        )
    else:
        out.append(
            Requirement(
                key="dkim",
                subject=", ".join(f"{s}._domainkey.{d}" for d, s in plan.dkim),
                status=_status(dkim),
                detail=_detail(dkim),
                fix=_fix(dkim),
            )
        )
    signing = list(dict.fromkeys(d for d, _ in plan.dkim))
    for domain in plan.from_domains:
        dmarc = [r for r in _of(auth, CheckKind.DMARC) if r.subject == f"_dmarc.{domain}"]
        out += _dmarc_lines(domain, dmarc, plan.spf_domains or (domain,), signing)
    ptr = _of(auth, CheckKind.PTR)
    if not plan.ips:
        out.append(
            Requirement(
                key="ptr",
                subject="-",
                status="unknown",
                detail="no sending IPs to check",
                fix="list the relay's IPs in [sending] ips",
            )
        )
    else:
        out.append(
            Requirement(
                key="ptr",
                subject=", ".join(plan.ips),
                status=_status(ptr),
                detail=_detail(ptr),
                fix=_fix(ptr),
            )
        )
    out.append(_tls_line(tls, deliveries if deliveries is not None else {} if tls else None))
    for domain in plan.from_domains or ("-",):
        out.append(_one_click_line(domain, one_click))
    out.append(_probe_line(probe))
    out.append(_complaint_line(complaints))
    return [x if x.fix or x.status != "unknown" else _unknown_fix(x) for x in out]


def _unknown_fix(line: Requirement) -> Requirement:
    if "store" in line.detail:
        fix = "check [database] and run `deliverwatch db upgrade`"
    else:
        fix = "retry; check the resolvers ([checks] nameservers or --nameserver)"
    return replace(line, fix=fix)


def _dmarc_lines(
    domain: str, dmarc: list[AuthResult], envelope: Sequence[str], signing: Sequence[str]
) -> list[Requirement]:
    if not dmarc or dmarc[0].status is Status.UNKNOWN:
        why = "the DMARC lookup did not complete" if dmarc else "not checked"
        return [
            Requirement(key="dmarc", subject=domain, status="unknown", detail=why),
            Requirement(key="alignment", subject=domain, status="unknown", detail=why),
        ]
    r = dmarc[0]
    missing = r.status is Status.FAIL and (
        "record_missing" in r.findings
        or (not r.record and "no_aligned_identifier" not in r.findings)
    )
    if missing:
        return [
            Requirement(
                key="dmarc",
                subject=domain,
                status="fail",
                detail="no DMARC policy applies to this From domain",
                fix=r.fix or "",
            ),
            Requirement(
                key="alignment",
                subject=domain,
                status="fail",
                detail="without a DMARC policy nothing aligns",
                fix=r.fix or "",
            ),
        ]
    invalid = r.status is Status.FAIL and "no_aligned_identifier" not in r.findings
    lines = [
        Requirement(
            key="dmarc",
            subject=domain,
            status="fail" if invalid else "pass",
            detail=(r.record or "published")
            + (f" ({', '.join(r.findings)})" if r.findings else ""),
            fix=r.fix or "" if invalid else "",
        )
    ]
    bad_spf = {f.split(":", 1)[1] for f in r.findings if f.startswith("spf_not_aligned:")}
    bad_dkim = {f.split(":", 1)[1] for f in r.findings if f.startswith("dkim_not_aligned:")}
    spf_ok = [d for d in envelope if d not in bad_spf]
    dkim_ok = [d for d in signing if d not in bad_dkim]
    if spf_ok or dkim_ok:
        said = ", ".join([*(f"SPF {d}" for d in spf_ok), *(f"DKIM d={d}" for d in dkim_ok)])
        lines.append(
            Requirement(key="alignment", subject=domain, status="pass", detail=f"aligned: {said}")
        )
    else:
        lines.append(
            Requirement(
                key="alignment",
                subject=domain,
                status="fail",
                detail=f"neither the envelope ({', '.join(envelope)}) nor a DKIM d= "
                f"({', '.join(signing) or 'none'}) aligns with {domain}",
                fix=f'sign with d={domain} (a [sending.dkim."{domain}"] key), or send with an '
                f"envelope domain under {domain}",
            )
        )
    return lines


def provider_domains(providers: ProviderMap) -> list[str]:
    """The big providers' mailbox domains (the report's provider groups)."""
    return sorted(d for g in providers.groups for d in g.domains)


def by_provider(
    per_domain: dict[str, tuple[int, int]], providers: ProviderMap
) -> dict[str, tuple[int, int]]:
    """Recipient domain -> (over TLS, plain) summed per provider label."""
    labels = providers.labels
    out: dict[str, tuple[int, int]] = {}
    for domain, (yes, no) in per_domain.items():
        group = providers.by_domain(domain)
        if group is None:
            continue
        a, b = out.get(labels[group], (0, 0))
        out[labels[group]] = (a + yes, b + no)
    return out


def _tls_line(
    tls: dict[str, tuple[int, int]] | None, deliveries: dict[str, tuple[int, int]] | None
) -> Requirement:
    """The relay's own deliveries first (each records whether STARTTLS was used), then the
    providers' TLS-RPT reports; neither: not measured."""
    subject = "big providers"
    if tls is None or deliveries is None:
        return Requirement(key="tls", subject=subject, status="unknown",
                           detail="the store could not be read")  # fmt: skip
    parts = [f"{p}: {ok} of {ok + bad} deliveries over TLS" for p, (ok, bad) in deliveries.items()]
    parts += [f"{p} TLS-RPT: {ok} session(s) ok, {bad} failed" for p, (ok, bad) in tls.items()]
    if not parts:
        return Requirement(key="tls", subject=subject, status="unmeasured",
                           detail="not measured: no delivery to Gmail, Microsoft, Yahoo or "
                                  "Apple and no TLS-RPT report from them in the last 7 days",
                           fix="publish a TLS-RPT record (_smtp._tls) so they report")  # fmt: skip
    plain = any(bad for _ok, bad in deliveries.values())
    failed = any(bad for _ok, bad in tls.values())
    if plain or failed:
        fix = ("read the failure details of the TLS-RPT reports (certificate, MTA-STS policy)"
               if failed else "")  # fmt: skip
        if plain:
            fix = ("mail went out in plain text: a failed STARTTLS handshake falls back to "
                   "plain text (check the relay's log for 'TLS handshake' and its OpenSSL) "
                   + ("; " + fix if fix else ""))  # fmt: skip
        return Requirement(key="tls", subject=subject, status="fail", detail="; ".join(parts),
                           fix=fix)  # fmt: skip
    return Requirement(key="tls", subject=subject, status="pass", detail="; ".join(parts))


def _one_click_line(domain: str, stored: dict[str, tuple[str, str | None]] | None) -> Requirement:
    if stored is None:
        return Requirement(
            key="one-click", subject=domain, status="unknown", detail="the store could not be read"
        )
    found = stored.get(domain)
    if found is None:
        return Requirement(
            key="one-click",
            subject=domain,
            status="unmeasured",
            detail="not measured: no bounce or complaint enclosing our mail "
            "from this domain has been read yet",
        )
    status, detail = found
    ok = status in ("ok", "pass")
    return Requirement(
        key="one-click",
        subject=domain,
        status="pass" if ok else "unknown" if status in ("unknown", "error") else "fail",
        detail=detail or status,
        fix="" if ok else ONE_CLICK_FIX,
    )


def _probe_line(probe: ProbeResult | None) -> Requirement:
    if probe is None:
        return Requirement(
            key="one-click-answers",
            subject="-",
            status="fail",
            detail="no [web] public_url: mail carries no one-click link",
            fix="set [web] public_url and run deliverwatch web behind it",
        )
    if probe.status is None:
        return Requirement(
            key="one-click-answers",
            subject=probe.url,
            status="fail",
            detail=f"no answer: {probe.error}",
            fix="start deliverwatch web (make run) and check the proxy in front of it",
        )
    if probe.status >= 500 or probe.status in (301, 302, 303, 307, 308, 401, 403, 405):
        return Requirement(
            key="one-click-answers",
            subject=probe.url,
            status="fail",
            detail=f"HTTP {probe.status} to an RFC 8058 POST",
            fix="one-click POSTs must reach deliverwatch web with no login, no "
            "redirect (check the proxy)",
        )
    return Requirement(
        key="one-click-answers",
        subject=probe.url,
        status="pass",
        detail=f"answers RFC 8058 POSTs (HTTP {probe.status} to a probe token that names nothing)",
    )


def _complaint_line(counts: tuple[int, int] | None) -> Requirement:
    if counts is None:
        return Requirement(
            key="complaints",
            subject="7 days",
            status="unknown",
            detail="the store could not be read",
        )
    complaints, delivered = counts
    if not delivered:
        return Requirement(
            key="complaints",
            subject="7 days",
            status="unmeasured",
            detail=f"not measured: no delivery in 7 days ({complaints} complaint(s))",
        )
    rate = complaints / delivered
    detail = f"{rate:.3%} ({complaints} complaint(s) / {delivered} delivered)"
    if rate >= COMPLAINT_LIMIT:
        return Requirement(
            key="complaints",
            subject="7 days",
            status="fail",
            detail=detail,
            fix="stop the campaigns with the most complaints (report: complaints "
            "by campaign); send only to people who asked",
        )
    note = " (above Gmail's 0.1 % target)" if rate >= COMPLAINT_TARGET else ""
    return Requirement(key="complaints", subject="7 days", status="pass", detail=detail + note)


def exit_status(lines: Sequence[Requirement]) -> int:
    """0 every line passes (or is not measured yet), 1 a line fails, 2 one is unknown."""
    if any(x.status == "fail" for x in lines):
        return 1
    return 2 if any(x.status == "unknown" for x in lines) else 0


_FROM_STATE = {"ok": Status.PASS, "warn": Status.WARN, "fail": Status.FAIL}


def from_states(states: Sequence[tuple[str, str, str, str | None]]) -> list[AuthResult]:
    """Stored check states (``monitor.store.compliance.auth_states``) as results to judge."""
    out = []
    for check, subject, status, detail in states:
        try:
            kind = CheckKind(check)
        except ValueError:
            continue
        st = _FROM_STATE.get(status, Status.UNKNOWN)
        findings = tuple(detail.split(", ")) if detail and detail != st.value else ()
        record = "stored" if kind is CheckKind.DMARC and "record_missing" not in findings else None
        out.append(
            AuthResult(kind=kind, subject=subject, status=st, findings=findings, record=record)
        )
    return out
