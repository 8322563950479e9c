"""Core sections: database, logging, suppression rules, daemon schedules."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from monitor.config.secret import Secret
from monitor.config.values import (
    ClockTime,
    Count,
    DatabaseUrl,
    PositiveInt,
    TimeZone,
    WritableDir,
    WritableFile,
)

__all__ = ["DaemonConfig", "DatabaseConfig", "LoggingConfig", "SuppressionConfig"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseConfig:
    #: SQLAlchemy URL. SQLite (default) or PostgreSQL via psycopg 3. May be ``env:NAME``.
    url: DatabaseUrl = field(default_factory=lambda: Secret("sqlite:///var/deliverwatch.db"))
    #: Log every SQL statement (debugging only).
    echo: bool = False
    #: SQLite: how long a write waits for another process's write to finish before it
    #: fails with "database is locked".
    busy_timeout_seconds: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.busy_timeout_seconds <= 3600:
            raise ValueError("busy_timeout_seconds must be > 0 and at most 3600")


@dataclass(frozen=True, slots=True, kw_only=True)
class LoggingConfig:
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["text", "json"] = "text"


@dataclass(frozen=True, slots=True, kw_only=True)
class SuppressionConfig:
    #: Lower-case the local part when normalising. RFC 5321 says local parts are
    #: case-sensitive, but virtually every mailbox provider treats them case-insensitively,
    #: and a list that keeps ``Bob@`` and ``bob@`` apart leaks suppressed mail.
    lowercase_local_part: bool = True
    #: Soft bounces (mailbox full, suspended...) suppress after this many distinct days...
    soft_bounce_threshold: int = 3
    #: ...within this many days.
    soft_bounce_window_days: int = 14
    #: ``verified``: only bounces/complaints matched to mail we sent (signed VERP token,
    #: Message-ID or recipient in the send log) suppress; ``any``: every one does (for senders
    #: with no send log). Unmatched events are always stored, marked ``unverified``.
    trust: Literal["verified", "any"] = "verified"
    #: HMAC key of the signed VERP return paths (``parsers.verp``); unset: tokens are not checked.
    verp_key: Secret | None = None
    #: ARF Feedback-Types that suppress at once (RFC 5965 7.3); ``not-spam`` never does.
    complaint_feedback_types: tuple[Literal["abuse", "fraud", "virus", "other", "opt-out"], ...] = (
        "abuse",
        "fraud",
        "virus",
        "opt-out",
    )

    def __post_init__(self) -> None:
        if self.soft_bounce_threshold < 1:
            raise ValueError("soft_bounce_threshold must be at least 1")
        if self.soft_bounce_window_days < 1:
            raise ValueError("soft_bounce_window_days must be at least 1")


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonConfig:
    #: IANA time zone for the daily schedules below.
    timezone: TimeZone = "UTC"
    #: Folder the nightly suppression export is written to.
    export_dir: WritableDir = Path("var/exports")
    #: Local time of the nightly export, ``HH:MM``.
    export_at: ClockTime = "02:30"
    #: Formats written by the nightly export (see ``deliverwatch suppression export``).
    export_formats: tuple[Literal["csv", "jsonl", "sendgrid", "mailchimp", "ses"], ...] = ("csv",)
    #: How many exports to keep per format (older ones are deleted); 0 keeps all.
    export_keep: Count = 14
    #: Minutes between sweeps that delete expired timed suppressions.
    expire_every_minutes: PositiveInt = 15
    #: File the running daemon writes its process id to (``kill -TERM $(cat ...)`` stops it).
    pid_file: WritableFile = Path("var/deliverwatch.pid")
