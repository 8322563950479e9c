"""Pure suppression rules: given the facts, decide. No database, no clock of its own.

Keeping the decisions here (and the lookups in ``monitor.store``) lets the rules be tested
exhaustively with plain values and read in one place by a postmaster.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor.enums import ListScope, SuppressionReason

__all__ = ["ListEntry", "Verdict", "decide_verdict"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ListEntry:
    """A suppression or allowlist entry as the rules see it."""

    scope: ListScope
    value: str
    reason: SuppressionReason | None = None  # None for allowlist entries
    created_at: datetime | None = None
    expires_at: datetime | None = None
    note: str | None = None

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """May we send to ``address``, and why (the entry that decided)."""

    address: str
    suppressed: bool
    why: str
    entry: ListEntry | None = None
    allowed_by: ListEntry | None = None


def _describe(entry: ListEntry) -> str:
    what = "address" if entry.scope is ListScope.ADDRESS else f"domain {entry.value}"
    parts = [f"{what} suppressed ({entry.reason.value if entry.reason else 'unknown'})"]
    if entry.created_at:
        parts.append(f"since {entry.created_at:%Y-%m-%d %H:%M}Z")
    if entry.expires_at:
        parts.append(f"until {entry.expires_at:%Y-%m-%d %H:%M}Z")
    if entry.note:
        parts.append(f"note: {entry.note}")
    return ", ".join(parts)


def decide_verdict(
    address: str,
    *,
    suppressions: list[ListEntry],
    allows: list[ListEntry],
    now: datetime,
) -> Verdict:
    """Decide whether ``address`` (normalised) may be mailed.

    Precedence: an allowlist entry (address or its domain) always wins; otherwise an
    active address entry, then an active whole-domain entry, suppresses. Expired entries
    are ignored even before the expiry sweep deletes them.
    """
    active = [e for e in suppressions if e.active(now)]
    if allows:
        allow = min(allows, key=lambda e: e.scope is not ListScope.ADDRESS)
        if active:
            why = f"allowlisted ({allow.scope.value} {allow.value}) despite: {_describe(active[0])}"
        else:
            why = f"allowlisted ({allow.scope.value} {allow.value})"
        return Verdict(address=address, suppressed=False, why=why, allowed_by=allow)
    if not active:
        return Verdict(address=address, suppressed=False, why="not suppressed")
    entry = min(active, key=lambda e: e.scope is not ListScope.ADDRESS)
    return Verdict(address=address, suppressed=True, why=_describe(entry), entry=entry)
