"""The DMARC section: pass rate by source, the sources that fail, and who reported.

A row of an aggregate report (RFC 7489 Appendix C) passes DMARC when the policy-evaluated
DKIM *or* SPF result is ``pass`` (aligned). A source failing one of the two still passes,
but only just: forwarding breaks SPF, and a mailing list breaks DKIM. So the "failing
sources" table lists every source where either failed, and says whether DMARC failed too.
Sources that are our own sending IPs are marked: those must pass; the others are usually
forwarders or someone forging our domain, and DMARC enforcement is what stops them.
"""

from __future__ import annotations

from reports.model import DmarcFailing, DmarcReporter, DmarcSection, DmarcSource, ReportInput

__all__ = ["build_dmarc"]

_TOP = 15


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 4) if whole > 0 else None


def build_dmarc(inp: ReportInput) -> DmarcSection | None:
    """None when no aggregate report covers the window (the template says so)."""
    if not inp.dmarc_rows and not inp.dmarc_reporters:
        return None
    own_ips = set(inp.own_ips)
    by_ip: dict[str, list[int]] = {}
    failing: dict[tuple[str, str, bool, bool], int] = {}
    for ip, header_from, dkim, spf, count in inp.dmarc_rows:
        source = ip or "(withheld)"
        dkim_ok, spf_ok = dkim == "pass", spf == "pass"
        tally = by_ip.setdefault(source, [0, 0])
        tally[0] += count
        tally[1] += count if (dkim_ok or spf_ok) else 0
        if not (dkim_ok and spf_ok):
            key = (source, header_from or "", not spf_ok, not dkim_ok)
            failing[key] = failing.get(key, 0) + count
    total = sum(t[0] for t in by_ip.values())
    passed = sum(t[1] for t in by_ip.values())
    own_total = sum(t[0] for ip, t in by_ip.items() if ip in own_ips)
    own_passed = sum(t[1] for ip, t in by_ip.items() if ip in own_ips)
    sources = sorted(
        (
            DmarcSource(source_ip=ip, messages=m, passed=p, pass_rate=_pct(p, m), own=ip in own_ips)
            for ip, (m, p) in by_ip.items()
        ),
        key=lambda s: (-s.messages, s.source_ip),
    )
    fails = sorted(
        (
            DmarcFailing(
                source_ip=ip,
                header_from=hf,
                messages=n,
                spf_failed=spf_bad,
                dkim_failed=dkim_bad,
                dmarc_failed=spf_bad and dkim_bad,
                own=ip in own_ips,
            )
            for (ip, hf, spf_bad, dkim_bad), n in failing.items()
        ),
        key=lambda f: (-f.messages, f.source_ip, f.header_from),
    )
    reporters = sorted(
        (DmarcReporter(org_name=o, reports=r, messages=m) for o, r, m in inp.dmarc_reporters),
        key=lambda r: (-r.messages, r.org_name),
    )
    first, last = inp.dmarc_days or (inp.days[0], inp.days[-1])
    return DmarcSection(
        first_day=first,
        last_day=last,
        messages=total,
        passed=passed,
        pass_rate=_pct(passed, total),
        own_messages=own_total,
        own_pass_rate=_pct(own_passed, own_total),
        sources=sources[:_TOP],
        failing=fails[:_TOP],
        reporters=reporters[:_TOP],
    )
