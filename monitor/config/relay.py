"""``[relay]`` and ``[relay.users.NAME]``: the built-in sending relay (``deliverwatch relay``).

Defaults follow Postfix where the issue is silent: a 5-day queue lifetime
(``maximal_queue_lifetime``), retries from 5 minutes doubling to about an hour
(``minimal_backoff_time`` 300 s, ``maximal_backoff_time`` 4000 s), RFC 5321 4.5.3.2 command
timeouts (5 minutes), 20 connections per destination (``default_destination_concurrency_limit``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Literal

from monitor.config.content import ContentConfig
from monitor.config.mailbox import is_loopback_host
from monitor.config.values import HostOrUnset, ReadableFile, WritableDir, nameserver_address

__all__ = [
    "PoolConfig",
    "RelayConfig",
    "RelayUser",
    "ShapingConfig",
    "ShapingGroupConfig",
    "WarmupConfig",
    "parse_listen",
]

_USER = re.compile(r"[A-Za-z0-9._@+-]{1,100}")
_HASH_PREFIXES = ("$argon2id$", "$argon2i$", "$argon2d$", "$scrypt$")


def parse_listen(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` -> (host, port); ValueError otherwise."""
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":")
    else:
        host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{text!r}: expected HOST:PORT")
    return host, int(port)


