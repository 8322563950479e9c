"""The relay's own view of TLS beside the receivers' TLS-RPT reports, per policy domain.

Each view can be wrong on its own: the relay knows what its handshakes did, a receiver knows
what arrived. Where both speak of one domain on one day (RFC 8460 reports cover UTC days, as
the relay's counts do) a disagreement is worth a line: failures the relay saw that no report
mentions (the receiver does not count them, or its reports go elsewhere), or failures a report
pins on our sending addresses while the relay saw none (another host sends in our name, or the
relay's view is wrong). Pure: rows in, rows out.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from reports.model import TlsComparisonRow

__all__ = ["OURS_FAILED", "compare_tls"]

#: The relay's outcomes that are a failed TLS attempt (``no-mx`` is not about TLS).
OURS_FAILED = frozenset({"tls-failed"})

RelayTlsIn = tuple[str, str, str, int]  # (domain, policy, outcome, connections)
TlsRptIn = tuple[str, str, int, int, tuple[tuple[str, str, int], ...]]


def compare_tls(
    relay: Iterable[RelayTlsIn], tlsrpt: Iterable[TlsRptIn], own_ips: Sequence[str]
) -> list[TlsComparisonRow]:
    """One row per domain either side names, by domain."""
    ours: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for domain, policy, outcome, n in relay:
        if outcome not in ("tls", "plain", *OURS_FAILED):
            continue
        counts = ours[domain.lower().rstrip(".")].setdefault(policy, [0, 0, 0])
        counts[0 if outcome == "tls" else 1 if outcome == "plain" else 2] += n
    reporters: dict[str, set[str]] = defaultdict(set)
    ok: Counter[str] = Counter()
    failed: Counter[str] = Counter()
    types: dict[str, Counter[str]] = defaultdict(Counter)
    from_us: Counter[str] = Counter()
    mine = set(own_ips)
    for org, domain, good, bad, failures in tlsrpt:
        reporters[domain].add(org)
        ok[domain] += good
        failed[domain] += bad
        for result_type, ip, n in failures:
            types[domain][result_type] += n
            if ip and ip in mine:
                from_us[domain] += n
    rows = []
    for domain in sorted(set(ours) | set(reporters)):
        mine_by_policy = tuple(
            (p, c[0], c[1], c[2]) for p, c in sorted(ours.get(domain, {}).items())
        )
        rows.append(
            TlsComparisonRow(
                domain=domain,
                ours=mine_by_policy,
                reporters=tuple(sorted(reporters.get(domain, ()))),
                reported_successful=ok[domain],
                reported_failed=failed[domain],
                failure_types=tuple(types[domain].most_common()),
                reported_failed_from_us=from_us[domain],
                verdict=_verdict(
                    mine_by_policy, domain in reporters, failed[domain], from_us[domain]
                ),
            )
        )
    return rows


def _verdict(
    ours: tuple[tuple[str, int, int, int], ...], reported: bool, failed: int, from_us: int
) -> str | None:
    """None unless both views exist and disagree on whether TLS failed."""
    if not ours or not reported:
        return None
    our_failed = sum(c[3] for c in ours)
    if our_failed and not failed:
        return (
            f"The relay saw {our_failed} failed TLS connection(s) that no receiver's report counts."
        )
    if from_us and not our_failed:
        return (
            f"Receivers report {from_us} failed session(s) from our sending addresses; the "
            "relay saw no TLS failure."
        )
    return None
