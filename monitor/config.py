"""Load ``config.toml`` once into frozen dataclasses, failing fast with the key path.

Validation is driven by the dataclass type hints below: every section is a dataclass, every
key a field, so adding a feature means adding a field here and a commented line to the
sample ``config.toml`` — nothing else. Unknown keys are errors (a typo must not silently fall
back to a default), and every error names the dotted key path and what was expected::

    mailboxes.bounces.port: expected int, got "x"

Secrets (``Secret`` fields) may be written as ``env:NAME`` or ``file:/path``; they are
resolved at load time so a missing variable is reported before anything starts, and
``Secret`` never prints its value (``repr``/``str`` are masked).

Relative paths (and a relative SQLite database path) are resolved against the directory of
the config file, so ``deliverwatch --config /etc/deliverwatch/config.toml`` behaves the same
from any working directory.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from monitor.errors import ConfigError

__all__ = [
    "AlertsConfig",
    "ChecksConfig",
    "Config",
    "DaemonConfig",
    "DatabaseConfig",
    "DkimDomain",
    "LoggingConfig",
    "MailboxConfig",
    "ReportConfig",
    "ReportEmail",
    "ReportThresholds",
    "Secret",
    "SendingConfig",
    "SuppressionConfig",
    "config_to_dict",
    "default_config_path",
    "is_loopback_host",
    "load_config",
]

ENV_VAR = "DELIVERWATCH_CONFIG"


class Secret:
    """A secret value resolved from the config; masked whenever it is printed or logged."""

    __slots__ = ("_source", "_value")

    def __init__(self, value: str, source: str = "inline") -> None:
        self._value = value
        self._source = source

    def reveal(self) -> str:
        """The plain value, for the one place that needs it (a login, an HMAC key)."""
        return self._value

    @property
    def source(self) -> str:
        """Where it came from (``inline``, ``env:NAME``, ``file:PATH``), safe to print."""
        return self._source

    def __repr__(self) -> str:
        return f"Secret(<{self._source}>)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True, slots=True, kw_only=True)
class DatabaseConfig:
    #: SQLAlchemy URL. SQLite (default) or PostgreSQL via psycopg 3. May be ``env:NAME``.
    url: Secret = field(default_factory=lambda: Secret("sqlite:///var/deliverwatch.db"))
    #: Log every SQL statement (debugging only).
    echo: bool = False


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


_MAILBOX_NAME = re.compile(r"[A-Za-z0-9_-]{1,40}")
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and 127.0.0.0/8 / ::1 literals (where plain IMAP is acceptable)."""
    import ipaddress

    name = host.strip().strip("[]").lower().rstrip(".")
    if name in _LOOPBACK_NAMES or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxConfig:
    """One IMAP mailbox to poll (``[mailboxes.<name>]``)."""

    host: str = ""
    #: 0 picks the standard port: 993 for ``implicit`` TLS (RFC 8314), 143 otherwise.
    port: int = 0
    #: ``implicit`` (TLS from the first byte), ``starttls`` (RFC 3501 6.2.1) or ``none``
    #: (plain text; loopback hosts only, so a password never crosses a network in clear).
    tls: Literal["implicit", "starttls", "none"] = "implicit"
    verify_tls: bool = True
    #: PEM file of the CA (or self-signed certificate) to trust instead of the system store.
    ca_file: Path | None = None
    username: str = ""
    password: Secret = field(default_factory=lambda: Secret(""))
    folder: str = "INBOX"
    #: Where handled mail is moved (created when missing).
    processed_folder: str = "deliverwatch-processed"
    #: Where mail that could not be handled is moved, its reason stored (created when missing).
    failed_folder: str = "deliverwatch-failed"
    #: What the mailbox is expected to hold; everything is parsed whatever the role.
    role: Literal["bounces", "fbl", "dmarc", "any"] = "any"
    #: Messages per fetch-store-move cycle: one database transaction, one MOVE per folder.
    batch_size: int = 200
    #: Bigger messages are not downloaded; they go to the failed folder.
    max_message_bytes: int = 16 * 1024 * 1024
    #: After the result is committed: ``move`` to processed_folder, or ``delete``.
    action_after: Literal["move", "delete"] = "move"
    #: Wait with IMAP IDLE (RFC 2177) between polls instead of sleeping.
    idle: bool = False
    #: Seconds between polls (without IDLE), and the longest IDLE before reconnecting.
    poll_every_seconds: int = 300
    #: Socket timeout for every IMAP command.
    timeout_seconds: int = 60
    #: Worker processes that parse big backlogs while the poller stores (-1: CPUs - 1).
    parse_workers: int = -1
    #: First pause after a failure; it doubles after each further failure...
    retry_initial_seconds: int = 5
    #: ...up to this.
    retry_max_seconds: int = 3600

    def __post_init__(self) -> None:
        if not self.host:
            raise ValueError("host is required")
        if not self.username:
            raise ValueError("username is required")
        if self.tls == "none" and not is_loopback_host(self.host):
            raise ValueError(
                f'tls = "none" is only allowed for loopback hosts, not {self.host!r} '
                '(use "implicit" or "starttls")'
            )
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, got {self.port}")
        for key in ("batch_size", "max_message_bytes", "poll_every_seconds", "timeout_seconds"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1")
        if self.retry_initial_seconds < 1 or self.retry_max_seconds < self.retry_initial_seconds:
            raise ValueError("need 1 <= retry_initial_seconds <= retry_max_seconds")
        folders = {self.folder, self.processed_folder, self.failed_folder}
        if len(folders) != 3 or "" in folders:
            raise ValueError("folder, processed_folder and failed_folder must be distinct names")

    @property
    def effective_port(self) -> int:
        if self.port:
            return self.port
        return 993 if self.tls == "implicit" else 143


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonConfig:
    #: IANA time zone for the daily schedules below.
    timezone: str = "UTC"
    #: Folder the nightly suppression export is written to.
    export_dir: Path = Path("var/exports")
    #: Local time of the nightly export, ``HH:MM``.
    export_at: str = "02:30"
    #: Formats written by the nightly export (see ``deliverwatch suppression export``).
    export_formats: tuple[Literal["csv", "jsonl", "sendgrid", "mailchimp", "ses"], ...] = ("csv",)
    #: How many exports to keep per format (older ones are deleted); 0 keeps all.
    export_keep: int = 14
    #: Minutes between sweeps that delete expired timed suppressions.
    expire_every_minutes: int = 15
    #: File the running daemon writes its process id to (``kill -TERM $(cat ...)`` stops it).
    pid_file: Path = Path("var/deliverwatch.pid")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportThresholds:
    """Percentages; defaults are the Gmail/Yahoo bulk-sender limits and common practice."""

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

    def __post_init__(self) -> None:
        if self.complaint_warn > self.complaint_critical:
            raise ValueError("complaint_warn must not exceed complaint_critical")
        if self.hard_bounce_warn > self.hard_bounce_critical:
            raise ValueError("hard_bounce_warn must not exceed hard_bounce_critical")
        if self.dmarc_pass_critical > self.dmarc_pass_warn:
            raise ValueError("dmarc_pass_critical must not exceed dmarc_pass_warn")


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportEmail:
    #: Recipients of the daily report; empty: the report is only written to disk.
    to: tuple[str, ...] = ()
    sender: str = "deliverwatch@localhost"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    starttls: bool = True
    username: str = ""
    password: Secret | None = None
    timeout_seconds: float = 30.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ReportConfig:
    #: Write a report every day (the daemon's job); the CLI works either way.
    enabled: bool = True
    #: Folder of the daily reports and their index.html.
    output_dir: Path = Path("var/reports")
    #: Local time (``[daemon] timezone``) of the daily report on the previous day, ``HH:MM``.
    daily_at: str = "06:00"
    #: Days of history before the report day (trends, comparisons).
    trend_days: int = 30
    #: UTC days of DMARC aggregate reports read for the DMARC section.
    dmarc_days: int = 7
    #: Rows in the top-N tables (domains, IPs, campaigns, diagnostics).
    top_n: int = 10
    #: Reports to keep in output_dir (older ones are deleted); 0 keeps all.
    keep: int = 0
    thresholds: ReportThresholds = field(default_factory=ReportThresholds)
    email: ReportEmail = field(default_factory=ReportEmail)

    def __post_init__(self) -> None:
        for key in ("trend_days", "dmarc_days", "top_n"):
            if getattr(self, key) < 1:
                raise ValueError(f"{key} must be at least 1")


_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


def _domain_ok(name: str) -> bool:
    """A plausible DNS name (the checks reject worse ones precisely)."""
    labels = name.rstrip(".").split(".")
    return len(labels) >= 2 and all(0 < len(x) <= 63 and " " not in x for x in labels)


@dataclass(frozen=True, slots=True, kw_only=True)
class DkimDomain:
    """``[sending.dkim."<domain>"]``: selectors published for one signing domain."""

    #: Selectors to check; the first is the one the relay signs with now (others: rotation).
    selectors: tuple[str, ...] = ()
    #: PEM private key signed with under the first selector; its public half must be the
    #: published key (RFC 6376 3.6.1). Optional.
    key_file: Path | None = None

    def __post_init__(self) -> None:
        if not self.selectors or "" in self.selectors:
            raise ValueError("selectors: at least one non-empty selector is required")


@dataclass(frozen=True, slots=True, kw_only=True)
class SendingConfig:
    """What we send from and as: the targets of the blocklist and DNS-authentication checks."""

    #: Sending IPs (IPv4/IPv6): blocklists, SPF, PTR/FCrDNS.
    ips: tuple[str, ...] = ()
    #: HELO/EHLO name each IP announces (``"192.0.2.10" = "mta1.example.com"``), checked
    #: against its PTR (forward-confirmed, RFC 8601 2.7.3 / common receiver practice).
    helo: dict[str, str] = field(default_factory=dict)
    #: Envelope (MAIL FROM / bounce) domain: SPF for every IP, DMARC SPF alignment.
    envelope_domain: str = ""
    #: Header From domains: DMARC policy and alignment, MX, MTA-STS, TLS-RPT.
    from_domains: tuple[str, ...] = ()
    #: Domains in links of our mail: domain blocklists (URIBL, DBL...).
    link_domains: tuple[str, ...] = ()
    #: DKIM signing domains and their selectors.
    dkim: dict[str, DkimDomain] = field(default_factory=dict)

    def __post_init__(self) -> None:
        import ipaddress

        for ip in self.ips:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                raise ValueError(f"ips: {ip!r} is not an IP address") from None
        stray = sorted(set(self.helo) - set(self.ips))
        if stray:
            raise ValueError(f"helo: {stray[0]!r} is not one of ips")
        names = [*self.from_domains, *self.link_domains, *self.dkim]
        if self.envelope_domain:
            names.append(self.envelope_domain)
        for name in [*names, *self.helo.values()]:
            if not _domain_ok(name):
                raise ValueError(f"{name!r} is not a domain name")

    @property
    def domains(self) -> tuple[str, ...]:
        """Every domain we send as, once (envelope, From, DKIM), in that order."""
        both = [self.envelope_domain, *self.from_domains, *self.dkim]
        return tuple(dict.fromkeys(d.lower().rstrip(".") for d in both if d))


@dataclass(frozen=True, slots=True, kw_only=True)
class ChecksConfig:
    """How blocklist and DNS-authentication checks run (daemon and ``deliverwatch check``)."""

    #: Resolvers to ask, ``IP[:PORT]``; empty: the system's (/etc/resolv.conf). Spamhaus and
    #: URIBL refuse queries relayed by big public resolvers: use your own.
    nameservers: tuple[str, ...] = ()
    #: Seconds per DNS lookup, retries included.
    timeout_seconds: float = 5.0
    #: DNS queries in flight at once.
    concurrency: int = 100
    #: Minutes between blocklist runs of the daemon; 0 turns them off.
    blocklist_every_minutes: int = 60
    #: Local time (``[daemon] timezone``) of the daily authentication checks; "" turns off.
    auth_at: str = "04:00"
    #: Catalogue zones to use; empty: every active zone (monitor/checks/data/dnsbl_zones.json).
    zones: tuple[str, ...] = ()
    #: Zones to leave out of that selection.
    exclude_zones: tuple[str, ...] = ()
    #: Spamhaus Data Query Service key (``<key>.zen.dq.spamhaus.net``); never logged.
    dqs_key: Secret | None = None
    #: Keys of other keyed zones, by catalogue zone (``"{key}.combined.mail.abusix.zone"``).
    zone_keys: dict[str, Secret] = field(default_factory=dict)
    #: DMARC reading: ``rfc7489`` or ``rfc9989`` (DMARCbis tree walk and tags).
    dmarc_spec: Literal["rfc7489", "rfc9989"] = "rfc7489"
    #: Extra CA bundle trusted for MTA-STS policy fetches (besides the system store).
    mta_sts_ca_file: Path | None = None

    def __post_init__(self) -> None:
        from monitor.checks.resolver import parse_nameserver
        from monitor.checks.zones import load_catalogue
        from monitor.errors import CheckError

        try:
            for server in self.nameservers:
                parse_nameserver(server)
        except CheckError as exc:
            raise ValueError(f"nameservers: {exc}") from None
        if self.timeout_seconds <= 0 or self.concurrency < 1 or self.blocklist_every_minutes < 0:
            raise ValueError(
                "need timeout_seconds > 0, concurrency >= 1 and blocklist_every_minutes >= 0"
            )
        if self.auth_at and not _HHMM.fullmatch(self.auth_at):
            raise ValueError(f'auth_at: expected "HH:MM" or "", got "{self.auth_at}"')
        known = load_catalogue()
        for key, names in (
            ("zones", self.zones),
            ("exclude_zones", self.exclude_zones),
            ("zone_keys", tuple(self.zone_keys)),
        ):
            unknown = [n for n in names if n not in known]
            if unknown:
                raise ValueError(f"{key}: {unknown[0]!r} is not in the DNSBL catalogue")


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertsConfig:
    """Where change alerts (newly listed, delisted, SPF failing...) go; always to the log."""

    #: POST each batch of alerts as JSON here (http or https); "" for none.
    webhook_url: str = ""
    #: Mail alerts to these addresses through the SMTP server below; empty for none.
    email_to: tuple[str, ...] = ()
    #: From address of alert mail.
    sender: str = "deliverwatch@localhost"
    smtp_host: str = "localhost"
    smtp_port: int = 587
    #: Upgrade with STARTTLS (RFC 3207) before logging in.
    starttls: bool = True
    username: str = ""
    password: Secret | None = None
    timeout_seconds: float = 10.0
    #: Delivery attempts per alert (one per run) before it is given up and logged.
    max_attempts: int = 48

    def __post_init__(self) -> None:
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            raise ValueError(f"webhook_url: expected an http(s) URL, got {self.webhook_url!r}")
        if not 0 < self.smtp_port < 65536:
            raise ValueError(f"smtp_port must be 1..65535, got {self.smtp_port}")
        if self.username and self.password is None:
            raise ValueError("username is set but password is not")
        if self.max_attempts < 1 or self.timeout_seconds <= 0:
            raise ValueError("need max_attempts >= 1 and timeout_seconds > 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    suppression: SuppressionConfig = field(default_factory=SuppressionConfig)
    daemon: DaemonConfig = field(default_factory=DaemonConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    #: IMAP mailboxes to poll, by name (``[mailboxes.bounces]``).
    mailboxes: dict[str, MailboxConfig] = field(default_factory=dict)
    sending: SendingConfig = field(default_factory=SendingConfig)
    checks: ChecksConfig = field(default_factory=ChecksConfig)
    alerts: AlertsConfig = field(default_factory=AlertsConfig)
    #: Where the file was loaded from (None for built-in defaults). Not a TOML key.
    source: Path | None = field(default=None, metadata={"internal": True})

    def __post_init__(self) -> None:
        for name in self.mailboxes:
            if not _MAILBOX_NAME.fullmatch(name):
                raise ValueError(
                    f"mailboxes.{name}: a mailbox name is 1-40 letters, digits, '-' or '_'"
                )


# --------------------------------------------------------------------------- loading


def default_config_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--config`` wins, then ``$DELIVERWATCH_CONFIG``, then ``./config.toml``."""
    if explicit:
        return Path(explicit)
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env)
    return Path("config.toml")


def load_config(path: str | os.PathLike[str] | None = None) -> Config:
    """Read and validate the config file; raise ``ConfigError`` naming the first bad key."""
    cfg_path = default_config_path(path)
    try:
        with cfg_path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError("", f"config file not found: {cfg_path}") from exc
    except OSError as exc:
        raise ConfigError("", f"cannot read config file {cfg_path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"{cfg_path} is not valid TOML: {exc}") from exc
    return config_from_dict(data, base_dir=cfg_path.resolve().parent, source=cfg_path)


def config_from_dict(data: dict[str, Any], *, base_dir: Path, source: Path | None = None) -> Config:
    """Validate a parsed TOML document (also used by tests to build configs in memory)."""
    loader = _Loader(base_dir)
    cfg = loader.build(Config, data, "")
    cfg = dataclasses.replace(_resolve_paths(cfg, base_dir), source=source)
    return _resolve_sqlite_path(cfg, base_dir)


def _resolve_paths(obj: Any, base_dir: Path) -> Any:
    """Make every relative ``Path`` (defaults included) relative to the config's folder."""
    if isinstance(obj, Path):
        return obj if obj.is_absolute() else base_dir / obj
    if isinstance(obj, dict):
        return {k: _resolve_paths(v, base_dir) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {
            f.name: _resolve_paths(getattr(obj, f.name), base_dir)
            for f in dataclasses.fields(obj)
            if not f.metadata.get("internal")
        }
        return dataclasses.replace(obj, **changes)
    return obj


def _resolve_sqlite_path(cfg: Config, base_dir: Path) -> Config:
    """Make ``sqlite:///relative.db`` relative to the config file, not the working dir."""
    url = cfg.database.url.reveal()
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
        rel = url[len(prefix) :]
        resolved = Secret(prefix + str(base_dir / rel), cfg.database.url.source)
        return dataclasses.replace(cfg, database=dataclasses.replace(cfg.database, url=resolved))
    return cfg


def _type_name(tp: Any) -> str:
    if tp is Secret:
        return "string"
    if tp is Path:
        return "path string"
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return repr(value)


class _Loader:
    """Turn TOML values into typed dataclass instances following the type hints."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir

    def build(self, cls: type[Any], data: Any, path: str) -> Any:
        if not isinstance(data, dict):
            raise ConfigError(path, f"expected a table, got {_describe(data)}")
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
        unknown = sorted(set(data) - set(fields))
        if unknown:
            where = f"{path}.{unknown[0]}" if path else unknown[0]
            known = ", ".join(sorted(fields)) or "(none)"
            raise ConfigError(where, f"unknown key (known keys here: {known})")
        kwargs = {
            name: self.convert(hints[name], value, f"{path}.{name}" if path else name)
            for name, value in data.items()
        }
        try:
            return cls(**kwargs)
        except ValueError as exc:  # __post_init__ cross-field checks
            raise ConfigError(path, str(exc)) from exc

    def convert(self, tp: Any, value: Any, path: str) -> Any:  # noqa: C901, PLR0911, PLR0912
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in (typing.Union, types.UnionType):
            options = [a for a in args if a is not type(None)]
            return self.convert(options[0], value, path)
        if origin is Literal:
            if value not in args:
                allowed = ", ".join(f'"{a}"' if isinstance(a, str) else repr(a) for a in args)
                raise ConfigError(path, f"expected one of {allowed}, got {_describe(value)}")
            return value
        if origin is tuple:
            if not isinstance(value, list):
                raise ConfigError(path, f"expected an array, got {_describe(value)}")
            return tuple(self.convert(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if origin is dict:
            if not isinstance(value, dict):
                raise ConfigError(path, f"expected a table, got {_describe(value)}")
            return {k: self.convert(args[1], v, f"{path}.{k}") for k, v in value.items()}
        if dataclasses.is_dataclass(tp) and isinstance(tp, type):
            return self.build(tp, value, path)
        if tp is Secret:
            return self.secret(value, path)
        if tp is Path:
            if not isinstance(value, str) or not value:
                raise ConfigError(path, f"expected a path string, got {_describe(value)}")
            return Path(value).expanduser()  # made absolute by _resolve_paths
        if tp is bool:
            if not isinstance(value, bool):
                raise ConfigError(path, f"expected true or false, got {_describe(value)}")
            return value
        if tp is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ConfigError(path, f"expected int, got {_describe(value)}")
            return value
        if tp is float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(path, f"expected number, got {_describe(value)}")
            return float(value)
        if tp is str:
            if not isinstance(value, str):
                raise ConfigError(path, f"expected string, got {_describe(value)}")
            return value
        raise ConfigError(path, f"unsupported config type {_type_name(tp)}")  # pragma: no cover

    def secret(self, value: Any, path: str) -> Secret:
        if not isinstance(value, str):
            raise ConfigError(path, f"expected string, got {_describe(value)}")
        if value.startswith("env:"):
            name = value[4:]
            if name not in os.environ:
                raise ConfigError(path, f"environment variable {name} is not set")
            return Secret(os.environ[name], f"env:{name}")
        if value.startswith("file:"):
            fpath = Path(value[5:]).expanduser()
            if not fpath.is_absolute():
                fpath = self.base_dir / fpath
            try:
                text = fpath.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(path, f"cannot read secret file {fpath}: {exc.strerror}") from exc
            return Secret(text, f"file:{fpath}")
        return Secret(value, "inline")


# --------------------------------------------------------------------------- printing


def _mask_url(url: str) -> str:
    """Hide a password inside a database URL (``postgresql://u:***@h/db``)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "***"


def _plain(value: Any, key: str) -> Any:
    if isinstance(value, Secret):
        if key == "url":
            return _mask_url(value.reveal())
        return f"*** ({value.source})"
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple):
        return [_plain(v, key) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v, k) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name), f.name)
            for f in dataclasses.fields(value)
            if not f.metadata.get("internal") and getattr(value, f.name) is not None
        }
    return value


def config_to_dict(cfg: Config) -> dict[str, Any]:
    """The effective config as plain data with every secret masked (for ``config check``)."""
    return typing.cast(dict[str, Any], _plain(cfg, ""))
