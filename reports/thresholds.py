"""``Thresholds``: the published rate limits the daily report and the alert rules judge by.

Apart from ``reports.model`` (which re-exports it) because the config reads it on every
command: ``reports.model`` builds some 25 dataclasses, about 40 ms of start-up that
``suppression check`` and the other commands that make no report paid for this one class.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Thresholds"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Thresholds:
    """Published limits (percentages). Gmail and Yahoo: complaints under 0.1 %, never 0.3 %."""

    complaint_warn: float = 0.1
    complaint_critical: float = 0.3
    hard_bounce_warn: float = 2.0
    hard_bounce_critical: float = 5.0
    #: Bounces for sender-side reasons (blocked, spam, reputation, auth) over sent.
    sender_block_warn: float = 1.0
    dmarc_pass_warn: float = 98.0
    dmarc_pass_critical: float = 90.0
    #: Messages a scope needs before its rates are judged (fewer: "too little volume").
    min_volume: int = 100
