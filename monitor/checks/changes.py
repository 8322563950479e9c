"""Turn check results into change alerts: a result alone is not an alert.

A listing that was already known yesterday must not page anyone again.
:func:`detect_listing_changes` and :func:`detect_auth_changes` compare the previous
*decided* state of each subject (what ``monitor.checks.history`` returns; a timeout or
SERVFAIL never replaces it) with the new result and emit an :class:`~monitor.alerts.Alert`
only on a transition: newly listed, delisted, SPF now failing, DKIM key changed or missing,
DMARC weakened, another check now failing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from monitor.alerts.model import Alert, AlertKind
from monitor.checks.dnsbl import ListingResult
from monitor.checks.result import AuthResult, CheckKind, Status
from monitor.checks.zones import ListingStatus
from parsers.dnsrec.dmarc import policy_rank

__all__ = ["detect_auth_changes", "detect_listing_changes"]


def detect_listing_changes(
    previous: Mapping[tuple[str, str], ListingStatus], results: Iterable[ListingResult]
) -> list[Alert]:
    """Newly listed / delisted per (target, zone); errors and unknowns change nothing."""
    alerts: list[Alert] = []
    for r in results:
        before = previous.get((r.target, r.zone))
        if r.status is ListingStatus.LISTED and before is not ListingStatus.LISTED:
            kind, summary = AlertKind.NEWLY_LISTED, f"{r.target} is now listed on {r.zone_name}"
            detail = (
                f"{', '.join(r.categories)}; {r.reason or ''}; "
                f"delist: {r.delist_url or 'see the list operator'}"
            )
        elif r.status is ListingStatus.NOT_LISTED and before is ListingStatus.LISTED:
            kind, summary = AlertKind.DELISTED, f"{r.target} is no longer listed on {r.zone_name}"
            detail = ""
        else:
            continue
        alerts.append(
            Alert(
                kind=kind,
                subject=r.target,
                summary=summary,
                detail=detail,
                key=r.zone,
                old_status=before.value if before else None,
                new_status=r.status.value,
            )
        )
    return alerts


def _dkim_change(before: AuthResult, now: AuthResult) -> tuple[AlertKind, str, str] | None:
    if "record_missing" in now.findings and "record_missing" not in before.findings:
        return AlertKind.DKIM_KEY_MISSING, f"DKIM key {now.subject} disappeared", ""
    old, new = before.details.get("fingerprint"), now.details.get("fingerprint")
    if old and new and old != new:
        return AlertKind.DKIM_KEY_CHANGED, f"DKIM key {now.subject} changed", f"{old} -> {new}"
    return None


def _auth_change(before: AuthResult, now: AuthResult) -> tuple[AlertKind, str, str] | None:
    failing = now.status is Status.FAIL and before.status is not Status.FAIL
    if now.kind is CheckKind.DKIM:
        change = _dkim_change(before, now)
        if change is not None:
            return change
    if now.kind is CheckKind.DMARC:
        old_p, new_p = before.details.get("effective_policy"), now.details.get("effective_policy")
        if policy_rank(new_p) < policy_rank(old_p) or failing:
            summary = f"DMARC policy of {now.subject} weakened"
            return AlertKind.DMARC_WEAKENED, summary, f"{before.record} -> {now.record}"
    if failing:
        kind = (
            AlertKind.SPF_NOW_FAILING if now.kind is CheckKind.SPF else AlertKind.CHECK_NOW_FAILING
        )
        summary = f"{now.kind.value} check of {now.subject} now fails"
        return kind, summary, f"{', '.join(now.findings)}; fix: {now.fix or '-'}"
    return None


def detect_auth_changes(
    previous: Mapping[tuple[str, str], AuthResult], results: Iterable[AuthResult]
) -> list[Alert]:
    """Compare with the last decided result of the same (kind, subject); first runs alert on
    failures only (there is nothing to compare a key fingerprint with yet)."""
    alerts: list[Alert] = []
    for now in results:
        if now.status is Status.UNKNOWN:
            continue  # an incomplete check proves nothing either way
        known = previous.get((now.kind.value, now.subject))
        # First run: compare with a PASS baseline with the same policy.
        before = known or AuthResult(
            kind=now.kind,
            subject=now.subject,
            status=Status.PASS,
            details={"effective_policy": now.details.get("effective_policy", "")},
        )
        change = _auth_change(before, now)
        if change is not None:
            kind, summary, detail = change
            alerts.append(
                Alert(
                    kind=kind,
                    subject=now.subject,
                    summary=summary,
                    detail=detail,
                    key=now.kind.value,
                    old_status=known.status.value if known else None,
                    new_status=now.status.value,
                )
            )
    return alerts
