"""The suppression list as the application uses it: the rules (``policy``), the question
"may we send to this address?" (``verdict_for``), import/export files and scheduled work.
All SQL is in ``monitor.store.suppressions``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from monitor.store.suppressions import entries_for
from monitor.suppression.policy import Verdict, decide_verdict

__all__ = ["verdict_for"]


def verdict_for(session: Session, address: str, *, now: datetime) -> Verdict:
    """Look up every entry that could apply to ``address`` and let the policy decide."""
    entries, allows = entries_for(session, [address])
    return decide_verdict(
        address, suppressions=list(entries.values()), allows=list(allows.values()), now=now
    )
