"""``[metrics]``, ``[retention]`` and ``[alerts.rules]``: running the service for years.

The metrics listeners are loopback-only: ``/metrics`` tells anyone who reads it how much
mail we send and to whom, so it is scraped from this host (or through a proxy that
authenticates), never exposed by a typo.
"""

from __future__ import annotations

from dataclasses import dataclass

from monitor.config.mailbox import is_loopback_host
from monitor.config.relay import parse_listen
from monitor.config.values import ClockTimeOrOff

__all__ = ["AlertRulesConfig", "MetricsConfig", "RetentionConfig"]

_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _loopback_listen(key: str, value: str) -> None:
    if not value:
        return
    try:
        host, _port = parse_listen(value)
    except ValueError as exc:
        raise ValueError(f"{key}: {exc}") from None
    if not is_loopback_host(host):
        raise ValueError(f"{key}: {value!r} is not a loopback address (127.0.0.0/8, ::1)")


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsConfig:
    #: Prometheus ``/metrics`` of the daemon, ``HOST:PORT`` on loopback; "" for none.
    listen: str = ""
    #: The same for the relay's submission process.
    relay_listen: str = ""
    #: Seconds the database's figures are kept between reads (scrapes in between share them).
    cache_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.cache_seconds < 0:
            raise ValueError("cache_seconds must be 0 or more")
        _loopback_listen("listen", self.listen)
        _loopback_listen("relay_listen", self.relay_listen)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionConfig:
    """Days each kind of data is kept; 0 keeps it forever. Pruned nightly in batches."""

    #: Bounces, complaints, deliveries, opens... (``events``).
    events_days: int = 400
    #: The exactly-once ledger of mailbox messages (``processed_items``).
    processed_days: int = 400
    #: DMARC aggregate reports and their rows, failure reports, TLS reports.
    dmarc_days: int = 400
    #: Blocklist and DNS authentication check history, and delivered alerts.
    checks_days: int = 400
    #: Finished relay queue rows (delivered, bounced, expired, suppressed) and imported sends.
    queue_days: int = 400
    #: The record of every job run (``deliverwatch status``).
    job_runs_days: int = 90
    #: Local time (``[daemon] timezone``) of the nightly prune, ``HH:MM``; "" disables it.
    prune_at: ClockTimeOrOff = "03:30"
    #: Rows deleted per transaction: small enough that no writer waits long for the lock.
    batch_size: int = 2000
    #: Day of the weekly SQLite ``VACUUM`` and ``ANALYZE`` (after the prune); "" for never.
    vacuum_weekday: str = "sun"

    def __post_init__(self) -> None:
        for key in ("events", "processed", "dmarc", "checks", "queue", "job_runs"):
            if getattr(self, f"{key}_days") < 0:
                raise ValueError(f"{key}_days must be 0 (keep forever) or more")
        if self.batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        if self.vacuum_weekday and self.vacuum_weekday not in _WEEKDAYS:
            raise ValueError(f'vacuum_weekday: expected one of {", ".join(_WEEKDAYS)} or ""')


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertRulesConfig:
    """``[alerts.rules]``: the reputation rules, evaluated over a sliding window per provider
    group. Complaint, hard-bounce and sender-side block limits are the report's
    ``[report.thresholds]`` (their critical levels here where the report has none)."""

    #: Minutes between evaluations; 0 disables the rules.
    every_minutes: int = 60
    #: The sliding window the rates are computed over.
    window_hours: int = 24
    #: Sender-side rejections (blocks, rate limits, reputation) over sent, percent, critical.
    sender_block_critical: float = 3.0
    #: Deferrals over sent, percent.
    deferral_warn: float = 10.0
    deferral_critical: float = 30.0
    #: Failed mailbox polls in a row before an alert.
    mailbox_failures: int = 3
    #: Failed runs of any job in a row before an alert.
    job_failures: int = 1
    #: Pending relay recipients over this many: backlog alert; 0: never.
    queue_backlog: int = 10_000
    #: Oldest pending relay recipient older than this many minutes: alert; 0: never.
    queue_age_minutes: int = 240
    #: Alert messages sent per hour at most (new and resolved together); the rest wait.
    max_per_hour: int = 20

    def __post_init__(self) -> None:
        if self.every_minutes < 0 or self.window_hours < 1:
            raise ValueError("need every_minutes >= 0 and window_hours >= 1")
        if self.deferral_warn > self.deferral_critical:
            raise ValueError("deferral_warn must not exceed deferral_critical")
        if min(self.mailbox_failures, self.job_failures, self.max_per_hour) < 1:
            raise ValueError("mailbox_failures, job_failures and max_per_hour must be >= 1")
        if min(self.queue_backlog, self.queue_age_minutes) < 0:
            raise ValueError("queue_backlog and queue_age_minutes must be 0 (never) or more")
