"""Errors raised by the application shell.

Hierarchy (the roots live here; the leaves beside the code that raises them;
``tests/test_error_tree.py`` checks that this drawing names every one)::

    Exception
     └── MonitorError              anything the shell reports to an operator
          ├── ConfigError          config.toml is missing, unreadable or invalid (names the key)
          ├── StoreError           the database refused or is unreachable
          ├── MailboxError         IMAP login/TLS/network/protocol failure
          │    └── ConnectionLost      monitor.ingest.mailbox: dropped; the drain reconnects
          ├── CheckError           a DNS or HTTPS check could not be carried out
          │    ├── TransportError      monitor.checks.transport: no DNS answer
          │    │    └── TransportTimeout
          │    ├── PolicyFetchError    monitor.checks.mtasts: no MTA-STS policy (finding code)
          │    ├── ResolverError       monitor.checks.probe: the resolver fails every question
          │    └── Abort               monitor.checks.spf_terms: ends check_host() early
          ├── RelayError           the SMTP relay could not accept, queue or deliver
          │    ├── DataTooBig          monitor.relay.data: a DATA section over the size limit
          │    ├── ScannerError        monitor.relay.scanners: spamd or clamd gave no verdict
          │    └── ConnectFailure      monitor.relay.delivery.session: no session with an MX
          │         └── TlsFailure         STARTTLS failed: the courier retries in plain text
          ├── DaemonError          the daemon cannot start (e.g. another one holds the lock)
          ├── JobFailed            a daemon job ran and failed (recorded, logged at ERROR)
          ├── JobSkipped           a daemon job chose not to run now (a back-off)
          ├── DeliveryError        monitor.alerts.channels: a channel refused an alert or mail
          ├── ReportError          monitor.report.daily: the report could not be written/sent
          ├── ItemRejected         monitor.ingest.observe: a message that is no usable report
          ├── NotRegular           monitor.ingest.files: a FIFO or device met in a directory walk
          ├── ApiError             monitor.web.api: an HTTP API answer other than success
          ├── FeedError            monitor.checks.feeds: SNDS or Postmaster Tools gave no data
          ├── _CouldNotCheck       monitor.cli.check: a check command's exit status 2 (no resolver)
          └── WorkerError          monitor.ingest.forkmap: a parse worker died

    click.ClickException
     └── Refused               monitor.cli.common: an input refused as a whole (exit 2);
                               click's exit handling needs its own base class

Adapters wrap library exceptions (``raise StoreError(...) from exc``) so that no sqlalchemy,
imapclient or dnspython exception leaks past them; the CLI prints ``str(exc)`` and exits 2.
Errors of the pure parsers hang from ``parsers.errors.ParseError``.
"""

from __future__ import annotations

__all__ = [
    "CheckError",
    "ConfigError",
    "DaemonError",
    "JobFailed",
    "JobSkipped",
    "MailboxError",
    "MonitorError",
    "RelayError",
    "StoreError",
]


class MonitorError(Exception):
    """Root of every error the application shell raises on purpose."""


class ConfigError(MonitorError):
    """Invalid configuration; ``path`` is the dotted key path (``mailboxes.bounces.port``)."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}" if path else problem)


class StoreError(MonitorError):
    """The database could not be reached or refused an operation."""


class MailboxError(MonitorError):
    """An IMAP mailbox could not be read or changed."""


class CheckError(MonitorError):
    """A DNS or HTTPS check could not be carried out."""


class RelayError(MonitorError):
    """The relay could not accept, queue or deliver a message."""


class DaemonError(MonitorError):
    """The daemon cannot start or run."""


class JobFailed(MonitorError):
    """A job ran and failed for a reason it already understood (wrong password, server
    down): the scheduler records the run as failed and logs the cause at ERROR, without a
    traceback."""


class JobSkipped(MonitorError):
    """A job chose not to run now (a back-off after failures): recorded as skipped, which
    neither ends nor extends a run of failures."""