@dataclass(frozen=True, slots=True, kw_only=True)
class RelayUser:
    """One submission account (``[relay.users.NAME]``)."""

    #: What ``deliverwatch relay passwd NAME`` prints (argon2id, or scrypt in PHC form).
    password_hash: str
    #: Sender domains this account may use, in the envelope (MAIL FROM) and in the header
    #: From (a subdomain of one counts); empty: it may send nothing.
    domains: tuple[str, ...] = ()
    #: Messages per minute this account may submit; 0: no limit.
    messages_per_minute: int = 0
    #: ``transactional`` mail goes ahead of ``bulk`` mail (traffic shaping).
    stream: Literal["bulk", "transactional"] = "bulk"
    #: Accept mail whose From domain has no DKIM key (``[sending.dkim]``) and send it
    #: unsigned; otherwise such a message is refused at the end of DATA (``550 5.7.0``).
    allow_unsigned: bool = False
    #: Put List-Unsubscribe on this account's transactional mail too (bulk mail always
    #: gets it; a message may ask with ``X-Deliverwatch-Unsubscribe: yes``).
    unsubscribe_transactional: bool = False

    def __post_init__(self) -> None:
        if not self.password_hash.startswith(_HASH_PREFIXES):
            raise ValueError(
                "password_hash: expected what `deliverwatch relay passwd USER` prints "
                "($argon2id$... or $scrypt$...)"
            )
        for domain in self.domains:
            labels = domain.rstrip(".").split(".")
            if len(labels) < 2 or not all(0 < len(x) <= 63 for x in labels):
                raise ValueError(f"domains: {domain!r} is not a domain name")
        if self.messages_per_minute < 0:
            raise ValueError("messages_per_minute must be >= 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class ShapingGroupConfig:
    """One destination group (``[relay.shaping.groups.ID]``): a shipped one's limits
    overridden (and its patterns extended), or a new group. Limits are per source address;
    unset: the shipped value (none for a new group); 0: no cap."""

    #: MX host patterns: a suffix on a label boundary (``google.com``) or a glob (``*.mx.example``).
    mx: tuple[str, ...] = ()
    #: Recipient domains that are in the group whatever their MX.
    domains: tuple[str, ...] = ()
    max_connections: int | None = None
    messages_per_connection: int | None = None
    messages_per_minute: int | None = None
    messages_per_hour: int | None = None
    recipients_per_message: int | None = None

    def limits(self) -> dict[str, int]:
        """The limits set here (name -> number)."""
        names = ("max_connections", "messages_per_connection", "messages_per_minute",
                 "messages_per_hour", "recipients_per_message")  # fmt: skip
        found = {n: getattr(self, n) for n in names if getattr(self, n) is not None}
        for name, value in found.items():
            if value < 0:
                raise ValueError(f"{name} must be >= 0")
        return found

    def __post_init__(self) -> None:
        self.limits()


@dataclass(frozen=True, slots=True, kw_only=True)
class PoolConfig:
    """``[relay.shaping.pools.NAME]``: source addresses (of ``[sending] ips``, each with its
    ``[sending.helo]`` name) for the mail of some campaigns, submission users or sender
    domains (the first pool that claims a message wins)."""

    ips: tuple[str, ...] = ()
    campaigns: tuple[str, ...] = ()
    users: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class WarmupConfig:
    """``[relay.shaping.warmup]``: new source addresses and their daily caps per group."""

    #: Day 1 of each new address (``"192.0.2.10" = "2026-04-01"``).
    ips: dict[str, str] = field(default_factory=dict)
    #: Messages a day per destination group on day 1, 2...; empty: the shipped schedule.
    schedule: tuple[int, ...] = ()
    #: A schedule of its own for some groups (``gmail = [20, 40, ...]``).
    groups: dict[str, tuple[int, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for ip, day in self.ips.items():
            try:
                date.fromisoformat(day)
            except ValueError:
                raise ValueError(f"ips.{ip}: expected a date YYYY-MM-DD, got {day!r}") from None
        for values in (self.schedule, *self.groups.values()):
            if any(v < 0 for v in values):
                raise ValueError("a warm-up schedule holds numbers >= 0")


@dataclass(frozen=True, slots=True, kw_only=True)
class ShapingConfig:
    """``[relay.shaping]``: per-provider pacing, back-off (``monitor.relay.delivery.shaping``)."""

    enabled: bool = True
    #: Start from the groups and limits shipped in ``reports/data/providers.json``.
    shipped_groups: bool = True
    #: Limits of a destination in no group (each is then a group of its own).
    default: ShapingGroupConfig = field(default_factory=ShapingGroupConfig)
    groups: dict[str, ShapingGroupConfig] = field(default_factory=dict)
    #: A job whose turn is further off than this goes back to the queue meanwhile.
    max_wait_seconds: float = 30.0
    #: A sender-side "slow down" reply suspends the group for the source address this
    #: long, then its limits ramp back from half over ``ramp_seconds``.
    backoff_seconds: float = 600.0
    ramp_seconds: float = 1800.0
    pools: dict[str, PoolConfig] = field(default_factory=dict)
    #: Source addresses taken out of every pool (one found on a blocklist, say).
    exclude_ips: tuple[str, ...] = ()
    warmup: WarmupConfig = field(default_factory=WarmupConfig)

    def __post_init__(self) -> None:
        if min(self.max_wait_seconds, self.backoff_seconds, self.ramp_seconds) <= 0:
            raise ValueError("max_wait_seconds, backoff_seconds and ramp_seconds must be > 0")
        for name in self.groups:
            if not _GROUP.fullmatch(name):
                raise ValueError(f"groups.{name}: a group id is 1-40 of a-z 0-9 _ -")


_GROUP = re.compile(r"[a-z0-9_-]{1,40}")


@dataclass(frozen=True, slots=True, kw_only=True)
class RelayConfig:
    """The submission listeners, the queue and outbound delivery."""

    #: Submission listeners with STARTTLS (RFC 3207, RFC 6409), ``HOST:PORT``.
    listen: tuple[str, ...] = ("127.0.0.1:2587",)
    #: Listeners with implicit TLS (RFC 8314), e.g. ``0.0.0.0:465``.
    tls_listen: tuple[str, ...] = ()
    #: PEM certificate and key of the listeners; both empty: a self-signed pair is made
    #: under ``var/relay/`` on first start.
    tls_cert: ReadableFile | None = None
    tls_key: ReadableFile | None = None
    #: The name in the banner and EHLO replies; "": this host's name.
    hostname: HostOrUnset = ""
    #: Allow AUTH without TLS on loopback listeners only (as ``tls = "none"`` for mailboxes).
    plain_auth_on_loopback: bool = False
    max_message_bytes: int = 25 * 1024 * 1024
    max_recipients: int = 1000
    #: Port of the recipients' MX hosts (25; tests point it at their sinks).
    outbound_port: int = 25
    connect_timeout_seconds: float = 30.0
    command_timeout_seconds: float = 300.0
    #: How long a message is retried before it expires as a bounce (reason ``expired``).
    queue_lifetime_hours: float = 120.0
    retry_initial_seconds: float = 300.0
    retry_max_seconds: float = 4000.0
    #: How long a delivery process's claim on a recipient lasts without renewal (renewed
    #: every third of it): when a relay host dies, another relay delivers its recipients
    #: this long after.
    lease_seconds: float = 300.0
    #: Outbound SMTP connections at once, in all and per destination domain.
    max_connections: int = 100
    max_connections_per_domain: int = 20
    #: Messages one outbound connection carries before it is closed.
    messages_per_connection: int = 100
    #: Delivery processes beside the submission process (each uses a core of its own;
    #: restarted when one dies); 0: delivery runs inside the relay process.
    delivery_processes: int = 1
    #: Local part of the signed VERP return path ``LOCAL+TOKEN@[sending] envelope_domain``.
    verp_local_part: str = "bounce"
    #: The last part of ``Feedback-ID: campaign:customer:type:SENDER`` (Gmail's feedback
    #: loop); "": the DKIM signing domain of each message.
    feedback_sender: str = ""
    #: The relay's own files: the generated TLS pair and ``relay.pid``.
    data_dir: WritableDir = Path("var/relay")
    users: dict[str, RelayUser] = field(default_factory=dict)
    #: ``[relay.content]``: spam and virus scanning of a sample of each campaign.
    content: ContentConfig = field(default_factory=ContentConfig)
    #: Traffic shaping: destination groups, their caps, adaptive back-off.
    shaping: ShapingConfig = field(default_factory=ShapingConfig)
    #: Apply destinations' MTA-STS policies (RFC 8461; ``enforce``: listed MX hosts only,
    #: verified TLS only). Policy hosts and MX certificates are verified against the system
    #: store plus ``[checks] mta_sts_ca_file``.
    mta_sts: bool = True
    #: DANE (RFC 7672) for outbound mail, with ``dane_resolver`` (``HOST:PORT`` of a
    #: DNSSEC-validating resolver such as a local Unbound: only its AD bit is trusted).
    dane: bool = False
    dane_resolver: str = ""

    def __post_init__(self) -> None:
        for key, values in (("listen", self.listen), ("tls_listen", self.tls_listen)):
            for value in values:
                try:
                    parse_listen(value)
                except ValueError as exc:
                    raise ValueError(f"{key}: {exc}") from None
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together (or leave both empty)")
        for name in self.users:
            if not _USER.fullmatch(name):
                raise ValueError(f"users.{name}: a user name is 1-100 of A-Z a-z 0-9 . _ @ + -")
        numbers = {
            "max_message_bytes": self.max_message_bytes,
            "max_recipients": self.max_recipients,
            "max_connections": self.max_connections,
            "max_connections_per_domain": self.max_connections_per_domain,
            "messages_per_connection": self.messages_per_connection,
        }
        for key, number in numbers.items():
            if number < 1:
                raise ValueError(f"{key} must be at least 1")
        if not (0 < self.outbound_port < 65536 and 0 <= self.delivery_processes <= 64):
            raise ValueError(
                f"outbound_port must be 1..65535 (got {self.outbound_port}) and "
                f"delivery_processes 0..64 (got {self.delivery_processes})"
            )
        timings = (
            self.connect_timeout_seconds,
            self.command_timeout_seconds,
            self.queue_lifetime_hours,
            self.retry_initial_seconds,
            self.retry_max_seconds,
            self.lease_seconds,
        )
        if min(timings) <= 0:
            raise ValueError("timeouts, queue_lifetime_hours and retry times must be > 0")
        if not self.verp_local_part or set(self.verp_local_part) & set('+@ "\\'):
            raise ValueError("verp_local_part must be a plain local part without '+' or '@'")
        self._check_dane()

    def _check_dane(self) -> None:
        if self.dane and not self.dane_resolver:
            raise ValueError("dane = true needs dane_resolver (HOST:PORT of a validating resolver)")
        if self.dane_resolver:
            try:
                nameserver_address(self.dane_resolver)
            except ValueError:
                raise ValueError(
                    "dane_resolver: an IP address with an optional port (IP:PORT)"
                ) from None

    @property
    def loopback_only(self) -> bool:
        """Every listener is on a loopback address (plain AUTH may then be allowed)."""
        return all(is_loopback_host(parse_listen(x)[0]) for x in (*self.listen, *self.tls_listen))
