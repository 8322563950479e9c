"""The suppression list's scheduled work: expiry of timed entries, nightly export files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from monitor.jobresult import JobResult
from monitor.output import open_output
from monitor.store.db import session_scope
from monitor.store.suppressions import delete_expired
from monitor.suppression.files import export_suppressions

__all__ = ["expire_suppressions", "export_suppression_files"]

_EXTENSIONS = {
    "csv": "csv",
    "jsonl": "jsonl",
    "sendgrid": "sendgrid.csv",
    "mailchimp": "mailchimp.csv",
    "ses": "ses.csv",
}


def expire_suppressions(
    *, factory: sessionmaker[Session], now: Callable[[], datetime]
) -> JobResult:
    """Delete timed suppressions whose expiry has passed."""
    with session_scope(factory, "expiring suppressions") as session:
        n = delete_expired(session, now=now())
    return JobResult(f"{n} expired suppressions removed", {"removed": n})


def export_suppression_files(
    *,
    factory: sessionmaker[Session],
    now: Callable[[], datetime],
    export_dir: Path,
    formats: tuple[str, ...],
    keep: int,
) -> JobResult:
    """Write today's export in each format (atomically) and prune exports beyond ``keep``."""
    stamp = now().strftime("%Y%m%d")
    written = []
    rows = pruned = 0
    for fmt in formats:
        ext = _EXTENSIONS[fmt]
        target = export_dir / f"suppressions-{stamp}.{ext}"
        with open_output(target) as out:
            n = export_suppressions(factory, out, fmt=fmt, now=now())
        written.append(f"{target.name} ({n} rows)")
        rows += n
        if keep > 0:
            old = sorted(export_dir.glob(f"suppressions-*[0-9].{ext}"))
            for stale in old[:-keep]:
                stale.unlink(missing_ok=True)
                pruned += 1
    counts = {"files": len(written), "rows": rows, "pruned": pruned}
    return JobResult("wrote " + ", ".join(written), counts)
