"""Scheduled jobs. Each takes plain arguments (no config object) and returns a summary.

Jobs run inside APScheduler worker threads. A failing job must never take the daemon down:
``run_guarded`` is the one broad ``except Exception`` boundary at job level (STYLE.md 4);
it logs the failure with the job name and lets the scheduler try again at the next run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from monitor.store.db import session_scope
from monitor.store.suppressions import delete_expired
from monitor.suppression import export_suppressions, open_output

__all__ = ["expire_suppressions", "export_suppression_files", "run_guarded"]

log = logging.getLogger(__name__)

_EXTENSIONS = {
    "csv": "csv",
    "jsonl": "jsonl",
    "sendgrid": "sendgrid.csv",
    "mailchimp": "mailchimp.csv",
    "ses": "ses.csv",
}


def run_guarded(name: str, func: Callable[..., Any], /, **kwargs: Any) -> Any:
    """Run one job, logging its outcome; exceptions are logged and swallowed."""
    started = time.monotonic()
    try:
        result = func(**kwargs)
    except Exception:
        log.exception(
            "job %s failed after %.1fs; will retry at its next run",
            name,
            time.monotonic() - started,
        )
        return None
    log.info("job %s done in %.1fs: %s", name, time.monotonic() - started, result)
    return result


def expire_suppressions(*, factory: sessionmaker[Session], now: Callable[[], datetime]) -> str:
    """Delete timed suppressions whose expiry has passed."""
    with session_scope(factory, "expiring suppressions") as session:
        n = delete_expired(session, now=now())
    return f"{n} expired suppressions removed"


def export_suppression_files(
    *,
    factory: sessionmaker[Session],
    now: Callable[[], datetime],
    export_dir: Path,
    formats: tuple[str, ...],
    keep: int,
) -> str:
    """Write today's export in each format (atomically) and prune exports beyond ``keep``."""
    stamp = now().strftime("%Y%m%d")
    written = []
    for fmt in formats:
        ext = _EXTENSIONS[fmt]
        target = export_dir / f"suppressions-{stamp}.{ext}"
        with open_output(target) as out:
            n = export_suppressions(factory, out, fmt=fmt, now=now())
        written.append(f"{target.name} ({n} rows)")
        if keep > 0:
            old = sorted(export_dir.glob(f"suppressions-*[0-9].{ext}"))
            for stale in old[:-keep]:
                stale.unlink(missing_ok=True)
    return "wrote " + ", ".join(written)
