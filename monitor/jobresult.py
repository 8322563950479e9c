"""What a scheduled job returns: its summary line, carrying its counts.

``deliverwatch status`` and the job recorder (``monitor.daemon.scheduler``) keep both a line
for people and counts for machines (``status --format json``, alerting on numbers). A
``JobResult`` is a ``str`` so that every caller that already prints, logs or compares a
job's line (the CLI's ``poll``, ``report daily``, tests) keeps working unchanged; the
recorder reads ``counts`` beside it.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["JobResult"]


class JobResult(str):
    """A job's summary line with its counts (``counts``: name -> number)."""

    counts: dict[str, int]

    def __new__(cls, summary: str, counts: Mapping[str, int]) -> JobResult:
        self = super().__new__(cls, summary)
        self.counts = {str(k): int(v) for k, v in counts.items()}
        return self
